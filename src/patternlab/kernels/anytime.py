"""The anytime (SCRIMP++-style) matrix profile: whole diagonals of the distance matrix, in any
order, each cell measured exactly where it can matter.

A diagonal ``d`` holds the cells ``(i, i + d)``. Along it the mean-centred covariance follows the
recurrence of :func:`~patternlab.kernels.stats.diagonal_terms`, computed afresh every
:data:`~patternlab.kernels.streaming.REFRESH` cells. A cell is measured exactly
(:func:`~patternlab.kernels.exact.znorm_distance`) only when its correlation, plus a bound on its
rounding error (as in :mod:`patternlab.kernels.streaming`), reaches the correlation of the best
neighbour known so far on that side; the neighbour is then kept if its exact distance is smaller,
or equal with a smaller index. So the profile after any set of diagonals is the exact profile
restricted to those cells (and to the pairs :func:`apply_pairs` measured), whatever the order,
the grouping into tasks or the number of threads; after every diagonal it is the exact profile.
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import JIT, JIT_PARALLEL
from .exact import znorm_distance
from .streaming import NEVER, NO_NEIGHBOUR, REFRESH

#: Diagonals per chunk of the parallel variant (one unit of work of a thread).
DIAG_CHUNK = 16


@numba.njit(**JIT)
def error_scale(sig2, s, df, dg, valid, constant):  # pragma: no cover - compiled
    """``q[w] = h[w] s[w]``: the error-bound factor of window ``w``, ``h[w]`` the largest window
    spread or recurrence term within :data:`REFRESH` windows of ``w`` (blocks of REFRESH windows,
    the block of ``w`` and its two neighbours)."""
    n = s.shape[0]
    nb = (n + REFRESH - 1) // REFRESH
    hb = np.zeros(nb + 2)
    for w in range(n):
        if valid[w] and not constant[w]:
            a = max(np.sqrt(sig2[w]), max(abs(df[w]), abs(dg[w])))
            b = w // REFRESH + 1
            hb[b] = max(hb[b], a)
    q = np.empty(n)
    for w in range(n):
        b = w // REFRESH + 1
        q[w] = max(hb[b], max(hb[b - 1], hb[b + 1])) * s[w]
    return q


@numba.njit(**JIT)
def threshold_of(d, m):  # pragma: no cover - compiled
    """The correlation equivalent of distance ``d`` (``1 - d^2 / 2m``)."""
    return 1.0 - d * d / (2.0 * m)


@numba.njit(**JIT)
def init_thresholds(P, valid, m):  # pragma: no cover - compiled
    """The correlation of each window's best neighbour so far (``NO_NEIGHBOUR`` where none yet,
    ``NEVER`` for windows that can have none)."""
    out = np.empty(P.shape[0])
    for w in range(P.shape[0]):
        if not valid[w]:
            out[w] = NEVER
        elif np.isfinite(P[w]):
            out[w] = threshold_of(P[w], m)
        else:
            out[w] = NO_NEIGHBOUR
    return out


@numba.njit(**JIT)
def _offer(P, I, thr, w, d, k, m):  # pragma: no cover - compiled
    """Keep ``(d, k)`` as window ``w``'s neighbour if nearer, or as near with a smaller index."""
    if d < P[w] or (d == P[w] and (I[w] < 0 or k < I[w])):
        P[w] = d
        I[w] = k
        thr[w] = threshold_of(d, m)


@numba.njit(**JIT)
def _diagonal(Tc, mu, s, e, df, dg, q, m, d, PL, IL, PR, IR, thrL, thrR):  # pragma: no cover
    n = s.shape[0]
    cells = n - d
    eps = np.finfo(np.float64).eps
    floor = eps * (16.0 * m + 4096.0)
    i0 = 0
    while i0 < cells:
        i1 = min(cells, i0 + REFRESH)
        c = 0.0
        ma = mu[i0]
        mb = mu[i0 + d]
        for t in range(m):
            c += (Tc[i0 + t] - ma) * (Tc[i0 + d + t] - mb)
        for i in range(i0, i1):
            j = i + d
            if i > i0:
                c = c + df[i] * dg[j] + dg[i] * df[j]
            r = c * (s[i] * s[j]) + (e[i] + e[j])
            tol = 2.0 * eps * (m + 9.0 * (i - i0)) * (q[i] * q[j]) + floor
            up = r + tol
            if up >= thrR[i] or up >= thrL[j]:
                dist = znorm_distance(Tc, mu, s, e, i, Tc, mu, s, e, j, m)
                if dist < np.inf:
                    _offer(PR, IR, thrR, i, dist, j, m)
                    _offer(PL, IL, thrL, j, dist, i, m)
        i0 = i1


@numba.njit(**JIT)
def diagonals_serial(Tc, mu, s, e, df, dg, q, m, diags, PL, IL, PR, IR):  # pragma: no cover
    """Fold the cells of the diagonals ``diags`` (each ``d >= 1``) into the left and right
    profiles ``PL, IL, PR, IR`` (exact distances, updated in place), on the calling thread."""
    valid = e >= -1.0
    thrL = init_thresholds(PL, valid, m)
    thrR = init_thresholds(PR, valid, m)
    for x in range(diags.shape[0]):
        _diagonal(Tc, mu, s, e, df, dg, q, m, diags[x], PL, IL, PR, IR, thrL, thrR)


