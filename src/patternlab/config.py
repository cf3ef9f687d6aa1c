"""EngineConfig: the parameters of pattern discovery, validated on construction and loadable from
files, Dask's configuration and the environment."""

from __future__ import annotations

import dataclasses
import json
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["ClusterConfig", "EngineConfig", "load_cluster_config", "load_config"]

_ENV_PREFIX = "PATTERNLAB_"


@dataclass(frozen=True)
class EngineConfig:
    """Parameters of :func:`patternlab.perceive` and of the pattern library.

    Parameters
    ----------
    window : int
        Length of a pattern (and of the matrix-profile windows), ``>= 3``.
    edge_threshold : float
        An *event* is a sample where the z-normalized signal jumps by more than this, in
        ``[0, 1]`` (a local maximum of the jump within half a window).
    cluster_threshold : float
        Pearson correlation, in ``[0, 1]``, from which a window is an occurrence of a pattern
        (a match) and a candidate is absorbed by a pattern instead of founding a new one.
    learning_rate : float
        How far, in ``(0, 1]``, an absorbed candidate moves its pattern's prototype.
    exploration_rate : float
        Probability, in ``[0, 1]``, of each of ``top_k`` draws of a random candidate window.
    top_k : int
        Number of motifs, discords and strongest events considered per signal, ``>= 1``.
    max_patterns : int
        Capacity of a library; beyond it the lowest-support pattern is archived, ``>= 1``.
    seed : int
        Seed of the exploration draws, ``>= 0``. Same input, config and seed: same result.

    Examples
    --------
    >>> from patternlab import EngineConfig
    >>> EngineConfig(window=128).window
    128
    >>> EngineConfig(cluster_threshold=1.5)
    Traceback (most recent call last):
    ...
    patternlab.errors.ConfigError: cluster_threshold=1.5 is outside [0, 1]: pass a correlation between 0 and 1
    """

    window: int = 64
    edge_threshold: float = 0.1
    cluster_threshold: float = 0.7
    learning_rate: float = 0.1
    exploration_rate: float = 0.2
    top_k: int = 5
    max_patterns: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("window", "top_k", "max_patterns", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ConfigError(f"{name}={value!r} must be an integer")
            object.__setattr__(self, name, int(value))
        for name in ("edge_threshold", "cluster_threshold", "learning_rate", "exploration_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ConfigError(f"{name}={value!r} must be a number")
            if value != value:  # NaN
                raise ConfigError(f"{name}=nan is not a number: pass a value in [0, 1]")
            object.__setattr__(self, name, float(value))
        if self.window < 3:
            raise ConfigError(f"window={self.window} is too short: pass window >= 3")
        for name in ("edge_threshold", "cluster_threshold", "exploration_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                what = "a correlation" if name == "cluster_threshold" else "a value"
                raise ConfigError(f"{name}={value:g} is outside [0, 1]: pass {what} between 0 and 1")
        if not 0.0 < self.learning_rate <= 1.0:
            raise ConfigError(f"learning_rate={self.learning_rate:g} is outside (0, 1]: pass e.g. 0.1")
        if self.top_k < 1:
            raise ConfigError(f"top_k={self.top_k} must be at least 1")
        if self.max_patterns < 1:
            raise ConfigError(f"max_patterns={self.max_patterns} must be at least 1")
        if self.seed < 0:
            raise ConfigError(f"seed={self.seed} must be >= 0")

    def replace(self, **changes: Any) -> EngineConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-serializable)."""
        return dataclasses.asdict(self)

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The names of the configuration fields."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "mapping") -> EngineConfig:
        """Build from a mapping, rejecting unknown keys (``source`` names it in errors)."""
        return cls(**_checked(values, source))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> EngineConfig:
        """Read a JSON or YAML file: the fields at the top level or under ``patternlab:``."""
        return cls(**_read_file(Path(path)))

    @classmethod
    def from_dask_config(cls) -> EngineConfig:
        """The ``patternlab`` section of Dask's configuration (files under ``~/.config/dask``,
        ``DASK_PATTERNLAB__WINDOW=128`` style environment variables) over the defaults."""
        return cls(**_dask_section())


def _checked(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        raise ConfigError(f"{source} must hold a mapping of settings; got {type(values).__name__}")
    out: dict[str, Any] = {}
    names = EngineConfig.fields()
    for key, value in values.items():
        k = str(key).replace("-", "_").lower()
        if k not in names:
            raise ConfigError(f"{source}: unknown setting {key!r}; valid settings: {', '.join(names)}")
        out[k] = value
    return out


def _read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    text = path.read_text()
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            raise ConfigError(f"config file {str(path)!r}: unsupported type; use .json, .yaml or .yml")
    except (ValueError, ImportError) as exc:  # json.JSONDecodeError and yaml.YAMLError
        raise ConfigError(f"config file {str(path)!r} could not be parsed: {exc}") from None
    except Exception as exc:  # yaml.YAMLError is not a ValueError
        raise ConfigError(f"config file {str(path)!r} could not be parsed: {exc}") from None
    if isinstance(data, Mapping) and "patternlab" in data:
        data = data["patternlab"]
    return _checked(data or {}, f"config file {str(path)!r}")


def _dask_section() -> dict[str, Any]:
    import dask.config

    section = dask.config.get("patternlab", default={}) or {}
    if isinstance(section, Mapping):  # cluster, store and monitoring settings share the section
        section = {k: v for k, v in section.items() if _key(k) not in NON_ENGINE_KEYS}
    return _checked(section, "dask config section 'patternlab'")


def _env_section(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    names = EngineConfig.fields()
    for key, raw in environ.items():
        if not key.startswith(_ENV_PREFIX):
            continue
        name = key[len(_ENV_PREFIX):].lower()
        if name not in names:
            continue  # other PATTERNLAB_* variables belong to other parts (stores, clusters)
        default = getattr(EngineConfig, name)
        try:
            out[name] = int(raw) if isinstance(default, int) else float(raw)
        except ValueError:
            raise ConfigError(f"environment variable {key}={raw!r} is not a number") from None
    return out


def load_config(path: str | os.PathLike[str] | None = None, **overrides: Any) -> EngineConfig:
    """The effective configuration, each source overriding the previous one.

    1. the defaults of :class:`EngineConfig`;
    2. Dask's configuration, section ``patternlab`` (``DASK_PATTERNLAB__WINDOW=128``);
    3. ``PATTERNLAB_WINDOW=128`` style environment variables;
    4. the file ``path`` (JSON or YAML), if given;
    5. keyword ``overrides``.

    Examples
    --------
    >>> from patternlab import load_config
    >>> load_config(window=32, top_k=5).top_k
    5
    """
    values: dict[str, Any] = {}
    values.update(_dask_section())
    values.update(_env_section(os.environ))
    if path is not None:
        values.update(_read_file(Path(path)))
    values.update(_checked(overrides, "load_config()"))
    return EngineConfig(**values)


# ------------------------------------------------------------------------------------------ clusters

#: Keys of Dask's ``patternlab`` section that are not :class:`EngineConfig` fields: the cluster
#: settings read by :func:`load_cluster_config`, and sub-sections of the stores and monitoring.
NON_ENGINE_KEYS = frozenset({
    "cluster", "min_workers", "max_workers", "n_workers", "threads_per_worker", "queue_depth_per_worker",
    "redis_url", "ssh", "kube", "redis", "store", "dashboard",
})

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


def _key(name: Any) -> str:
    return str(name).replace("-", "_").lower()


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
    >>> from patternlab.config import ClusterConfig
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
        url = self.redis_url
        if url is not None and (not isinstance(url, str) or "://" not in url):
            raise ConfigError(f"redis_url={self.redis_url!r} is not a URL: pass e.g. "
                              "'redis://:PASSWORD@HOST:PORT/0'")
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

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict."""
        out = dataclasses.asdict(self)
        out["ssh"], out["kube"] = dict(self.ssh), dict(self.kube)
        return out


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
        k = _key(key)
        if k not in keys:
            raise ConfigError(f"{name}: unknown setting {key!r}; valid settings: {', '.join(keys)}")
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
        k = _key(key)
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
            k = _key(key)
            if k in ("ssh", "kube") and isinstance(value, Mapping) and isinstance(values.get(k), Mapping):
                value = {**values[k], **{_key(a): b for a, b in value.items()}}
            values[k] = value
    fields = {f.name for f in dataclasses.fields(ClusterConfig)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ConfigError(f"load_cluster_config(): unknown setting {unknown[0]!r}; valid settings: "
                          f"{', '.join(sorted(fields))}")
    return ClusterConfig(**values)
