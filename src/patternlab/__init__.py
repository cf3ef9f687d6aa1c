"""patternlab: discover recurring patterns in large collections of signals.

The public API::

    import patternlab as pl
    mp = pl.matrix_profile(T, m=100)          # exact matrix profile (numba, all cores)
    mp.P, mp.I, mp.motifs(3), mp.discords(3)
    pl.distance_profile(Q, T)
    pl.motifs(T, m, k), pl.discords(T, m, k)

    lib = pl.PatternLibrary(window=64)
    res = pl.perceive(signal, domain="audio", library=lib)   # detect, discover, match, learn
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .config import EngineConfig, load_config
from .engine import Match, Perception, perceive
from .errors import (
    ConfigError,
    InvalidParameterError,
    InvalidSignalError,
    InvalidWindowError,
    PatternlabError,
    PatternNotFoundError,
    SignalTypeError,
)
from .library import Pattern, PatternLibrary
from .profile import (
    Discord,
    MatrixProfile,
    Motif,
    discords,
    distance_profile,
    matrix_profile,
    motifs,
)

try:
    __version__ = version("patternlab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "ConfigError",
    "Discord",
    "EngineConfig",
    "InvalidParameterError",
    "InvalidSignalError",
    "InvalidWindowError",
    "Match",
    "MatrixProfile",
    "Motif",
    "Pattern",
    "PatternLibrary",
    "PatternNotFoundError",
    "PatternlabError",
    "Perception",
    "SignalTypeError",
    "__version__",
    "discords",
    "distance_profile",
    "load_config",
    "matrix_profile",
    "motifs",
    "perceive",
]
