"""The exact matrix profile of a growing (or sliding) series, one new window at a time.

Each new window ``g`` meets every kept window ``k <= g - excl - 1`` through one *row* of the
mean-centred covariance, ``cov(g, k) = cov(g - 1, k - 1) + df[g] dg[k] + dg[g] df[k]`` (the terms of
:func:`~patternlab.kernels.stats.diagonal_terms`), computed afresh (a direct dot product) every
:data:`REFRESH` rows. From it, one vectorized pass gives the correlations of the row and, block by
block, which cells can matter:

* for the kept window ``k`` the new window is a candidate *right* neighbour; it is measured exactly
  only where its correlation, plus a bound on its rounding error, reaches the correlation of
  ``k``'s best right neighbour so far;
* the new window's *left* neighbours are its *records*: the windows ``k`` nearer to it than every
  window right of ``k`` (the suffix minima of its distance profile). The nearest left neighbour is
  the leftmost record, and when the oldest windows leave (egress) the next record takes over. The
  candidates are found from the correlations with their error bound, then measured exactly.

Every distance kept is :func:`~patternlab.kernels.exact.znorm_distance` of the two windows, and
every comparison that decides a neighbour is made on those exact distances (ties to the smallest
index), so the profile is the exact one whatever the rounding of the search: identical, index for
index and bit for bit, to the batch matrix profile of the kept series.

Constant windows have exact correlations (0, 0.5, 1); they are handled without records: a
constant window's nearest left neighbour is the first constant window still kept (distance 0),
else the first valid one (``sqrt(m)``); a non-constant window's nearest constant one is the first
constant window kept. Windows holding NaN/inf are never neighbours.

The error bound of a cell is ``tol = 2 eps (m + 9 t) q[g] q[k] + floor``: ``t`` rows since the
last refresh, ``q[w] = h[w] / sqrt(sig2[w])`` with ``h[w]`` the largest window spread or recurrence
term of the windows within :data:`REFRESH` before ``w`` (each step of the recurrence rounds
``|c| + |df dg| + |dg df|``, all bounded by products of such terms), and ``floor`` covering the
rounding of the exact distances themselves.

All state lives in a few arrays (see :data:`FLOAT_ROWS`, :data:`INT_ROWS`, :data:`META`); windows
and samples of absolute index ``x`` are at slot ``x - meta[BASE]``. The caller keeps enough room
(capacity) and moves the slots down when needed (:func:`compact`).
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import FASTMATH_FINITE, JIT
from ._simd import fmax
from .exact import znorm_distance
from .stats import CONSTANT_TERM, INVALID_TERM, _stats_range

#: Rows between two direct computations of the covariance row (bounds the rounding drift).
REFRESH = 1024
#: Cells per block of the row pass: the unit in which candidates are searched.
BLOCK = 64
#: Sentinel below every correlation.
EMPTY = -16.0
#: Correlation threshold of a valid window without a right neighbour yet (any valid cell beats it).
NO_NEIGHBOUR = -2.0
#: Correlation threshold of a window that can have no neighbour (holds NaN/inf).
NEVER = 16.0
#: Without z-normalization (``meta[NORM] == 0``) the row holds squared distances and a cell's
#: score is ``-d^2``: these sentinels replace ``EMPTY``, ``NO_NEIGHBOUR`` and ``INVALID_TERM``
#: (scaled samples stay below 2**32, so every valid score is far above them).
RAW_EMPTY = -1e300
RAW_NONE = -1e200
RAW_INVALID = 1e250

# rows of the float state (one value per window slot)
MU, SIG2, S, E, DF, DG, Q, PL, PR, THR, C0, C1, R, XM, PA = range(15)
FLOAT_ROWS = 15
# rows of the int state
IL, IR, RN, RF, RT = range(5)
INT_ROWS = 5
# rows of the bool state
VALID, CONST = range(2)
BOOL_ROWS = 2
# sample rows (float): raw values, sanitized scaled values; (int): non-finite prefix, changes prefix
RAW, TC = range(2)
NF, CH = range(2)
# meta (int64)
(BASE, START, NSAMP, LIMIT, M, EXCL, SINCE, CUR, FC, FV, SHIFT, BLOCKID, PREVLO, KREC,
 ROWS, NORM) = range(16)
META = 16
# fmeta (float64)
HPREV, HCUR = range(2)
FMETA = 2


def new_state(cap_w, m, excl, limit, krec, shift, normalize=True):
    """Empty state arrays for ``cap_w`` window slots (NumPy, called from Python)."""
    F = np.zeros((FLOAT_ROWS, cap_w))
    G = np.zeros((INT_ROWS, cap_w), dtype=np.int64)
    B = np.zeros((BOOL_ROWS, cap_w), dtype=np.bool_)
    Sx = np.zeros((2, cap_w + m))
    SI = np.zeros((2, cap_w + m + 1), dtype=np.int64)
    recK = np.full((cap_w, max(krec, 1)), -1, dtype=np.int64)
    recD = np.full((cap_w, max(krec, 1)), np.inf)
    meta = np.zeros(META, dtype=np.int64)
    meta[M] = m
    meta[EXCL] = excl
    meta[LIMIT] = limit
    meta[KREC] = max(krec, 1)
    meta[SHIFT] = shift
    meta[NORM] = 1 if normalize else 0
    meta[SINCE] = REFRESH
    meta[FC] = -1
    meta[FV] = -1
    meta[BLOCKID] = -1
    meta[PREVLO] = -1
    fmeta = np.zeros(FMETA)
    return F, G, B, Sx, SI, recK, recD, meta, fmeta


@numba.njit(**JIT)
def _sqrt_m(m):  # pragma: no cover - compiled
    return np.sqrt(m)


@numba.njit(**JIT)
def euclidean_distance(Tc, e, a, b, m):  # pragma: no cover - compiled
    """Euclidean distance between windows ``a`` and ``b`` (inf where either holds NaN/inf, ``e <
    0``): four interleaved partial sums in a fixed order, no fastmath flag (the same bits in
    every caller, as :func:`~patternlab.kernels.exact.znorm_distance`)."""
    if e[a] < 0 or e[b] < 0:
        return np.inf
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    t = 0
    while t + 4 <= m:
        d0 = Tc[a + t] - Tc[b + t]
        d1 = Tc[a + t + 1] - Tc[b + t + 1]
        d2 = Tc[a + t + 2] - Tc[b + t + 2]
        d3 = Tc[a + t + 3] - Tc[b + t + 3]
        a0 += d0 * d0
        a1 += d1 * d1
        a2 += d2 * d2
        a3 += d3 * d3
        t += 4
    while t < m:
        d0 = Tc[a + t] - Tc[b + t]
        a0 += d0 * d0
        t += 1
    return np.sqrt((a0 + a1) + (a2 + a3))


@numba.njit(**JIT)
def _dist(Tc, mu, s, e, a, b, m, norm):  # pragma: no cover - compiled
    if norm:
        return znorm_distance(Tc, mu, s, e, a, Tc, mu, s, e, b, m)
    return euclidean_distance(Tc, e, a, b, m)


@numba.njit(**JIT)
def _score(d, m, norm):  # pragma: no cover - compiled
    """The row score of a pair at distance ``d``: its correlation, or ``-d^2``."""
    return 1.0 - d * d / (2.0 * m) if norm else -(d * d)


@numba.njit(**JIT)
def _tol(et, floor, qi, qk, norm):  # pragma: no cover - compiled
    """The rounding bound of a cell's score (see the module notes)."""
    if norm:
        return et * (qi * qk) + floor
    return et * ((qi + qk) * (qi + qk)) + floor


