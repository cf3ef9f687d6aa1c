"""Non-normalized matrix profiles (STUMPY's ``aamp``): p-norm distances between raw windows.

The distance between windows ``i`` of A and ``j`` of B is ``(sum_t |A[i+t] - B[j+t]|**p)**(1/p)``.
The search visits the canonical tiles of :mod:`patternlab.kernels.matrix_profile` (``R`` rows
times a band of ``K`` diagonals, ``j - i >= kmin``) and keeps, along each diagonal, the running sum
``S(i, j) = S(i-1, j-1) - |A[i-1] - B[j-1]|**p + |A[i+m-1] - B[j+m-1]|**p``, computed afresh at
the first row of every tile (which bounds rounding drift to ``R`` steps). Cells are ranked by
``-S`` plus a penalty term per window (0, or :data:`INVALID_TERM` for a window holding NaN/inf)
in the sorted row and column lists of :mod:`patternlab.kernels.neighbours` (larger first, the
smaller index on ties): ``nn = 1`` is the plain profile, ``nn > 1`` the ``k`` nearest neighbours.

The samples are power-of-two scaled by the caller (the same factor for A and B), so that no
power overflows; every reported distance is then recomputed directly from the samples
(:func:`distance`) and scaled back exactly.
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import FASTMATH_FINITE, FASTMATH_SAFE, JIT, JIT_PARALLEL
from ._simd import fmax
from .exact import valid_prefix
from .neighbours import EMPTY, empty_lists, fold_row, insert, merge_lists, n_tiles
from .stats import CHUNK

#: Penalty of a window holding NaN/inf: any cell with it ranks below every valid cell (those are
#: at least ``-m * 2**MAX_P``), and stays finite.
INVALID_TERM = -1e300
#: Ranking values below this mark "no valid neighbour".
INVALID_BELOW = -1e299
#: Relative difference between a row's best search sum and its exact sum beyond which the row
#: is measured directly (see :func:`resolve_side`); TINY: the absolute floor (scaled units).
DRIFT = 1e-6
TINY = 1e-280


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _pw(x, p, mode):  # pragma: no cover - compiled
    """``|x|**p``: ``mode`` 2 squares, 1 takes the absolute value, 0 calls pow."""
    if mode == 2:
        return x * x
    if mode == 1:
        return abs(x)
    return abs(x) ** p


@numba.njit(**JIT)
def sanitize(T):  # pragma: no cover - compiled
    """``T`` with each non-finite value replaced by the last finite value before it (the first
    finite value at the start; their windows are marked by :func:`window_terms`). A value of
    the data's own range keeps the terms ``|x - y|**p`` that pass through the running sums of
    valid windows in that range: a 0 next to data far from 0 would swamp them."""
    n = T.shape[0]
    Tc = np.empty(n)
    fill = 0.0
    for t in range(n):
        if np.isfinite(T[t]):
            fill = T[t]
            break
    for t in range(n):
        if np.isfinite(T[t]):
            fill = T[t]
        Tc[t] = fill
    return Tc


@numba.njit(**JIT)
def window_terms(T, m):  # pragma: no cover - compiled
    """Each window's penalty term: 0 when its ``m`` samples are finite, else :data:`INVALID_TERM`."""
    ell = T.shape[0] - m + 1
    e = np.zeros(ell)
    bad = 0
    for t in range(T.shape[0]):
        if not np.isfinite(T[t]):
            bad += 1
        if t >= m and not np.isfinite(T[t - m]):
            bad -= 1
        if t >= m - 1 and bad > 0:
            e[t - m + 1] = INVALID_TERM
    return e


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _init_sums(TA, TB, m, r0, k0, nk, p, mode, S):  # pragma: no cover - compiled
    c0 = r0 + k0
    for w in range(nk):
        S[w] = 0.0
    for t in range(m):
        a = TA[r0 + t]
        for w in range(nk):
            S[w] += _pw(a - TB[c0 + w + t], p, mode)


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _row(S, aout, ain, ei, TBout, TBin, eB, colT, rbuf, update, p, mode, lo):  # pragma: no cover
    """One row of a tile: slide each diagonal's sum by one sample (unless it is the tile's first
    row), write the ranking values to ``rbuf``; return their maximum and how many cells reach
    their column's worst kept value."""
    rmax = lo
    hits = 0
    for w in range(S.shape[0]):
        if update:
            s = S[w] - _pw(aout - TBout[w], p, mode) + _pw(ain - TBin[w], p, mode)
            S[w] = s
        else:
            s = S[w]
        r = (ei + eB[w]) - s
        rbuf[w] = r
        rmax = fmax(rmax, r)
        hits += 1 if r >= colT[w] else 0
    return rmax, hits


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def tile(TA, eA, TB, eB, m, r0, r1, k0, k1, p, mode, S, rbuf, rowP, rowI, rowT, colP, colI,
         colT):  # pragma: no cover - compiled
    """Fold tile ``rows [r0, r1) x diagonals [k0, k1)`` into the row and column lists."""
    lB = eB.shape[0]
    K = k1 - k0
    nk = min(K, lB - (r0 + k0))
    if nk <= 0:
        return
    _init_sums(TA, TB, m, r0, k0, nk, p, mode, S)
    lo = EMPTY
    for i in range(r0, r1):
        base = i + k0
        nk = min(K, lB - base)
        if nk <= 0:
            break
        end = base + nk
        aout = TA[i - 1] if i > r0 else 0.0
        TBout = TB[base - 1:end - 1] if i > r0 else TB[base:end]
        rmax, hits = _row(S[:nk], aout, TA[i + m - 1], eA[i], TBout, TB[base + m - 1:end + m - 1],
                          eB[base:end], colT[base:end], rbuf[:nk], i > r0, p, mode, lo)
        fold_row(rbuf, nk, i, base, hits, rmax, rowP, rowI, rowT, colP, colI, colT)


