"""Lab: the session object users hold in Jupyter -- a Dask cluster and client, ready for
patternlab (worker plugin registered), on one machine (LocalCluster), over SSH
(distributed's SSHCluster), on Kubernetes (the Dask operator's KubeCluster) or on a running
scheduler, with adaptive scaling and status."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from distributed import Client
from distributed.deploy.adaptive import Adaptive
from distributed.deploy.cluster import Cluster
from numpy.typing import ArrayLike

from ..batch import BatchResult, SignalsLike
from ..config import EngineConfig
from ..dashboard import ClusterStatus, install, status
from ..engine import Perception, perceive
from ..errors import ClusterConnectionError, InvalidParameterError
from ..library import PatternLibrary
from ..profiles import MatrixProfile, matrix_profile
from .adaptive import QueueAdaptive
from .api import batch_perceive
from .client import (
    configured_security,
    current_lab,
    pop_lab,
    prepared,
    push_lab,
    start_local_cluster,
    with_dashboard_preload,
)
from .config import load_cluster_config
from .kube import autoscale, kube_cluster
from .ssh import ssh_cluster

__all__ = ["Lab"]

R = TypeVar("R")


class Lab:
    """A Dask cluster and client prepared for patternlab.

    Use :meth:`local` (a LocalCluster; the embedded default), :meth:`ssh` (machines reachable by
    SSH), :meth:`kube` (Kubernetes, through the Dask operator), :meth:`connect` (an existing
    scheduler) or :meth:`from_config` (whichever the configuration names). As a context manager
    it becomes the *current* Lab, which module-level :func:`patternlab.batch_perceive` uses when
    no client is given.

    Examples
    --------
    >>> import patternlab as pl
    >>> with pl.Lab.local(n_workers=1, threads_per_worker=1) as lab:   # doctest: +SKIP
    ...     lab.adapt(minimum=1, maximum=4)
    ...     lab.batch_perceive(signals, domain="audio")
    """

    def __init__(self, client: Client, cluster: Cluster | None = None, *, asynchronous: bool = False,
                 kind: str | None = None) -> None:
        self.client = prepared(client)
        self.cluster = cluster
        self.asynchronous = asynchronous
        #: ``"local"``, ``"ssh"``, ``"kube"`` or ``"connected"`` (a scheduler this Lab does not manage)
        self.kind = kind or ("connected" if cluster is None else "local")
        self.totals: dict[str, int | float] = {"tasks_processed": 0, "signals": 0, "patterns_discovered": 0,
                                               "busy_seconds": 0.0, "wall_seconds": 0.0}
        self._closed = False

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def local(cls, n_workers: int | None = None, threads_per_worker: int = 1, *,
              asynchronous: bool = False, dashboard_address: str = ":0", security: Any = None,
              preload_dashboard: bool = True, **kwargs: Any) -> Lab:
        """Start a LocalCluster of worker processes.

        Parameters
        ----------
        n_workers : int, optional
            Worker processes (default: one per core, at most 4).
        threads_per_worker : int
            Threads per worker; numba's kernels run single-threaded inside tasks.
        asynchronous : bool
            Make :meth:`perceive`, :meth:`batch_perceive` and :meth:`matrix_profile` awaitable
            (the blocking work runs in a thread, so an event loop -- Jupyter's -- stays free).
        dashboard_address : str
            Where the dashboard listens (``":0"``: a free port).
        security : distributed.Security or bool, optional
            TLS between this client, the scheduler and the workers (``True``: a temporary
            self-signed certificate); by default Dask's configuration (``distributed.comm.tls``).
        preload_dashboard : bool
            Load the patternlab page (:mod:`patternlab.dashboard`) into the scheduler.
        **kwargs
            Passed to ``distributed.LocalCluster`` (``host``, ``scheduler_port``, ...).
        """
        cluster, client = start_local_cluster(n_workers, threads_per_worker,
                                              dashboard_address=dashboard_address, security=security,
                                              preload_dashboard=preload_dashboard, **kwargs)
        return cls(client, cluster, asynchronous=asynchronous, kind="local")

    @classmethod
    def connect(cls, address: str, *, asynchronous: bool = False, security: Any = None,
                **kwargs: Any) -> Lab:
        """Connect to a running scheduler (``tcp://host:port``, ``tls://host:port``);
        :meth:`close` leaves it running.

        Parameters
        ----------
        address : str
            The scheduler's address (``patternlab start`` prints it).
        asynchronous : bool
            As in :meth:`local`.
        security : distributed.Security, optional
            The TLS certificates for a ``tls://`` scheduler (default: Dask's configuration).
        **kwargs
            Passed to ``distributed.Client`` (``timeout``, ...).
        """
        if not isinstance(address, str) or not address:
            raise InvalidParameterError(f"address={address!r}: pass a scheduler address such as "
                                        "'tcp://HOST:PORT' (patternlab start prints it)")
        security = configured_security(security)
        try:
            client = Client(address, security=security, **kwargs)
        except OSError as exc:
            raise ClusterConnectionError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None
        except TypeError:
            if address.startswith("tls://") and security is None:
                raise ClusterConnectionError(
                    f"the scheduler at {address!r} speaks TLS: pass security=distributed.Security("
                    "tls_ca_file=..., tls_client_cert=..., tls_client_key=...) or set "
                    "distributed.comm.tls in Dask's configuration") from None
            raise
        return cls(client, None, asynchronous=asynchronous, kind="connected")

    @classmethod
    def ssh(cls, hosts: Sequence[str], *,
            connect_options: dict[str, Any] | list[dict[str, Any]] | None = None,
            worker_options: dict[str, Any] | None = None, scheduler_options: dict[str, Any] | None = None,
            remote_python: str | list[str] | None = None, security: Any = None,
            worker_class: str = "distributed.Nanny", asynchronous: bool = False,
            preload_dashboard: bool = True, **kwargs: Any) -> Lab:
        """Start a scheduler and workers on other machines over SSH (``distributed.SSHCluster``).

        The scheduler runs on ``hosts[0]``, one worker on each of ``hosts[1:]`` (repeat a host
        for several workers there); :meth:`adapt` and ``lab.cluster.scale(n)`` add workers
        round-robin over those hosts and retire the ones Dask picks. patternlab must be installed
        in the remote Python.

        Parameters
        ----------
        hosts : list of str
            Host names or addresses, the scheduler's first.
        connect_options : dict or list of dict, optional
            Keyword arguments of ``asyncssh.connect`` (``port``, ``username``, ``known_hosts``,
            ``client_keys``, ...), for all hosts or one per host.
        worker_options : dict, optional
            Keyword arguments of the remote ``distributed.Nanny`` (``nthreads``,
            ``memory_limit``, ...).
        scheduler_options : dict, optional
            Keyword arguments of the remote ``distributed.Scheduler`` (``port``,
            ``dashboard_address``, ...).
        remote_python : str or list of str, optional
            The Python of the remote machines (default: this one's path).
        security : distributed.Security, optional
            TLS between client, scheduler and workers (default: Dask's configuration). Its
            certificates (file paths, or PEM contents as from ``Security.temporary()``) are
            handed to the remote processes as Dask configuration.
        worker_class : str
            The remote worker class.
        asynchronous, preload_dashboard
            As in :meth:`local`.
        **kwargs
            Passed to ``distributed.deploy.SpecCluster``.
        """

        try:
            import asyncssh
        except ImportError as exc:  # pragma: no cover - the ssh extra is missing
            raise ClusterConnectionError("Lab.ssh needs asyncssh: pip install 'patternlab[ssh]'") from exc
        security = configured_security(security)
        try:
            cluster = ssh_cluster(hosts, connect_options=connect_options, worker_options=worker_options,
                                  scheduler_options=with_dashboard_preload(scheduler_options,
                                                                           preload_dashboard),
                                  worker_class=worker_class, remote_python=remote_python,
                                  security=security, **kwargs)
        except (OSError, asyncssh.Error, RuntimeError) as exc:
            cause = exc.__cause__ if isinstance(exc, RuntimeError) else exc  # SpecCluster wraps it
            if not isinstance(cause, (OSError, asyncssh.Error)):
                raise
            raise ClusterConnectionError(f"cannot start the SSH cluster on {list(hosts)!r}: "
                                         f"{type(cause).__name__}: {cause}") from None
        try:
            client = Client(cluster, security=security)
        except BaseException:
            cluster.close()
            raise
        return cls(client, cluster, asynchronous=asynchronous, kind="ssh")

    @classmethod
    def kube(cls, name: str | None = None, image: str | None = None, n_workers: int | None = None,
             resources: dict[str, Any] | None = None, env: Any = None, namespace: str | None = None, *,
             asynchronous: bool = False, security: Any = None, **kwargs: Any) -> Lab:
        """Create a cluster on Kubernetes with the Dask operator (``dask_kubernetes.operator.KubeCluster``).

        The cluster is the :func:`patternlab.kube_spec` manifest of the same arguments (workers
        prepared for patternlab, the scheduler preloading the monitoring page); :meth:`close`
        deletes it. Needs a reachable cluster (``KUBECONFIG`` or ``~/.kube/config``) with the
        Dask operator installed.

        Parameters
        ----------
        name, image, n_workers, resources, env, namespace
            See :func:`patternlab.kube_spec` (``None``: the configuration's ``kube`` section).
        asynchronous : bool
            As in :meth:`local`.
        security : None
            TLS on Kubernetes is set in the manifest (``tls_secret=``); ``KubeCluster`` itself
            reaches its scheduler over plain TCP, so connect to such a cluster with
            :meth:`connect` and a ``Security``.
        **kwargs
            The other keywords of :func:`patternlab.kube_spec` (``tls_secret``,
            ``redis_secret``, ...), then those of ``KubeCluster``.
        """
        if security is not None:
            raise InvalidParameterError(
                "Lab.kube(security=...): KubeCluster talks to its scheduler over plain TCP; deploy with "
                "kube_spec(tls_secret=...) and use Lab.connect('tls://...', security=...)")
        cluster = kube_cluster(name, image, n_workers, resources, env, namespace, **kwargs)
        try:
            client = Client(cluster)
        except BaseException:
            cluster.close()
            raise
        return cls(client, cluster, asynchronous=asynchronous, kind="kube")

    @classmethod
    def from_config(cls, cluster: str | None = None, *, asynchronous: bool = False,
                    **overrides: Any) -> Lab:
        """The Lab the configuration describes (:func:`patternlab.load_cluster_config`).

        ``PATTERNLAB_CLUSTER`` (or ``patternlab.cluster`` in Dask's config, or ``cluster=``)
        picks :meth:`local`, :meth:`ssh` (``patternlab.ssh.hosts``, ...), :meth:`kube` (the
        ``patternlab.kube`` section) or :meth:`connect` (an address); when ``min_workers`` or
        ``max_workers`` is set (``PATTERNLAB_MIN_WORKERS``, ``PATTERNLAB_MAX_WORKERS``) the Lab
        adapts between them.

        Examples
        --------
        >>> import patternlab as pl
        >>> with pl.Lab.from_config("local", n_workers=1) as lab:   # doctest: +SKIP
        ...     lab.kind
        'local'
        """
        cfg = load_cluster_config(cluster=cluster, **overrides)
        if cfg.kind == "local":
            lab = cls.local(cfg.n_workers if cfg.n_workers is not None else
                            (cfg.min_workers or None), cfg.threads_per_worker, asynchronous=asynchronous)
        elif cfg.kind == "ssh":
            ssh = dict(cfg.ssh)
            hosts = ssh.pop("hosts", None)
            if not hosts:
                raise InvalidParameterError("cluster='ssh' needs hosts: set patternlab.ssh.hosts in Dask's "
                                            "configuration (DASK_PATTERNLAB__SSH__HOSTS='[\"h1\", \"h2\"]')")
            worker_options = dict(ssh.pop("worker_options", None) or {})
            worker_options.setdefault("nthreads", cfg.threads_per_worker)
            lab = cls.ssh(hosts, worker_options=worker_options, asynchronous=asynchronous, **ssh)
        elif cfg.kind == "kube":
            kube = dict(cfg.kube)
            if cfg.n_workers is not None:
                kube["n_workers"] = cfg.n_workers
            lab = cls.kube(asynchronous=asynchronous, **kube)
        else:
            return cls.connect(cfg.cluster, asynchronous=asynchronous)
        if cfg.adaptive:
            try:
                lab.adapt(cfg.min_workers, cfg.max_workers, queue_depth_per_worker=cfg.queue_depth_per_worker)
            except BaseException:
                lab.close()
                raise
        return lab

    @classmethod
    def current(cls) -> Lab | None:
        """The innermost Lab entered with ``with``/``async with``, if any."""
        lab = current_lab()
        return lab if isinstance(lab, Lab) else None

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the client, and the cluster if this Lab started it (its processes, SSH sessions
        or Kubernetes resources)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()

    def __enter__(self) -> Lab:
        push_lab(self)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        pop_lab(self)
        self.close()

    async def __aenter__(self) -> Lab:
        return self.__enter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await asyncio.to_thread(self.__exit__, exc_type, exc, tb)

    def __repr__(self) -> str:
        n = len(self.client.scheduler_info().get("workers", {})) if not self._closed else 0
        return f"<Lab {self.kind}, {n} workers, dashboard {self.dashboard_link}>"

    @property
    def scheduler_address(self) -> str:
        """The scheduler's address, for :meth:`connect` from elsewhere."""
        return str(self.client.scheduler.address)

    # -- work ---------------------------------------------------------------------------------
    def _maybe_async(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R | Awaitable[R]:
        if self.asynchronous:
            return asyncio.to_thread(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    def batch_perceive(self, signals: SignalsLike, domain: str = "default",
                       library: PatternLibrary | None = None, config: EngineConfig | None = None,
                       **kwargs: Any) -> BatchResult | Awaitable[BatchResult]:
        """:func:`patternlab.batch_perceive` on this Lab's cluster (awaitable if asynchronous)."""
        def run() -> BatchResult:
            out = batch_perceive(signals, domain, library, config, client=self.client, **kwargs)
            for key in ("tasks_processed", "signals", "patterns_discovered", "wall_seconds"):
                self.totals[key] += out.metrics[key]
            busy = out.metrics["avg_latency_ms"] * out.metrics["tasks_processed"] / 1e3
            self.totals["busy_seconds"] += busy
            return out

        return self._maybe_async(run)

    def perceive(self, signal: ArrayLike, domain: str = "default", library: PatternLibrary | None = None,
                 config: EngineConfig | None = None,
                 **kwargs: Any) -> Perception | Awaitable[Perception]:
        """:func:`patternlab.perceive` in this process (awaitable if asynchronous)."""
        return self._maybe_async(perceive, signal, domain, library, config, **kwargs)

    def matrix_profile(self, T: ArrayLike, m: int, T_B: ArrayLike | None = None,
                       **kwargs: Any) -> MatrixProfile | Awaitable[MatrixProfile]:
        """:func:`patternlab.matrix_profile` tiled over this Lab's cluster."""
        return self._maybe_async(matrix_profile, T, m, T_B, client=self.client, **kwargs)

    # -- scaling and status ---------------------------------------------------------------------
    def adapt(self, minimum: int | None = None, maximum: int | None = None, *,
              queue_depth_per_worker: int | None = None, **kwargs: Any) -> Adaptive | dict[str, Any]:
        """Scale between ``minimum`` and ``maximum`` workers with the load.

        LocalCluster and SSH: Dask's adaptive scaling (:class:`distributed.deploy.adaptive.Adaptive`),
        whose target is Dask's estimate of how long the queued work takes (``target_duration``,
        default ``"5s"``), or with ``queue_depth_per_worker=N`` the number of queued and running
        tasks divided by ``N``. Kubernetes: the operator's DaskAutoscaler (scaling on the
        scheduler's own target).

        Parameters
        ----------
        minimum, maximum : int, optional
            Bounds (default: ``PATTERNLAB_MIN_WORKERS``/``PATTERNLAB_MAX_WORKERS`` or the
            ``patternlab`` config section, else 0 and 4).
        queue_depth_per_worker : int, optional
            Queue-based target, see :class:`patternlab.lab.adaptive.QueueAdaptive`.
        **kwargs
            ``interval``, ``wait_count``, ``target_duration``: see Dask's ``Adaptive``.

        Returns
        -------
        The Adaptive object, or the DaskAutoscaler manifest on Kubernetes.
        """
        if self.cluster is None:
            raise InvalidParameterError("this Lab is connected to a cluster it does not manage: "
                                        "scale it where it was started")
        if minimum is None or maximum is None:
            cfg = load_cluster_config()
            if minimum is None:
                minimum = cfg.min_workers if cfg.min_workers is not None else 0
            if maximum is None:
                maximum = cfg.max_workers if cfg.max_workers is not None else max(4, minimum)
        if not (isinstance(minimum, int) and isinstance(maximum, int) and 0 <= minimum <= maximum) or (
                isinstance(minimum, bool) or isinstance(maximum, bool)):
            raise InvalidParameterError(f"adapt(minimum={minimum!r}, maximum={maximum!r}): pass "
                                        "0 <= minimum <= maximum")
        if queue_depth_per_worker is not None and (
                isinstance(queue_depth_per_worker, bool) or not isinstance(queue_depth_per_worker, int)
                or queue_depth_per_worker < 1):
            raise InvalidParameterError(f"queue_depth_per_worker={queue_depth_per_worker!r} must be a "
                                        "positive integer (tasks per worker)")
        if self.kind == "kube":
            if queue_depth_per_worker is not None or kwargs:
                extra = ", ".join(["queue_depth_per_worker", *kwargs])
                raise InvalidParameterError(f"adapt({extra}=...): on Kubernetes the operator's "
                                            "DaskAutoscaler scales on the scheduler's own target; pass only "
                                            "minimum and maximum")
            return autoscale(self.cluster, minimum, maximum)
        return Cluster.adapt(self.cluster, Adaptive=QueueAdaptive, minimum=minimum, maximum=maximum,
                             queue_depth_per_worker=queue_depth_per_worker, **kwargs)

    @property
    def dashboard_link(self) -> str:
        """The URL of the Dask dashboard."""
        return str(self.client.dashboard_link)

    def status(self) -> ClusterStatus:
        """Workers, tasks processed, patterns discovered, throughput, queue depth, health and the
        dashboard links of this Lab's scheduler.

        Returns a :class:`~patternlab.dashboard.ClusterStatus`: a dict (``st["workers"]``,
        ``json.dumps(st)``) whose repr is a readable report. Counts are the scheduler's since it
        started, every client's batches. A scheduler started without the
        ``patternlab.dashboard`` preload gets the monitoring installed now (counting from now).
        """
        st = status(self.client)
        if st["reachable"] and not st["monitoring"]:
            install(self.client)
            st = status(self.client)
        return st