@numba.njit(**JIT)
def _better(d, k, bd, bk):  # pragma: no cover - compiled
    """Whether ``(d, k)`` beats ``(bd, bk)``: a smaller distance, or the same with a smaller index."""
    return k >= 0 and (d < bd or (d == bd and (bk < 0 or k < bk)))


@numba.njit(**JIT)
def _advance(B, flag, want, ptr, start, newest, base):  # pragma: no cover - compiled
    """The first window ``>= max(ptr, start)`` and ``<= newest`` whose ``flag`` row matches the wanted
    kind (constant: ``want == 1``; valid and not constant: ``want == 2``), or -1."""
    g = max(ptr, start)
    while g <= newest:
        w = g - base
        if want == 1:
            if B[VALID, w] and B[CONST, w]:
                return g
        elif B[VALID, w] and not B[CONST, w]:
            return g
        g += 1
    return -1


@numba.njit(**JIT)
def _virtual_left(B, meta, j, newest):  # pragma: no cover - compiled
    """The nearest left neighbour of window ``j`` that the conventions fix without measuring:
    ``(distance, index)`` of the first constant window kept (0 from a constant ``j``, ``sqrt(m)``
    from a non-constant one), else for a constant ``j`` the first valid window (``sqrt(m)``)."""
    m = meta[M]
    lim = j - meta[EXCL] - 1
    base = meta[BASE]
    fc = meta[FC]
    if fc >= 0 and fc <= lim:
        if B[CONST, j - base]:
            return 0.0, fc
        return _sqrt_m(m), fc
    if B[CONST, j - base]:
        fv = meta[FV]
        if fv >= 0 and fv <= lim:
            return _sqrt_m(m), fv
    return np.inf, -1


