"""Kubernetes, through the Dask operator (dask-kubernetes): the ``DaskCluster`` manifest patternlab
deploys (:func:`kube_spec`), its ``DaskAutoscaler`` (:func:`autoscaler_spec`), and the
``KubeCluster`` behind :meth:`patternlab.Lab.kube`.

The manifests are plain dicts: ``kubectl apply`` them (``yaml.safe_dump``), pass them to
``KubeCluster(custom_cluster_spec=...)``, or let :meth:`~patternlab.Lab.kube` do both.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ClusterConnectionError, InvalidParameterError
from .config import load_cluster_config

__all__ = ["autoscaler_spec", "kube_cluster", "kube_spec"]

API_VERSION = "kubernetes.dask.org/v1"
#: Where the TLS Secret (``tls.crt``, ``tls.key``, ``ca.crt``) is mounted in the pods.
TLS_MOUNT = "/etc/patternlab/tls"
#: The defaults of :func:`kube_spec`, below the ``kube`` section of the configuration.
DEFAULTS: dict[str, Any] = {
    "name": "patternlab",
    "image": "patternlab:latest",
    "n_workers": 2,
    "threads_per_worker": 1,
    "redis_secret": "patternlab-redis",
    "redis_secret_key": "url",
    "numba_cache_dir": "/opt/patternlab/numba-cache",
    "threading_layer": "threadsafe",
    "tls_secret": None,
    "scheduler_service_type": "ClusterIP",
    "idle_timeout": 0,
}
#: Keyword arguments of :func:`kube_spec` beyond those of ``KubeCluster``.
SPEC_KEYWORDS = ("threads_per_worker", "redis_secret", "redis_secret_key", "numba_cache_dir",
                 "threading_layer", "tls_secret", "scheduler_service_type", "idle_timeout",
                 "preload_dashboard")
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
_LABELS = {"app.kubernetes.io/name": "patternlab", "app.kubernetes.io/part-of": "patternlab"}


def _settings(given: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Defaults < the configuration's ``kube`` section < ``given``; and the keys set explicitly."""
    configured = {k: v for k, v in load_cluster_config().kube.items() if v is not None}
    explicit = {k: v for k, v in given.items() if v is not None}
    return {**DEFAULTS, **configured, **explicit}, set(configured) | set(explicit)


def _check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _DNS_LABEL.match(value) or len(value) > 63:
        raise InvalidParameterError(f"{what}={value!r} is not a valid Kubernetes name: use lower-case "
                                    "letters, digits and '-', starting with a letter, at most 63 characters")
    return value


