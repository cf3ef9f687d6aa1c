"""The search of :func:`patternlab.match`: a query's distance profile, and all its
non-overlapping occurrences in it.

:func:`query_profile` gives the distances of :func:`patternlab.kernels.exact.distance_profile`
bit for bit (the same operations on every window, in the same order), with the query's
z-normalized samples computed once instead of once a window: about 3x faster.
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import JIT, JIT_PARALLEL
from .stats import CHUNK


@numba.njit(**JIT)  # the flags of exact.znorm_distance (none)
def normalized_query(Qc, muQ, sQ, m):  # pragma: no cover - compiled
    """The query's samples as :func:`patternlab.kernels.exact.znorm_distance` scales them:
    ``(Qc[t] - muQ[0]) * sQ[0]``."""
    qn = np.empty(m)
    for t in range(m):
        qn[t] = (Qc[t] - muQ[0]) * sQ[0]
    return qn


@numba.njit(**JIT)  # no fastmath flag, as exact.znorm_distance
def _query_range(qn, eq, Tc, muT, sT, eT, m, lo, hi, D):  # pragma: no cover - compiled
    for b in range(lo, hi):
        if eq < 0 or eT[b] < 0:
            D[b] = np.inf
        elif eq > 0 or eT[b] > 0:
            D[b] = 0.0 if (eq > 0 and eT[b] > 0) else np.sqrt(m)
        else:
            xb = muT[b]
            yb = sT[b]
            # the partial sums of exact.znorm_distance, in its order
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            t = 0
            while t + 4 <= m:
                d0 = qn[t] - (Tc[b + t] - xb) * yb
                d1 = qn[t + 1] - (Tc[b + t + 1] - xb) * yb
                d2 = qn[t + 2] - (Tc[b + t + 2] - xb) * yb
                d3 = qn[t + 3] - (Tc[b + t + 3] - xb) * yb
                a0 += d0 * d0
                a1 += d1 * d1
                a2 += d2 * d2
                a3 += d3 * d3
                t += 4
            while t < m:
                d0 = qn[t] - (Tc[b + t] - xb) * yb
                a0 += d0 * d0
                t += 1
            D[b] = np.sqrt(m * ((a0 + a1) + (a2 + a3)))


@numba.njit(**JIT_PARALLEL)
def query_profile(qn, eq, Tc, muT, sT, eT, m):  # pragma: no cover - compiled
    """Distance from the query (``qn`` from :func:`normalized_query`, ``eq`` its correlation
    term) to every window of T; :func:`query_profile_serial` is its serial twin."""
    n = sT.shape[0]
    D = np.empty(n)
    for c in numba.prange((n + CHUNK - 1) // CHUNK):
        _query_range(qn, eq, Tc, muT, sT, eT, m, c * CHUNK, min(n, c * CHUNK + CHUNK), D)
    return D


@numba.njit(**JIT)
def query_profile_serial(qn, eq, Tc, muT, sT, eT, m):  # pragma: no cover - compiled
    """:func:`query_profile` on the calling thread (the same result, bit for bit)."""
    D = np.empty(sT.shape[0])
    _query_range(qn, eq, Tc, muT, sT, eT, m, 0, sT.shape[0], D)
    return D


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