@numba.njit(**JIT)
def _store_records(recK, recD, G, w, ks, ds, n, krec):  # pragma: no cover - compiled
    """Keep the leftmost ``krec`` of the ``n`` records ``ks[:n]`` (found right to left, so the
    leftmost are last) in slot ``w``, ascending; mark the slot truncated when some are left out."""
    kept = min(n, krec)
    for x in range(kept):
        recK[w, x] = ks[n - 1 - x]
        recD[w, x] = ds[n - 1 - x]
    G[RN, w] = kept
    G[RF, w] = 0
    G[RT, w] = 1 if n > krec else 0


@numba.njit(**JIT)
def _rebuild_records(F, G, B, Sx, recK, recD, meta, j, ks, ds):  # pragma: no cover - compiled
    """Find window ``j``'s records again among the windows kept to its left and store them (the
    case of a truncated record list used up), as :func:`_add_window` finds a new window's: one
    direct row of covariances (:func:`_row_direct`, in the row ``R``, free between two windows),
    the candidates from the correlations and their error bound, then exact distances."""
    base = meta[BASE]
    m = meta[M]
    norm = meta[NORM] == 1
    jw = j - base
    lo = meta[START] - base
    hi = j - meta[EXCL] - 1 - base
    n = 0
    if hi >= lo:
        Tc = Sx[TC]
        mu = F[MU]
        s = F[S]
        e = F[E]
        q = F[Q]
        Rr = F[R]
        eps = np.finfo(np.float64).eps
        if norm:
            _row_direct(Tc, mu, jw, lo, hi, m, Rr)
            _correlations(Rr, s, e, Rr, s[jw], e[jw], lo, hi)
            et = 2.0 * eps * m  # a direct row: no recurrence step since it
            floor = eps * (16.0 * m + 4096.0)
            run = EMPTY
        else:
            _row_direct_raw(Tc, jw, lo, hi, m, Rr)
            _scores_raw(Rr, e, Rr, e[jw], lo, hi)
            et = eps * (24.0 * m + 48.0) * 2.0
            floor = 0.0
            run = RAW_EMPTY
        qi = q[jw]
        _, nc = _record_candidates(Rr, e, q, qi, et, floor, norm, hi, lo, run, ks, 0)
        n = _true_records(Tc, mu, s, e, jw, m, norm, base, ks, ds, nc)
    _store_records(recK, recD, G, jw, ks, ds, n, meta[KREC])


@numba.njit(**JIT)
def _record_candidates(Rr, e, q, qi, et, floor, norm, k_hi, k_lo, run, ks, nc):  # pragma: no cover
    """Cells ``k_hi`` down to ``k_lo`` (non-constant valid ones) whose upper bound reaches every
    lower bound to their right (``run``, the largest so far): appended to ``ks`` from ``nc``.
    Returns the new ``run`` and ``nc``."""
    for k in range(k_hi, k_lo - 1, -1):
        if e[k] != 0.0:
            continue
        tol = _tol(et, floor, qi, q[k], norm)
        if Rr[k] + tol >= run:
            ks[nc] = k
            nc += 1
        run = max(run, Rr[k] - tol)
    return run, nc


