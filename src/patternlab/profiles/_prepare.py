"""Kernel inputs of a z-normalized profile: per-window statistics, constant windows (by default
or as the user flags them), and the float32 scaling of a search.

Shared by :mod:`.matrix` (the nearest neighbour), :mod:`._neighbours` (the ``k`` nearest) and
:mod:`.search` (distance profiles), below all of them in the import order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import _validation as v
from .._numba import pick
from ..kernels import stats
from ._tiling import Windows

#: Canonical tile shape (rows, diagonals) per search dtype. Results depend on the tiling only in
#: the last bits of intermediate sums, never on the number of threads or workers.
TILES: dict[type, tuple[int, int]] = {np.float64: (8192, 512), np.float32: (8192, 512)}

#: float32 searches only series whose non-constant windows have spreads within this factor of
#: each other; beyond it float32 rounding of the covariances would swamp the flattest windows'
#: correlations, and the search runs in float64 instead.
FLOAT32_MIN_SPREAD_RATIO = 1e-2


def stats_of(T: NDArray[np.float64], m: int, constant: NDArray[np.bool_] | None = None,
             prefix_sums: bool = False) -> tuple[Any, ...]:
    """``(Tc, mu, sig2, valid, constant)`` of every window of ``T`` (power-of-two scaled).

    ``constant``, when given, is the user's flag per window (``T_subseq_isconstant``); it replaces
    the default rounding-floor rule, except that a window whose samples are all equal is always
    constant (it has no spread to normalize by). ``prefix_sums``: in ``O(n)`` from double-double
    prefix sums (:func:`patternlab.kernels.stats.window_stats_prefix`, for distance profiles)
    instead of ``O(n m)``."""
    if prefix_sums and T.shape[0] > m:
        Tc, mu, sig2, valid, default = stats.window_stats_prefix(v.unit_scaled(T), m)
        if constant is not None:
            default = constant | (sig2 == 0.0)
        return Tc, mu, sig2, valid, default
    window_stats = pick(stats.window_stats, stats.window_stats_serial, T.shape[0] * m)
    Tc, mu, sig2, valid, default = window_stats(v.unit_scaled(T), m)
    if constant is not None:
        default = constant | (sig2 == 0.0)
    return Tc, mu, sig2, valid, default


def _float32_scale(sig2: NDArray[np.float64], valid: NDArray[np.bool_], constant: NDArray[np.bool_],
                   m: int) -> int | None:
    """The power of two that brings the largest window spread to about 1, or None when the
    spreads are too far apart for a float32 search (see :data:`FLOAT32_MIN_SPREAD_RATIO`)."""
    spread = np.sqrt(sig2[valid & ~constant] / m)
    if spread.size == 0:
        return 0
    if spread.min() < FLOAT32_MIN_SPREAD_RATIO * spread.max():
        return None
    return -int(np.frexp(spread.max())[1])


def _windows(raw: tuple[Any, ...], m: int, dtype: type, shift: int = 0) -> Windows:
    """Kernel inputs from :func:`stats_of`, scaled by ``2**shift`` (exact) for float32 ranges."""
    Tc, mu, sig2, valid, constant = raw
    if shift:
        Tc, mu, sig2 = np.ldexp(Tc, shift), np.ldexp(mu, shift), np.ldexp(sig2, 2 * shift)
    s, e = stats.correlation_terms(mu, sig2, valid, constant)
    df, dg = stats.diagonal_terms(Tc, mu, m)
    return Windows(Tc, mu, s, e, df.astype(dtype), dg.astype(dtype), s.astype(dtype), e.astype(dtype))


def prepare(series: list[NDArray[np.float64]], m: int, dtype: type,
            constants: list[NDArray[np.bool_] | None] | None = None) -> tuple[list[Windows], type]:
    """Kernel inputs of each series and the dtype the search will really use: float32 only when
    asked for and every series' spreads fit it. ``constants``: the user's constant-window flags
    of each series (or None)."""
    flags = constants if constants is not None else [None] * len(series)
    raw = [stats_of(T, m, c) for T, c in zip(series, flags)]
    shifts: list[int] = [0] * len(raw)
    if dtype == np.float32:
        found = [_float32_scale(r[2], r[3], r[4], m) for r in raw]
        # every sample enters the running covariance of some diagonal: after the shift that
        # brings the window spreads to about 1, the values themselves must stay far inside
        # float32's range (a huge value next to tiny windows would overflow)
        if all(x is not None for x in found) and all(
                r[0].size == 0 or np.ldexp(np.abs(r[0]).max(), int(x)) < 2.0**100  # type: ignore[arg-type]
                for r, x in zip(raw, found)):
            shifts = [int(x) for x in found]  # type: ignore[arg-type]
        else:
            dtype = np.float64
    return [_windows(r, m, dtype, k) for r, k in zip(raw, shifts)], dtype