def _check_int(value: Any, what: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidParameterError(f"{what}={value!r} must be an integer >= {low}")
    return value


def _env_list(env: Any) -> list[dict[str, Any]]:
    if env is None:
        return []
    if isinstance(env, Mapping):
        items = [{"name": str(k), "value": str(v)} for k, v in env.items()]
    elif isinstance(env, (list, tuple)) and all(isinstance(e, Mapping) and "name" in e for e in env):
        items = [dict(e) for e in env]
    else:
        raise InvalidParameterError(f"env={env!r}: pass a mapping of names to values, or a list of "
                                    "Kubernetes EnvVar dicts ({'name': ..., 'value': ...})")
    for item in items:
        if not _ENV_NAME.match(str(item["name"])):
            raise InvalidParameterError(f"env: {item['name']!r} is not a valid environment variable name")
    return items


def _check_resources(resources: Any) -> dict[str, Any] | None:
    if resources is None:
        return None
    if not isinstance(resources, Mapping) or not set(resources) <= {"limits", "requests"} or not all(
            isinstance(v, Mapping) for v in resources.values()):
        raise InvalidParameterError(f"resources={resources!r}: pass {{'requests': {{'cpu': '1', 'memory': "
                                    "'2Gi'}, 'limits': {...}}")
    return {k: {str(a): str(b) for a, b in v.items()} for k, v in resources.items()}


def kube_spec(name: str | None = None, image: str | None = None, n_workers: int | None = None,
              resources: dict[str, Any] | None = None, env: Any = None, namespace: str | None = None, *,
              threads_per_worker: int | None = None, redis_secret: str | None = None,
              redis_secret_key: str | None = None, numba_cache_dir: str | None = None,
              threading_layer: str | None = None, tls_secret: str | None = None,
              scheduler_service_type: str | None = None, idle_timeout: int | None = None,
              preload_dashboard: bool = True) -> dict[str, Any]:
    """The ``DaskCluster`` manifest of a patternlab cluster on Kubernetes (a dict; no cluster needed).

    Built with the operator's own ``make_cluster_spec`` and prepared for patternlab: workers run
    ``dask worker --nthreads threads_per_worker``, numba's thread-safe threading layer and an
    on-disk cache directory are set on every pod, the Redis URL comes from a Secret, and the
    scheduler preloads the monitoring page (``--preload patternlab.dashboard``). Every argument
    left ``None`` comes from the ``kube`` section of the configuration
    (``patternlab.kube.image`` in Dask's config, see :func:`patternlab.load_cluster_config`), then
    from :data:`DEFAULTS`.

    Parameters
    ----------
    name : str
        The DaskCluster's name (a DNS label); the scheduler Service is ``{name}-scheduler``.
    image : str
        A container image with patternlab installed (``deploy/docker``).
    n_workers : int
        Replicas of the default worker group.
    resources : dict, optional
        ``{"requests": {...}, "limits": {...}}`` of every scheduler and worker container.
    env : mapping or list, optional
        Extra environment variables (they win over patternlab's own).
    namespace : str, optional
        ``metadata.namespace`` (else the one ``kubectl``/``KubeCluster`` uses).
    threads_per_worker : int
        Threads of each worker pod (numba runs single-threaded inside tasks).
    redis_secret, redis_secret_key : str
        The Secret and key holding the Redis URL, exposed as ``PATTERNLAB_REDIS_URL`` through
        ``valueFrom.secretKeyRef`` (optional when left at the default; ``""`` leaves it out).
    numba_cache_dir : str
        ``NUMBA_CACHE_DIR`` of every pod (where the image keeps the compiled kernels).
    threading_layer : str
        ``NUMBA_THREADING_LAYER`` (``threadsafe``: TBB or OpenMP, safe under Dask's threads).
    tls_secret : str, optional
        A ``kubernetes.io/tls`` Secret (``tls.crt``, ``tls.key``, ``ca.crt``): scheduler and
        workers then talk TLS only (``distributed.comm.require-encryption``).
    scheduler_service_type : str
        ``ClusterIP``, ``NodePort`` or ``LoadBalancer``.
    idle_timeout : int
        Seconds of scheduler idleness after which the operator deletes the cluster (0: never).
    preload_dashboard : bool
        Preload :mod:`patternlab.dashboard` on the scheduler.

    Returns
    -------
    dict
        A ``kubernetes.dask.org/v1`` ``DaskCluster``.

    Examples
    --------
    >>> import patternlab as pl
    >>> spec = pl.kube_spec(name="signals", image="patternlab:0.1", n_workers=4)
    >>> spec["kind"], spec["spec"]["worker"]["replicas"]
    ('DaskCluster', 4)
    >>> spec["spec"]["scheduler"]["spec"]["containers"][0]["args"][-2:]
    ['--preload', 'patternlab.dashboard']
    """
    from dask_kubernetes.operator import make_cluster_spec

    s, explicit = _settings({"name": name, "image": image, "n_workers": n_workers, "resources": resources,
                   "env": env, "namespace": namespace, "threads_per_worker": threads_per_worker,
                   "redis_secret": redis_secret, "redis_secret_key": redis_secret_key,
                   "numba_cache_dir": numba_cache_dir, "threading_layer": threading_layer,
                   "tls_secret": tls_secret, "scheduler_service_type": scheduler_service_type,
                   "idle_timeout": idle_timeout})
    name = _check_name(s["name"], "name")
    if s.get("namespace") is not None:
        _check_name(s["namespace"], "namespace")
    if not isinstance(s["image"], str) or not s["image"] or any(c.isspace() for c in s["image"]):
        raise InvalidParameterError(f"image={s['image']!r}: pass a container image with patternlab "
                                    "installed, such as one built from deploy/docker")
    replicas = _check_int(s["n_workers"], "n_workers", 0)
    threads = _check_int(s["threads_per_worker"], "threads_per_worker", 1)
    idle = _check_int(s["idle_timeout"], "idle_timeout", 0)
    if s["scheduler_service_type"] not in _SERVICE_TYPES:
        raise InvalidParameterError(f"scheduler_service_type={s['scheduler_service_type']!r}: pass one of "
                                    f"{', '.join(_SERVICE_TYPES)}")
    res = _check_resources(s.get("resources"))
    user_env = _env_list(s.get("env"))
    if s["tls_secret"] is not None:
        _check_name(s["tls_secret"], "tls_secret")

    spec = make_cluster_spec(name=name, image=s["image"], n_workers=replicas, resources=res, env=[],
                             worker_command=["dask", "worker", "--nthreads", str(threads)],
                             scheduler_service_type=s["scheduler_service_type"], idle_timeout=idle)
    spec["metadata"]["labels"] = dict(_LABELS)
    if s.get("namespace") is not None:
        spec["metadata"]["namespace"] = s["namespace"]
    scheduler, worker = spec["spec"]["scheduler"], spec["spec"]["worker"]
    sched_c, worker_c = scheduler["spec"]["containers"][0], worker["spec"]["containers"][0]

    # the operator's scheduler command with the current CLI entry point ("dask scheduler")
    sched_c["args"] = ["dask", "scheduler", *sched_c["args"][1:]]
    if preload_dashboard:
        sched_c["args"] += ["--preload", "patternlab.dashboard"]

    env_ours: list[dict[str, Any]] = [
        {"name": "NUMBA_THREADING_LAYER", "value": str(s["threading_layer"])},
        {"name": "NUMBA_CACHE_DIR", "value": str(s["numba_cache_dir"])},
    ]
    if s["redis_secret"]:
        # the default Secret is optional (Redis is opt-in); one named explicitly must exist
        optional = "redis_secret" not in explicit
        env_ours.append({"name": "PATTERNLAB_REDIS_URL", "valueFrom": {"secretKeyRef": {
            "name": _check_name(s["redis_secret"], "redis_secret"), "key": str(s["redis_secret_key"]),
            "optional": optional}}})
    worker_extra: list[dict[str, Any]] = []
    if s["tls_secret"] is not None:
        tls = f"{TLS_MOUNT}/"
        env_ours += [{"name": "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION", "value": "True"},
                     {"name": "DASK_DISTRIBUTED__COMM__TLS__CA_FILE", "value": tls + "ca.crt"}]
        for role in ("SCHEDULER", "WORKER", "CLIENT"):
            env_ours += [{"name": f"DASK_DISTRIBUTED__COMM__TLS__{role}__CERT", "value": tls + "tls.crt"},
                         {"name": f"DASK_DISTRIBUTED__COMM__TLS__{role}__KEY", "value": tls + "tls.key"}]
        sched_c["args"] += ["--protocol", "tls"]
        comm_port = next(p["port"] for p in scheduler["service"]["ports"] if p["name"] == "tcp-comm")
        worker_extra.append({"name": "DASK_SCHEDULER_ADDRESS", "value": f"tls://{name}-scheduler:{comm_port}"})
        for part, container in ((scheduler, sched_c), (worker, worker_c)):
            part["spec"]["volumes"] = [{"name": "tls", "secret": {"secretName": s["tls_secret"]}}]
            container["volumeMounts"] = [{"name": "tls", "mountPath": TLS_MOUNT, "readOnly": True}]

    user_names = {e["name"] for e in user_env}
    for part, container, extra in ((scheduler, sched_c, []), (worker, worker_c, worker_extra)):
        container["env"] = copy.deepcopy(
            user_env + [e for e in env_ours + extra if e["name"] not in user_names])
        if container.get("resources") is None:
            container.pop("resources", None)
        container["securityContext"] = {"allowPrivilegeEscalation": False}
        part["metadata"] = {"labels": dict(_LABELS)}
    return spec


def autoscaler_spec(name: str, minimum: int, maximum: int, namespace: str | None = None) -> dict[str, Any]:
    """The ``DaskAutoscaler`` manifest that lets the operator scale DaskCluster ``name`` between
    ``minimum`` and ``maximum`` workers (on the scheduler's own adaptive target).

    Examples
    --------
    >>> from patternlab.lab.kube import autoscaler_spec
    >>> autoscaler_spec("patternlab", 2, 20)["spec"]
    {'cluster': 'patternlab', 'minimum': 2, 'maximum': 20}
    """
    _check_name(name, "name")
    lo, hi = _check_int(minimum, "minimum", 0), _check_int(maximum, "maximum", 0)
    if lo > hi:
        raise InvalidParameterError(f"minimum={lo} > maximum={hi}: pass minimum <= maximum")
    meta: dict[str, Any] = {"name": name, "labels": {**_LABELS, "dask.org/cluster-name": name,
                                                     "dask.org/component": "autoscaler"}}
    if namespace is not None:
        meta["namespace"] = _check_name(namespace, "namespace")
    return {"apiVersion": API_VERSION, "kind": "DaskAutoscaler", "metadata": meta,
            "spec": {"cluster": name, "minimum": lo, "maximum": hi}}


def kube_cluster(name: str | None = None, image: str | None = None, n_workers: int | None = None,
                 resources: dict[str, Any] | None = None, env: Any = None, namespace: str | None = None,
                 **kwargs: Any) -> Any:
    """A ``dask_kubernetes.operator.KubeCluster`` created from :func:`kube_spec` (``**kwargs``: the
    keywords of :func:`kube_spec` in :data:`SPEC_KEYWORDS`, the rest to ``KubeCluster``)."""
    spec_kwargs = {k: kwargs.pop(k) for k in SPEC_KEYWORDS if k in kwargs}
    spec = kube_spec(name, image, n_workers, resources, env, namespace, **spec_kwargs)
    try:
        from dask_kubernetes.operator import KubeCluster
    except ImportError as exc:  # pragma: no cover - the kube extra is missing
        raise ClusterConnectionError("Lab.kube needs dask-kubernetes: pip install "
                                     "'patternlab[kube]'") from exc
    import httpx
    import kr8s

    kwargs.setdefault("quiet", True)
    failure = None
    try:
        return KubeCluster(custom_cluster_spec=spec, namespace=spec["metadata"].get("namespace"), **kwargs)
    except (OSError, RuntimeError, ValueError, TimeoutError, httpx.HTTPError, kr8s.ServerError) as exc:
        failure = f"{type(exc).__name__}: {exc}"
    _close_failed(KubeCluster, spec["metadata"]["name"])
    raise ClusterConnectionError(
        f"cannot create the Kubernetes cluster {spec['metadata']['name']!r}: {failure} (is a cluster "
        "reachable through KUBECONFIG or ~/.kube/config, with the Dask operator installed?)")


def _close_failed(kube_cluster_class: Any, name: str) -> None:
    """Close the KubeCluster that failed to start (it deletes what it created, if anything): left
    open, it warns when collected and dask-kubernetes tries to delete it again at exit."""
    import contextlib

    from distributed.core import Status

    for cluster in list(kube_cluster_class._instances):
        if cluster.name == name and cluster.status != Status.running:
            with contextlib.suppress(Exception):
                cluster.close(timeout=30)
            with contextlib.suppress(Exception):
                cluster._loop_runner.stop()
            cluster.status = Status.closed
            kube_cluster_class._instances.discard(cluster)


def autoscale(cluster: Any, minimum: int, maximum: int) -> dict[str, Any]:
    """Create (or update) the DaskAutoscaler of a KubeCluster; return its manifest."""
    manifest = autoscaler_spec(cluster.name, minimum, maximum, cluster.namespace)

    async def apply() -> None:
        import kr8s
        from dask_kubernetes.operator._objects import DaskAutoscaler

        autoscaler = await DaskAutoscaler(manifest, namespace=cluster.namespace)
        try:
            await autoscaler.patch({"spec": manifest["spec"]})
        except kr8s.NotFoundError:
            await autoscaler.create()

    cluster.sync(apply)
    return manifest
