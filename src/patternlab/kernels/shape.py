"""Shape kernels of the pattern library: the complexity estimate of z-normalized windows and
the complexity-corrected, lag-aligned comparison of unit prototypes.

Complexity estimate (Batista, Wang and Keogh, "A complexity-invariant distance measure for time
series", SDM 2011): ``CE(x) = sqrt(sum(diff(z) ** 2))`` of the window ``z`` z-normalized to zero
mean and unit standard deviation. For a unit-L2 prototype ``u`` (``z = sqrt(w) u``) that is
``sqrt(w * sum(diff(u) ** 2))``. A straight line has ``CE ~= sqrt(12 / w)``, one sine period
``~= 2 pi / sqrt(w)``, a step held for the whole window 2, white noise ``~= sqrt(2 (w - 1))``.

The complexity-invariant distance is ``ED * CF`` with the correction factor
``CF = max(CE_a, CE_b) / min(CE_a, CE_b)``. Since ``ED**2 = 2 w (1 - r)`` between windows
z-normalized to unit standard deviation, the correlation with the same distance is
``r' = 1 - CF**2 (1 - r)``: the corrected correlation these kernels report.
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import FASTMATH_SAFE, JIT
from .matching import _dot, unit_normalize
from .pruning import _EPS, _paa, prototype_features


@numba.njit(**JIT)
def complexity(Z, n):  # pragma: no cover - compiled
    """The complexity estimate of each of the first ``n`` unit rows of ``Z`` (0 for a zero row)."""
    w = Z.shape[1]
    out = np.empty(n)
    for i in range(n):
        acc = 0.0
        for t in range(w - 1):
            d = Z[i, t + 1] - Z[i, t]
            acc += d * d
        out[i] = np.sqrt(w * acc)
    return out


@numba.njit(**JIT)
def _corrected(r, ca, cb):  # pragma: no cover - compiled
    lo = min(ca, cb)
    hi = max(ca, cb)
    if not lo > 0.0:
        return -1.0 if hi > 0.0 else r
    cf = hi / lo
    return max(-1.0, 1.0 - cf * cf * (1.0 - r))


@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def _raw_needed(threshold, ca, cb):  # pragma: no cover - compiled
    """The raw correlation that :func:`_corrected` takes to ``threshold`` for complexities ``ca``,
    ``cb`` (both > 0): what a pair must reach before correction to be worth measuring."""
    cf = max(ca, cb) / min(ca, cb)
    return 1.0 - (1.0 - threshold) / (cf * cf)


@numba.njit(**JIT)
def nearest_corrected(C, cc, Z, cz, nz):  # pragma: no cover - compiled
    """For each unit candidate (row of ``C``, complexity ``cc``), the first ``nz`` prototypes of
    ``Z`` (complexities ``cz``) by complexity-corrected correlation: ``(index, r')`` of the best
    (the smallest index on ties); ``-1`` and ``-inf`` when there is no prototype. The products
    are :func:`~patternlab.kernels.matching._dot`'s (the same bits wherever it is inlined), so
    :func:`nearest_corrected_pruned` reproduces them."""
    nc = C.shape[0]
    best = np.full(nc, -1, dtype=np.int64)
    bval = np.full(nc, -np.inf)
    for c in range(nc):
        for p in range(nz):
            r = _corrected(min(1.0, max(-1.0, _dot(C[c], Z[p]))), cc[c], cz[p])
            if r > bval[c]:
                bval[c] = r
                best[c] = p
    return best, bval


@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def nearest_corrected_kept(C, cc, Z, cz, P1, qz, nz, threshold):  # pragma: no cover - compiled
    """:func:`nearest_corrected_pruned` with the prototypes' 8-segment coordinates ``P1``
    (residual norm last) and ``|z|^2`` given, as a library keeps them
    (:func:`~patternlab.kernels.pruning.prototype_features`): each candidate's bounds against
    every prototype are computed in loops over the prototypes that vectorize."""
    nc = C.shape[0]
    w = C.shape[1]
    best = np.full(nc, -1, dtype=np.int64)
    bval = np.full(nc, -np.inf)
    if nz == 0:
        return best, bval
    k = P1.shape[1] - 1
    PT = np.ascontiguousarray(P1[:nz].T)
    Yc = np.empty((nc, k))
    qc = np.empty(nc)
    rc = np.empty(nc)
    for c in range(nc):
        qc[c], rc[c] = _paa(C[c], k, Yc[c])
    ub = np.empty(nz)
    slack = 1e-9 + 1024.0 * w * _EPS
    for c in range(nc):
        for p in range(nz):
            ub[p] = 0.0
        for j in range(k + 1):
            y = Yc[c, j] if j < k else rc[c]
            row = PT[j]
            for p in range(nz):
                d = y - row[p]
                ub[p] += d * d
        for p in range(nz):
            ub[p] = 0.5 * (qc[c] + qz[p] - ub[p]) + slack * (1.0 + qc[c] + qz[p])
        for p in range(nz):
            lo = min(cc[c], cz[p])
            if lo > 0.0:
                if ub[p] < threshold and threshold > -1.0:
                    continue  # (the needed raw correlation below is at least the threshold)
                if threshold > -1.0 and ub[p] < _raw_needed(threshold, cc[c], cz[p]):
                    continue
                if _corrected(min(1.0, max(-1.0, ub[p])), cc[c], cz[p]) < bval[c]:
                    continue
            r = _corrected(min(1.0, max(-1.0, _dot(C[c], Z[p]))), cc[c], cz[p])
            if r > bval[c]:
                bval[c] = r
                best[c] = p
    return best, bval


@numba.njit(**JIT)
def nearest_corrected_pruned(C, cc, Z, cz, nz, threshold):  # pragma: no cover - compiled
    """:func:`nearest_corrected` for the rows whose best corrected correlation reaches
    ``threshold`` (the same index and value, bit for bit), measuring only the prototypes whose
    upper bound can reach it: the segment-mean bound of
    :mod:`~patternlab.kernels.pruning` on the raw correlation ``r``, against the raw value that
    a corrected ``r' = 1 - CF**2 (1 - r) >= threshold`` needs, ``1 - (1 - threshold) / CF**2``,
    and against the best found so far. A row whose best is below ``threshold`` reports a lower
    best or ``-1``, ``-inf``: below the threshold no decision depends on it. Pairs where a
    complexity is 0 are always measured. (The prototypes' coordinates computed here, then
    :func:`nearest_corrected_kept`.)"""
    P1, _, _, qz, _ = prototype_features(Z, np.arange(nz))
    return nearest_corrected_kept(C, cc, Z, cz, P1, qz, nz, threshold)


@numba.njit(**JIT)
def _prefix(X, n):  # pragma: no cover - compiled
    """Prefix sums of the values and of their squares of the first ``n`` rows of ``X``."""
    w = X.shape[1]
    P = np.zeros((n, w + 1))
    Q = np.zeros((n, w + 1))
    for i in range(n):
        for t in range(w):
            P[i, t + 1] = P[i, t] + X[i, t]
            Q[i, t + 1] = Q[i, t] + X[i, t] * X[i, t]
    return P, Q


@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def _lagged_pair(A, i, B, j, PA, QA, PB, QB, max_lag):  # pragma: no cover - compiled
    """The best lagged correlation of ``A[i]`` and ``B[j]`` and its shift (see
    :func:`lagged_correlations`, whose arithmetic this is)."""
    w = A.shape[1]
    best = min(1.0, max(-1.0, _dot(A[i], B[j])))
    bd = 0
    for k in range(1, max_lag + 1):
        for d in (-k, k):
            lo = max(0, d)
            hi = min(w, w + d)
            m = hi - lo
            sab = _dot(A[i, lo:hi], B[j, lo - d:hi - d])
            sa = PA[i, hi] - PA[i, lo]
            sb = PB[j, hi - d] - PB[j, lo - d]
            va = (QA[i, hi] - QA[i, lo]) - sa * sa / m
            vb = (QB[j, hi - d] - QB[j, lo - d]) - sb * sb / m
            if va > 1e-12 and vb > 1e-12:
                r = min(1.0, max(-1.0, (sab - sa * sb / m) / np.sqrt(va * vb)))
                if r > best:
                    best = r
                    bd = d
    return best, bd


@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def lagged_correlations(A, ca, B, cb, nb, max_lag, corrected):  # pragma: no cover - compiled
    """Every unit row of ``A`` against the first ``nb`` unit rows of ``B``: the best Pearson
    correlation over the shifts ``d`` in ``[-max_lag, max_lag]`` of ``A[i, t]`` with
    ``B[j, t - d]`` (``B``'s row moved right by ``d``), over the samples where both exist (at lag
    0 the dot product of the unit rows), and that shift: the smallest ``|d|``, then the negative
    one, on ties. With ``corrected`` the correlations are complexity-corrected (complexities
    ``ca``, ``cb``). Returns ``(r, lag)``, each ``(len(A), nb)``."""
    na = A.shape[0]
    PA, QA = _prefix(A, na)
    PB, QB = _prefix(B, nb)
    R = np.empty((na, nb))
    D = np.zeros((na, nb), dtype=np.int64)
    for i in range(na):
        for j in range(nb):
            best, bd = _lagged_pair(A, i, B, j, PA, QA, PB, QB, max_lag)
            R[i, j] = _corrected(best, ca[i], cb[j]) if corrected else best
            D[i, j] = bd
    return R, D


@numba.njit(fastmath=True, **JIT)
def _lag_units(a, max_lag):  # pragma: no cover - compiled
    """For each shift ``d`` (row ``d + max_lag``): the part of the unit row ``a`` that overlaps a
    row ``b`` moved right by ``d``, centred, scaled to unit norm and placed where it meets ``b``
    (``U[d] . b`` is then the correlation times the norm of ``b``'s centred overlap; zeros
    elsewhere, so that every dot product runs over the whole window and vectorizes), and
    ``1 / var`` of that part as :func:`lagged_correlations` computes it (0 where that kernel
    skips the shift). Row ``max_lag`` (shift 0) is ``a`` itself."""
    w = a.shape[0]
    U = np.zeros((2 * max_lag + 1, w))
    iva = np.zeros(2 * max_lag + 1)
    U[max_lag] = a
    iva[max_lag] = 1.0
    for d in range(-max_lag, max_lag + 1):
        if d == 0:
            continue
        lo = max(0, d)
        hi = min(w, w + d)
        m = hi - lo
        sa = 0.0
        qa = 0.0
        for t in range(lo, hi):
            sa += a[t]
            qa += a[t] * a[t]
        v = qa - sa * sa / m
        if not v > 1e-12:
            continue
        mean = sa / m
        ss = 0.0
        for t in range(lo, hi):
            ss += (a[t] - mean) * (a[t] - mean)
        if not ss > 0.0:
            continue
        inv = 1.0 / np.sqrt(ss)
        for t in range(lo, hi):
            U[d + max_lag, t - d] = (a[t] - mean) * inv
        iva[d + max_lag] = 1.0 / v
    return U, iva


#: Rows of ``B`` bounded together by :func:`_lag_dots` (their transposed block stays in cache).
LAG_BLOCK = 32


@numba.njit(fastmath=True, **JIT)
def _lag_dots(U, lo, hi, B, j0, jn, BT, acc):  # pragma: no cover - compiled
    """``acc[r, k] = U[r] . B[j0 + k]`` for the ``jn`` rows from ``j0`` (``U``'s row ``r`` is
    zero outside ``lo[r]:hi[r]``): the block of ``B`` transposed into ``BT`` first, so that the
    products of four rows of ``U`` run down its columns at once (independent sums, in
    registers), ``LAG_BLOCK`` rows of ``B`` at a time."""
    w = B.shape[1]
    for k in range(jn):
        for t in range(w):
            BT[t, k] = B[j0 + k, t]
    for k in range(jn, LAG_BLOCK):
        for t in range(w):
            BT[t, k] = 0.0
    nr = U.shape[0]
    a = np.empty((4, LAG_BLOCK))
    for r0 in range(0, nr, 4):
        m = min(4, nr - r0)
        tlo = w
        thi = 0
        for q in range(m):
            tlo = min(tlo, lo[r0 + q])
            thi = max(thi, hi[r0 + q])
        a[:] = 0.0
        if m == 4:
            for t in range(tlo, thi):
                u0 = U[r0, t]
                u1 = U[r0 + 1, t]
                u2 = U[r0 + 2, t]
                u3 = U[r0 + 3, t]
                for k in range(LAG_BLOCK):
                    b = BT[t, k]
                    a[0, k] += u0 * b
                    a[1, k] += u1 * b
                    a[2, k] += u2 * b
                    a[3, k] += u3 * b
        else:
            for q in range(m):
                for t in range(tlo, thi):
                    u = U[r0 + q, t]
                    for k in range(LAG_BLOCK):
                        a[q, k] += u * BT[t, k]
        for q in range(m):
            for k in range(LAG_BLOCK):
                acc[r0 + q, k] = a[q, k]


@numba.njit(fastmath=True, **JIT)
def _lag_hits(acc, iva, lo, hi, PB, QB, j0, jn, need, PT, QT, hit):  # pragma: no cover - compiled
    """For the ``jn`` rows of ``B`` from ``j0`` (their products with ``a``'s shifts in ``acc``,
    :func:`_lag_dots`; their prefix sums in rows ``j0 ..`` of ``PB``, ``QB``): whether the best
    lagged correlation of ``a`` (:func:`_lag_units`) and the row can reach ``need[k]`` (``>
    1e-6``; ``inf``: never), each shift's correlation computed the fast way, with a margin that
    covers the rounding of both ways (the prefix sums transposed into ``PT``, ``QT`` first, so
    that the tests run down the block's columns)."""
    w1 = PB.shape[1]
    for k in range(jn):
        for t in range(w1):
            PT[t, k] = PB[j0 + k, t]
            QT[t, k] = QB[j0 + k, t]
    for k in range(jn, LAG_BLOCK):
        for t in range(w1):
            PT[t, k] = 0.0
            QT[t, k] = 0.0
    # dot / sqrt(vb) + margin >= threshold, where the margin (1e-9 + 1e-12 * (1 / sqrt(va vb) +
    # 1 / va + 1 / vb)) stays below 1e-8 while both variances are at least 1e-3: then the test
    # is dot > 0 and dot**2 >= (threshold - 1e-8)**2 vb, without a root or a division; a shift
    # with a smaller variance is always measured
    t2 = np.empty(LAG_BLOCK)
    for k in range(LAG_BLOCK):
        t2[k] = (need[k] - 1e-8) * (need[k] - 1e-8)
        hit[k] = False
    for r in range(acc.shape[0]):
        if not iva[r] > 0.0:
            continue  # a shift the exact kernel skips
        if iva[r] > 1e3:
            hit[:] = True  # a flat overlap of `a`: always measured
            break
        lr, hr = lo[r], hi[r]
        im = 1.0 / (hr - lr)
        for k in range(LAG_BLOCK):
            sb = PT[hr, k] - PT[lr, k]
            vb = (QT[hr, k] - QT[lr, k]) - sb * sb * im
            d = acc[r, k]
            hit[k] |= vb < 1e-3 or (d > 0.0 and d * d >= t2[k] * vb)
    for k in range(LAG_BLOCK):
        if need[k] == np.inf:
            hit[k] = False


@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def lagged_correlations_pruned(A, ca, B, cb, nb, max_lag, corrected, threshold):  # pragma: no cover
    """:func:`lagged_correlations` where the result reaches ``threshold`` (the same values and
    shifts, bit for bit), ``-inf`` and shift 0 where it cannot: each pair is first bounded by a
    fast, vectorized evaluation of its lagged correlations with a margin covering the rounding
    of both (the complexity correction only lowers a correlation), and only the pairs that can
    reach ``threshold`` are measured with the exact kernel's arithmetic."""
    PB, QB = _prefix(B, nb)
    return lagged_correlations_kept(A, ca, B, cb, nb, max_lag, corrected, threshold, PB, QB)


@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def lagged_correlations_kept(A, ca, B, cb, nb, max_lag, corrected, threshold, PB,
                             QB):  # pragma: no cover - compiled
    """:func:`lagged_correlations_pruned` with the prefix sums of ``B``'s rows given
    (:func:`prefix_sums`, as a library keeps them)."""
    na = A.shape[0]
    PA, QA = _prefix(A, na)
    R = np.full((na, nb), -np.inf)
    D = np.zeros((na, nb), dtype=np.int64)
    w = A.shape[1]
    lo = np.empty(2 * max_lag + 1, dtype=np.int64)
    hi = np.empty(2 * max_lag + 1, dtype=np.int64)
    for d in range(-max_lag, max_lag + 1):
        lo[d + max_lag] = max(0, -d)
        hi[d + max_lag] = min(w, w - d)
    BT = np.empty((w, LAG_BLOCK))
    PT = np.empty((w + 1, LAG_BLOCK))
    QT = np.empty((w + 1, LAG_BLOCK))
    acc = np.empty((2 * max_lag + 1, LAG_BLOCK))
    need = np.empty(LAG_BLOCK)
    hit = np.ones(LAG_BLOCK, dtype=np.bool_)
    bound = threshold > 1e-6  # (a threshold <= 0 is reached by rows the bound skips: a zero
    for i in range(na):       # row, a flat overlap)
        U, iva = _lag_units(A[i], max_lag)
        for j0 in range(0, nb, LAG_BLOCK):
            jn = min(LAG_BLOCK, nb - j0)
            if bound:
                for k in range(LAG_BLOCK):
                    need[k] = threshold
                    if corrected and k < jn:  # the raw correlation the corrected one needs
                        c_lo, c_hi = min(ca[i], cb[j0 + k]), max(ca[i], cb[j0 + k])
                        if c_lo > 0.0:  # (less a slack for the rounding)
                            need[k] = _raw_needed(threshold, c_lo, c_hi) - 1e-9
                        elif c_hi > 0.0:
                            need[k] = np.inf  # corrected to -1
                _lag_dots(U, lo, hi, B, j0, jn, BT, acc)
                _lag_hits(acc, iva, lo, hi, PB, QB, j0, jn, need, PT, QT, hit)
            for k in range(jn):
                if not hit[k]:
                    continue
                j = j0 + k
                best, bd = _lagged_pair(A, i, B, j, PA, QA, PB, QB, max_lag)
                r = _corrected(best, ca[i], cb[j]) if corrected else best
                if r >= threshold:
                    R[i, j] = r
                    D[i, j] = bd
    return R, D


@numba.njit(**JIT)
def prefix_sums(X, rows):  # pragma: no cover - compiled
    """:func:`_prefix` of the rows ``X[rows]`` (each row's sums depend on that row alone)."""
    w = X.shape[1]
    P = np.zeros((rows.shape[0], w + 1))
    Q = np.zeros((rows.shape[0], w + 1))
    for r in range(rows.shape[0]):
        i = rows[r]
        for t in range(w):
            P[r, t + 1] = P[r, t] + X[i, t]
            Q[r, t + 1] = Q[r, t] + X[i, t] * X[i, t]
    return P, Q


@numba.njit(**JIT)
def shifted_units(T, at, w, max_lag):  # pragma: no cover - compiled
    """The unit-normalized windows ``T[at + d:at + d + w]`` for the shifts ``d = 0, -1, 1, -2,
    2, ...`` up to ``max_lag`` that fit in ``T``, and those shifts (a row of zeros where the
    window is constant or not finite)."""
    n = T.shape[0]
    shifts = np.empty(2 * max_lag + 1, dtype=np.int64)
    m = 0
    for k in range(max_lag + 1):
        for d in (-k, k):
            if k == 0 and d == 0 and m == 1:
                continue
            if 0 <= at + d and at + d + w <= n:
                shifts[m] = d
                m += 1
    C = np.empty((m, w))
    for r in range(m):
        C[r] = unit_normalize(T[at + shifts[r]:at + shifts[r] + w])
    return C, shifts[:m].copy()
