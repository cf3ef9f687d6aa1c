"""EngineConfig: the parameters of pattern discovery, validated on construction and loadable from
files, Dask's configuration and the environment."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._extras import imported
from .errors import ConfigError, UnknownSettingError

__all__ = ["EngineConfig", "load_config"]

_ENV_PREFIX = "PATTERNLAB_"


@dataclass(frozen=True)
class EngineConfig:
    """Parameters of :func:`patternlab.perceive` and of the pattern library.

    Parameters
    ----------
    window : int
        Length of a pattern (and of the matrix-profile windows), ``3 .. 2**24``.
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
        Number of motifs, discords and strongest events considered per signal, ``1 .. 10,000``.
    max_patterns : int
        Capacity of a library; beyond it the lowest-support pattern is archived, ``1 .. 2**40``.
    seed : int
        Seed of the exploration draws, ``0 .. 2**63 - 1``. Same input, config and seed: same
        result.
    min_complexity : float
        Candidate windows whose complexity estimate (Batista et al.'s ``CE``: the length of the
        z-normalized window's line, ``sqrt(sum(diff(z) ** 2))`` at unit standard deviation) is
        below this are not learned from: trends and steps found no pattern. For window 64 a
        straight line has ``CE`` 0.43, one sine period 0.8, a step 2, a random-walk window 2.8
        (median), white noise 11. When ``> 0``, candidates and prototypes are also compared by
        the complexity-invariant correlation ``1 - CF**2 (1 - r)`` (``CF``: the larger ``CE``
        over the smaller), so a simple window is not absorbed by a complex shape nor the
        reverse. ``0`` turns both off. ``0 .. 1e6``.
    min_support : int
        A candidate that resembles no pattern waits in a pool of pending candidates, and becomes
        a pattern when it has been seen this many times, ``1 .. 2**31 - 1`` (``1``: at once, no
        pool).
    pool_size : int
        Capacity of the pool of pending candidates; when it is full the least recently seen
        entry ages out (counted in ``PatternLibrary.counters``), ``1 .. 10**7``.
    max_lag : int or None
        A candidate and a pattern shifted by up to this many samples are the same shape: learning
        first frames the candidate's window around its activity (the centroid of its squared
        first differences at the centre, so that sightings cut at different places are framed
        alike), then tries it shifted by ``-max_lag .. max_lag`` against every pattern. Two
        patterns shifted by up to ``2 * max_lag`` samples (at most ``window // 2``) are shifted
        copies: learning and merging fold them into one, so no two patterns of a library are
        copies within that bound. ``None``: ``window // 4``; ``0``: no framing and no
        alignment; at most ``window // 2``.

    With ``min_complexity=0, min_support=1, max_lag=0`` the library learns exactly as
    patternlab 0.x did (every unmatched candidate founds a pattern).

    Every value is checked on construction: one out of range is a :class:`ConfigError`
    naming it and the range, and a misspelt keyword an :class:`UnknownSettingError` (also a
    ``TypeError``) naming the closest setting.

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
    min_complexity: float = 2.5
    min_support: int = 2
    pool_size: int = 128
    max_lag: int | None = None

    def __post_init__(self) -> None:
        if self.max_lag is not None:
            if isinstance(self.max_lag, bool) or not isinstance(self.max_lag, numbers.Integral):
                raise ConfigError(f"max_lag={shown(self.max_lag)} must be an integer or None")
            object.__setattr__(self, "max_lag", int(self.max_lag))
        for name in ("window", "top_k", "max_patterns", "seed", "min_support", "pool_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ConfigError(f"{name}={shown(value)} must be an integer")
            if not -LIMITS[name] <= int(value) <= LIMITS[name]:
                raise ConfigError(f"{name}={shown(value)} is beyond {LIMITS[name]:,}: pass at most "
                                  f"{LIMITS[name]:,} (larger values cannot fit in memory or in int64)")
            object.__setattr__(self, name, int(value))
        for name in ("edge_threshold", "cluster_threshold", "learning_rate", "exploration_rate",
                     "min_complexity"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ConfigError(f"{name}={shown(value)} must be a number")
            try:
                number = float(value)
            except (OverflowError, ValueError):
                raise ConfigError(f"{name}={shown(value)} is too large for a float: pass a value in the "
                                  "range the parameters list") from None
            if number != number:  # NaN
                raise ConfigError(f"{name}=nan is not a number: pass a value in [0, 1]")
            object.__setattr__(self, name, number)
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
        if self.max_lag is not None and abs(self.max_lag) > LIMITS["window"]:
            raise ConfigError(f"max_lag={shown(self.max_lag)} is outside [0, window // 2]: pass a small "
                              "shift such as window // 8, 0 (no alignment) or None")
        if self.max_patterns < 1:
            raise ConfigError(f"max_patterns={self.max_patterns} must be at least 1")
        if self.seed < 0:
            raise ConfigError(f"seed={self.seed} must be >= 0")
        if not 0.0 <= self.min_complexity <= 1e6:
            raise ConfigError(f"min_complexity={self.min_complexity:g} must be a number in [0, 1e6] "
                              "(0 turns the complexity filter off; white noise scores about 11)")
        if self.min_support < 1:
            raise ConfigError(f"min_support={self.min_support} must be at least 1 (1: no pool)")
        if self.pool_size < 1:
            raise ConfigError(f"pool_size={self.pool_size} must be at least 1")
        if self.max_lag is not None and not 0 <= self.max_lag <= self.window // 2:
            raise ConfigError(f"max_lag={self.max_lag} is outside [0, window // 2 = {self.window // 2}]: "
                              "pass a small shift such as window // 8, 0 (no alignment) or None")

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
        ``DASK_PATTERNLAB__WINDOW=128`` style environment variables) over the defaults; the
        defaults where Dask is not installed."""
        return cls(**_dask_section())


#: Bounds of the integer settings that keep memory and arithmetic sane: windows of 16 M samples,
#: 10,000 motifs per signal, 10 M pending candidates, int64 seeds; ``max_patterns`` is a capacity
#: (a library grows as it learns), bounded at 2**40, which internal merges use as "no bound".
LIMITS = {"window": 2**24, "top_k": 10_000, "max_patterns": 2**40, "seed": 2**63 - 1,
          "min_support": 2**31 - 1, "pool_size": 10_000_000}


def shown(value: Any) -> str:
    """``repr(value)`` for messages, shortened (an integer of thousands of digits is described,
    not printed: its repr may even be refused by Python)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and abs(int(value)) > 10**30:
        digits = int(int(value).bit_length() * 0.30103) + 1
        return f"<an integer of about {digits:,} digits>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def unknown_setting(name: Any, valid: tuple[str, ...] | list[str], where: str) -> UnknownSettingError:
    """The error for a setting ``name`` that is not one of ``valid``, naming the closest."""
    close = difflib.get_close_matches(str(name).replace("-", "_").lower(), list(valid), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return UnknownSettingError(f"{where}: unknown setting {shown(name)}; {hint}valid settings: "
                               f"{', '.join(valid)}")


def _checked(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        raise ConfigError(f"{source} must hold a mapping of settings; got {type(values).__name__}")
    out: dict[str, Any] = {}
    names = EngineConfig.fields()
    for key, value in values.items():
        k = str(key).replace("-", "_").lower()
        if k not in names:
            raise unknown_setting(key, names, source)
        out[k] = value
    return out


def _read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):  # pyyaml comes with the dask extra
        yaml = imported("yaml", f"the YAML config file {str(path)!r}", "dask")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
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
    try:
        import dask.config
    except ModuleNotFoundError as exc:
        if exc.name != "dask":
            raise
        return {}  # without Dask (the dask extra) there is no Dask config to read

    section = dask.config.get("patternlab", default={}) or {}
    if isinstance(section, Mapping):  # cluster, store and monitoring settings share the section
        section = {k: v for k, v in section.items() if setting_key(k) not in NON_ENGINE_KEYS}
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
            if name == "max_lag":
                out[name] = None if raw.strip().lower() in ("", "none") else int(raw)
            else:
                out[name] = int(raw) if isinstance(default, int) else float(raw)
        except ValueError:
            raise ConfigError(f"environment variable {key}={raw!r} is not a number") from None
    return out


def load_config(path: str | os.PathLike[str] | None = None, **overrides: Any) -> EngineConfig:
    """The effective configuration, each source overriding the previous one.

    1. the defaults of :class:`EngineConfig`;
    2. Dask's configuration, section ``patternlab`` (``DASK_PATTERNLAB__WINDOW=128``), where
       Dask is installed (the ``dask`` extra);
    3. ``PATTERNLAB_WINDOW=128`` style environment variables;
    4. the file ``path`` (JSON, or YAML with pyyaml, which the ``dask`` extra installs), if given;
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


#: Keys of Dask's ``patternlab`` section that are not :class:`EngineConfig` fields: the cluster
#: settings read by :func:`load_cluster_config`, and sub-sections of the stores and monitoring.
NON_ENGINE_KEYS = frozenset({
    "cluster", "min_workers", "max_workers", "n_workers", "threads_per_worker", "queue_depth_per_worker",
    "redis_url", "ssh", "kube", "redis", "store", "dashboard",
})

def setting_key(name: Any) -> str:
    """A setting name as compared: ``-`` read as ``_``, lower case."""
    return str(name).replace("-", "_").lower()


def strict_init(cls: Any) -> None:
    """Make ``cls(...)`` refuse an unknown keyword with :class:`UnknownSettingError` (a
    ``ConfigError`` and a ``TypeError``) naming the closest setting, instead of a bare
    ``TypeError``."""
    init = cls.__init__
    names = tuple(f.name for f in dataclasses.fields(cls))

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        for key in kwargs:
            if key not in names:
                raise unknown_setting(key, names, f"{cls.__name__}()")
        if len(args) > len(names):
            raise UnknownSettingError(f"{cls.__name__}() takes at most {len(names)} settings; got "
                                      f"{len(args)} positional values: pass them by name")
        init(self, *args, **kwargs)

    cls.__init__ = __init__


strict_init(EngineConfig)
