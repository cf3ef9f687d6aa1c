"""The cluster part of the configuration: which cluster a Lab starts and how it scales, from Dask's
``patternlab`` section, the short ``PATTERNLAB_*`` variables and keyword overrides."""

from __future__ import annotations

import dataclasses
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import setting_key, strict_init, unknown_setting
from ..errors import ConfigError
from ..store._redis_url import check_url, mask_url

__all__ = ["CLUSTER_ENV", "ClusterConfig", "load_cluster_config"]

#: The short environment variables of the cluster settings, over Dask's configuration.
CLUSTER_ENV = {
    "PATTERNLAB_CLUSTER": "cluster",
    "PATTERNLAB_MIN_WORKERS": "min_workers",
    "PATTERNLAB_MAX_WORKERS": "max_workers",
    "PATTERNLAB_REDIS_URL": "redis_url",
}

_KINDS = ("local", "ssh", "kube")
_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")
_SSH_KEYS = ("hosts", "connect_options", "worker_options", "scheduler_options", "remote_python")
_KUBE_KEYS = ("name", "image", "namespace", "resources", "env", "redis_secret", "redis_secret_key",
              "numba_cache_dir", "threading_layer", "tls_secret", "scheduler_service_type", "idle_timeout")


@dataclass(frozen=True)
class ClusterConfig:
    """Where :class:`~patternlab.Lab` runs and how it scales, validated on construction.

    Load the effective settings with :func:`load_cluster_config` (Dask's ``patternlab`` section,
    then the short environment variables); :meth:`patternlab.Lab.from_config` opens the Lab they
    describe.

    Parameters
    ----------
    cluster : str
        ``"local"`` (a LocalCluster), ``"ssh"`` (``ssh.hosts``), ``"kube"`` (the ``kube``
        settings) or the address of a running scheduler (``tcp://host:port``, ``tls://...``).
    min_workers, max_workers : int, optional
        Adaptive scaling bounds; when either is set, the Lab adapts between them.
    n_workers : int, optional
        Workers started with the cluster (local: one per core, at most 4).
    threads_per_worker : int
        Threads per worker process (local and SSH).
    queue_depth_per_worker : int, optional
        Scale on the number of queued and running tasks (this many per worker) instead of Dask's
        default estimate of the work's duration.
    redis_url : str, optional
        The live Redis pattern store (``redis://...``), for the stores and the workers.
    ssh : mapping
        ``hosts`` (the first runs the scheduler), ``connect_options``, ``worker_options``,
        ``scheduler_options``, ``remote_python``: see :meth:`patternlab.Lab.ssh`.
    kube : mapping
        Keyword arguments of :func:`patternlab.kube_spec` (``name``, ``image``, ``namespace``, ...).

    Examples
    --------
    >>> from patternlab.lab.config import ClusterConfig
    >>> ClusterConfig(cluster="tcp://scheduler.example:8786").kind
    'address'
    >>> ClusterConfig(min_workers=4, max_workers=2)
    Traceback (most recent call last):
    ...
    patternlab.errors.ConfigError: min_workers=4 is larger than max_workers=2: pass min_workers <= max_workers
    """

    cluster: str = "local"
    min_workers: int | None = None
    max_workers: int | None = None
    n_workers: int | None = None
    threads_per_worker: int = 1
    queue_depth_per_worker: int | None = None
    redis_url: str | None = None
    ssh: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    kube: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cluster", _cluster_value(self.cluster, "cluster"))
        for name in ("min_workers", "max_workers", "n_workers", "queue_depth_per_worker"):
            value = getattr(self, name)
            if value is not None:
                low = 0 if name in ("min_workers", "max_workers") else 1
                object.__setattr__(self, name, _int_value(value, name, low))
        object.__setattr__(self, "threads_per_worker", _int_value(self.threads_per_worker,
                                                                  "threads_per_worker", 1))
        if (self.min_workers is not None and self.max_workers is not None
                and self.min_workers > self.max_workers):
            raise ConfigError(f"min_workers={self.min_workers} is larger than max_workers="
                              f"{self.max_workers}: pass min_workers <= max_workers")
        if self.redis_url is not None:
            check_url(self.redis_url, "redis_url")  # every part, the password masked in errors
        object.__setattr__(self, "ssh", _sub_mapping(self.ssh, "ssh", _SSH_KEYS))
        object.__setattr__(self, "kube", _sub_mapping(self.kube, "kube", _KUBE_KEYS))
        hosts = self.ssh.get("hosts")
        if hosts is not None:
            if isinstance(hosts, str):
                hosts = [h.strip() for h in hosts.split(",") if h.strip()]
            if not isinstance(hosts, (list, tuple)) or not all(isinstance(h, str) and h for h in hosts):
                raise ConfigError(f"ssh.hosts={hosts!r} must be a list of host names")
            self.ssh["hosts"] = list(hosts)  # type: ignore[index]

    @property
    def kind(self) -> str:
        """``"local"``, ``"ssh"``, ``"kube"`` or ``"address"``."""
        return self.cluster if self.cluster in _KINDS else "address"

    @property
    def adaptive(self) -> bool:
        """Whether the settings ask for adaptive scaling (``min_workers`` or ``max_workers``)."""
        return self.min_workers is not None or self.max_workers is not None

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"ClusterConfig({shown})"

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict, for display: the password in ``redis_url`` (and any
        value under a key such as ``password``, ``passphrase`` or ``token`` in the ``ssh`` and
        ``kube`` settings) is shown as ``***``; the attributes keep the values themselves.

        Examples
        --------
        >>> from patternlab.lab.config import ClusterConfig
        >>> ClusterConfig(redis_url="redis://:hunter2@redis.internal:6379/0").to_dict()["redis_url"]
        'redis://:***@redis.internal:6379/0'
        """
        out = dataclasses.asdict(self)
        out["ssh"], out["kube"] = _masked(dict(self.ssh)), _masked(dict(self.kube))
        if self.redis_url is not None:
            out["redis_url"] = mask_url(self.redis_url)
        return out


_SECRET_WORDS = ("password", "passphrase", "token", "api_key")


def _masked(value: Any, key: str = "") -> Any:
    """``value`` for display: values of keys that name a secret (``password``, ``passphrase``,
    ``token``, ...) shown as ``***``, at any depth; URLs with their password masked."""
    if key and any(w in key.lower() for w in _SECRET_WORDS) and value not in (None, ""):
        return "***"
    if isinstance(value, Mapping):
        return {k: _masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_masked(v) for v in value)
    if isinstance(value, str) and "://" in value and "@" in value:
        return mask_url(value)
    return value


def _int_value(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name}={value!r} must be an integer")
    if int(value) < low:
        raise ConfigError(f"{name}={int(value)} must be at least {low}")
    return int(value)


def _cluster_value(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name}={value!r}: pass 'local', 'ssh', 'kube' or a scheduler address "
                          "such as 'tcp://HOST:PORT'")
    text = value.strip()
    if text.lower() in _KINDS:
        return text.lower()
    scheme, sep, rest = text.partition("://")
    if sep and scheme.lower() in _SCHEMES and rest:
        return text
    host, colon, port = text.rpartition(":")
    if not sep and colon and host and port.isdigit():
        return f"tcp://{text}"
    raise ConfigError(f"{name}={value!r} is neither 'local', 'ssh', 'kube' nor a scheduler address: "
                      "pass one of those, e.g. 'tcp://HOST:PORT'")


def _sub_mapping(values: Any, name: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise ConfigError(f"{name} settings must be a mapping; got {type(values).__name__}")
    out: dict[str, Any] = {}
    for key, value in values.items():
        k = setting_key(key)
        if k not in keys:
            raise unknown_setting(key, keys, name)
        out[k] = value
    return out


def _cluster_dask_section() -> dict[str, Any]:
    import dask.config

    section = dask.config.get("patternlab", default={}) or {}
    if not isinstance(section, Mapping):
        raise ConfigError(f"dask config section 'patternlab' must be a mapping; got {type(section).__name__}")
    fields = {f.name for f in dataclasses.fields(ClusterConfig)}
    out: dict[str, Any] = {}
    for key, value in section.items():
        k = setting_key(key)
        if k in fields and value is not None:
            out[k] = value
    return out


def _cluster_env(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for variable, name in CLUSTER_ENV.items():
        raw = environ.get(variable)
        if raw is None or raw.strip() == "":
            continue
        if name in ("min_workers", "max_workers"):
            try:
                out[name] = int(raw)
            except ValueError:
                out[name] = -1
            if out[name] < 0:
                raise ConfigError(f"environment variable {variable}={raw!r} is not a number of workers: "
                                  "pass an integer >= 0")
        elif name == "cluster":
            try:
                out[name] = _cluster_value(raw, variable)
            except ConfigError as exc:
                raise ConfigError(f"environment variable {exc}") from None
        elif name == "redis_url":
            try:
                check_url(raw.strip(), variable)
            except ConfigError as exc:
                raise ConfigError(f"environment variable {exc}") from None
            out[name] = raw.strip()
        else:
            out[name] = raw.strip()
    return out


def load_cluster_config(**overrides: Any) -> ClusterConfig:
    """The effective cluster settings, each source overriding the previous one.

    1. the defaults of :class:`ClusterConfig`;
    2. Dask's configuration, section ``patternlab`` (YAML files in Dask's config directories,
       ``DASK_PATTERNLAB__MAX_WORKERS=20`` style environment variables, ``dask.config.set``):
       keys ``cluster``, ``min-workers``, ``max-workers``, ``n-workers``, ``threads-per-worker``,
       ``queue-depth-per-worker``, ``redis-url``, and the sub-sections ``ssh`` and ``kube``;
    3. the short environment variables ``PATTERNLAB_CLUSTER``, ``PATTERNLAB_MIN_WORKERS``,
       ``PATTERNLAB_MAX_WORKERS``, ``PATTERNLAB_REDIS_URL``;
    4. keyword ``overrides`` that are not ``None`` (``ssh`` and ``kube`` mappings are merged key
       by key).

    Examples
    --------
    >>> from patternlab import load_cluster_config
    >>> load_cluster_config(cluster="local", max_workers=8).max_workers
    8
    """
    values: dict[str, Any] = {}
    for source in (_cluster_dask_section(), _cluster_env(os.environ),
                   {k: v for k, v in overrides.items() if v is not None}):
        for key, value in source.items():
            k = setting_key(key)
            if k in ("ssh", "kube") and isinstance(value, Mapping) and isinstance(values.get(k), Mapping):
                value = {**values[k], **{setting_key(a): b for a, b in value.items()}}
            values[k] = value
    fields = {f.name for f in dataclasses.fields(ClusterConfig)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise unknown_setting(unknown[0], sorted(fields), "load_cluster_config()")
    return ClusterConfig(**values)


strict_init(ClusterConfig)
