"""Exact z-normalized distances between individual windows, and the final resolution of the
matrix profile's neighbours.

The tile kernel finds each window's best neighbour by a fast recurrence; here every reported
distance is recomputed directly from the samples in float64, so that the profile is as accurate
as a direct computation (an exact repeat is at distance exactly 0, whatever the dtype used for the
search).
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import JIT, JIT_PARALLEL
from .stats import CHUNK, INVALID_BELOW


@numba.njit(**JIT)  # no "contract": an FMA would make x*a - x*a nonzero; no "reassoc": see below
def znorm_distance(Ta, mua, sa, ea, a, Tb, mub, sb, eb, b, m):  # pragma: no cover - compiled
    """z-normalized Euclidean distance between window ``a`` of A and window ``b`` of B.

    ``e < 0`` marks a window holding NaN/inf (distance inf), ``e > 0`` a constant window (two
    constant windows are at distance 0, a constant and a non-constant one at ``sqrt(m)``).
    The sum runs as four interleaved partial sums added in a fixed order, with no fastmath flag,
    so that the distance is the same bit for bit in every kernel that calls this (the matrix
    profile's resolution, distance profiles, the streaming and anytime profiles).
    """
    if ea[a] < 0 or eb[b] < 0:
        return np.inf
    if ea[a] > 0 or eb[b] > 0:
        return 0.0 if (ea[a] > 0 and eb[b] > 0) else np.sqrt(m)
    xa = mua[a]
    ya = sa[a]
    xb = mub[b]
    yb = sb[b]
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    t = 0
    while t + 4 <= m:
        d0 = (Ta[a + t] - xa) * ya - (Tb[b + t] - xb) * yb
        d1 = (Ta[a + t + 1] - xa) * ya - (Tb[b + t + 1] - xb) * yb
        d2 = (Ta[a + t + 2] - xa) * ya - (Tb[b + t + 2] - xb) * yb
        d3 = (Ta[a + t + 3] - xa) * ya - (Tb[b + t + 3] - xb) * yb
        a0 += d0 * d0
        a1 += d1 * d1
        a2 += d2 * d2
        a3 += d3 * d3
        t += 4
    while t < m:
        d0 = (Ta[a + t] - xa) * ya - (Tb[b + t] - xb) * yb
        a0 += d0 * d0
        t += 1
    return np.sqrt(m * ((a0 + a1) + (a2 + a3)))


#: A valid pair's correlation is in [-1, 1]; a search value beyond this slack means the fast
#: recurrence lost its precision for that row or column (spreads many orders of magnitude apart
#: along a diagonal), and the row or column is recomputed directly.
SLACK = 1e-6


@numba.njit(**JIT)
def _exact_scan(TA, muA, sA, eA, i, TB, muB, sB, eB, m, lo, hi):  # pragma: no cover - compiled
    """The nearest window of B to window ``i`` of A among ``lo <= j < hi``, by direct distances
    (the smallest index on ties)."""
    best = np.inf
    who = -1
    for j in range(max(lo, 0), min(hi, sB.shape[0])):
        d = znorm_distance(TA, muA, sA, eA, i, TB, muB, sB, eB, j, m)
        if d < best:
            best = d
            who = j
    return best, who


@numba.njit(**JIT)
def _suspect(p, has_valid_partner):  # pragma: no cover - compiled
    """Whether a search value cannot be trusted: out of [-1, 1] for a valid pair, or below the
    invalid mark although a valid partner is in range."""
    if p >= INVALID_BELOW:
        return p > 1.0 + SLACK or p < -1.0 - SLACK
    return has_valid_partner


@numba.njit(**JIT)
def valid_prefix(e):  # pragma: no cover - compiled
    """``out[k]``: how many of windows ``0 .. k - 1`` are valid (``e >= 0``), so that a range
    ``[lo, hi)`` holds a valid window iff ``out[hi] > out[lo]``."""
    out = np.zeros(e.shape[0] + 1, dtype=np.int64)
    for k in range(e.shape[0]):
        out[k + 1] = out[k] + (1 if e[k] >= 0 else 0)
    return out


@numba.njit(**JIT)
def _rows_range(TA, muA, sA, eA, TB, muB, sB, eB, m, kmin, rowP, rowI, validB, lo_i, hi_i, D,
                I, off):  # pragma: no cover - compiled
    """Rows ``lo_i <= i < hi_i`` into ``D[i - off]``, ``I[i - off]``."""
    lB = sB.shape[0]
    for i in range(lo_i, hi_i):
        if eA[i] < 0:
            continue
        j = rowI[i]
        lo = min(i + kmin, lB)
        # a valid row with a valid partner in range must find one: a search value at the
        # invalid mark there comes from cancellation in the running covariance (a window whose
        # spread is tiny next to the series' values) and is recomputed directly
        has_partner = validB[lB] > validB[lo]
        if j < 0:
            if has_partner:
                D[i - off], I[i - off] = _exact_scan(TA, muA, sA, eA, i, TB, muB, sB, eB, m, lo, lB)
            continue
        p = rowP[i]
        if _suspect(p, has_partner):
            D[i - off], I[i - off] = _exact_scan(TA, muA, sA, eA, i, TB, muB, sB, eB, m, lo, lB)
        elif p >= INVALID_BELOW:
            D[i - off] = znorm_distance(TA, muA, sA, eA, i, TB, muB, sB, eB, j, m)
            I[i - off] = j


@numba.njit(**JIT_PARALLEL)
def resolve_rows(TA, muA, sA, eA, TB, muB, sB, eB, m, kmin, rowP, rowI, validB, lo, hi):  # pragma: no cover
    """Exact distances of the row neighbours (``j >= i + kmin``) found by the tile kernel (inf /
    -1 where none) of rows ``lo <= i < hi``; rows whose search value is out of range are
    recomputed directly. ``validB`` is :func:`valid_prefix` of ``eB``.
    :func:`resolve_rows_serial` is its serial twin."""
    D = np.full(hi - lo, np.inf)
    I = np.full(hi - lo, -1, dtype=np.int64)
    for c in numba.prange((hi - lo + CHUNK - 1) // CHUNK):
        _rows_range(TA, muA, sA, eA, TB, muB, sB, eB, m, kmin, rowP, rowI, validB, lo + c * CHUNK,
                    min(hi, lo + c * CHUNK + CHUNK), D, I, lo)
    return D, I


@numba.njit(**JIT)
def resolve_rows_serial(TA, muA, sA, eA, TB, muB, sB, eB, m, kmin, rowP, rowI, validB, lo,
                        hi):  # pragma: no cover
    """:func:`resolve_rows` on the calling thread (the same result, bit for bit)."""
    D = np.full(hi - lo, np.inf)
    I = np.full(hi - lo, -1, dtype=np.int64)
    _rows_range(TA, muA, sA, eA, TB, muB, sB, eB, m, kmin, rowP, rowI, validB, lo, hi, D, I, lo)
    return D, I


@numba.njit(**JIT)
def _columns_range(TA, muA, sA, eA, TB, muB, sB, eB, m, kmin, colP, colI, validA, lo_j, hi_j, D,
                   I, off):  # pragma: no cover - compiled
    """Columns ``lo_j <= j < hi_j`` into ``D[j - off]``, ``I[j - off]``."""
    lA = sA.shape[0]
    for j in range(lo_j, hi_j):
        if eB[j] < 0:
            continue
        p = colI[j]
        has_partner = validA[max(0, min(j - kmin + 1, lA))] > 0  # as in resolve_rows
        if p < 0:
            if has_partner:
                D[j - off], I[j - off] = _exact_scan(TB, muB, sB, eB, j, TA, muA, sA, eA, m, 0, j - kmin + 1)
            continue
        c = colP[j]
        if _suspect(c, has_partner):
            # window j of B against the rows i <= j - kmin of A: the same distances, swapped
            D[j - off], I[j - off] = _exact_scan(TB, muB, sB, eB, j, TA, muA, sA, eA, m, 0, j - kmin + 1)
            continue
        if c < INVALID_BELOW:
            continue
        best = znorm_distance(TA, muA, sA, eA, p, TB, muB, sB, eB, j, m)
        who = p
        q = p + 1
        if q < lA and j - q >= kmin:
            d = znorm_distance(TA, muA, sA, eA, q, TB, muB, sB, eB, j, m)
            if d < best:
                best = d
                who = q
        if best < np.inf:
            D[j - off] = best
            I[j - off] = who


@numba.njit(**JIT_PARALLEL)
def resolve_columns(TA, muA, sA, eA, TB, muB, sB, eB, m, kmin, colP, colI, validA, lo,
                    hi):  # pragma: no cover
    """Exact distances of the column neighbours found by the tile kernel, of columns
    ``lo <= j < hi`` (``validA`` is :func:`valid_prefix` of ``eA``).

    ``colI[j] = p`` means that the best row of column ``j`` is ``p`` or ``p + 1`` (the kernel
    processes rows in pairs and does not spend an instruction per cell on telling them apart):
    both are measured exactly and the nearer one wins, the smaller index on a tie.
    :func:`resolve_columns_serial` is its serial twin.
    """
    D = np.full(hi - lo, np.inf)
    I = np.full(hi - lo, -1, dtype=np.int64)
    for c in numba.prange((hi - lo + CHUNK - 1) // CHUNK):
        _columns_range(TA, muA, sA, eA, TB, muB, sB, eB, m, kmin, colP, colI, validA, lo + c * CHUNK,
                       min(hi, lo + c * CHUNK + CHUNK), D, I, lo)
    return D, I


@numba.njit(**JIT)
def resolve_columns_serial(TA, muA, sA, eA, TB, muB, sB, eB, m, kmin, colP, colI, validA, lo,
                           hi):  # pragma: no cover
    """:func:`resolve_columns` on the calling thread (the same result, bit for bit)."""
    D = np.full(hi - lo, np.inf)
    I = np.full(hi - lo, -1, dtype=np.int64)
    _columns_range(TA, muA, sA, eA, TB, muB, sB, eB, m, kmin, colP, colI, validA, lo, hi, D, I, lo)
    return D, I


@numba.njit(**JIT)
def nearest_of(DL, IL, DR, IR):  # pragma: no cover - compiled
    """The nearer of the left and right neighbours (the smaller index on a tie)."""
    n = DL.shape[0]
    D = np.empty(n)
    I = np.empty(n, dtype=np.int64)
    for i in range(n):
        if DR[i] < DL[i] or (DR[i] == DL[i] and IR[i] >= 0 and (IL[i] < 0 or IR[i] < IL[i])):
            D[i] = DR[i]
            I[i] = IR[i]
        else:
            D[i] = DL[i]
            I[i] = IL[i]
    return D, I


@numba.njit(**JIT)
def _distances_range(Qc, muQ, sQ, eQ, Tc, muT, sT, eT, m, lo, hi, D):  # pragma: no cover
    for i in range(lo, hi):
        D[i] = znorm_distance(Qc, muQ, sQ, eQ, 0, Tc, muT, sT, eT, i, m)


@numba.njit(**JIT_PARALLEL)
def distance_profile(Qc, muQ, sQ, eQ, Tc, muT, sT, eT, m):  # pragma: no cover - compiled
    """Exact z-normalized distance from the query (window 0 of ``Q``) to every window of T.
    :func:`distance_profile_serial` is its serial twin."""
    n = sT.shape[0]
    D = np.empty(n)
    for c in numba.prange((n + CHUNK - 1) // CHUNK):
        _distances_range(Qc, muQ, sQ, eQ, Tc, muT, sT, eT, m, c * CHUNK, min(n, c * CHUNK + CHUNK), D)
    return D


@numba.njit(**JIT)
def distance_profile_serial(Qc, muQ, sQ, eQ, Tc, muT, sT, eT, m):  # pragma: no cover - compiled
    """:func:`distance_profile` on the calling thread (the same result, bit for bit)."""
    D = np.empty(sT.shape[0])
    _distances_range(Qc, muQ, sQ, eQ, Tc, muT, sT, eT, m, 0, sT.shape[0], D)
    return D