@numba.njit(**JIT)
def _true_records(Tc, mu, s, e, i, m, norm, base, ks, ds, nc):  # pragma: no cover - compiled
    """The true records of window slot ``i`` among the candidate slots ``ks[:nc]`` (right to
    left), by exact distance (ties to the left): written over ``ks`` (absolute indices) and
    ``ds``; returns how many."""
    n = 0
    best = np.inf
    for x in range(nc):
        k = ks[x]
        d = _dist(Tc, mu, s, e, k, i, m, norm)
        if d <= best:
            best = d
            ks[n] = k + base
            ds[n] = d
            n += 1
    return n


@numba.njit(**JIT)
def _left_from_records(F, G, B, Sx, recK, recD, meta, j, newest, ks, ds):  # pragma: no cover
    """Window ``j``'s nearest left neighbour among the kept windows, from its records and the
    constant windows."""
    base = meta[BASE]
    w = j - base
    bd, bk = _virtual_left(B, meta, j, newest)
    if B[CONST, w]:
        return bd, bk
    f = G[RF, w]
    n = G[RN, w]
    start = meta[START]
    while f < n and recK[w, f] < start:
        f += 1
    G[RF, w] = f
    if f == n and G[RT, w] == 1:
        _rebuild_records(F, G, B, Sx, recK, recD, meta, j, ks, ds)
        f = 0
        n = G[RN, w]
    if f < n and _better(recD[w, f], recK[w, f], bd, bk):
        return recD[w, f], recK[w, f]
    return bd, bk


@numba.njit(**JIT)
def _egress(F, G, B, Sx, recK, recD, meta, newest, ks, ds):  # pragma: no cover - compiled
    """The oldest window leaves: move the pointers to the first constant and first valid windows
    and give every window whose left neighbour it was its next one."""
    start = meta[START] + 1
    meta[START] = start
    gone = start - 1
    base = meta[BASE]
    if meta[FC] >= 0 and meta[FC] < start:
        meta[FC] = _advance(B, CONST, 1, start, start, newest, base)
    if meta[FV] >= 0 and meta[FV] < start:
        meta[FV] = _advance(B, VALID, 2, start, start, newest, base)
    n = newest + 1 - start
    if n <= 0:
        return
    ILv = G[IL, start - base:newest + 1 - base]
    # blocks of BLOCK windows are tested in one vectorized pass; only those holding a window whose
    # left neighbour left are walked
    for c0 in range(0, n, BLOCK):
        c1 = min(c0 + BLOCK, n)
        if _count_equal(ILv, gone, c0, c1) == 0:
            continue
        for x in range(c0, c1):
            if ILv[x] == gone:
                j = start + x
                d, k = _left_from_records(F, G, B, Sx, recK, recD, meta, j, newest, ks, ds)
                F[PL, j - base] = d
                ILv[x] = k


@numba.njit(**JIT)
def _count_equal(v, x, c0, c1):  # pragma: no cover - compiled
    """How many of ``v[c0:c1]`` equal ``x``."""
    w = v[c0:c1]
    c = 0
    for y in range(w.shape[0]):
        c += 1 if w[y] == x else 0
    return c


# The row kernels below index views that start at slot ``lo`` with a loop counter from 0: numba
# then knows no index is negative and drops its wraparound test, which otherwise keeps LLVM from
# vectorizing the loops (``range(lo, hi + 1)`` over the whole arrays ran 4 to 7x slower).

