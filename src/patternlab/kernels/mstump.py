"""The multi-dimensional matrix profile (mSTAMP) in tiles of diagonals.

For ``d`` series of equal length (the dimensions) and a pair of windows ``(i, j)``, let
``d_1 <= ... <= d_d`` be the z-normalized distances of the two windows in each dimension, sorted.
The ``k``-dimensional profile (row ``k - 1``) of window ``i`` is the smallest mean
``(d_1 + ... + d_k) / k`` over its admissible neighbours ``j`` (STUMPY's ``mstump``). With
``include`` the first dimensions are fixed and only the others are sorted; with ``discords``
they are sorted in decreasing order.

The pairs are visited as in :mod:`patternlab.kernels.matrix_profile`: the upper triangle
``k = j - i >= kmin`` cut into tiles of ``R`` rows by ``K`` diagonals, the mean-centred
covariance of each dimension updated along the diagonals (the same recurrence terms, from
:func:`patternlab.kernels.stats.diagonal_terms`), and every cell folded into the row minima of
row ``i`` and the column minima of column ``j``: the sorted distances of a pair do not depend on
its direction, so one triangle gives both. Inside a row, every step is a loop over the ``K``
contiguous cells of the band (one per dimension, then one per comparator of a sorting network,
then one per prefix sum), so that each vectorizes.

The search works on ``sqrt(1 - r)`` for the encoded correlation ``r`` of each dimension
(:func:`patternlab.kernels.stats.correlation_terms`; the distance is ``sqrt(2 m (1 - r))``), and
on :data:`BIG` for a window holding NaN/inf. The distances reported are recomputed directly from
the samples by :func:`resolve` (and a row whose search value disagrees with them is searched again
directly, by :func:`rescan`).

As in the one-dimensional kernel, the decomposition into tiles depends only on the sizes and
the tie rules are explicit (smallest index), so the result does not depend on the number of
threads or Dask workers.
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import FASTMATH_FINITE, JIT, JIT_PARALLEL
from ._simd import fmax, fmin
from .exact import znorm_distance
from .matrix_profile import _init_cov, n_tiles
from .stats import CHUNK, INVALID_BELOW

#: The search value of a dimension whose window holds NaN/inf: larger than any sum of ``d``
#: valid values (each at most ``sqrt(2)``), finite so that the tile loop keeps finite math.
BIG = 1e30
#: Sentinel above every search value.
EMPTY = 1e300
#: A search value this close (relatively) to the exact one is trusted; a larger gap means that
#: the running covariance lost its precision, and the row is searched again directly.
TRUST = 1e-6


def sorting_network(n: int) -> np.ndarray:
    """Comparators ``(a, b)``, ``a < b``, that sort ``n`` values when each puts the smaller value
    at ``a``: Batcher's merge exchange (Knuth, TAOCP 5.2.2, algorithm M), for any ``n``.

    >>> sorting_network(3).tolist()
    [[0, 2], [0, 1], [1, 2]]
    """
    pairs: list[tuple[int, int]] = []
    if n >= 2:
        t = int(np.ceil(np.log2(n)))
        p = 1 << (t - 1)
        while p > 0:
            q, r, dd = 1 << (t - 1), 0, p
            while True:
                pairs.extend((i, i + dd) for i in range(n - dd) if i & p == r)
                if q == p:
                    break
                dd, q, r = q - p, q >> 1, p
            p >>= 1
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _value(c, si, ei, sB, eB, out):  # pragma: no cover - compiled
    """``out[w]``: the search value of one dimension's cells (``sqrt(1 - r)``, :data:`BIG` for an
    invalid window)."""
    for w in range(out.shape[0]):
        r = c[w] * (si * sB[w]) + (ei + eB[w])
        x = np.sqrt(max(1.0 - r, 0.0))
        out[w] = BIG if r < INVALID_BELOW else x


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _compare(a, b, descending):  # pragma: no cover - compiled
    """One comparator of the sorting network over a row of cells."""
    if descending:
        for w in range(a.shape[0]):
            x = a[w]
            y = b[w]
            a[w] = fmax(x, y)
            b[w] = fmin(x, y)
    else:
        for w in range(a.shape[0]):
            x = a[w]
            y = b[w]
            a[w] = fmin(x, y)
            b[w] = fmax(x, y)


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _prefix(acc, v, colP, colI, i, first):  # pragma: no cover - compiled
    """Add ``v`` to the running sums ``acc`` (start them when ``first``), store the sums back in
    ``v``, fold them into the column minima and return their minimum."""
    rmin = EMPTY
    for w in range(acc.shape[0]):
        a = v[w] if first else acc[w] + v[w]
        acc[w] = a
        v[w] = a
        if a < colP[w]:
            colP[w] = a
            colI[w] = i
        rmin = fmin(rmin, a)
    return rmin


@numba.njit(**JIT)
def _first_equal(v, x):  # pragma: no cover - compiled
    for w in range(v.shape[0]):
        if v[w] == x:
            return w
    return 0


@numba.njit(**JIT)
def _keep(P, I, x, p, j):  # pragma: no cover - compiled
    """Record ``(p, j)`` for row ``x`` if it beats what is there: smaller, or equal with a smaller
    index (so the result never depends on the order tiles are folded)."""
    if p < P[x] or (p == P[x] and (I[x] < 0 or j < I[x])):
        P[x] = p
        I[x] = j


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def tile(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, r0, r1, k0, k1, ninc, net,
         descending, accd, cov, v, acc, rowP, rowI, colP, colI):  # pragma: no cover - compiled
    """Fold tile ``rows [r0, r1) x diagonals [k0, k1)`` into the row and column minima.

    Arrays of A and B are ``(d, ...)``: one row per dimension. ``rowP[k, i]`` / ``rowI[k, i]``
    hold the smallest sum of ``k + 1`` search values of row ``i`` and its column, ``colP`` /
    ``colI`` the same for columns. The first ``ninc`` dimensions are kept in place, the others
    sorted by the comparators ``net`` (increasing, or decreasing with ``descending``). ``accd``
    (float64, at least ``K``), ``cov``, ``v`` (``(d, K)``) and ``acc`` (``K``) are scratch.
    """
    d = sA.shape[0]
    lB = sB.shape[1]
    K = k1 - k0
    nk = min(K, lB - (r0 + k0))
    if nk <= 0:
        return
    for r in range(d):
        _init_cov(TA[r], muA[r], TB[r], muB[r], m, r0, k0, nk, accd, cov[r])
    i = r0
    while i < r1:
        base = i + k0
        nk = min(K, lB - base)
        if nk <= 0:
            break
        end = base + nk
        for r in range(d):
            c = cov[r, :nk]
            if i > r0:
                dfi = dfA[r, i]
                dgi = dgA[r, i]
                dgr = dgB[r, base:end]
                dfr = dfB[r, base:end]
                for w in range(nk):
                    c[w] = c[w] + dfi * dgr[w] + dgi * dfr[w]
            _value(c, sA[r, i], eA[r, i], sB[r, base:end], eB[r, base:end], v[r, :nk])
        for x in range(net.shape[0]):
            _compare(v[ninc + net[x, 0], :nk], v[ninc + net[x, 1], :nk], descending)
        for k in range(d):
            rmin = _prefix(acc[:nk], v[k, :nk], colP[k, base:end], colI[k, base:end], i, k == 0)
            if rmin <= rowP[k, i]:
                _keep(rowP[k], rowI[k], i, rmin, base + _first_equal(v[k, :nk], rmin))
        i += 1


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _sweep(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, kmin, kmax, R, K, ninc, net,
           descending, first, step, rowP, rowI, colP, colI):  # pragma: no cover - compiled
    lA = sA.shape[1]
    lB = sB.shape[1]
    d = sA.shape[0]
    nrb, nbands = n_tiles(lA, lB, kmin, R, K)
    nbands = min(nbands, (kmax - kmin + K - 1) // K)
    accd = np.empty(K)
    cov = np.empty((d, K))
    v = np.empty((d, K))
    acc = np.empty(K)
    for tix in range(first, nrb * nbands, step):
        a = tix // nbands
        b = nbands - 1 - (tix - a * nbands)  # last band first: rows ascend for every column
        r0 = a * R
        k0 = kmin + b * K
        if r0 + k0 < lB:
            tile(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, r0, min(r0 + R, lA), k0,
                 k0 + K, ninc, net, descending, accd, cov, v, acc, rowP, rowI, colP, colI)


@numba.njit(**JIT)
def _empty(d, lA, lB):  # pragma: no cover - compiled
    rowP = np.full((d, lA), EMPTY)
    rowI = np.full((d, lA), -1, dtype=np.int64)
    colP = np.full((d, lB), EMPTY)
    colI = np.full((d, lB), -1, dtype=np.int64)
    return rowP, rowI, colP, colI


@numba.njit(**JIT)
def merge_min(P, I, P2, I2):  # pragma: no cover - compiled
    """Fold ``(P2, I2)`` into ``(P, I)`` (2-D): smaller wins, ties go to the smaller index."""
    for k in range(P.shape[0]):
        for x in range(P.shape[1]):
            p = P2[k, x]
            if p < P[k, x] or (p == P[k, x] and I2[k, x] >= 0 and (I[k, x] < 0 or I2[k, x] < I[k, x])):
                P[k, x] = p
                I[k, x] = I2[k, x]


@numba.njit(fastmath=FASTMATH_FINITE, **JIT_PARALLEL)
def upper_triangle(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, kmin, kmax, R, K, ninc,
                   net, descending, nthreads):  # pragma: no cover - compiled
    """Row and column minima over all cells ``kmin <= j - i < kmax`` of A x B, on ``nthreads``
    numba threads (each thread folds its tiles into private minima, merged at the end, ties to
    the smaller index). Returns ``(rowP, rowI, colP, colI)``, each ``(d, l)``, in search values
    (:data:`EMPTY` / -1 where a row or column has no cell). :func:`upper_triangle_serial` is its
    serial twin."""
    d = sA.shape[0]
    lA = sA.shape[1]
    lB = sB.shape[1]
    nrb, nbands = n_tiles(lA, lB, kmin, R, K)
    nbands = min(nbands, (kmax - kmin + K - 1) // K)
    rowP = np.full((nthreads, d, lA), EMPTY)
    rowI = np.full((nthreads, d, lA), -1, dtype=np.int64)
    colP = np.full((nthreads, d, lB), EMPTY)
    colI = np.full((nthreads, d, lB), -1, dtype=np.int64)
    accd = np.empty((nthreads, K))
    cov = np.empty((nthreads, d, K))
    v = np.empty((nthreads, d, K))
    acc = np.empty((nthreads, K))
    for tix in numba.prange(nrb * nbands):
        t = numba.get_thread_id()
        a = tix // nbands
        b = nbands - 1 - (tix - a * nbands)
        r0 = a * R
        k0 = kmin + b * K
        if r0 + k0 < lB:
            tile(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, r0, min(r0 + R, lA), k0,
                 k0 + K, ninc, net, descending, accd[t], cov[t], v[t], acc[t], rowP[t], rowI[t],
                 colP[t], colI[t])
    for t in range(1, nthreads):
        merge_min(rowP[0], rowI[0], rowP[t], rowI[t])
        merge_min(colP[0], colI[0], colP[t], colI[t])
    return rowP[0].copy(), rowI[0].copy(), colP[0].copy(), colI[0].copy()


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def upper_triangle_serial(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, kmin, kmax, R,
                          K, ninc, net, descending):  # pragma: no cover - compiled
    """:func:`upper_triangle` on the calling thread (the same result, bit for bit)."""
    rowP, rowI, colP, colI = _empty(sA.shape[0], sA.shape[1], sB.shape[1])
    _sweep(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, kmin, kmax, R, K, ninc, net,
           descending, 0, 1, rowP, rowI, colP, colI)
    return rowP, rowI, colP, colI


@numba.njit(**JIT)
def _ordered(x, ninc, descending):  # pragma: no cover - compiled
    """Sort ``x[ninc:]`` in place (increasing, or decreasing with ``descending``)."""
    y = np.sort(x[ninc:])
    n = y.shape[0]
    for t in range(n):
        x[ninc + t] = y[n - 1 - t] if descending else y[t]


@numba.njit(**JIT)
def _pair_means(Tc, mu, s, e, i, j, m, ninc, descending, dist, out):  # pragma: no cover - compiled
    """``out[k]``: the exact mean of the first ``k + 1`` ordered distances of windows ``i`` and
    ``j`` (inf when one of them is)."""
    d = s.shape[0]
    for r in range(d):
        dist[r] = znorm_distance(Tc[r], mu[r], s[r], e[r], i, Tc[r], mu[r], s[r], e[r], j, m)
    _ordered(dist, ninc, descending)
    total = 0.0
    for k in range(d):
        total += dist[k]
        out[k] = total / (k + 1)


@numba.njit(**JIT)
def _resolve_range(Tc, mu, s, e, m, ninc, descending, rowP, rowI, colP, colI, lo, hi, P, I,
                   suspect):  # pragma: no cover - compiled
    d = s.shape[0]
    scale = np.sqrt(2.0 * m)
    dist = np.empty(d)
    out = np.empty(d)
    for i in range(lo, hi):
        last = -1
        for k in range(d):
            # the nearer of the row (j > i) and column (j < i) minima; ties to the smaller index
            p, j = rowP[k, i], rowI[k, i]
            if colP[k, i] <= p and colI[k, i] >= 0:
                p, j = colP[k, i], colI[k, i]
            if j < 0 or p >= BIG:
                P[k, i] = np.inf
                I[k, i] = -1
                continue
            if j != last:
                _pair_means(Tc, mu, s, e, i, j, m, ninc, descending, dist, out)
                last = j
            P[k, i] = out[k]
            I[k, i] = j
            if abs(p * scale / (k + 1) - out[k]) > TRUST * (1.0 + out[k]):
                suspect[i] = True


@numba.njit(**JIT_PARALLEL)
def resolve(Tc, mu, s, e, m, ninc, descending, rowP, rowI, colP, colI):  # pragma: no cover
    """The exact profile ``(P, I, suspect)`` from the search minima of a self-join: for each row
    and dimension count, the nearer of the row and column neighbours, its mean distance
    recomputed from the samples; ``suspect[i]`` when the search value of row ``i`` disagrees with
    it (see :data:`TRUST`). :func:`resolve_serial` is its serial twin."""
    d, n = rowP.shape
    P = np.empty((d, n))
    I = np.empty((d, n), dtype=np.int64)
    suspect = np.zeros(n, dtype=np.bool_)
    for c in numba.prange((n + CHUNK - 1) // CHUNK):
        _resolve_range(Tc, mu, s, e, m, ninc, descending, rowP, rowI, colP, colI, c * CHUNK,
                       min(n, c * CHUNK + CHUNK), P, I, suspect)
    return P, I, suspect


@numba.njit(**JIT)
def resolve_serial(Tc, mu, s, e, m, ninc, descending, rowP, rowI, colP, colI):  # pragma: no cover
    """:func:`resolve` on the calling thread (the same result, bit for bit)."""
    d, n = rowP.shape
    P = np.empty((d, n))
    I = np.empty((d, n), dtype=np.int64)
    suspect = np.zeros(n, dtype=np.bool_)
    _resolve_range(Tc, mu, s, e, m, ninc, descending, rowP, rowI, colP, colI, 0, n, P, I, suspect)
    return P, I, suspect


@numba.njit(**JIT)
def rescan(Tc, mu, s, e, m, excl, ninc, descending, rows, P, I):  # pragma: no cover - compiled
    """Search the given rows again by direct distances against every admissible window
    (``|i - j| > excl``), in place: the smallest mean for each dimension count, ties to the
    smaller index."""
    d, n = P.shape
    dist = np.empty(d)
    out = np.empty(d)
    for x in range(rows.shape[0]):
        i = rows[x]
        for k in range(d):
            P[k, i] = np.inf
            I[k, i] = -1
        for j in range(n):
            if abs(i - j) <= excl:
                continue
            _pair_means(Tc, mu, s, e, i, j, m, ninc, descending, dist, out)
            for k in range(d):
                if out[k] < P[k, i]:
                    P[k, i] = out[k]
                    I[k, i] = j
