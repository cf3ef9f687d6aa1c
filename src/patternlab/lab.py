"""Lab: the session object users hold in Jupyter -- a Dask cluster and client, ready for
patternlab (worker plugin registered), with scaling and status."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any, ClassVar

from .errors import ClusterConnectionError, InvalidParameterError

__all__ = ["Lab"]


class Lab:
    """A Dask cluster and client prepared for patternlab.

    Use :meth:`local` (a LocalCluster; the embedded default) or :meth:`connect` (an existing
    scheduler). As a context manager it becomes the *current* Lab, which module-level
    :func:`patternlab.batch_perceive` uses when no client is given.

    Examples
    --------
    >>> import patternlab as pl
    >>> with pl.Lab.local(n_workers=1, threads_per_worker=1) as lab:   # doctest: +SKIP
    ...     lab.batch_perceive(signals, domain="audio")
    """

    _stack: ClassVar[list[Lab]] = []
    _stack_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, client: Any, cluster: Any = None, *, asynchronous: bool = False) -> None:
        from ._dask import _prepared

        self.client = _prepared(client)
        self.cluster = cluster
        self.asynchronous = asynchronous
        self.totals = {"tasks_processed": 0.0, "signals": 0.0, "patterns_discovered": 0.0,
                       "busy_seconds": 0.0, "wall_seconds": 0.0}
        self._closed = False

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def local(cls, n_workers: int | None = None, threads_per_worker: int = 1, *,
              asynchronous: bool = False, dashboard_address: str = ":0", **kwargs: Any) -> Lab:
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
        **kwargs
            Passed to ``distributed.LocalCluster``.
        """
        import os

        from distributed import Client, LocalCluster

        if n_workers is None:
            n_workers = max(1, min(4, os.cpu_count() or 1))
        for name, value in (("n_workers", n_workers), ("threads_per_worker", threads_per_worker)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterError(f"{name}={value!r} must be a positive integer")
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                               processes=True, dashboard_address=dashboard_address, **kwargs)
        return cls(Client(cluster), cluster, asynchronous=asynchronous)

    @classmethod
    def connect(cls, address: str, *, asynchronous: bool = False, **kwargs: Any) -> Lab:
        """Connect to a running scheduler (``tcp://host:8786``); :meth:`close` leaves it running."""
        from distributed import Client

        if not isinstance(address, str) or not address:
            raise InvalidParameterError(f"address={address!r}: pass a scheduler address such as "
                                        "'tcp://127.0.0.1:8786'")
        try:
            client = Client(address, **kwargs)
        except OSError as exc:
            raise ClusterConnectionError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None
        return cls(client, None, asynchronous=asynchronous)

    @classmethod
    def current(cls) -> Lab | None:
        """The innermost Lab entered with ``with``/``async with``, if any."""
        with cls._stack_lock:
            return cls._stack[-1] if cls._stack else None

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the client, and the cluster if this Lab started it."""
        if self._closed:
            return
        self._closed = True
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> Lab:
        with self._stack_lock:
            self._stack.append(self)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with self._stack_lock:
            if self in self._stack:
                self._stack.remove(self)
        self.close()

    async def __aenter__(self) -> Lab:
        return self.__enter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await asyncio.to_thread(self.__exit__, exc_type, exc, tb)

    def __repr__(self) -> str:
        n = len(self.client.scheduler_info().get("workers", {})) if not self._closed else 0
        return f"<Lab {n} workers, dashboard {self.dashboard_link}>"

    # -- work ---------------------------------------------------------------------------------
    def _maybe_async(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self.asynchronous:
            return asyncio.to_thread(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    def batch_perceive(self, signals: Any, domain: str = "default", library: Any = None,
                       config: Any = None, **kwargs: Any) -> Any:
        """:func:`patternlab.batch_perceive` on this Lab's cluster (awaitable if asynchronous)."""
        from .batch import batch_perceive

        def run() -> Any:
            out = batch_perceive(signals, domain, library, config, client=self.client, **kwargs)
            for key in ("tasks_processed", "signals", "patterns_discovered", "wall_seconds"):
                self.totals[key] += out.metrics[key]
            busy = out.metrics["avg_latency_ms"] * out.metrics["tasks_processed"] / 1e3
            self.totals["busy_seconds"] += busy
            return out

        return self._maybe_async(run)

    def perceive(self, signal: Any, domain: str = "default", library: Any = None, config: Any = None,
                 **kwargs: Any) -> Any:
        """:func:`patternlab.perceive` in this process (awaitable if asynchronous)."""
        from .engine import perceive

        return self._maybe_async(perceive, signal, domain, library, config, **kwargs)

    def matrix_profile(self, T: Any, m: int, T_B: Any = None, **kwargs: Any) -> Any:
        """:func:`patternlab.matrix_profile` tiled over this Lab's cluster."""
        from .profile import matrix_profile

        return self._maybe_async(matrix_profile, T, m, T_B, client=self.client, **kwargs)

    # -- scaling and status ---------------------------------------------------------------------
    def adapt(self, minimum: int = 0, maximum: int = 4, **kwargs: Any) -> Any:
        """Dask's adaptive scaling between ``minimum`` and ``maximum`` workers."""
        if self.cluster is None:
            raise InvalidParameterError("this Lab is connected to a cluster it does not manage: "
                                        "scale it where it was started")
        if not (isinstance(minimum, int) and isinstance(maximum, int) and 0 <= minimum <= maximum):
            raise InvalidParameterError(f"adapt(minimum={minimum!r}, maximum={maximum!r}): pass "
                                        "0 <= minimum <= maximum")
        return self.cluster.adapt(minimum=minimum, maximum=maximum, **kwargs)

    @property
    def dashboard_link(self) -> str:
        """The URL of the Dask dashboard."""
        return str(self.client.dashboard_link)

    def status(self) -> Any:
        """Workers, tasks processed, patterns discovered, throughput, queue depth, health and the
        dashboard links of this Lab's scheduler.

        Returns a :class:`~patternlab.dashboard.ClusterStatus`: a dict (``st["workers"]``,
        ``json.dumps(st)``) whose repr is a readable report. Counts are the scheduler's since it
        started, every client's batches. A scheduler started without the
        ``patternlab.dashboard`` preload gets the monitoring installed now (counting from now).
        """
        from .dashboard import install, status

        st = status(self.client)
        if st["reachable"] and not st["monitoring"]:
            install(self.client)
            st = status(self.client)
        return st
