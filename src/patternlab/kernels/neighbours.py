"""The ``k`` nearest neighbours of every window: the top-k z-normalized matrix profile.

The distance matrix is visited in the tiles of :mod:`patternlab.kernels.matrix_profile` (``R``
rows times a band of ``K`` diagonals of the upper triangle ``j - i >= kmin``, the covariance of each
diagonal updated row by row and turned into a Pearson correlation), but instead of one maximum per
row and column every row and column keeps a sorted list of its ``nn`` best cells:

* the *row* list of window ``i`` holds its best neighbours ``j > i`` (the right side), and
* the *column* list of window ``j`` its best neighbours ``i < j`` (the left side).

A row of a tile is computed in one vectorized pass that also counts the cells beating their
column's worst kept value (``colT``, a contiguous copy of the lists' last column); only then, and
when the row's maximum beats the row's worst kept value, a scalar pass inserts them. Lists are
ordered by correlation, then by the smaller index, a strict total order: the lists of a set of
cells do not depend on the order the cells are folded in, so the result is the same bit for bit on
any number of threads or Dask workers (the cells' values depend only on the canonical tiles).

:func:`resolve_side` then measures the candidates exactly, in float64, from the samples
(:func:`patternlab.kernels.exact.znorm_distance`) and :func:`merge_sides` combines a window's
left and right lists into its ``nn`` nearest neighbours.
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import FASTMATH_FINITE, JIT, JIT_PARALLEL
from ._simd import fmax
from .exact import SLACK, valid_prefix, znorm_distance
from .stats import CHUNK, INVALID_BELOW

#: Sentinel below every encoded correlation (those are >= -8): an empty slot of a list.
EMPTY = -16.0


@numba.njit(**JIT)
def _better(r, j, q, i):  # pragma: no cover - compiled
    """Whether value ``r`` at index ``j`` ranks before value ``q`` at index ``i`` (an empty slot,
    ``i < 0``, ranks last)."""
    if i < 0:
        return True
    return r > q or (r == q and j < i)


@numba.njit(**JIT)
def insert(P, I, T, x, r, j):  # pragma: no cover - compiled
    """Insert ``(r, j)`` into the sorted list ``P[x], I[x]`` if it ranks among its entries
    (larger value first, the smaller index on ties); ``T[x]`` follows the list's last value."""
    last = P.shape[1] - 1
    if not _better(r, j, P[x, last], I[x, last]):
        return
    p = last
    while p > 0 and _better(r, j, P[x, p - 1], I[x, p - 1]):
        P[x, p] = P[x, p - 1]
        I[x, p] = I[x, p - 1]
        p -= 1
    P[x, p] = r
    I[x, p] = j
    T[x] = P[x, last]


