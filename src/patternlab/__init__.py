"""patternlab: discover recurring patterns in large collections of signals.

The public API::

    import patternlab as pl
    mp = pl.matrix_profile(T, m=100)          # exact matrix profile (numba, all cores)
    mp.P, mp.I, mp.motifs(3), mp.discords(3)
    pl.distance_profile(Q, T)
    pl.motifs(T, m, k), pl.discords(T, m, k)
    pl.match(Q, T)                            # every occurrence of Q in T (or in a list of series)

    lib = pl.PatternLibrary(window=64)
    res = pl.perceive(signal, domain="audio", library=lib)   # detect, discover, match, learn
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import datasets
from ._extras import Unavailable, imported
from ._version import __version__
from .config import EngineConfig, load_config
from .engine import Match, Perception, perceive
from .errors import (
    ClusterConnectionError,
    ConfigError,
    DataFormatError,
    InvalidParameterError,
    InvalidSignalError,
    InvalidWindowError,
    MissingDependencyError,
    NoFiniteWindowWarning,
    PatternlabError,
    PatternlabWarning,
    PatternNotFoundError,
    RunMismatchError,
    SignalTypeError,
    StoreConnectionError,
    StoreDataError,
    StoreError,
    UnknownSettingError,
)
from .library import Pattern, PatternLibrary
from .profiles import (
    MDL,
    ConsensusMotif,
    Discord,
    Discords,
    MatrixProfile,
    Motif,
    MotifSet,
    MultiProfile,
    Occurrence,
    PanProfile,
    Segmentation,
    SeriesOccurrence,
    arc_curve,
    consensus_motif,
    discords,
    distance_profile,
    find_discords,
    fluss,
    match,
    matrix_profile,
    mdl,
    motifs,
    open_profile,
    pan_profile,
    segments,
    subspace,
    suggest_windows,
)
from .stream import (
    ApproximateProfile,
    PatternStream,
    StreamEvent,
    StreamingProfile,
    StreamingSegmentation,
    approximate_profile,
)

if TYPE_CHECKING:  # imported on first use (below)
    from .batch import BatchResult, Run, ZarrCorpus, open_run, write_signals
    from .features import PatternFeatures
    from .lab import ClusterConfig, Lab, batch_perceive, kube_spec, load_cluster_config
    from .profiles._store import StoredProfile
    from .store.base import PatternStore, PublishResult
    from .store.memory import MemoryPatternStore
    from .store.redis import RedisPatternStore
    from .store.zarr_store import ZarrPatternStore

#: Public names whose module is imported on first use, not by ``import patternlab``: what they
#: import is slow to load (scikit-learn, Dask's distributed, zarr, redis) and comes with an extra
#: (``pip install "patternlab[dask]"``; the second item), not needed by the profiles and the
#: library in memory.
_ON_FIRST_USE: dict[str, tuple[str, str]] = {
    "PatternFeatures": ("patternlab.features", "features"),
    **dict.fromkeys(["BatchResult", "Run", "ZarrCorpus", "open_run", "write_signals"],
                    ("patternlab.batch", "dask")),
    **dict.fromkeys(["ClusterConfig", "Lab", "batch_perceive", "kube_spec", "load_cluster_config"],
                    ("patternlab.lab", "dask")),
    "RedisPatternStore": ("patternlab.store.redis", "redis"),
    "ZarrPatternStore": ("patternlab.store.zarr_store", "zarr"),
    "StoredProfile": ("patternlab.profiles._store", "zarr"),
    **dict.fromkeys(["PatternStore", "PublishResult"], ("patternlab.store.base", "zarr")),
    "MemoryPatternStore": ("patternlab.store.memory", "zarr"),
}
#: Sub-packages that ``import patternlab`` used to load, imported on first use too
#: (``pl.lab.ClusterConfig``), with their extra.
_PACKAGES_ON_FIRST_USE = {"batch": "dask", "dashboard": "dask", "lab": "dask"}


def __getattr__(name: str) -> Any:
    if name in _PACKAGES_ON_FIRST_USE:
        return imported(f"{__name__}.{name}", f"patternlab.{name}", _PACKAGES_ON_FIRST_USE[name])
    if name in _ON_FIRST_USE:
        module, extra = _ON_FIRST_USE[name]
        try:
            value = getattr(imported(module, name, extra), name)
        except MissingDependencyError as exc:
            return Unavailable(name, exc)  # raises when used; not kept (looked up again once installed)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'patternlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_ON_FIRST_USE) | set(_PACKAGES_ON_FIRST_USE))


__all__ = [
    "MDL",
    "ApproximateProfile",
    "BatchResult",
    "ClusterConfig",
    "ClusterConnectionError",
    "ConfigError",
    "ConsensusMotif",
    "DataFormatError",
    "Discord",
    "Discords",
    "EngineConfig",
    "InvalidParameterError",
    "InvalidSignalError",
    "InvalidWindowError",
    "Lab",
    "Match",
    "MatrixProfile",
    "MemoryPatternStore",
    "MissingDependencyError",
    "Motif",
    "MotifSet",
    "MultiProfile",
    "NoFiniteWindowWarning",
    "Occurrence",
    "PanProfile",
    "Pattern",
    "PatternFeatures",
    "PatternLibrary",
    "PatternNotFoundError",
    "PatternStore",
    "PatternStream",
    "PatternlabError",
    "PatternlabWarning",
    "Perception",
    "PublishResult",
    "RedisPatternStore",
    "Run",
    "RunMismatchError",
    "Segmentation",
    "SeriesOccurrence",
    "SignalTypeError",
    "StoreConnectionError",
    "StoreDataError",
    "StoreError",
    "StoredProfile",
    "StreamEvent",
    "StreamingProfile",
    "StreamingSegmentation",
    "UnknownSettingError",
    "ZarrCorpus",
    "ZarrPatternStore",
    "__version__",
    "approximate_profile",
    "arc_curve",
    "batch_perceive",
    "consensus_motif",
    "datasets",
    "discords",
    "distance_profile",
    "find_discords",
    "fluss",
    "kube_spec",
    "load_cluster_config",
    "load_config",
    "match",
    "matrix_profile",
    "mdl",
    "motifs",
    "open_profile",
    "open_run",
    "pan_profile",
    "perceive",
    "segments",
    "subspace",
    "suggest_windows",
    "write_signals",
]