@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _row_direct(Tc, mu, i, lo, hi, m, C):  # pragma: no cover - compiled
    """``C[k] = cov(i, k)`` for slots ``lo <= k <= hi`` by direct dot products."""
    n = hi + 1 - lo
    if n <= 0:
        return
    Cv = C[lo:hi + 1]
    mv = mu[lo:hi + 1]
    for k in range(n):
        Cv[k] = 0.0
    mi = mu[i]
    t = 0
    while t + 4 <= m:  # four taps a pass: a quarter of the loads and stores of the row
        a0 = Tc[i + t] - mi
        a1 = Tc[i + t + 1] - mi
        a2 = Tc[i + t + 2] - mi
        a3 = Tc[i + t + 3] - mi
        Tv = Tc[lo + t:lo + t + n + 3]
        for k in range(n):
            c = mv[k]
            Cv[k] += (a0 * (Tv[k] - c) + a1 * (Tv[k + 1] - c)) + (a2 * (Tv[k + 2] - c) + a3 * (Tv[k + 3] - c))
        t += 4
    while t < m:
        a = Tc[i + t] - mi
        Tv = Tc[lo + t:lo + t + n]
        for k in range(n):
            Cv[k] += a * (Tv[k] - mv[k])
        t += 1


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _row_update(Cold, Cnew, dfi, dgi, df, dg, lo, hi):  # pragma: no cover - compiled
    """``Cnew[k] = Cold[k - 1] + dfi dg[k] + dgi df[k]`` for slots ``lo <= k <= hi`` (``lo >= 1``
    whenever ``lo <= hi``: the previous row's cells start one slot earlier)."""
    n = hi + 1 - lo
    if n <= 0:
        return
    Co = Cold[lo - 1:hi]
    Cn = Cnew[lo:hi + 1]
    gv = dg[lo:hi + 1]
    fv = df[lo:hi + 1]
    for k in range(n):
        Cn[k] = Co[k] + dfi * gv[k] + dgi * fv[k]


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _row_direct_raw(Tc, i, lo, hi, m, C):  # pragma: no cover - compiled
    """``C[k]`` = squared distance of windows ``i`` and ``k`` for slots ``lo <= k <= hi``."""
    n = hi + 1 - lo
    if n <= 0:
        return
    Cv = C[lo:hi + 1]
    for k in range(n):
        Cv[k] = 0.0
    for t in range(m):
        a = Tc[i + t]
        Tv = Tc[lo + t:lo + t + n]
        for k in range(n):
            d = a - Tv[k]
            Cv[k] += d * d


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _row_update_raw(Cold, Cnew, ai, bi, a, b, lo, hi):  # pragma: no cover - compiled
    """``Cnew[k] = Cold[k - 1] + (ai - a[k])^2 - (bi - b[k])^2``: the sample entering and the one
    leaving both windows."""
    n = hi + 1 - lo
    if n <= 0:
        return
    Co = Cold[lo - 1:hi]
    Cn = Cnew[lo:hi + 1]
    av = a[lo:hi + 1]
    bv = b[lo:hi + 1]
    for k in range(n):
        x = ai - av[k]
        y = bi - bv[k]
        Cn[k] = Co[k] + (x * x - y * y)


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _scores_raw(C, e, Rr, ei, lo, hi):  # pragma: no cover - compiled
    """``Rr[k] = -C[k]``, far below every valid score where either window holds NaN/inf."""
    n = hi + 1 - lo
    if n <= 0:
        return
    Cv = C[lo:hi + 1]
    ev = e[lo:hi + 1]
    Rv = Rr[lo:hi + 1]
    for k in range(n):
        Rv[k] = (ei + ev[k]) * RAW_INVALID - Cv[k]


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _block_bounds_raw(Rr, xm, q, thr, qi, et, floor, k0, k1):  # pragma: no cover - compiled
    """:func:`_block_bounds` for squared-distance scores (tolerance ``et (qi + qk)^2 + floor``)."""
    flag = RAW_EMPTY
    up = RAW_EMPTY
    low = RAW_EMPTY
    n = k1 - k0
    Rv = Rr[k0:k1]
    qv = q[k0:k1]
    tv = thr[k0:k1]
    xv = xm[k0:k1]
    for k in range(n):
        r = Rv[k]
        h = qi + qv[k]
        tol = et * (h * h) + floor
        flag = fmax(flag, r + tol - tv[k])
        up = fmax(up, r + tol + xv[k])
        low = fmax(low, r - tol + xv[k])
    return flag, up, low


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _correlations(C, s, e, Rr, si, ei, lo, hi):  # pragma: no cover - compiled
    """``Rr[k]``: the correlation of the new window with window ``k`` (encoded as in the tile
    kernel: below -2 where either holds NaN/inf), for slots ``lo <= k <= hi``."""
    n = hi + 1 - lo
    if n <= 0:
        return
    Cv = C[lo:hi + 1]
    sv = s[lo:hi + 1]
    ev = e[lo:hi + 1]
    Rv = Rr[lo:hi + 1]
    for k in range(n):
        Rv[k] = Cv[k] * (si * sv[k]) + (ei + ev[k])


