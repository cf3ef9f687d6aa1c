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
from .pruning import _nearest_setup, pair_bound


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


@numba.njit(**JIT)
def nearest_corrected_pruned(C, cc, Z, cz, nz, threshold):  # pragma: no cover - compiled
    """:func:`nearest_corrected` for the rows whose best corrected correlation reaches
    ``threshold`` (the same index and value, bit for bit), measuring only the prototypes whose
    upper bound can reach it: the segment-mean bound of
    :mod:`~patternlab.kernels.pruning` on the raw correlation ``r``, against the raw value that
    a corrected ``r' = 1 - CF**2 (1 - r) >= threshold`` needs, ``1 - (1 - threshold) / CF**2``,
    and against the best found so far. A row whose best is below ``threshold`` reports a lower
    best or ``-1``, ``-inf``: below the threshold no decision depends on it. Pairs where a
    complexity is 0 are always measured."""
    nc = C.shape[0]
    w = C.shape[1]
    best = np.full(nc, -1, dtype=np.int64)
    bval = np.full(nc, -np.inf)
    if nz == 0:
        return best, bval
    Yc, qc, rc, Yz, qz, rz = _nearest_setup(C, Z, nz)
    for c in range(nc):
        for p in range(nz):
            lo = min(cc[c], cz[p])
            hi = max(cc[c], cz[p])
            if lo > 0.0:
                ub = pair_bound(Yc, qc, rc, Yz, qz, rz, c, p, w)
                cf = hi / lo
                if threshold > -1.0 and ub < 1.0 - (1.0 - threshold) / (cf * cf):
                    continue  # (r' is clamped at -1: every pair reaches a threshold of -1)
                if _corrected(min(1.0, max(-1.0, ub)), cc[c], cz[p]) < bval[c]:
                    continue
            r = _corrected(min(1.0, max(-1.0, _dot(C[c], Z[p]))), cc[c], cz[p])
            if r > bval[c]:
                bval[c] = r
                best[c] = p
    return best, bval


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
def lagged_correlations(A, ca, B, cb, nb, max_lag, corrected):  # pragma: no cover - compiled
    """Every unit row of ``A`` against the first ``nb`` unit rows of ``B``: the best Pearson
    correlation over the shifts ``d`` in ``[-max_lag, max_lag]`` of ``A[i, t]`` with
    ``B[j, t - d]`` (``B``'s row moved right by ``d``), over the samples where both exist (at lag
    0 the dot product of the unit rows), and that shift: the smallest ``|d|``, then the negative
    one, on ties. With ``corrected`` the correlations are complexity-corrected (complexities
    ``ca``, ``cb``). Returns ``(r, lag)``, each ``(len(A), nb)``."""
    na = A.shape[0]
    w = A.shape[1]
    PA, QA = _prefix(A, na)
    PB, QB = _prefix(B, nb)
    R = np.empty((na, nb))
    D = np.zeros((na, nb), dtype=np.int64)
    for i in range(na):
        for j in range(nb):
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
            R[i, j] = _corrected(best, ca[i], cb[j]) if corrected else best
            D[i, j] = bd
    return R, D


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
