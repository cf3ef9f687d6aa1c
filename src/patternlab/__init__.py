"""patternlab: discover recurring patterns in large collections of signals.

The public API::

    import patternlab as pl
    mp = pl.matrix_profile(T, m=100)          # exact matrix profile (numba, all cores)
    mp.P, mp.I, mp.motifs(3), mp.discords(3)
    pl.distance_profile(Q, T)
    pl.motifs(T, m, k), pl.discords(T, m, k)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .errors import (
    InvalidParameterError,
    InvalidSignalError,
    InvalidWindowError,
    PatternlabError,
    SignalTypeError,
)
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
    "Discord",
    "InvalidParameterError",
    "InvalidSignalError",
    "InvalidWindowError",
    "MatrixProfile",
    "Motif",
    "PatternlabError",
    "SignalTypeError",
    "__version__",
    "discords",
    "distance_profile",
    "matrix_profile",
    "motifs",
]