@numba.njit(**JIT)
def merge_lists(P, I, T, P2, I2):  # pragma: no cover - compiled
    """Fold the lists ``(P2, I2)`` into ``(P, I)`` (``T`` their last values): every list keeps the
    best of both, whatever order lists are folded in."""
    for x in range(P.shape[0]):
        for q in range(P2.shape[1]):
            if I2[x, q] < 0:
                break
            insert(P, I, T, x, P2[x, q], I2[x, q])


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _init_cov(TA, muA, TB, muB, m, r0, k0, nk, acc, cov):  # pragma: no cover - compiled
    """cov[w] = sum_t (TA[r0+t] - muA[r0]) * (TB[r0+k0+w+t] - muB[r0+k0+w]) for w < nk,
    accumulated in float64 (``acc``) whatever the dtype of ``cov``."""
    c0 = r0 + k0
    ma = muA[r0]
    for w in range(nk):
        acc[w] = 0.0
    for t in range(m):
        a = TA[r0 + t] - ma
        for w in range(nk):
            acc[w] += a * (TB[c0 + w + t] - muB[c0 + w])
    for w in range(nk):
        cov[w] = acc[w]


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _row(cov, dfi, dgi, si, ei, dfB, dgB, sB, eB, colT, rbuf, update, lo):  # pragma: no cover
    """One row of a tile: update the covariances (unless it is the tile's first row), write the
    correlations to ``rbuf``; return the row maximum and how many cells reach their column's
    worst kept value. Views aligned on the row's first cell, so the loop vectorizes."""
    rmax = lo
    hits = 0
    for w in range(cov.shape[0]):
        if update:
            c = cov[w] + dfi * dgB[w] + dgi * dfB[w]
            cov[w] = c
        else:
            c = cov[w]
        r = c * (si * sB[w]) + (ei + eB[w])
        rbuf[w] = r
        rmax = fmax(rmax, r)
        hits += 1 if r >= colT[w] else 0
    return rmax, hits


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _row_pair(cov, nxt, dfi, dgi, si, ei, dfj, dgj, sj, ej, dfB, dgB, sB, eB, colT, rbuf, rbuf1,
              lo):  # pragma: no cover - compiled
    """Rows ``i`` and ``i + 1`` of a tile in one pass (both updated), as two calls of :func:`_row`
    would compute them: the covariances of row ``i - 1`` are read from ``cov`` and those of row
    ``i + 1`` written to ``nxt``; the correlations go to ``rbuf`` and ``rbuf1``. The views of ``B``
    are aligned on row ``i``'s first column and one longer than ``cov`` (row ``i + 1`` reaches one
    column further), so every column is loaded once for two rows. Returns both row maxima and
    how many cells of each reach their column's worst kept value (row ``i + 1``'s counted before
    row ``i``'s cells are inserted: never fewer than after, and the insertion checks again)."""
    rmax = lo
    rmax1 = lo
    hits = 0
    hits1 = 0
    for w in range(cov.shape[0]):
        c = cov[w] + dfi * dgB[w] + dgi * dfB[w]
        c1 = c + dfj * dgB[w + 1] + dgj * dfB[w + 1]
        nxt[w] = c1
        r = c * (si * sB[w]) + (ei + eB[w])
        r1 = c1 * (sj * sB[w + 1]) + (ej + eB[w + 1])
        rbuf[w] = r
        rbuf1[w] = r1
        rmax = fmax(rmax, r)
        rmax1 = fmax(rmax1, r1)
        hits += 1 if r >= colT[w] else 0
        hits1 += 1 if r1 >= colT[w + 1] else 0
    return rmax, rmax1, hits, hits1


@numba.njit(**JIT)
def fold_row(rbuf, nk, i, base, hits, rmax, rowP, rowI, rowT, colP, colI, colT):  # pragma: no cover
    """Insert the cells of row ``i`` (values ``rbuf[:nk]``, columns ``base + w``) that rank in
    their column's list (when ``hits``) and in the row's list (when ``rmax`` reaches it)."""
    if hits > 0:
        for w in range(nk):
            if rbuf[w] >= colT[base + w]:
                insert(colP, colI, colT, base + w, rbuf[w], i)
    if rmax >= rowT[i]:
        for w in range(nk):
            if rbuf[w] >= rowT[i]:
                insert(rowP, rowI, rowT, i, rbuf[w], base + w)


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def tile(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, r0, r1, k0, k1, acc, cov, rbuf,
         rowP, rowI, rowT, colP, colI, colT):  # pragma: no cover - compiled
    """Fold tile ``rows [r0, r1) x diagonals [k0, k1)`` into the row and column lists."""
    lB = sB.shape[0]
    K = k1 - k0
    nk = min(K, lB - (r0 + k0))
    if nk <= 0:
        return
    _init_cov(TA, muA, TB, muB, m, r0, k0, nk, acc, cov)
    lo = np.full(1, EMPTY, dtype=cov.dtype)[0]
    nxt = np.empty(K, dtype=cov.dtype)
    rbuf1 = np.empty(K, dtype=cov.dtype)
    i = r0
    while i < r1:
        base = i + k0
        nk = min(K, lB - base)
        if nk <= 0:
            break
        end = base + nk
        if i > r0 and i + 1 < r1 and end < lB:  # two rows at once, the same values
            rmax, rmax1, hits, hits1 = _row_pair(
                cov[:nk], nxt[:nk], dfA[i], dgA[i], sA[i], eA[i], dfA[i + 1], dgA[i + 1], sA[i + 1],
                eA[i + 1], dfB[base:end + 1], dgB[base:end + 1], sB[base:end + 1], eB[base:end + 1],
                colT[base:end + 1], rbuf[:nk], rbuf1[:nk], lo)
            fold_row(rbuf, nk, i, base, hits, rmax, rowP, rowI, rowT, colP, colI, colT)
            fold_row(rbuf1, nk, i + 1, base + 1, hits1, rmax1, rowP, rowI, rowT, colP, colI, colT)
            cov, nxt = nxt, cov
            i += 2
            continue
        rmax, hits = _row(cov[:nk], dfA[i], dgA[i], sA[i], eA[i], dfB[base:end], dgB[base:end],
                          sB[base:end], eB[base:end], colT[base:end], rbuf[:nk], i > r0, lo)
        fold_row(rbuf, nk, i, base, hits, rmax, rowP, rowI, rowT, colP, colI, colT)
        i += 1