@numba.njit(**JIT)
def merge_min(P, I, P2, I2):  # pragma: no cover - compiled
    """Fold ``(P2, I2)`` into ``(P, I)``: the smaller distance, on a tie the smaller index."""
    for w in range(P.shape[0]):
        k = I2[w]
        if k >= 0 and (P2[w] < P[w] or (P2[w] == P[w] and (I[w] < 0 or k < I[w]))):
            P[w] = P2[w]
            I[w] = k


@numba.njit(**JIT_PARALLEL)
def diagonals(Tc, mu, s, e, df, dg, q, m, diags, PL, IL, PR, IR, nthreads):  # pragma: no cover
    """:func:`diagonals_serial` on ``nthreads`` numba threads (at least those in effect): chunks
    of :data:`DIAG_CHUNK` diagonals, each thread into its own copy of the profiles, merged at the
    end (the same result bit for bit: every kept neighbour is the exact best of the cells seen)."""
    n = PL.shape[0]
    valid = e >= -1.0
    tPL = np.empty((nthreads, n))
    tPR = np.empty((nthreads, n))
    tIL = np.empty((nthreads, n), dtype=np.int64)
    tIR = np.empty((nthreads, n), dtype=np.int64)
    tL = np.empty((nthreads, n))
    tR = np.empty((nthreads, n))
    for t in range(nthreads):
        tPL[t] = PL
        tPR[t] = PR
        tIL[t] = IL
        tIR[t] = IR
        tL[t] = init_thresholds(PL, valid, m)
        tR[t] = init_thresholds(PR, valid, m)
    nd = diags.shape[0]
    for c in numba.prange((nd + DIAG_CHUNK - 1) // DIAG_CHUNK):
        t = numba.get_thread_id()
        for x in range(c * DIAG_CHUNK, min(nd, c * DIAG_CHUNK + DIAG_CHUNK)):
            _diagonal(Tc, mu, s, e, df, dg, q, m, diags[x], tPL[t], tIL[t], tPR[t], tIR[t], tL[t], tR[t])
    for t in range(nthreads):
        merge_min(PL, IL, tPL[t], tIL[t])
        merge_min(PR, IR, tPR[t], tIR[t])


@numba.njit(**JIT)
def apply_pairs(Tc, mu, s, e, m, A, B, PL, IL, PR, IR):  # pragma: no cover - compiled
    """Measure the pairs ``(A[x], B[x])`` (``A[x] < B[x]``, outside the exclusion zone) exactly and
    keep each as a right neighbour of ``A[x]`` and a left neighbour of ``B[x]`` where it is nearer
    (or as near with a smaller index)."""
    for x in range(A.shape[0]):
        a = A[x]
        b = B[x]
        d = znorm_distance(Tc, mu, s, e, a, Tc, mu, s, e, b, m)
        if d < np.inf:
            if d < PR[a] or (d == PR[a] and (IR[a] < 0 or b < IR[a])):
                PR[a] = d
                IR[a] = b
            if d < PL[b] or (d == PL[b] and (IL[b] < 0 or a < IL[b])):
                PL[b] = d
                IL[b] = a


@numba.njit(**JIT)
def _offer_pair(Tc, mu, s, e, m, a, b, PL, IL, PR, IR):  # pragma: no cover - compiled
    """Measure the pair ``a < b`` exactly; keep it on either side where it is nearer."""
    d = znorm_distance(Tc, mu, s, e, a, Tc, mu, s, e, b, m)
    if d < np.inf:
        if d < PR[a] or (d == PR[a] and (IR[a] < 0 or b < IR[a])):
            PR[a] = d
            IR[a] = b
        if d < PL[b] or (d == PL[b] and (IL[b] < 0 or a < IL[b])):
            PL[b] = d
            IL[b] = a


@numba.njit(**JIT)
def prescan_row(qt, i, Tc, mu, s, e, m, excl, step, slack, PL, IL, PR, IR):  # pragma: no cover
    """One row of the pre-scan: ``qt[j]`` approximates the covariance of windows ``i`` (valid, not
    constant) and ``j``. Every pair whose approximate correlation comes within ``slack`` of the
    best known on either side is measured exactly; then the pairs around the row's best one
    along its diagonal (``i + l``, ``best + l`` for ``|l| <= step``), as PreSCRIMP does."""
    n = s.shape[0]
    best = -1
    bestr = -np.inf
    for j in range(n):
        if abs(j - i) <= excl or e[j] < -1.0:
            continue
        r = qt[j] * (s[i] * s[j]) + e[j]
        if r > bestr:
            bestr = r
            best = j
        pj = PR[j] if j < i else PL[j]
        pi = min(PL[i], PR[i])
        tj = threshold_of(pj, m) if np.isfinite(pj) else -np.inf
        ti = threshold_of(pi, m) if np.isfinite(pi) else -np.inf
        if r + slack >= tj or r + slack >= ti:
            _offer_pair(Tc, mu, s, e, m, min(i, j), max(i, j), PL, IL, PR, IR)
    if best < 0:
        return
    for lag in range(-step, step + 1):
        a = i + lag
        b = best + lag
        if a < 0 or b < 0 or a >= n or b >= n or abs(a - b) <= excl:
            continue
        _offer_pair(Tc, mu, s, e, m, min(a, b), max(a, b), PL, IL, PR, IR)