@numba.njit(fastmath=FASTMATH_FINITE, **JIT)
def _block_bounds(Rr, xm, q, thr, qi, et, floor, k0, k1):  # pragma: no cover - compiled
    """Over cells ``k0 <= k < k1``: the largest ``r + tol - thr`` (some right-neighbour candidate
    when >= 0) and the largest upper and lower bounds ``r +- tol`` of the non-constant valid
    cells (``xm`` is 0 there and far below elsewhere), for the records. Every value is finite, so
    :func:`~patternlab.kernels._simd.fmax` gives the same maxima as Python's ``max``, vectorized."""
    flag = EMPTY
    up = EMPTY
    low = EMPTY
    n = k1 - k0
    Rv = Rr[k0:k1]
    qv = q[k0:k1]
    tv = thr[k0:k1]
    xv = xm[k0:k1]
    for k in range(n):
        r = Rv[k]
        tol = et * (qi * qv[k]) + floor
        flag = fmax(flag, r + tol - tv[k])
        up = fmax(up, r + tol + xv[k])
        low = fmax(low, r - tol + xv[k])
    return flag, up, low


@numba.njit(**JIT)
def _add_window(F, G, B, Sx, SI, recK, recD, meta, fmeta, bu, bl, ks, ds):  # pragma: no cover
    """Add the newest window (its samples are in place) and update the profile."""
    base = meta[BASE]
    m = meta[M]
    excl = meta[EXCL]
    norm = meta[NORM] == 1
    g = meta[NSAMP] - m
    i = g - base
    Tc = Sx[TC]
    mu = F[MU]
    s = F[S]
    e = F[E]
    _stats_range(Tc, SI[NF], SI[CH], m, i, i + 1, mu, F[SIG2], B[VALID], B[CONST])
    if not norm:
        B[CONST, i] = False  # without z-normalization no window is special
    valid = B[VALID, i]
    const = B[CONST, i]
    # the terms of stats.correlation_terms and stats.diagonal_terms for this window
    if not valid:
        s[i] = 0.0
        e[i] = INVALID_TERM
    elif const:
        s[i] = 0.0
        e[i] = CONSTANT_TERM
    else:
        s[i] = 1.0 / np.sqrt(F[SIG2, i]) if norm else 0.0
        e[i] = 0.0
    amp = 0.0
    if norm:
        if g > 0 and i > 0:
            a = Tc[i - 1 + m]
            b = Tc[i - 1]
            F[DF, i] = 0.5 * (a - b)
            F[DG, i] = (a - mu[i]) + (b - mu[i - 1])
        else:
            F[DF, i] = 0.0
            F[DG, i] = 0.0
        if valid and not const:
            amp = max(np.sqrt(F[SIG2, i]), max(abs(F[DF, i]), abs(F[DG, i])))
    else:
        # the sample entering and the one leaving: the squared-distance recurrence
        F[DF, i] = Tc[i - 1 + m] if i > 0 else 0.0
        F[DG, i] = Tc[i - 1] if i > 0 else 0.0
        for t in range(-1 if i > 0 else 0, m):
            amp = max(amp, abs(Tc[i + t]))
    bid = g // REFRESH
    if bid != meta[BLOCKID]:
        fmeta[HPREV] = fmeta[HCUR] if bid == meta[BLOCKID] + 1 else 0.0
        fmeta[HCUR] = 0.0
        meta[BLOCKID] = bid
    fmeta[HCUR] = max(fmeta[HCUR], amp)
    h = max(fmeta[HPREV], fmeta[HCUR])
    F[Q, i] = h * s[i] if norm else h
    F[XM, i] = 0.0 if valid and not const else (4.0 * EMPTY if norm else -8.0 * RAW_INVALID)
    F[PL, i] = np.inf
    F[PA, i] = np.inf
    F[PR, i] = np.inf
    F[THR, i] = (NO_NEIGHBOUR if norm else RAW_NONE) if valid else NEVER
    G[IL, i] = -1
    G[IR, i] = -1
    G[RN, i] = 0
    G[RF, i] = 0
    G[RT, i] = 0
    if valid and const and meta[FC] < 0:
        meta[FC] = g
    if valid and not const and meta[FV] < 0:
        meta[FV] = g
    start = meta[START]
    lo = start - base
    hi = g - excl - 1 - base
    if hi < lo:
        meta[SINCE] = REFRESH
        meta[PREVLO] = -1
        return
    cur = meta[CUR]
    Cold = F[C0 + cur]
    Cnew = F[C1 - cur]
    if meta[SINCE] >= REFRESH or meta[PREVLO] < 0:
        if norm:
            _row_direct(Tc, mu, i, lo, hi, m, Cnew)
        else:
            _row_direct_raw(Tc, i, lo, hi, m, Cnew)
        meta[SINCE] = 0
    else:
        first = lo
        if lo - 1 < meta[PREVLO] - base:
            if norm:
                _row_direct(Tc, mu, i, lo, lo, m, Cnew)
            else:
                _row_direct_raw(Tc, i, lo, lo, m, Cnew)
            first = lo + 1
        if norm:
            _row_update(Cold, Cnew, F[DF, i], F[DG, i], F[DF], F[DG], first, hi)
        else:
            _row_update_raw(Cold, Cnew, F[DF, i], F[DG, i], F[DF], F[DG], first, hi)
        meta[SINCE] += 1
    meta[CUR] = 1 - cur
    meta[PREVLO] = start
    meta[ROWS] += 1
    if not valid:
        return
    eps = np.finfo(np.float64).eps
    if norm:
        et = 2.0 * eps * (m + 9.0 * meta[SINCE])
        floor = eps * (16.0 * m + 4096.0)
        empty = EMPTY
    else:
        # each step rounds |D| + two squares, all below 4 m h^2 + 8 h^2 (h bounds the samples)
        et = eps * (24.0 * m + 48.0) * (meta[SINCE] + 2.0)
        floor = 0.0
        empty = RAW_EMPTY
    si = s[i]
    ei = e[i]
    qi = F[Q, i]
    thr = F[THR]
    Rr = F[R]
    q = F[Q]
    xm = F[XM]
    if norm:
        _correlations(Cnew, s, e, Rr, si, ei, lo, hi)
    else:
        _scores_raw(Cnew, e, Rr, ei, lo, hi)
    nb = (hi - lo + BLOCK) // BLOCK
    for b in range(nb):
        k0 = lo + b * BLOCK
        k1 = min(k0 + BLOCK, hi + 1)
        if norm:
            flag, bu[b], bl[b] = _block_bounds(Rr, xm, q, thr, qi, et, floor, k0, k1)
        else:
            flag, bu[b], bl[b] = _block_bounds_raw(Rr, xm, q, thr, qi, et, floor, k0, k1)
        if flag >= 0.0:
            for k in range(k0, k1):
                if Rr[k] + _tol(et, floor, qi, q[k], norm) >= thr[k]:
                    d = _dist(Tc, mu, s, e, k, i, m, norm)
                    if d < F[PR, k]:
                        F[PR, k] = d
                        G[IR, k] = g
                        thr[k] = _score(d, m, norm)
    # the new window's left neighbour and records
    if const:
        d, k = _virtual_left(B, meta, g, g)
        F[PL, i] = d
        F[PA, i] = d
        G[IL, i] = k
        return
    # candidates: cells whose upper bound reaches every lower bound to their right
    run = empty
    nc = 0
    for b in range(nb - 1, -1, -1):
        if bu[b] < run:
            run = max(run, bl[b])
            continue
        k0 = lo + b * BLOCK
        k1 = min(k0 + BLOCK, hi + 1)
        run, nc = _record_candidates(Rr, e, q, qi, et, floor, norm, k1 - 1, k0, run, ks, nc)
    n = _true_records(Tc, mu, s, e, i, m, norm, base, ks, ds, nc)
    _store_records(recK, recD, G, i, ks, ds, n, meta[KREC])
    bd, bk = _virtual_left(B, meta, g, g)
    if n > 0 and _better(ds[n - 1], ks[n - 1], bd, bk):
        bd = ds[n - 1]
        bk = ks[n - 1]
    F[PL, i] = bd
    F[PA, i] = bd  # the left distance on arrival: the online anomaly score, kept as it was
    G[IL, i] = bk


