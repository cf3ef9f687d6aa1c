"""Segmentation by the arcs of a matrix profile (FLUSS).

Every window has an arc to its nearest neighbour. Inside a regime, windows find neighbours in
the same regime, so few arcs cross a boundary between two regimes: the count of arcs over each
position (the *arc curve*), divided by the count expected if neighbours were drawn at random
(the *idealized arc curve*), is the *corrected arc curve* (CAC), in [0, 1]; its lowest points
are the regime boundaries (Gharghabi et al., "Matrix Profile VIII", ICDM 2017; STUMPY's
``fluss``).
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _validation as v
from ..errors import InvalidParameterError
from .matrix import MatrixProfile, matrix_profile

__all__ = ["Segmentation", "arc_curve", "fluss", "segments"]


class Segmentation(NamedTuple):
    """FLUSS's result: the corrected arc curve and the regime boundaries, unpackable as STUMPY's
    ``cac, regime_locs = fluss(...)``."""

    cac: NDArray[np.float64]
    regimes: NDArray[np.int64]


def arc_curve(I: ArrayLike) -> NDArray[np.int64]:
    """How many nearest-neighbour arcs ``(i, I[i])`` pass over each position ``x``
    (``min(i, I[i]) <= x < max(i, I[i])``); a window without a neighbour (``I[i] < 0``) has no
    arc.

    Examples
    --------
    >>> from patternlab.profiles.segments import arc_curve
    >>> arc_curve([2, 3, 0, 1]).tolist()
    [2, 4, 2, 0]
    """
    Ia = np.asarray(I)
    if Ia.ndim != 1 or Ia.dtype.kind not in "iu":
        raise InvalidParameterError(
            f"I must be a 1-D array of window indices; got {Ia.dtype} of shape {Ia.shape}")
    k = Ia.shape[0]
    if k and (Ia.max() >= k):
        raise InvalidParameterError(f"I holds index {int(Ia.max())} for {k} windows: pass a self-join's I")
    idx = np.arange(k, dtype=np.int64)
    J = np.where(Ia < 0, idx, Ia.astype(np.int64))
    marks = np.bincount(np.minimum(idx, J), minlength=k) - np.bincount(np.maximum(idx, J), minlength=k)
    out: NDArray[np.int64] = np.cumsum(marks).astype(np.int64)
    return out


def idealized_arc_curve(k: int, direction: str = "both") -> NDArray[np.float64]:
    """The arc curve expected when every window's neighbour is drawn uniformly at random.

    Parameters
    ----------
    k : int
        Number of windows.
    direction : {"both", "right", "left"}
        ``"both"`` (FLUSS): any window, ``2 (x + 1) (k - 1 - x) / k``, a parabola (STUMPY fits
        a beta density to one random draw instead, within about 1% of it). ``"right"``
        (FLOSS): window ``i < k - 1`` has a neighbour among the later windows ``i + 1 .. k - 1``,
        so ``(k - 1 - x) (H(k - 1) - H(k - 2 - x))`` arcs are expected over ``x``, with ``H`` the
        harmonic numbers; its peak is near ``(1 - 1/e) k``. ``"left"``: window ``j > 0`` has a
        neighbour among the earlier ones, the mirror image (``x -> k - 2 - x``). These are exact
        expectations, not fits: STUMPY's ``_iac(k, bidirectional=False)`` fits a beta density to
        one random draw of right neighbours, within 2-6% of ``"right"`` away from the edges.
        Nothing passes over the last position (0 there).

    Examples
    --------
    >>> from patternlab.profiles.segments import idealized_arc_curve
    >>> idealized_arc_curve(4).tolist()
    [1.5, 2.0, 1.5, 0.0]
    >>> idealized_arc_curve(4, "right").round(3).tolist()
    [1.0, 1.667, 1.833, 0.0]
    >>> idealized_arc_curve(4, "left").round(3).tolist()
    [1.833, 1.667, 1.0, 0.0]
    """
    k = _positive_int(k, "k", low=0)
    if direction == "both":
        x = np.arange(k, dtype=np.float64)
        out: NDArray[np.float64] = 2.0 * (x + 1.0) * (k - 1.0 - x) / k
        return out
    if direction not in ("right", "left"):
        raise InvalidParameterError(f"direction must be 'both', 'right' or 'left'; got {direction!r:.40}")
    ideal = np.zeros(k, dtype=np.float64)
    if k > 1:
        # right: sum over i <= x of P(neighbour of i > x) = sum_{i=0}^{x} (k-1-x) / (k-1-i);
        # the sums of 1/r for r = k-1-x .. k-1 are accumulated from the large r down (no cancellation)
        tail = np.cumsum(1.0 / np.arange(k - 1, 0, -1, dtype=np.float64))
        ideal[:k - 1] = np.arange(k - 1, 0, -1, dtype=np.float64) * tail
        if direction == "left":
            ideal[:k - 1] = ideal[k - 2::-1].copy()
    return ideal


def _positive_int(x: Any, name: str, low: int = 1) -> int:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral) or int(x) < low:
        raise InvalidParameterError(f"{name} must be an integer >= {low}; got {x!r:.40}")
    return int(x)


def _corrected(I: NDArray[Any], L: int, excl_factor: int, iac: Any) -> NDArray[np.float64]:
    k = I.shape[0]
    if iac is None:
        ideal = idealized_arc_curve(k)
    else:
        ideal = np.array(iac, dtype=np.float64)
        if ideal.shape != (k,) or not np.isfinite(ideal).all():
            raise InvalidParameterError(
                f"iac must be {k} finite numbers, one per window; got shape {ideal.shape}")
    ideal[ideal == 0.0] = 1e-10
    cac = np.minimum(arc_curve(I) / ideal, 1.0)
    if excl_factor > 0:
        cac[:L * excl_factor] = 1.0
        cac[max(k - L * excl_factor, 0):] = 1.0
    return cac


def _regimes(cac: NDArray[np.float64], n_regimes: int, L: int, excl_factor: int) -> NDArray[np.int64]:
    """The ``n_regimes - 1`` lowest points of the curve, each excluding ``excl_factor * L``
    positions around it (the first on ties)."""
    work = cac.copy()
    out = np.empty(n_regimes - 1, dtype=np.int64)
    for r in range(n_regimes - 1):
        x = int(np.argmin(work))
        out[r] = x
        work[max(x - excl_factor * L, 0):min(x + excl_factor * L, work.shape[0])] = 1.0
    return out


def fluss(I: ArrayLike, L: int, n_regimes: int, excl_factor: int = 5,
          iac: ArrayLike | None = None) -> Segmentation:
    """FLUSS from nearest-neighbour indices, with STUMPY's ``fluss`` arguments (see
    :func:`segments`, which takes a profile or a series).

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> I = np.r_[np.arange(1, 50), 0, np.arange(51, 100), 50]  # two regimes of 50 windows
    >>> pl.fluss(I, L=2, n_regimes=2, excl_factor=1).regimes.tolist()
    [49]
    """
    Ia = np.asarray(I)
    n_regimes = _positive_int(n_regimes, "n_regimes")
    excl_factor = _positive_int(excl_factor, "excl_factor", low=0)
    L = _positive_int(L, "L")
    cac = _corrected(Ia, L, excl_factor, iac)
    return Segmentation(cac, _regimes(cac, n_regimes, L, excl_factor))


def segments(mp_or_T: Any, m: int | None = None, n_regimes: int = 2, *, L: int | None = None,
             excl_factor: int = 5, iac: ArrayLike | None = None) -> Segmentation:
    """Regime boundaries of a series from its matrix profile (FLUSS, as STUMPY's ``fluss``).

    Parameters
    ----------
    mp_or_T : MatrixProfile or array_like
        A self-join :class:`~patternlab.MatrixProfile` (its nearest-neighbour indices ``I`` are
        used), or the series itself, whose profile is computed with window ``m`` (for a profile
        computed on Dask, pass ``pl.matrix_profile(T, m, client=client)``).
    m : int, optional
        The window; needed with a series, and must match ``mp.m`` with a profile.
    n_regimes : int
        Number of regimes: ``n_regimes - 1`` boundaries are returned.
    L : int, optional
        The scale of a boundary's neighbourhood, in samples (default: ``m``): positions within
        ``excl_factor * L`` of either end, and of a boundary already found, are not boundaries.
    excl_factor : int
        See ``L``; STUMPY's default 5. 0 turns the edge rule off.
    iac : array_like, optional
        The idealized arc curve to divide by (one value per window); default the parabola of
        uniformly random neighbours (:func:`idealized_arc_curve`). Pass STUMPY's (its ``_iac``,
        a fitted beta density) to reproduce its curve exactly.

    Returns
    -------
    Segmentation
        ``cac`` (the corrected arc curve, one value in [0, 1] per window; low values are regime
        changes) and ``regimes`` (the boundaries, lowest first).

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(3000)
    >>> T = np.where(t < 1500, np.sin(t / 8), np.sign(np.sin(t / 15))) + rng.normal(0, 0.1, 3000)
    >>> seg = pl.segments(T, m=100, n_regimes=2)
    >>> bool(1350 < seg.regimes[0] < 1550), seg.cac.shape
    (True, (2901,))
    """
    if isinstance(mp_or_T, MatrixProfile):
        if not mp_or_T.self_join:
            raise InvalidParameterError("segments needs a self-join profile (pl.matrix_profile(T, m)); "
                                        "got an AB-join")
        if m is not None and int(m) != mp_or_T.m:
            raise InvalidParameterError(f"m={m} differs from the profile's m={mp_or_T.m}: leave m out")
        mp = mp_or_T
    else:
        if m is None:
            raise InvalidParameterError("segments of a series need its window m: pass m=...")
        mp = matrix_profile(v.as_signal(mp_or_T, "T"), m)
    return fluss(mp.I, mp.m if L is None else L, n_regimes, excl_factor, iac)