@numba.njit(**JIT)
def n_tiles(lA, lB, kmin, R, K):  # pragma: no cover - compiled
    """Number of row blocks and of diagonal bands of the canonical decomposition."""
    kmax = lB - 1
    if kmax < kmin:
        return 0, 0
    return (lA + R - 1) // R, (kmax - kmin + 1 + K - 1) // K


@numba.njit(**JIT)
def empty_lists(n, nn, dtype_like):  # pragma: no cover - compiled
    """``nn`` empty slots for each of ``n`` windows: values, indices and last values."""
    P = np.full((n, nn), EMPTY, dtype=dtype_like.dtype)
    I = np.full((n, nn), -1, dtype=np.int64)
    T = np.full(n, EMPTY, dtype=dtype_like.dtype)
    return P, I, T


@numba.njit(fastmath=FASTMATH_FINITE, **JIT_PARALLEL)
def upper_triangle(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, kmin, kmax, R, K, nn,
                   nthreads):  # pragma: no cover - compiled
    """The ``nn`` best row and column cells over ``kmin <= j - i < kmax`` of the A x B
    correlation matrix on ``nthreads`` numba threads (each folds its tiles into private lists,
    merged at the end). Returns ``(rowP, rowI, colP, colI)``, lists of shape ``(len, nn)``."""
    lA = sA.shape[0]
    lB = sB.shape[0]
    nrb, nbands = n_tiles(lA, lB, kmin, R, K)
    nbands = min(nbands, (kmax - kmin + K - 1) // K)
    rowP = np.full((nthreads, lA, nn), EMPTY, dtype=sA.dtype)
    rowI = np.full((nthreads, lA, nn), -1, dtype=np.int64)
    rowT = np.full((nthreads, lA), EMPTY, dtype=sA.dtype)
    colP = np.full((nthreads, lB, nn), EMPTY, dtype=sA.dtype)
    colI = np.full((nthreads, lB, nn), -1, dtype=np.int64)
    colT = np.full((nthreads, lB), EMPTY, dtype=sA.dtype)
    acc = np.empty((nthreads, K), dtype=np.float64)
    cov = np.empty((nthreads, K), dtype=sA.dtype)
    rbuf = np.empty((nthreads, K), dtype=sA.dtype)
    for tix in numba.prange(nrb * nbands):
        t = numba.get_thread_id()
        a = tix // nbands
        b = nbands - 1 - (tix - a * nbands)
        r0 = a * R
        k0 = kmin + b * K
        if r0 + k0 < lB:
            tile(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, r0, min(r0 + R, lA), k0,
                 k0 + K, acc[t], cov[t], rbuf[t], rowP[t], rowI[t], rowT[t], colP[t], colI[t],
                 colT[t])
    for t in range(1, nthreads):
        merge_lists(rowP[0], rowI[0], rowT[0], rowP[t], rowI[t])
        merge_lists(colP[0], colI[0], colT[0], colP[t], colI[t])
    return rowP[0].copy(), rowI[0].copy(), colP[0].copy(), colI[0].copy()


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def upper_triangle_serial(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, kmin, kmax, R, K,
                          nn):  # pragma: no cover - compiled
    """:func:`upper_triangle` on the calling thread (the same lists, bit for bit)."""
    lA = sA.shape[0]
    lB = sB.shape[0]
    nrb, nbands = n_tiles(lA, lB, kmin, R, K)
    nbands = min(nbands, (kmax - kmin + K - 1) // K)
    rowP, rowI, rowT = empty_lists(lA, nn, sA)
    colP, colI, colT = empty_lists(lB, nn, sA)
    acc = np.empty(K, dtype=np.float64)
    cov = np.empty(K, dtype=sA.dtype)
    rbuf = np.empty(K, dtype=sA.dtype)
    for tix in range(nrb * nbands):
        a = tix // nbands
        b = nbands - 1 - (tix - a * nbands)
        r0 = a * R
        k0 = kmin + b * K
        if r0 + k0 < lB:
            tile(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, r0, min(r0 + R, lA), k0,
                 k0 + K, acc, cov, rbuf, rowP, rowI, rowT, colP, colI, colT)
    return rowP, rowI, colP, colI


# ------------------------------------------------------------------------------ exact resolution


@numba.njit(**JIT)
def _resolve_range(TX, muX, sX, eX, TY, muY, sY, eY, m, kmin, right, P, I, validY, lo_x, hi_x, D,
                   J):  # pragma: no cover - compiled
    nn = P.shape[1]
    lY = sY.shape[0]
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
        partners = validY[hi] - validY[lo]
        found = 0
        suspect = False
        for q in range(nn):
            p = P[x, q]
            if I[x, q] < 0 or p < INVALID_BELOW:
                break
            found += 1
            if p > 1.0 + SLACK or p < -1.0 - SLACK:
                suspect = True
        negD[0, :] = -np.inf
        who[0, :] = -1
        last[0] = -np.inf
        if suspect or found < min(nn, partners):
            # the running covariance lost its precision here: measure every partner directly
            for y in range(lo, hi):
                d = znorm_distance(TX, muX, sX, eX, x, TY, muY, sY, eY, y, m)
                if d < np.inf:
                    insert(negD, who, last, 0, -d, y)
        else:
            for q in range(found):
                y = I[x, q]
                d = znorm_distance(TX, muX, sX, eX, x, TY, muY, sY, eY, y, m)
                insert(negD, who, last, 0, -d, y)
        for q in range(nn):
            if who[0, q] >= 0:
                D[x, q] = -negD[0, q]
                J[x, q] = who[0, q]


@numba.njit(**JIT_PARALLEL)
def resolve_side(TX, muX, sX, eX, TY, muY, sY, eY, m, kmin, right, P, I):  # pragma: no cover
    """Exact distances of each window's candidates from the search (``P``, ``I``: correlations
    and indices of windows of Y), sorted ascending, the smaller index on ties; ``inf`` and -1 in
    the slots left empty. ``right``: the partners of ``x`` are ``y >= x + kmin`` (a row list),
    else ``y <= x - kmin`` (a column list). A window whose search values are out of range, or that
    found fewer valid candidates than it has valid partners, is measured against all of them.
    :func:`resolve_side_serial` is its serial twin."""
    n = P.shape[0]
    validY = valid_prefix(eY)
    D = np.full((n, P.shape[1]), np.inf)
    J = np.full((n, P.shape[1]), -1, dtype=np.int64)
    for c in numba.prange((n + CHUNK - 1) // CHUNK):
        _resolve_range(TX, muX, sX, eX, TY, muY, sY, eY, m, kmin, right, P, I, validY, c * CHUNK,
                       min(n, c * CHUNK + CHUNK), D, J)
    return D, J


@numba.njit(**JIT)
def resolve_side_serial(TX, muX, sX, eX, TY, muY, sY, eY, m, kmin, right, P, I):  # pragma: no cover
    """:func:`resolve_side` on the calling thread (the same result, bit for bit)."""
    n = P.shape[0]
    validY = valid_prefix(eY)
    D = np.full((n, P.shape[1]), np.inf)
    J = np.full((n, P.shape[1]), -1, dtype=np.int64)
    _resolve_range(TX, muX, sX, eX, TY, muY, sY, eY, m, kmin, right, P, I, validY, 0, n, D, J)
    return D, J


@numba.njit(**JIT)
def merge_sides(DL, IL, DR, IR):  # pragma: no cover - compiled
    """Each window's ``nn`` nearest of its left and right lists (ascending distance, the smaller
    index on ties; inf / -1 in the slots left empty)."""
    n, nn = DL.shape
    D = np.full((n, nn), np.inf)
    J = np.full((n, nn), -1, dtype=np.int64)
    for x in range(n):
        a = 0
        b = 0
        for q in range(nn):
            ta = a < nn and IL[x, a] >= 0
            tb = b < nn and IR[x, b] >= 0
            if ta and (not tb or DL[x, a] < DR[x, b] or (DL[x, a] == DR[x, b] and IL[x, a] < IR[x, b])):
                D[x, q] = DL[x, a]
                J[x, q] = IL[x, a]
                a += 1
            elif tb:
                D[x, q] = DR[x, b]
                J[x, q] = IR[x, b]
                b += 1
            else:
                break
    return D, J
