"""The search of :func:`patternlab.match`: a query's distance profile, and all its
non-overlapping occurrences in it.

:func:`query_profile_serial` computes the distances of :func:`patternlab.distance_profile`
and :func:`patternlab.match` with the query's z-normalized samples computed once; each window's
sum vectorizes (reassociated). It has no ``prange`` twin: a copy of the loop inlined into a
parallel region was vectorized with another order of the sums on an AVX-512 machine (other
bits), and one core already does a 100,000-sample profile in about 2 ms (the statistics, in
``O(n)``, cost more). Every caller, in process or in a Dask task, runs this one compiled loop
on whole series or slices, so the distances are the same bits everywhere.
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import JIT
from .stats import mean_and_squares


@numba.njit(**JIT)  # the flags of exact.znorm_distance (none)
def normalized_query(Qc, muQ, sQ, m):  # pragma: no cover - compiled
    """The query's samples as :func:`patternlab.kernels.exact.znorm_distance` scales them:
    ``(Qc[t] - muQ[0]) * sQ[0]``."""
    qn = np.empty(m)
    for t in range(m):
        qn[t] = (Qc[t] - muQ[0]) * sQ[0]
    return qn


@numba.njit(fastmath={"reassoc"}, **JIT)  # no "contract": an FMA would make x*a - x*a nonzero
def _query_range(qn, eq, Tc, muT, sT, eT, m, lo, hi, D):  # pragma: no cover - compiled
    for b in range(lo, hi):
        if eq < 0 or eT[b] < 0:
            D[b] = np.inf
        elif eq > 0 or eT[b] > 0:
            D[b] = 0.0 if (eq > 0 and eT[b] > 0) else np.sqrt(m)
        else:
            xb = muT[b]
            yb = sT[b]
            acc = 0.0
            for t in range(m):
                d = qn[t] - (Tc[b + t] - xb) * yb
                acc += d * d
            D[b] = np.sqrt(m * acc)


@numba.njit(**JIT)
def query_profile_serial(qn, eq, Tc, muT, sT, eT, m):  # pragma: no cover - compiled
    """Distance from the query (``qn`` from :func:`normalized_query`, ``eq`` its correlation
    term) to every window of T, on the calling thread (see the module notes: no parallel twin)."""
    D = np.empty(sT.shape[0])
    _query_range(qn, eq, Tc, muT, sT, eT, m, 0, sT.shape[0], D)
    return D


@numba.njit(fastmath={"reassoc"}, **JIT)  # the flags of _query_range
def refine_close(D, qn, eq, Tc, eT, m, limit):  # pragma: no cover - compiled
    """Measure again the windows at a distance below ``limit`` with their statistics measured
    directly (:func:`patternlab.kernels.stats.mean_and_squares`, as the query's are), in place:
    the statistics from prefix sums can differ from those in the last bit, and a window equal to
    the query must be at distance exactly 0."""
    if eq != 0:
        return
    xb = np.empty(1)
    yb = np.empty(1)
    for b in range(D.shape[0]):
        if eT[b] == 0 and D[b] < limit:
            xb[0], q, _ = mean_and_squares(Tc, b, m)
            if q > 0.0:
                yb[0] = 1.0 / np.sqrt(q)  # as stats.correlation_terms
                wn = normalized_query(Tc[b:b + m], xb, yb, m)  # as the query's samples
                acc = 0.0
                for t in range(m):
                    d = qn[t] - wn[t]
                    acc += d * d
                D[b] = np.sqrt(m * acc)


@numba.njit(**JIT)
def find_matches(D, excl, threshold, max_matches):  # pragma: no cover - compiled
    """The windows of ``D`` taken greedily by increasing distance, each excluding its neighbours.

    Windows with a finite ``D[i] <= threshold`` are visited by increasing distance (the smaller
    index first on ties); one is kept unless it lies within ``excl`` of a window kept before
    (``|i - j| <= excl``), and at most ``max_matches`` are kept. This is STUMPY's repeated
    ``argmin`` with an exclusion zone, in one sort. Returns ``(distances, indices)``, best first.
    """
    n = D.shape[0]
    cand = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        d = D[i]
        if np.isfinite(d) and d <= threshold:
            cand[k] = i
            k += 1
    cand = cand[:k]
    order = cand[np.argsort(D[cand], kind="mergesort")]
    used = np.zeros(n, dtype=np.bool_)
    top = min(k, max_matches)
    out_d = np.empty(top)
    out_i = np.empty(top, dtype=np.int64)
    found = 0
    for x in order:
        if found == top:
            break
        if used[x]:
            continue
        out_d[found] = D[x]
        out_i[found] = x
        found += 1
        for y in range(max(0, x - excl), min(n, x + excl + 1)):
            used[y] = True
    return out_d[:found], out_i[:found]


@numba.njit(**JIT)
def finite_mean_std(D):  # pragma: no cover - compiled
    """``(mean, std, min, count)`` of the finite values of ``D`` (two passes; std with ``ddof=0``,
    as ``np.nanstd``); NaN, NaN, inf, 0 when there are none."""
    total = 0.0
    low = np.inf
    k = 0
    for x in D:
        if np.isfinite(x):
            total += x
            low = min(low, x)
            k += 1
    if k == 0:
        return np.nan, np.nan, np.inf, 0
    mean = total / k
    ss = 0.0
    for x in D:
        if np.isfinite(x):
            ss += (x - mean) * (x - mean)
    return mean, np.sqrt(ss / k), low, k


@numba.njit(**JIT)
def _block(mask, x, m):  # pragma: no cover - compiled
    """Mark every window overlapping window ``x`` (``|y - x| < m``)."""
    for y in range(max(0, x - m + 1), min(mask.shape[0], x + m)):
        mask[y] = True


@numba.njit(**JIT)
def motif_set(D, first, taken, m, threshold, max_matches):  # pragma: no cover - compiled
    """The occurrences of the motif whose window is ``first``: ``first`` itself, then the windows
    of ``D`` with a finite ``D[i] <= threshold`` by increasing distance (the smaller index on
    ties), each kept unless it overlaps (``|i - j| < m``) an occurrence kept before or a window
    marked in ``taken``; at most ``max_matches`` in all. Returns ``(distances, indices)``."""
    n = D.shape[0]
    cand = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        d = D[i]
        if i != first and not taken[i] and np.isfinite(d) and d <= threshold:
            cand[k] = i
            k += 1
    cand = cand[:k]
    order = cand[np.argsort(D[cand], kind="mergesort")]
    used = np.zeros(n, dtype=np.bool_)
    top = min(k + 1, max_matches)
    out_d = np.empty(top)
    out_i = np.empty(top, dtype=np.int64)
    out_d[0] = D[first]
    out_i[0] = first
    _block(used, first, m)
    found = 1
    for x in order:
        if found == top:
            break
        if used[x]:
            continue
        out_d[found] = D[x]
        out_i[found] = x
        found += 1
        _block(used, x, m)
    return out_d[:found], out_i[:found]


@numba.njit(**JIT)
def next_candidate(P, skip, limit):  # pragma: no cover - compiled
    """The window with the smallest finite ``P <= limit`` not marked in ``skip`` (the smaller
    index on ties), or -1: the candidates of the motif sets one at a time, without sorting."""
    best = -1
    low = np.inf
    for i in range(P.shape[0]):
        if not skip[i] and P[i] < low and P[i] <= limit:
            low = P[i]
            best = i
    return best