def scratch(cap_w):
    """The scratch arrays :func:`extend` works in, for ``cap_w`` window slots (allocated once by
    the caller: a fresh allocation per call would cost more than a short update)."""
    return (np.empty(cap_w // BLOCK + 2), np.empty(cap_w // BLOCK + 2),
            np.empty(cap_w + 1, dtype=np.int64), np.empty(cap_w + 1))


@numba.njit(**JIT)
def extend(values, F, G, B, Sx, SI, recK, recD, meta, fmeta, bu, bl, ks, ds):  # pragma: no cover
    """Append ``values`` (raw samples; NaN/inf allowed) to the stream and update the profile.

    The caller guarantees room for them (``meta[NSAMP] + len(values) - meta[BASE] <= capacity``
    of the sample rows) and that their scaled magnitude stays far inside float64's range;
    ``bu, bl, ks, ds`` are :func:`scratch` of the capacity.
    """
    m = meta[M]
    shift = meta[SHIFT]
    for x in values:
        base = meta[BASE]
        ns = meta[NSAMP]
        slot = ns - base
        Sx[RAW, slot] = x
        finite = np.isfinite(x)
        v = np.ldexp(x, shift) if finite else 0.0
        Sx[TC, slot] = v
        SI[NF, slot + 1] = SI[NF, slot] + (0 if finite else 1)
        if slot > 0:
            SI[CH, slot] = SI[CH, slot - 1] + (1 if v != Sx[TC, slot - 1] else 0)
        else:
            SI[CH, slot] = 0
        meta[NSAMP] = ns + 1
        if ns + 1 - m < meta[START]:  # no complete window yet (a stream starts at window START)
            continue
        newest = ns - m  # the newest window before this sample
        if meta[LIMIT] > 0 and ns + 1 - meta[START] > meta[LIMIT]:
            _egress(F, G, B, Sx, recK, recD, meta, newest, ks, ds)
        _add_window(F, G, B, Sx, SI, recK, recD, meta, fmeta, bu, bl, ks, ds)


@numba.njit(**JIT)
def compact(F, G, B, Sx, SI, recK, recD, meta):  # pragma: no cover - compiled
    """Move every slot down so that the slot of window ``START - 1`` (the previous row still
    refers to it) becomes slot 0, making room at the end."""
    keep_from = max(meta[START] - 1, meta[BASE])
    d = keep_from - meta[BASE]
    if d <= 0:
        return 0
    nw = meta[NSAMP] - meta[M] + 1 - keep_from  # window slots in use from keep_from
    ns = meta[NSAMP] - keep_from
    if nw > 0:
        for r in range(F.shape[0]):
            F[r, :nw] = F[r, d:d + nw].copy()
        for r in range(G.shape[0]):
            G[r, :nw] = G[r, d:d + nw].copy()
        for r in range(B.shape[0]):
            B[r, :nw] = B[r, d:d + nw].copy()
        recK[:nw] = recK[d:d + nw].copy()
        recD[:nw] = recD[d:d + nw].copy()
    for r in range(Sx.shape[0]):
        Sx[r, :ns] = Sx[r, d:d + ns].copy()
    for r in range(SI.shape[0]):
        SI[r, :ns + 1] = SI[r, d:d + ns + 1].copy()
    meta[BASE] = keep_from
    return d


@numba.njit(**JIT)
def prototype_correlations(Z, Tc, mu, s, usable, lo, hi):  # pragma: no cover - compiled
    """Pearson correlation of every unit prototype (rows of ``Z``) with the windows in slots
    ``lo <= i < hi``: ``sum(z * (Tc[i:i+m] - mu[i])) * s[i]``, clipped to [-1, 1]; ``-inf`` for
    windows that are not ``usable`` (NaN/inf inside, or constant). Four interleaved partial sums
    in a fixed order, no fastmath: a window's value does not depend on the batch it came in."""
    P = Z.shape[0]
    m = Z.shape[1]
    out = np.empty((P, hi - lo))
    for i in range(lo, hi):
        if not usable[i]:
            for p in range(P):
                out[p, i - lo] = -np.inf
            continue
        c = mu[i]
        for p in range(P):
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            t = 0
            while t + 4 <= m:
                a0 += Z[p, t] * (Tc[i + t] - c)
                a1 += Z[p, t + 1] * (Tc[i + t + 1] - c)
                a2 += Z[p, t + 2] * (Tc[i + t + 2] - c)
                a3 += Z[p, t + 3] * (Tc[i + t + 3] - c)
                t += 4
            while t < m:
                a0 += Z[p, t] * (Tc[i + t] - c)
                t += 1
            out[p, i - lo] = min(1.0, max(-1.0, ((a0 + a1) + (a2 + a3)) * s[i]))
    return out
