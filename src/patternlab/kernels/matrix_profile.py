"""Exact matrix profile: a tiled, diagonal-band traversal in correlation space.

The distance matrix between the windows of a series A (rows, index ``i``) and of a series B
(columns, index ``j``) is visited in the upper triangle ``k = j - i >= kmin`` only. It is cut into
*tiles*: ``R`` consecutive rows times a band of ``K`` consecutive diagonals. Inside a tile, row by
row, the mean-centred covariance of the ``K`` cells of the row is updated from the previous row's
(one fused multiply-add pair per cell), turned into a Pearson correlation, and folded into

* the *row* maximum of row ``i`` (its best neighbour ``j > i``: the right profile), and
* the *column* maxima of columns ``j`` (their best neighbour ``i < j``: the left profile).

The inner loop runs over ``K`` contiguous cells and vectorizes (including the row-max reduction,
which is why this kernel uses ``FASTMATH_FINITE``: all its inputs are finite by construction,
non-finite and constant windows are encoded by :func:`~patternlab.kernels.stats.correlation_terms`).
The column maxima are updated without a branch: every cell loads and stores its column's value and
index (``fmax`` and a select), which vectorizes to plain loads, blends and stores on every vector
unit. A conditional update (``if r > colP[w]: ...``) vectorizes to masked stores instead, cheap
with AVX-512's mask registers but microcoded on AVX2 (``vmaskmovpd``/``vpmaskmovd``): written
that way, the kernel ran 2-3x slower on AVX2 than on AVX-512 at the same clock.
The row's argmax is searched only in the rare case that the row maximum improves on the best seen
so far. The covariance of each diagonal is computed afresh (a direct dot product) at the first row
of each tile, which bounds rounding drift to ``R`` steps.

The decomposition into tiles depends only on ``(len, kmin, R, K)``, never on the number of threads
or workers; ties are broken towards the smallest index. So results are bit-for-bit identical
however the tiles are scheduled (threads here, Dask tasks elsewhere).
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import FASTMATH_FINITE, JIT
from ._simd import fmax

#: Sentinel below every encoded correlation (those are >= -8).
EMPTY = -16.0


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
def _row(cov, dfi, dgi, si, ei, dfB, dgB, sB, eB, colP, colI, i, update, plain, lo):  # pragma: no cover
    """Process one row of a tile: update the covariances in place (unless it is the tile's first
    row), fold the column maxima, return the row maximum.

    All arrays are views of the same length aligned on the row's first cell and indexed by the
    loop variable only, so that LLVM vectorizes the loop (``plain``: no constant or non-finite
    window in the row, the additive terms are skipped).
    """
    rmax = lo
    for w in range(cov.shape[0]):
        if update:
            c = cov[w] + dfi * dgB[w] + dgi * dfB[w]
            cov[w] = c
        else:
            c = cov[w]
        if plain:
            r = c * (si * sB[w])
        else:
            r = c * (si * sB[w]) + (ei + eB[w])
        old = colP[w]
        oi = colI[w]
        gt = r > old
        colP[w] = fmax(r, old)
        colI[w] = i if gt else oi
        rmax = fmax(rmax, r)
    return rmax


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _row_pair(cov, nxt, dfi, dgi, si, dfj, dgj, sj, dfB, dgB, sB, colP, colI, i, lo):  # pragma: no cover
    """Process rows ``i`` and ``i + 1`` of a tile in one pass (both plain, both updated).

    Reads the covariances of row ``i - 1`` from ``cov`` and writes those of row ``i + 1`` to
    ``nxt`` (``cov`` is left as it was, so the rare argmax search can recompute row ``i``). The
    views of ``B`` are aligned on row ``i``'s first column and one longer than ``cov``: row
    ``i + 1`` reaches one column further. Column ``base + w`` receives row ``i``'s cell on
    diagonal ``w`` and row ``i + 1``'s cell on diagonal ``w - 1`` (carried from the previous
    iteration), so every column is loaded and stored once for two rows.
    """
    rmax = lo
    rmax1 = lo
    carry = lo
    nk = cov.shape[0]
    for w in range(nk):
        c = cov[w] + dfi * dgB[w] + dgi * dfB[w]
        c1 = c + dfj * dgB[w + 1] + dgj * dfB[w + 1]
        nxt[w] = c1
        r = c * (si * sB[w])
        r1 = c1 * (sj * sB[w + 1])
        rmax = fmax(rmax, r)
        rmax1 = fmax(rmax1, r1)
        best = fmax(carry, r)
        old = colP[w]
        oi = colI[w]
        gt = best > old
        colP[w] = fmax(best, old)
        colI[w] = i if gt else oi
        carry = r1
    if carry > colP[nk]:
        colP[nk] = carry
        colI[nk] = i + 1
    return rmax, rmax1


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _find(cov, dfi, dgi, si, ei, dfB, dgB, sB, eB, update, plain, rmax):  # pragma: no cover
    """The first cell of a row whose correlation equals ``rmax``, recomputed with the expressions
    of :func:`_row` (from the previous row's covariances when ``update``).

    One branch-free pass (an integer min-reduction, which vectorizes) instead of an early-exit
    scan: this runs each time a row's maximum improves, a few times per row and band sweep.
    Should rounding ever differ from the pass that found ``rmax``, the row's argmax is returned.
    """
    nk = cov.shape[0]
    first = nk
    for w in range(nk):
        c = cov[w] + dfi * dgB[w] + dgi * dfB[w] if update else cov[w]
        if plain:
            r = c * (si * sB[w])
        else:
            r = c * (si * sB[w]) + (ei + eB[w])
        first = min(first, w if r == rmax else nk)
    if first < nk:
        return first
    best = 0
    bval = rmax - rmax - 100.0
    for w in range(nk):
        c = cov[w] + dfi * dgB[w] + dgi * dfB[w] if update else cov[w]
        r = c * (si * sB[w]) + (ei + eB[w])
        if r > bval:
            bval = r
            best = w
    return best


@numba.njit(**JIT)
def _keep(P, I, x, p, j):  # pragma: no cover - compiled
    """Record ``(p, j)`` for row ``x`` if it beats what is there: a larger correlation, or an
    equal one with a smaller index (so the result never depends on the order tiles are folded)."""
    if p > P[x] or I[x] < 0 or j < I[x]:
        P[x] = p
        I[x] = j


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def tile(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, spB, m, r0, r1, k0, k1,
         acc, cov, nxt, rowP, rowI, row_off, colP, colI, col_off):  # pragma: no cover - compiled
    """Fold tile ``rows [r0, r1) x diagonals [k0, k1)`` into the row and column maxima.

    ``rowP/rowI`` hold the best correlation and its column for rows ``row_off + x``; ``colP/colI``
    the best correlation and its row for columns ``col_off + x``. Existing values are improved in
    place. Rows keep the largest correlation and, on ties, the smallest column. Columns keep the
    first largest correlation in the order rows are folded: rows ascend within a tile, and
    :func:`sweep` visits the bands of a row block from the last to the first, so that rows also
    ascend across tiles and ties go to the smallest row there too.
    ``acc`` (float64), ``cov`` and ``nxt`` are scratch buffers of at least ``k1 - k0`` elements.
    """
    lB = sB.shape[0]
    K = k1 - k0
    nk = min(K, lB - (r0 + k0))
    if nk <= 0:
        return
    _init_cov(TA, muA, TB, muB, m, r0, k0, nk, acc, cov)
    lo = np.full(1, EMPTY, dtype=cov.dtype)[0]
    zero = lo - lo  # a 0 of the search dtype: a float64 literal would promote float32 arithmetic
    i = r0
    while i < r1:
        base = i + k0
        nk = min(K, lB - base)
        if nk <= 0:
            break
        end = base + nk
        c0 = base - col_off
        pair = (i > r0 and i + 1 < r1 and end < lB and eA[i] == 0 and eA[i + 1] == 0
                and spB[end + 1] == spB[base])
        if pair:
            rm, rm1 = _row_pair(cov[:nk], nxt[:nk], dfA[i], dgA[i], sA[i], dfA[i + 1], dgA[i + 1],
                                sA[i + 1], dfB[base:end + 1], dgB[base:end + 1], sB[base:end + 1],
                                colP[c0:c0 + nk + 1], colI[c0:c0 + nk + 1], i, lo)
            x = i - row_off
            if rm >= rowP[x]:
                j = base + _find(cov[:nk], dfA[i], dgA[i], sA[i], zero, dfB[base:end],
                                 dgB[base:end], sB[base:end], eB[base:end], True, True, rm)
                _keep(rowP, rowI, x, rm, j)
            if rm1 >= rowP[x + 1]:
                j = base + 1 + _find(nxt[:nk], zero, zero, sA[i + 1], zero, dfB[base + 1:end + 1],
                                     dgB[base + 1:end + 1], sB[base + 1:end + 1],
                                     eB[base + 1:end + 1], False, True, rm1)
                _keep(rowP, rowI, x + 1, rm1, j)
            cov, nxt = nxt, cov
            i += 2
            continue
        plain = eA[i] == 0 and spB[end] == spB[base]
        rm = _row(cov[:nk], dfA[i], dgA[i], sA[i], eA[i], dfB[base:end], dgB[base:end],
                  sB[base:end], eB[base:end], colP[c0:c0 + nk], colI[c0:c0 + nk], i, i > r0,
                  plain, lo)
        x = i - row_off
        if rm >= rowP[x]:
            j = base + _find(cov[:nk], zero, zero, sA[i], eA[i], dfB[base:end], dgB[base:end],
                             sB[base:end], eB[base:end], False, plain, rm)
            _keep(rowP, rowI, x, rm, j)
        i += 1


@numba.njit(**JIT)
def special_prefix(e):  # pragma: no cover - compiled
    """``p[x]`` = number of windows before ``x`` that are constant or non-finite (``e != 0``)."""
    p = np.zeros(e.shape[0] + 1, dtype=np.int64)
    for x in range(e.shape[0]):
        p[x + 1] = p[x] + (1 if e[x] != 0 else 0)
    return p


@numba.njit(**JIT)
def n_tiles(lA, lB, kmin, R, K):  # pragma: no cover - compiled
    """Number of row blocks and of diagonal bands of the canonical decomposition."""
    kmax = lB - 1  # the largest diagonal with a cell (at row 0)
    if kmax < kmin:
        return 0, 0
    return (lA + R - 1) // R, (kmax - kmin + 1 + K - 1) // K


@numba.njit(**JIT)
def merge_max(P, I, P2, I2):  # pragma: no cover - compiled
    """Fold ``(P2, I2)`` into ``(P, I)``: larger correlation wins, ties go to the smaller index."""
    for x in range(P.shape[0]):
        p = P2[x]
        if p > P[x] or (p == P[x] and I2[x] >= 0 and (I[x] < 0 or I2[x] < I[x])):
            P[x] = p
            I[x] = I2[x]


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def sweep(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, spB, m, kmin, kmax, R, K, first,
          step, rowP, rowI, colP, colI):  # pragma: no cover - compiled
    """Fold tiles ``first, first + step, ...`` of the canonical decomposition of the cells
    ``kmin <= j - i < kmax`` (``kmax - kmin`` a multiple of ``K``, or ``kmax >= len(B)``) into
    the given maxima. ``spB`` is :func:`special_prefix` of ``eB``."""
    lA = sA.shape[0]
    lB = sB.shape[0]
    nrb, nbands = n_tiles(lA, lB, kmin, R, K)
    nbands = min(nbands, (kmax - kmin + K - 1) // K)
    acc = np.empty(K, dtype=np.float64)
    # one allocation, the two halves 80 bytes apart from a multiple of 4 KiB (no 4K aliasing)
    scratch = np.empty(2 * K + 20, dtype=sA.dtype)
    cov = scratch[:K]
    nxt = scratch[K + 20:]
    for tix in range(first, nrb * nbands, step):
        a = tix // nbands
        b = nbands - 1 - (tix - a * nbands)  # last band first: rows ascend for every column
        r0 = a * R
        k0 = kmin + b * K
        if r0 + k0 >= lB:
            continue
        tile(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, spB, m, r0, min(r0 + R, lA),
             k0, k0 + K, acc, cov, nxt, rowP, rowI, 0, colP, colI, 0)


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def task(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, spB, m, kmin, R, K, a, g0, g1,
         rowP, rowI, colP, colI, col_off):  # pragma: no cover - compiled
    """Fold the tiles of row block ``a`` and diagonal bands ``g0 <= b < g1`` of the canonical
    decomposition of the cells ``j - i >= kmin`` (the last band first, so that rows ascend for
    every column) into bounded maxima: ``rowP/rowI`` for rows ``a * R + x``, ``colP/colI`` for
    columns ``col_off + x`` (at least columns ``a * R + kmin + g0 * K`` to
    ``min(a * R + R + kmin + g1 * K, len(B))``). Indices are global. ``spB`` is
    :func:`special_prefix` of ``eB``. A task's memory is its maxima and one tile's scratch,
    whatever the length of the series."""
    lA = sA.shape[0]
    lB = sB.shape[0]
    acc = np.empty(K, dtype=np.float64)
    # one allocation, the two halves 80 bytes apart from a multiple of 4 KiB (no 4K aliasing)
    scratch = np.empty(2 * K + 20, dtype=sA.dtype)
    cov = scratch[:K]
    nxt = scratch[K + 20:]
    r0 = a * R
    r1 = min(r0 + R, lA)
    for b in range(g1 - 1, g0 - 1, -1):
        k0 = kmin + b * K
        if r0 + k0 >= lB:
            continue
        tile(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, spB, m, r0, r1, k0, k0 + K, acc,
             cov, nxt, rowP, rowI, r0, colP, colI, col_off)


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def upper_triangle_serial(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, kmin, kmax, R, K,
                          index_like):  # pragma: no cover - compiled
    """Row and column maxima over all cells ``kmin <= j - i < kmax`` of the A x B correlation
    matrix, every tile in one sweep on the calling thread. Returns ``(rowP, rowI, colP, colI)``
    as correlations (``EMPTY`` where a row or column has no cell). Indices have the dtype of
    ``index_like`` (as wide as the search dtype, see
    :func:`patternlab.profiles._tiling.index_dtype`). Several threads run :func:`task` instead (see
    :mod:`patternlab.profiles._tiling`), with the same result bit for bit: the tiles and the
    tie rule do not depend on how tiles are grouped or scheduled."""
    lA = sA.shape[0]
    lB = sB.shape[0]
    spB = special_prefix(eB)
    rowP = np.full(lA, EMPTY, dtype=sA.dtype)
    rowI = np.full(lA, -1, dtype=index_like.dtype)
    colP = np.full(lB, EMPTY, dtype=sA.dtype)
    colI = np.full(lB, -1, dtype=index_like.dtype)
    sweep(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, spB, m, kmin, kmax, R, K, 0, 1,
          rowP, rowI, colP, colI)
    return rowP, rowI, colP, colI
