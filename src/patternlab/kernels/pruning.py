"""Exact pruning of the matching kernels: the brute force's matches and nearest prototypes
(:mod:`patternlab.kernels.matching`), bit for bit, without measuring every pair.

For unit vectors a and b, ``a . b = (|a|^2 + |b|^2 - |a - b|^2) / 2``. Split the window into
``k`` segments: the segment sums (scaled to an orthonormal basis) and the norm of what is left
after removing the segment means give
    LB_k^2 = sum_j (ya_j - yb_j)^2 + (ra - rb)^2 <= |a - b|^2
(Pythagoras on the segment subspace and its complement, plus the reverse triangle inequality
on the complement). A pair whose bound exceeds ``|a|^2 + |b|^2 - 2 * threshold`` by more than a
margin that covers every rounding of both the bound and the brute-force correlation cannot
reach the threshold. Each prototype meets every window at 8 segments (a loop over windows that
vectorizes), the pairs that pass at 16 and then 32 segments, and the few left are correlated
with the brute force's own arithmetic: one chain of fused multiply-adds over the taps in order.
A prototype that more than a quarter of the windows pass is correlated with every window, as
by the brute force. (The energy profile of :func:`_features`, a tighter cousin of an angle
index, passed 27% of the pairs of white-noise prototypes and random-walk windows against 3.5%
for the 8 segments, and did not pay.)
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import FASTMATH_SAFE, JIT, JIT_PARALLEL
from .matching import _PCHUNK, _collect, _correlate_range, _dot, _hit_arrays, _match_every_window, _select

#: Library size from which the bounds pay for their set-up (one pass over the windows and the
#: prototypes): below it callers use the brute force, which returns the same arrays.
PRUNE_FROM = 512
#: Segments of the three bounds (fewer when the window is shorter).
PAA_LEVELS = (8, 16, 32)
_EPS = np.finfo(np.float64).eps


@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def _paa(v, k, y):  # pragma: no cover - compiled
    """Orthonormal segment coordinates ``y`` of ``v`` (``k`` segments); returns
    ``(|v|^2, residual norm)``."""
    w = v.shape[0]
    q = 0.0
    r = 0.0
    for j in range(k):
        a = (j * w) // k
        b = ((j + 1) * w) // k
        acc = 0.0
        for t in range(a, b):
            acc += v[t]
        mean = acc / (b - a)
        y[j] = acc / np.sqrt(b - a)
        for t in range(a, b):
            q += v[t] * v[t]
            d = v[t] - mean
            r += d * d
    return q, np.sqrt(r)


@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def _coarsen(S, R2, n_seg, w, F, k):  # pragma: no cover - compiled
    """From the segment sums ``S`` and residual sums of squares ``R2`` of ``2k`` segments, those
    of ``k`` (each the union of two: the boundaries ``(j * w) // k`` nest), written into ``F``
    (coordinates, residual norm last). Residuals add with the exact variance decomposition
    ``r^2 = r_a^2 + r_b^2 + (l_a l_b / l) (mean_a - mean_b)^2`` (no cancellation)."""
    r2 = 0.0
    between = 0.0
    for j in range(k):
        la = ((2 * j + 1) * w) // n_seg - ((2 * j) * w) // n_seg
        lb = ((2 * j + 2) * w) // n_seg - ((2 * j + 1) * w) // n_seg
        sa = S[2 * j]
        sb = S[2 * j + 1]
        tot = sa + sb
        S[j] = tot
        part = R2[2 * j] + R2[2 * j + 1]
        if la > 0 and lb > 0:
            d = sa / la - sb / lb
            e = (la * lb / (la + lb)) * d * d
            part += e
            between += e
        R2[j] = part
        r2 += part
        F[j] = tot / np.sqrt(la + lb)
    F[k] = np.sqrt(r2)
    return between


@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def _features(V, k1, k2, k3):  # pragma: no cover - compiled
    """The three bounds' coordinates of the rows of ``V`` (residual norm last), ``|v|^2``, and
    the energy profile: the norms of ``v``'s parts in ``k1`` segment means, in what ``k2``
    segments add to them, in what ``k3`` add, and in the rest (orthogonal parts, so that
    ``a . b <= sum(profile_a * profile_b)``). ``k3`` segments are measured directly; ``k2 = k3 / 2``
    and ``k1 = k2 / 2`` are their unions (when the window is too short for that, every level is
    measured directly and the profile is ``(|v|, 0, 0, 0)``)."""
    L, w = V.shape
    F1 = np.empty((L, k1 + 1))
    F2 = np.empty((L, k2 + 1))
    F3 = np.empty((L, k3 + 1))
    q = np.empty(L)
    E = np.zeros((L, 4))
    nested = k3 == 2 * k2 and k2 == 2 * k1
    S = np.empty(k3)
    R2 = np.empty(k3)
    inv = np.empty(k3)
    isq = np.empty(k3)
    for j in range(k3):
        n_j = ((j + 1) * w) // k3 - (j * w) // k3
        inv[j] = 1.0 / n_j
        isq[j] = 1.0 / np.sqrt(n_j)
    for p in range(L):
        if not nested:
            q[p], F1[p, k1] = _paa(V[p], k1, F1[p])
            _, F2[p, k2] = _paa(V[p], k2, F2[p])
            _, F3[p, k3] = _paa(V[p], k3, F3[p])
            E[p, 0] = np.sqrt(q[p])
            continue
        v = V[p]
        qq = 0.0
        r2 = 0.0
        for j in range(k3):
            a = (j * w) // k3
            b = ((j + 1) * w) // k3
            acc = 0.0
            for t in range(a, b):
                acc += v[t]
                qq += v[t] * v[t]
            mean = acc * inv[j]
            rr = 0.0
            for t in range(a, b):
                d = v[t] - mean
                rr += d * d
            S[j] = acc
            R2[j] = rr
            r2 += rr
            F3[p, j] = acc * isq[j]
        F3[p, k3] = np.sqrt(r2)
        q[p] = qq
        e2 = _coarsen(S, R2, k3, w, F2[p], k2)
        e1 = _coarsen(S, R2, k2, w, F1[p], k1)
        y2 = 0.0
        for j in range(k1):
            y2 += F1[p, j] * F1[p, j]
        E[p, 0] = np.sqrt(y2)
        E[p, 1] = np.sqrt(e1)
        E[p, 2] = np.sqrt(e2)
        E[p, 3] = F3[p, k3]
    return F1, F2, F3, q, E




@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def _window_features(Tc, s, usable, w, k1, k2, k3, sig, pmax):  # pragma: no cover - compiled
    """The bounds' coordinates of the z-normalized windows (the 8-segment ones transposed, for a
    loop over windows) and ``|x|^2`` plus each window's rounding margin (``-inf`` for an unusable
    window: it never passes)."""
    n = s.shape[0]
    X = np.zeros((n, w))
    for i in range(n):
        if not usable[i]:
            continue
        acc = 0.0
        for t in range(w):
            acc += Tc[i + t]
        mean = acc / w
        for t in range(w):
            X[i, t] = (Tc[i + t] - mean) * s[i]
    F1, F2, F3, q, _ = _features(X, k1, k2, k3)
    lim = np.full(n, -np.inf)
    for i in range(n):
        if not usable[i]:
            continue
        sq = 0.0
        for t in range(w):
            sq += Tc[i + t] * Tc[i + t]
        # kappa = |window| / |window - mean|: how much the brute force's rounding is amplified
        kappa = np.sqrt(sq) * s[i]
        lim[i] = q[i] + (1e-9 + 1024.0 * w * _EPS * (1.0 + kappa) * (1.0 + kappa) * (1.0 + pmax)
                         + 16.0 * sig * (1.0 + kappa))
    G1 = np.ascontiguousarray(F1.T)
    for i in range(n):
        if not usable[i]:
            G1[k1, i] = np.inf  # the bound of an unusable window is infinite
    return G1, F2, F3, lim


@numba.njit(fastmath=True, **JIT)
def _gap(a, b):  # pragma: no cover - compiled
    """``sum((a - b)**2)``: the squared bound between two coordinate rows (in any order of the
    additions: the margins of the bounds cover far more than their rounding; the coordinates
    are finite, an unusable window is marked by its limit)."""
    g = 0.0
    for j in range(a.shape[0]):
        d = a[j] - b[j]
        g += d * d
    return g


@numba.njit(**JIT)
def _pruned_range(Z, Tc, s, usable, threshold, p0, p1, P1, P2, P3, qz, G1, X2, X3, lim, offs, vals,
                  counts):  # pragma: no cover - compiled
    """Matches of prototypes ``p0 <= p < p1`` (see :func:`match_prototypes_pruned`)."""
    w = Z.shape[1]
    n = s.shape[0]
    g = np.empty(n)
    idx = np.empty(n, dtype=np.int64)
    corr = np.empty(n)
    cand = np.empty(n, dtype=np.int64)
    cval = np.empty(n)
    key = np.empty(n)
    blocked = np.zeros(n, dtype=np.bool_)
    t2 = 2.0 * threshold
    k1 = G1.shape[0] - 1
    for p in range(p0, p1):
        base = qz[p] - t2
        for i in range(n):
            g[i] = 0.0
        for j in range(k1 + 1):  # 8 segments, every window: vectorized over windows
            yj = P1[p, j]
            row = G1[j]
            for i in range(n):
                d = yj - row[i]
                g[i] += d * d
        m = 0
        for i in range(n):  # without a branch: a pass is too rare to predict, too common to ignore
            idx[m] = i
            m += g[i] <= base + lim[i]
        if 4 * m > n:
            # a dense prototype: the bounds would not pay, correlate every window
            _match_every_window(Z, p, Tc, s, usable, threshold, w, corr, cand, cval, key, blocked, offs,
                                vals, counts)
            continue
        m2 = 0
        for q in range(m):  # 16, then 32 segments, for the pairs that passed
            i = idx[q]
            if _gap(P2[p], X2[i]) <= base + lim[i] and _gap(P3[p], X3[i]) <= base + lim[i]:
                idx[m2] = i
                m2 += 1
        # the brute force's own arithmetic on runs of the windows left (ascending)
        nc = 0
        q = 0
        while q < m2:
            r = q
            while r + 1 < m2 and idx[r + 1] - idx[r] <= 4:
                r += 1
            _correlate_range(Z[p], Tc, s, usable, corr, idx[q], idx[r] + 1)
            for u in range(q, r + 1):
                i = idx[u]
                if corr[i] >= threshold:
                    cand[nc] = i
                    cval[nc] = corr[i]
                    nc += 1
            q = r + 1
        hits = _select(cand, cval, nc, w, key, blocked)
        counts[p] = hits.shape[0]
        for h in range(hits.shape[0]):
            offs[p, h] = hits[h]
            vals[p, h] = corr[hits[h]]


@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def prototype_features(Z, rows):  # pragma: no cover - compiled
    """What the bounds need of the prototypes ``Z[rows]``, row by row (a row's values do not
    depend on the others, so a library can keep them and refresh only the rows that changed):
    the coordinates of the three bounds (:func:`_features`), ``|z|^2`` and ``|sum(z)|``."""
    w = Z.shape[1]
    k1, k2, k3 = min(PAA_LEVELS[0], w), min(PAA_LEVELS[1], w), min(PAA_LEVELS[2], w)
    V = np.empty((rows.shape[0], w))
    for r in range(rows.shape[0]):
        V[r] = Z[rows[r]]
    P1, P2, P3, qz, _ = _features(V, k1, k2, k3)
    zsum = np.empty(rows.shape[0])
    for r in range(rows.shape[0]):
        acc = 0.0
        for t in range(w):
            acc += V[r, t]
        zsum[r] = abs(acc)
    return P1, P2, P3, qz, zsum


@numba.njit(**JIT)
def stale_rows(Zb, Zcb, n, nc):  # pragma: no cover - compiled
    """The rows ``i < n`` of ``Z`` that differ from the kept copy ``Zc`` (of ``nc`` rows) in any
    bit, or that it does not hold; both given as their bits (``Z.view(np.int64)``)."""
    out = np.empty(n, dtype=np.int64)
    m = 0
    w = Zb.shape[1]
    for i in range(n):
        acc = 0
        if i < nc:
            for t in range(w):  # no early exit: the loop vectorizes
                acc |= Zb[i, t] ^ Zcb[i, t]
        if i >= nc or acc != 0:
            out[m] = i
            m += 1
    return out[:m].copy()


@numba.njit(**JIT)
def _window_setup(qz, zsum, w, Tc, s, usable):  # pragma: no cover - compiled
    k1, k2, k3 = min(PAA_LEVELS[0], w), min(PAA_LEVELS[1], w), min(PAA_LEVELS[2], w)
    # prototypes are centred up to rounding: the largest |sum(z)|
    sig = (zsum.max() if zsum.shape[0] else 0.0) + w * _EPS
    pmax = qz.max() if qz.shape[0] else 1.0
    return _window_features(Tc, s, usable, w, k1, k2, k3, sig, pmax)


@numba.njit(**JIT_PARALLEL)
def match_prototypes_kept(Z, P1, P2, P3, qz, zsum, Tc, s, usable, threshold):  # pragma: no cover
    """:func:`match_prototypes_pruned` (the same arrays, bit for bit) with the prototypes'
    features given (:func:`prototype_features` of every row, as a library keeps them)."""
    L = Z.shape[0]
    G1, X2, X3, lim = _window_setup(qz, zsum, Z.shape[1], Tc, s, usable)
    offs, vals, counts = _hit_arrays(L, s.shape[0], Z.shape[1])
    nch = (L + _PCHUNK - 1) // _PCHUNK
    for c in numba.prange(nch):
        _pruned_range(Z, Tc, s, usable, threshold, c * _PCHUNK, min(L, c * _PCHUNK + _PCHUNK), P1,
                      P2, P3, qz, G1, X2, X3, lim, offs, vals, counts)
    return _collect(offs, vals, counts)


@numba.njit(**JIT)
def match_prototypes_kept_serial(Z, P1, P2, P3, qz, zsum, Tc, s, usable, threshold):  # pragma: no cover
    """:func:`match_prototypes_kept` on the calling thread (the same result, bit for bit)."""
    L = Z.shape[0]
    G1, X2, X3, lim = _window_setup(qz, zsum, Z.shape[1], Tc, s, usable)
    offs, vals, counts = _hit_arrays(L, s.shape[0], Z.shape[1])
    _pruned_range(Z, Tc, s, usable, threshold, 0, L, P1, P2, P3, qz, G1, X2, X3, lim, offs, vals,
                  counts)
    return _collect(offs, vals, counts)


@numba.njit(**JIT_PARALLEL)
def match_prototypes_pruned(Z, Tc, s, usable, threshold):  # pragma: no cover - compiled
    """:func:`match_prototypes` (the same arrays, bit for bit) without correlating every pair.

    Lower bounds of each pair's z-normalized distance from segment sums (see the notes above)
    discard the pairs that cannot reach ``threshold``; the others are correlated with the brute
    force's own arithmetic. Parallel over prototypes; :func:`match_prototypes_pruned_serial` is
    its serial twin.
    """
    P1, P2, P3, qz, zsum = prototype_features(Z, np.arange(Z.shape[0]))
    return match_prototypes_kept(Z, P1, P2, P3, qz, zsum, Tc, s, usable, threshold)


@numba.njit(**JIT)
def match_prototypes_pruned_serial(Z, Tc, s, usable, threshold):  # pragma: no cover - compiled
    """:func:`match_prototypes_pruned` on the calling thread (the same result, bit for bit)."""
    P1, P2, P3, qz, zsum = prototype_features(Z, np.arange(Z.shape[0]))
    return match_prototypes_kept_serial(Z, P1, P2, P3, qz, zsum, Tc, s, usable, threshold)


# -- nearest prototypes ---------------------------------------------------------------------------
@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def pair_bound(Yc, qc, rc, Yz, qz, rz, c, p, w):  # pragma: no cover - compiled
    """An upper bound of the correlation (``_dot``) of candidate ``c`` and prototype ``p`` from
    their segment coordinates (:func:`_nearest_setup`), with a margin covering every rounding."""
    g = 0.0
    for j in range(Yz.shape[1]):
        d = Yc[c, j] - Yz[p, j]
        g += d * d
    d = rc[c] - rz[p]
    g += d * d
    return 0.5 * (qc[c] + qz[p] - g) + 1e-9 + 1024.0 * w * _EPS * (1.0 + qc[c] + qz[p])


@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def _nearest_pruned_range(C, Z, nz, Yc, qc, rc, Yz, qz, rz, c0, c1, best, bval):  # pragma: no cover
    w = Z.shape[1]
    ub = np.empty(nz)
    for c in range(c0, c1):
        # an upper bound of each correlation; the prototype of the largest is measured first
        top = -1
        for p in range(nz):
            ub[p] = pair_bound(Yc, qc, rc, Yz, qz, rz, c, p, w)
            if top < 0 or ub[p] > ub[top]:
                top = p
        if top < 0:
            continue
        bval[c] = min(1.0, max(-1.0, _dot(C[c], Z[top])))
        best[c] = top
        for p in range(nz):
            # only a prototype whose bound reaches the best so far can beat or tie it
            if p == top or ub[p] < bval[c]:
                continue
            acc = min(1.0, max(-1.0, _dot(C[c], Z[p])))
            if acc > bval[c] or (acc == bval[c] and p < best[c]):
                bval[c] = acc
                best[c] = p


@numba.njit(**JIT)
def _nearest_setup(C, Z, nz):  # pragma: no cover - compiled
    k = min(PAA_LEVELS[0], Z.shape[1])
    nc = C.shape[0]
    Yc = np.empty((nc, k))
    qc = np.empty(nc)
    rc = np.empty(nc)
    for c in range(nc):
        qc[c], rc[c] = _paa(C[c], k, Yc[c])
    Yz = np.empty((nz, k))
    qz = np.empty(nz)
    rz = np.empty(nz)
    for p in range(nz):
        qz[p], rz[p] = _paa(Z[p], k, Yz[p])
    return Yc, qc, rc, Yz, qz, rz


@numba.njit(**JIT_PARALLEL)
def nearest_prototypes_pruned(C, Z, nz):  # pragma: no cover - compiled
    """:func:`nearest_prototypes` (the same result, bit for bit) measuring only the prototypes
    whose upper bound (segment means, see the pruning notes) reaches the best correlation found
    so far. Worth it for many candidates: the bounds of the prototypes cost about one pass over
    them. :func:`nearest_prototypes_pruned_serial` is its serial twin."""
    nc = C.shape[0]
    best = np.full(nc, -1, dtype=np.int64)
    bval = np.full(nc, -np.inf)
    Yc, qc, rc, Yz, qz, rz = _nearest_setup(C, Z, nz)
    for c in numba.prange(nc):
        _nearest_pruned_range(C, Z, nz, Yc, qc, rc, Yz, qz, rz, c, c + 1, best, bval)
    return best, bval


@numba.njit(**JIT)
def nearest_prototypes_pruned_serial(C, Z, nz):  # pragma: no cover - compiled
    """:func:`nearest_prototypes_pruned` on the calling thread (the same result, bit for bit)."""
    nc = C.shape[0]
    best = np.full(nc, -1, dtype=np.int64)
    bval = np.full(nc, -np.inf)
    Yc, qc, rc, Yz, qz, rz = _nearest_setup(C, Z, nz)
    _nearest_pruned_range(C, Z, nz, Yc, qc, rc, Yz, qz, rz, 0, nc, best, bval)
    return best, bval
