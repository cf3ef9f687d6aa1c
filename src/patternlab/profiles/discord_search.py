"""Exact top-k discords of a long series without its full matrix profile.

:func:`find_discords` returns what ``pl.matrix_profile(T, m).discords(k)`` returns (the same
windows, distances and neighbours, up to genuine ties between neighbours), but computes only the
nearest-neighbour distances of the few windows that can be discords: DRAG's candidate selection
and refinement (:mod:`patternlab.kernels.discord`) for a threshold ``r`` lowered step by step
from the largest possible z-normalized distance, ``2 sqrt(m)`` (``sqrt(m)`` when constant
windows cap every distance there), as MERLIN does, until the windows at or above ``r`` hold
``k`` non-overlapping discords.

Why that answer is the profile's: the profile's discords are taken greedily by decreasing
distance (each blocks the windows overlapping it). Every window whose distance is at least ``r``
comes, in that order, before every window below ``r``; the refinement yields exactly the former
(with their exact distances), so when the greedy pass over them picks ``k`` discords at or above
``r``, those are the first ``k`` picks of the greedy pass over the whole profile.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _validation as v
from .._numba import numba_threads, parallel_for, pick
from ..errors import InvalidParameterError
from ..kernels import discord as dk
from ..kernels import exact, stats
from ._prepare import stats_of as _stats
from .matrix import Discord, MatrixProfile, matrix_profile

__all__ = ["Discords", "find_discords"]

#: Each new threshold is this fraction of the previous one.
STEP = 0.93
#: Candidates (after the first phase) beyond which the pruning has failed on this series (a
#: threshold too low for the data): the full profile is computed instead, as
#: ``max(MIN_BUDGET, n_windows // (BUDGET_PER_M * m))``.
MIN_BUDGET = 2000
BUDGET_PER_M = 4


class Discords(list):  # type: ignore[type-arg]
    """The discords found (a list of :class:`~patternlab.Discord`, the most anomalous first),
    with ``stats``: how the search went.

    ``stats`` keys: ``threshold`` (the last ``r``), ``rounds`` (thresholds tried),
    ``candidates`` (after the first phase of the last round), ``survivors`` (windows whose
    distance is at least ``r``), ``distances`` (pair distances computed, all rounds, each
    possibly abandoned early), ``pairs`` (pairs of a full self-join), ``pruning_rate``
    (``1 - distances / pairs``), ``seconds``, and ``fallback`` (whether the full profile was
    computed instead).
    """

    stats: dict[str, Any]


def _reported(Tc: NDArray[Any], mu: NDArray[Any], s: NDArray[Any], e: NDArray[Any], m: int,
              idx: NDArray[np.int64], nb: NDArray[np.int64]) -> NDArray[np.float64]:
    """The distances of the pairs found, computed as the matrix profile reports them."""
    return np.array([exact.znorm_distance(Tc, mu, s, e, int(a), Tc, mu, s, e, int(b), m)
                     for a, b in zip(idx, nb)], dtype=np.float64)


def _greedy(idx: NDArray[np.int64], P: NDArray[np.float64], nb: NDArray[np.int64], k: int, m: int,
            r: float) -> list[Discord]:
    """The greedy non-overlapping picks of :meth:`MatrixProfile.discords` among windows ``idx``
    (sorted by index), kept while their distance is at least ``r``."""
    order = np.lexsort((idx, -P))  # by decreasing distance, the smaller index first on ties
    out: list[Discord] = []
    for x in order:
        if len(out) == k or P[x] < r:
            break
        i = int(idx[x])
        if not math.isfinite(P[x]) or any(abs(i - d.index) < m for d in out):
            continue
        out.append(Discord(i, float(P[x]), int(nb[x])))
    return out


def _first_threshold(constant: NDArray[np.bool_], valid: NDArray[np.bool_], m: int, excl: int) -> float:
    """Just above every finite nearest-neighbour distance: ``2 sqrt(m)``, the largest z-normalized
    distance; or ``sqrt(m)`` when the constant windows lie farther apart than an exclusion zone
    (every window then has a constant one outside its zone, at distance ``sqrt(m)`` or 0)."""
    const = np.flatnonzero(constant & valid)
    if const.size and const[-1] - const[0] > 2 * excl + 1:
        return math.sqrt(m) * (1.0 + 1e-6)
    return 2.0 * math.sqrt(m) * (1.0 + 1e-6)


def find_discords(T: ArrayLike, m: int, k: int = 3, *, left: bool = False, start: int = 0,
                  threads: int | None = None) -> Discords:
    """The ``k`` most anomalous non-overlapping windows of ``T``, exactly, without the full profile.

    The same answer as ``pl.matrix_profile(T, m).discords(k)`` (float64): the windows farthest
    from their nearest neighbour (self-join, exclusion zone ``ceil(m / 4)``), each blocking the
    windows overlapping it, NaN/inf windows never ranked, constant windows by the profile's
    conventions. Where two neighbours of a discord are at the same distance up to rounding, the
    neighbour reported may be the other one. Only the windows that can be discords get their
    nearest neighbour computed (see :mod:`patternlab.profiles.discord_search`), so a series of 10
    million samples takes minutes where its profile takes hours; on a series without outstanding
    windows (a threshold would keep too many candidates) the full profile is computed instead
    (``stats["fallback"]``).

    Parameters
    ----------
    T : array_like
        The series, 1-D; NaN and inf allowed.
    m : int
        Window length.
    k : int
        Number of discords wanted; fewer are returned when the series has no more.
    left : bool
        Left discords instead: the windows farthest from their nearest neighbour *in the past*
        (``pl.matrix_profile(T, m).discords(k, left=True)``, from the left profile ``PL``), the
        anomalies a stream would have flagged as they arrived. Found in the manner of DAMP: each
        window's past is scanned nearest offsets first and abandoned as soon as a neighbour is
        closer than a lower bound of the ``k``-th discord (one thread; ``threads`` is ignored).
        Windows without a past outside the exclusion zone are not ranked.
    start : int
        With ``left``: only windows from ``start`` on are ranked (the ones before it are only
        the past of the others: early windows, with little past, are far from all they have seen).
    threads : int, optional
        The most numba threads to use (default: all); the result does not depend on it.

    Returns
    -------
    Discords
        A list of :class:`~patternlab.Discord` ``(index, distance, neighbor)``, the most
        anomalous first, with ``.stats`` (threshold, candidates, pruning rate, ...).

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> T = np.sin(np.linspace(0, 200 * np.pi, 20_000)); T[12_000:12_040] += 0.5
    >>> found = pl.find_discords(T, m=100, k=1)
    >>> found == pl.matrix_profile(T, m=100).discords(1), found.stats["pruning_rate"] > 0.9
    (True, True)
    >>> left = pl.find_discords(T, m=100, k=1, left=True, start=2_000)  # each window against its past
    >>> left == pl.matrix_profile(T, m=100).discords(1, left=True, start=2_000)
    True
    """
    T = v.as_signal(T, "T")
    m = v.as_window(m, T.shape[0])
    k = v.as_count(k)
    threads = v.as_threads(threads)
    v.check_has_finite_window(T, m, "T")
    v.check_self_join(m, T.shape[0])
    t0 = time.perf_counter()
    excl = v.exclusion_zone(m)
    if start and not left:
        raise InvalidParameterError(f"start={start!r} applies to left discords: pass left=True")
    if left:
        return _left_discords(T, m, k, excl, v.as_start(start, T.shape[0] - m + 1), t0)
    with numba_threads(threads):
        Tc, mu, sig2, valid, constant = _stats(T, m)
        s, e = stats.correlation_terms(mu, sig2, valid, constant)
        n = s.shape[0]
        pairs = (n - excl - 1) * (n - excl) / 2
        budget = max(MIN_BUDGET, n // (BUDGET_PER_M * m))
        r = _first_threshold(constant, valid, m, excl)
        work, rounds = 0, 0
        phase1 = pick(dk.candidates, dk.candidates_serial, n * m)
        while True:
            rounds += 1
            keep, w1 = phase1(Tc, mu, s, e, m, excl, r, dk.SEGMENT)
            cand = np.flatnonzero(keep)
            work += int(w1)
            if len(cand) > budget:
                return _fallback(T, m, k, r, rounds, len(cand), work, pairs, t0)
            refine = dk.refine if parallel_for(len(cand) * n) else dk.refine_serial
            _, I, W = refine(Tc, mu, s, e, m, excl, r, cand)
            work += int(W.sum())
            ok = I >= 0
            idx, nb = cand[ok], I[ok]
            P = _reported(Tc, mu, s, e, m, idx, nb)
            found = _greedy(idx, P, nb, k, m, r)
            if len(found) == k or r == 0.0:
                break
            r *= STEP
            if r < 1e-3 or (found and r < found[0].distance / 4):
                r = 0.0  # the rest lies far below the best: every window (or the full profile)
    out = Discords(found)
    out.stats = {"threshold": r, "rounds": rounds, "candidates": len(cand), "survivors": int(ok.sum()),
                 "distances": work, "pairs": pairs, "pruning_rate": 1.0 - work / max(pairs, 1.0),
                 "seconds": time.perf_counter() - t0, "fallback": False}
    return out


def _left_discords(T: NDArray[np.float64], m: int, k: int, excl: int, start: int, t0: float) -> Discords:
    """:func:`find_discords` with ``left=True``."""
    Tc, mu, sig2, valid, constant = _stats(T, m)
    s, e = stats.correlation_terms(mu, sig2, valid, constant)
    n = s.shape[0]
    pairs = (n - excl - 1) * (n - excl) / 2
    budget = max(MIN_BUDGET, n // (BUDGET_PER_M * m))
    idx, d2, nb, work, failed = dk.left_search(Tc, mu, s, e, m, excl, k, budget, start)
    if failed:
        return _fallback(T, m, k, 0.0, 1, len(idx), int(work), pairs, t0, left=True, start=start)
    P = _reported(Tc, mu, s, e, m, idx, nb)
    out = Discords(_greedy(idx, P, nb, k, m, 0.0))
    out.stats = {"threshold": float(np.sqrt(m * d2.min())) if len(d2) else 0.0, "rounds": 1,
                 "candidates": len(idx), "survivors": len(idx), "distances": int(work), "pairs": pairs,
                 "pruning_rate": 1.0 - int(work) / max(pairs, 1.0),
                 "seconds": time.perf_counter() - t0, "fallback": False}
    return out


def _fallback(T: NDArray[np.float64], m: int, k: int, r: float, rounds: int, candidates: int,
              work: int, pairs: float, t0: float, left: bool = False, start: int = 0) -> Discords:
    mp: MatrixProfile = matrix_profile(T, m)
    out = Discords(mp.discords(k, left=left, start=start))
    out.stats = {"threshold": r, "rounds": rounds, "candidates": candidates, "survivors": -1,
                 "distances": work + pairs, "pairs": pairs, "pruning_rate": 0.0,
                 "seconds": time.perf_counter() - t0, "fallback": True}
    return out