@numba.njit(fastmath=FASTMATH_FINITE, **JIT_PARALLEL)
def upper_triangle(TA, eA, TB, eB, m, kmin, kmax, R, K, nn, p, mode, nthreads):  # pragma: no cover
    """The ``nn`` best row and column cells over ``kmin <= j - i < kmax`` (see
    :func:`patternlab.kernels.neighbours.upper_triangle`), on ``nthreads`` numba threads."""
    lA = eA.shape[0]
    lB = eB.shape[0]
    nrb, nbands = n_tiles(lA, lB, kmin, R, K)
    nbands = min(nbands, (kmax - kmin + K - 1) // K)
    rowP = np.full((nthreads, lA, nn), EMPTY)
    rowI = np.full((nthreads, lA, nn), -1, dtype=np.int64)
    rowT = np.full((nthreads, lA), EMPTY)
    colP = np.full((nthreads, lB, nn), EMPTY)
    colI = np.full((nthreads, lB, nn), -1, dtype=np.int64)
    colT = np.full((nthreads, lB), EMPTY)
    S = np.empty((nthreads, K))
    rbuf = np.empty((nthreads, K))
    for tix in numba.prange(nrb * nbands):
        t = numba.get_thread_id()
        a = tix // nbands
        b = nbands - 1 - (tix - a * nbands)
        r0 = a * R
        k0 = kmin + b * K
        if r0 + k0 < lB:
            tile(TA, eA, TB, eB, m, r0, min(r0 + R, lA), k0, k0 + K, p, mode, S[t], rbuf[t],
                 rowP[t], rowI[t], rowT[t], colP[t], colI[t], colT[t])
    for t in range(1, nthreads):
        merge_lists(rowP[0], rowI[0], rowT[0], rowP[t], rowI[t])
        merge_lists(colP[0], colI[0], colT[0], colP[t], colI[t])
    return rowP[0].copy(), rowI[0].copy(), colP[0].copy(), colI[0].copy()


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def upper_triangle_serial(TA, eA, TB, eB, m, kmin, kmax, R, K, nn, p, mode):  # pragma: no cover
    """:func:`upper_triangle` on the calling thread (the same lists, bit for bit)."""
    lA = eA.shape[0]
    lB = eB.shape[0]
    nrb, nbands = n_tiles(lA, lB, kmin, R, K)
    nbands = min(nbands, (kmax - kmin + K - 1) // K)
    rowP, rowI, rowT = empty_lists(lA, nn, eA)
    colP, colI, colT = empty_lists(lB, nn, eA)
    S = np.empty(K)
    rbuf = np.empty(K)
    for tix in range(nrb * nbands):
        a = tix // nbands
        b = nbands - 1 - (tix - a * nbands)
        r0 = a * R
        k0 = kmin + b * K
        if r0 + k0 < lB:
            tile(TA, eA, TB, eB, m, r0, min(r0 + R, lA), k0, k0 + K, p, mode, S, rbuf, rowP, rowI,
                 rowT, colP, colI, colT)
    return rowP, rowI, colP, colI


# ---------------------------------------------------------------------------- exact distances


@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def distance(TX, eX, x, TY, eY, y, m, p, mode, shift):  # pragma: no cover - compiled
    """The p-norm distance between window ``x`` of X and window ``y`` of Y, from the samples
    (scaled by ``2**-shift`` back to the caller's units); inf when either holds NaN/inf."""
    if eX[x] < 0 or eY[y] < 0:
        return np.inf
    acc = 0.0
    for t in range(m):
        d = TX[x + t] - TY[y + t]
        if mode == 2:
            acc += d * d
        elif mode == 1:
            acc += abs(d)
        else:
            acc += abs(d) ** p
    if mode == 2:
        root = np.sqrt(acc)
    elif mode == 1:
        root = acc
    else:
        root = acc ** (1.0 / p)
    return np.ldexp(root, -shift)


@numba.njit(**JIT)
def _resolve_range(TX, eX, TY, eY, m, kmin, right, P, I, p, mode, shift, validY, lo_x, hi_x, D,
                   J):  # pragma: no cover - compiled
    nn = D.shape[1]  # the lists hold one candidate more (P.shape[1] == nn + 1)
    lY = eY.shape[0]
    negD = np.empty((1, nn))
    who = np.empty((1, nn), dtype=np.int64)
    last = np.empty(1)
    for x in range(lo_x, hi_x):
        if eX[x] < 0:
            continue
        if right:
            lo, hi = min(x + kmin, lY), lY
        else:
            lo, hi = 0, max(0, min(x - kmin + 1, lY))
        found = 0
        for q in range(P.shape[1]):
            if I[x, q] < 0 or P[x, q] < INVALID_BELOW:
                break
            found += 1
        suspect = False
        if found > 0:
            # the running sums drift where terms of very different sizes pass through them
            # (large p): a best search value off its exact sum means the row is measured directly
            exact = distance(TX, eX, x, TY, eY, I[x, 0], m, p, mode, 0)
            search = max(-P[x, 0], 0.0)
            exact_sum = exact * exact if mode == 2 else exact if mode == 1 else exact ** p
            suspect = abs(search - exact_sum) > DRIFT * exact_sum + TINY
        if found > nn:
            # the last neighbour kept and the first left out are (nearly) tied: rounding of the
            # running sums, not the data, chose between them; the smaller index must win
            a, b = -P[x, nn - 1], -P[x, nn]
            suspect = suspect or b - a <= DRIFT * abs(a) + TINY
        negD[0, :] = -np.inf
        who[0, :] = -1
        last[0] = -np.inf
        if suspect or found < min(nn, validY[hi] - validY[lo]):
            for y in range(lo, hi):
                d = distance(TX, eX, x, TY, eY, y, m, p, mode, shift)
                if d < np.inf:
                    insert(negD, who, last, 0, -d, y)
        else:
            for q in range(found):
                y = I[x, q]
                insert(negD, who, last, 0, -distance(TX, eX, x, TY, eY, y, m, p, mode, shift), y)
        for q in range(nn):
            if who[0, q] >= 0:
                D[x, q] = -negD[0, q]
                J[x, q] = who[0, q]


@numba.njit(**JIT_PARALLEL)
def resolve_side(TX, eX, TY, eY, m, kmin, right, P, I, p, mode, shift):  # pragma: no cover
    """Exact distances of each window's ``nn`` nearest, sorted ascending (the smaller index on
    ties), from its search lists of ``nn + 1`` candidates, as
    :func:`patternlab.kernels.neighbours.resolve_side`. A window is measured against all its
    partners when it found fewer valid candidates than it has valid partners, when its best
    search sum drifted from the exact one, or when its ``nn``-th and ``nn + 1``-th candidates
    are (nearly) tied.
    :func:`resolve_side_serial` is its serial twin."""
    n = P.shape[0]
    validY = valid_prefix(eY)
    D = np.full((n, P.shape[1] - 1), np.inf)
    J = np.full((n, P.shape[1] - 1), -1, dtype=np.int64)
    for c in numba.prange((n + CHUNK - 1) // CHUNK):
        _resolve_range(TX, eX, TY, eY, m, kmin, right, P, I, p, mode, shift, validY, c * CHUNK,
                       min(n, c * CHUNK + CHUNK), D, J)
    return D, J


@numba.njit(**JIT)
def resolve_side_serial(TX, eX, TY, eY, m, kmin, right, P, I, p, mode, shift):  # pragma: no cover
    """:func:`resolve_side` on the calling thread (the same result, bit for bit)."""
    n = P.shape[0]
    validY = valid_prefix(eY)
    D = np.full((n, P.shape[1] - 1), np.inf)
    J = np.full((n, P.shape[1] - 1), -1, dtype=np.int64)
    _resolve_range(TX, eX, TY, eY, m, kmin, right, P, I, p, mode, shift, validY, 0, n, D, J)
    return D, J


@numba.njit(fastmath=FASTMATH_SAFE | {"reassoc"}, **JIT)
def _profile_range(Qc, eq, Tc, eT, m, p, mode, shift, lo, hi, D):  # pragma: no cover - compiled
    for b in range(lo, hi):
        if eq < 0 or eT[b] < 0:
            D[b] = np.inf
            continue
        acc = 0.0
        if mode == 2:
            for t in range(m):
                d = Qc[t] - Tc[b + t]
                acc += d * d
            D[b] = np.ldexp(np.sqrt(acc), -shift)
        elif mode == 1:
            for t in range(m):
                acc += abs(Qc[t] - Tc[b + t])
            D[b] = np.ldexp(acc, -shift)
        else:
            for t in range(m):
                acc += abs(Qc[t] - Tc[b + t]) ** p
            D[b] = np.ldexp(acc ** (1.0 / p), -shift)


@numba.njit(**JIT)
def distance_profile_serial(Qc, eq, Tc, eT, m, p, mode, shift):  # pragma: no cover - compiled
    """The p-norm distance from the query (``Qc``, scaled as ``Tc``; ``eq < 0``: it holds
    NaN/inf) to every window of T, on the calling thread (no parallel twin, as
    :func:`patternlab.kernels.search.query_profile_serial`: one compiled loop for every caller)."""
    D = np.empty(eT.shape[0])
    _profile_range(Qc, eq, Tc, eT, m, p, mode, shift, 0, eT.shape[0], D)
    return D
