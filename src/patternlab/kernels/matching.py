"""Pattern matching kernels: prototypes against signals, candidates against prototypes, edges.

Prototypes are z-normalized to zero mean and **unit L2 norm**, so the Pearson correlation of a
prototype ``z`` with a window ``x`` is ``sum(z * (x - mean(x))) / ||x - mean(x)||`` and, since
``sum(z) == 0``, simply ``sum(z * x) * s`` with ``s = 1 / ||x - mean(x)||``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .._numba import FASTMATH_SAFE, JIT, JIT_PARALLEL
from ._simd import fma

#: Correlation reported for windows that cannot match (NaN/inf inside, or constant).
NO_MATCH = -np.inf
#: Windows per block of the sliding correlation: the accumulator stays in L1.
_BLOCK = 1024
#: Prototypes per unit of work of the parallel variants.
_PCHUNK = 16


@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def _correlate_range(z, Tc, s, usable, out, lo, hi):  # pragma: no cover - compiled
    """``out[i]`` = correlation of the unit prototype ``z`` with window ``i`` of ``Tc`` for
    ``lo <= i < hi``.

    Each window's sum is one chain of fused multiply-adds over the taps in order (:func:`fma`),
    so its value does not depend on the range it is computed in nor on how the loop vectorizes:
    the brute-force and the pruned kernels report the same bits."""
    w = z.shape[0]
    acc = np.empty(_BLOCK)
    for b0 in range(lo, hi, _BLOCK):
        nb = min(_BLOCK, hi - b0)
        for x in range(nb):
            acc[x] = 0.0
        t = 0
        while t + 4 <= w:  # four taps per pass: one load and store of the accumulator per 4 FMAs
            z0, z1, z2, z3 = z[t], z[t + 1], z[t + 2], z[t + 3]
            s0 = Tc[b0 + t:b0 + t + nb]
            s1 = Tc[b0 + t + 1:b0 + t + 1 + nb]
            s2 = Tc[b0 + t + 2:b0 + t + 2 + nb]
            s3 = Tc[b0 + t + 3:b0 + t + 3 + nb]
            for x in range(nb):
                acc[x] = fma(z3, s3[x], fma(z2, s2[x], fma(z1, s1[x], fma(z0, s0[x], acc[x]))))
            t += 4
        while t < w:
            zt = z[t]
            seg = Tc[b0 + t:b0 + t + nb]
            for x in range(nb):
                acc[x] = fma(zt, seg[x], acc[x])
            t += 1
        for x in range(nb):
            # |r| <= 1 in exact arithmetic; rounding must not report a correlation above 1
            out[b0 + x] = min(1.0, max(-1.0, acc[x] * s[b0 + x])) if usable[b0 + x] else NO_MATCH


@numba.njit(**JIT)
def _select(cand, vals, nc, w, order_key, blocked):  # pragma: no cover - compiled
    """Non-overlapping windows among the ``nc`` candidates ``cand`` (ascending offsets, their
    correlations in ``vals``): the strongest first (the earliest on ties), each blocking the
    windows within ``w - 1`` of it. Returns their offsets, ascending.

    ``blocked`` (one flag per window, all False) marks the windows a taken one blocks, so each
    candidate is checked in O(1); it is all False again on return."""
    if nc == 0:
        return cand[:0].copy()
    n = blocked.shape[0]
    for k in range(nc):
        order_key[k] = -vals[k]
    order = np.argsort(order_key[:nc], kind="mergesort")
    taken = np.empty(nc, dtype=np.int64)
    nt = 0
    for k in order:
        i = cand[k]
        if blocked[i]:
            continue
        taken[nt] = i
        nt += 1
        for j in range(max(0, i - w + 1), min(n, i + w)):
            blocked[j] = True
    for q in range(nt):
        i = taken[q]
        for j in range(max(0, i - w + 1), min(n, i + w)):
            blocked[j] = False
    return np.sort(taken[:nt])


@numba.njit(**JIT)
def _peaks(corr, threshold, w, cand, order_key):  # pragma: no cover - compiled
    """The matches among one prototype's correlations ``corr`` (one per window): the windows with
    ``corr >= threshold``, selected by :func:`_select`. ``cand`` and ``order_key`` are scratch of
    ``len(corr)``."""
    vals = np.empty(corr.shape[0])
    nc = 0
    for i in range(corr.shape[0]):
        if corr[i] >= threshold:
            cand[nc] = i
            vals[nc] = corr[i]
            nc += 1
    return _select(cand, vals, nc, w, order_key, np.zeros(corr.shape[0], dtype=np.bool_))


@numba.njit(**JIT)
def _correlate_one(z, Tc, s, usable, out):  # pragma: no cover - compiled
    """``out[i]`` = correlation of the unit prototype ``z`` with every window ``i`` of ``Tc``."""
    _correlate_range(z, Tc, s, usable, out, 0, s.shape[0])


@numba.njit(**JIT)
def _match_every_window(Z, p, Tc, s, usable, threshold, w, corr, cand, cval, key, blocked, offs, vals,
                        counts):  # pragma: no cover - compiled
    """Matches of prototype ``p`` found the brute-force way: every window correlated (into
    ``corr``), those reaching ``threshold`` selected as peaks into row ``p`` of the outputs."""
    n = s.shape[0]
    _correlate_range(Z[p], Tc, s, usable, corr, 0, n)
    nc = 0
    for i in range(n):
        if corr[i] >= threshold:
            cand[nc] = i
            cval[nc] = corr[i]
            nc += 1
    hits = _select(cand, cval, nc, w, key, blocked)
    counts[p] = hits.shape[0]
    for k in range(hits.shape[0]):
        offs[p, k] = hits[k]
        vals[p, k] = corr[hits[k]]


@numba.njit(**JIT)
def _brute_range(Z, Tc, s, usable, threshold, p0, p1, offs, vals, counts):  # pragma: no cover
    """Matches of prototypes ``p0 <= p < p1``: every window correlated, then the peaks."""
    w = Z.shape[1]
    n = s.shape[0]
    corr = np.empty(n)
    cand = np.empty(n, dtype=np.int64)
    cval = np.empty(n)
    key = np.empty(n)
    blocked = np.zeros(n, dtype=np.bool_)
    for p in range(p0, p1):
        _match_every_window(Z, p, Tc, s, usable, threshold, w, corr, cand, cval, key, blocked, offs,
                            vals, counts)


@numba.njit(**JIT)
def _collect(offs, vals, counts):  # pragma: no cover - compiled
    """The per-prototype hits as ``(pattern, offset, correlation)`` arrays, by pattern then offset."""
    L = counts.shape[0]
    total = counts.sum()
    pat = np.empty(total, dtype=np.int64)
    off = np.empty(total, dtype=np.int64)
    val = np.empty(total)
    k = 0
    for p in range(L):
        for q in range(counts[p]):
            pat[k] = p
            off[k] = offs[p, q]
            val[k] = vals[p, q]
            k += 1
    return pat, off, val


@numba.njit(**JIT)
def _hit_arrays(L, n, w):  # pragma: no cover - compiled
    cap = n // w + 2  # more non-overlapping windows cannot fit
    return (np.empty((L, cap), dtype=np.int64), np.empty((L, cap)), np.zeros(L, dtype=np.int64))


@numba.njit(**JIT_PARALLEL)
def match_prototypes(Z, Tc, s, usable, threshold):  # pragma: no cover - compiled
    """Occurrences of every prototype (rows of ``Z``) in one signal, by brute force: every
    prototype is correlated with every window.

    Returns ``(pattern, offset, correlation)`` arrays, sorted by pattern then offset: for each
    prototype the non-overlapping windows whose correlation is ``>= threshold``. Parallel over
    prototypes; :func:`match_prototypes_serial` is its serial twin, and
    :func:`patternlab.kernels.pruning.match_prototypes_pruned` returns the same arrays without
    correlating every pair.
    """
    L = Z.shape[0]
    offs, vals, counts = _hit_arrays(L, s.shape[0], Z.shape[1])
    nch = (L + _PCHUNK - 1) // _PCHUNK
    for c in numba.prange(nch):
        _brute_range(Z, Tc, s, usable, threshold, c * _PCHUNK, min(L, c * _PCHUNK + _PCHUNK),
                     offs, vals, counts)
    return _collect(offs, vals, counts)


@numba.njit(**JIT)
def match_prototypes_serial(Z, Tc, s, usable, threshold):  # pragma: no cover - compiled
    """:func:`match_prototypes` on the calling thread (the same result, bit for bit)."""
    L = Z.shape[0]
    offs, vals, counts = _hit_arrays(L, s.shape[0], Z.shape[1])
    _brute_range(Z, Tc, s, usable, threshold, 0, L, offs, vals, counts)
    return _collect(offs, vals, counts)


# -- nearest prototypes ---------------------------------------------------------------------------
@numba.njit(fastmath=FASTMATH_SAFE, **JIT)
def _dot(a, b):  # pragma: no cover - compiled
    """``sum(a * b)`` in four interleaved chains of fused multiply-adds, added in a fixed order:
    the same bits wherever it is inlined."""
    w = a.shape[0]
    c0 = 0.0
    c1 = 0.0
    c2 = 0.0
    c3 = 0.0
    t = 0
    while t + 4 <= w:
        c0 = fma(a[t], b[t], c0)
        c1 = fma(a[t + 1], b[t + 1], c1)
        c2 = fma(a[t + 2], b[t + 2], c2)
        c3 = fma(a[t + 3], b[t + 3], c3)
        t += 4
    while t < w:
        c0 = fma(a[t], b[t], c0)
        t += 1
    return (c0 + c1) + (c2 + c3)


@numba.njit(**JIT)
def _nearest_range(C, Z, nz, c0, c1, best, bval):  # pragma: no cover - compiled
    for c in range(c0, c1):
        for p in range(nz):
            acc = min(1.0, max(-1.0, _dot(C[c], Z[p])))
            if acc > bval[c]:
                bval[c] = acc
                best[c] = p


@numba.njit(**JIT_PARALLEL)
def nearest_prototypes(C, Z, nz):  # pragma: no cover - compiled
    """For each unit candidate (row of ``C``), the best of the first ``nz`` prototypes of ``Z``
    by correlation (the smallest index on ties). Returns ``(index, correlation)``; ``-1`` and
    ``-inf`` when there is no prototype. :func:`nearest_prototypes_serial` is its serial twin and
    :func:`patternlab.kernels.pruning.nearest_prototypes_pruned` returns the same without
    measuring every pair."""
    nc = C.shape[0]
    best = np.full(nc, -1, dtype=np.int64)
    bval = np.full(nc, -np.inf)
    for c in numba.prange(nc):
        _nearest_range(C, Z, nz, c, c + 1, best, bval)
    return best, bval


@numba.njit(**JIT)
def nearest_prototypes_serial(C, Z, nz):  # pragma: no cover - compiled
    """:func:`nearest_prototypes` on the calling thread (the same result, bit for bit)."""
    nc = C.shape[0]
    best = np.full(nc, -1, dtype=np.int64)
    bval = np.full(nc, -np.inf)
    _nearest_range(C, Z, nz, 0, nc, best, bval)
    return best, bval


@numba.njit(**JIT)
def _gram_range(Z, n, a0, a1, G):  # pragma: no cover - compiled
    for a in range(a0, a1):
        for b in range(n):
            G[a, b] = min(1.0, max(-1.0, _dot(Z[a], Z[b])))


@numba.njit(**JIT_PARALLEL)
def gram(Z, n):  # pragma: no cover - compiled
    """Correlations between the first ``n`` unit prototypes of ``Z`` (an ``n x n`` matrix).
    :func:`gram_serial` is its serial twin."""
    G = np.empty((n, n))
    for a in numba.prange(n):
        _gram_range(Z, n, a, a + 1, G)
    return G


@numba.njit(**JIT)
def gram_serial(Z, n):  # pragma: no cover - compiled
    """:func:`gram` on the calling thread (the same result, bit for bit)."""
    G = np.empty((n, n))
    _gram_range(Z, n, 0, n, G)
    return G


@numba.njit(**JIT)
def unit_normalize(x):  # pragma: no cover - compiled
    """``(x - mean) / ||x - mean||``; all zeros when ``x`` is constant or not finite.

    The window is first scaled by a power of two (exact) so that its largest magnitude is about
    1: no sum can overflow and no square underflow, whatever the scale of the data."""
    w = x.shape[0]
    out = np.zeros(w)
    big = 0.0
    for t in range(w):
        if not np.isfinite(x[t]):
            return out
        big = max(big, abs(x[t]))
    if big == 0.0:
        return out
    e = -math.frexp(big)[1]
    y = np.empty(w)
    for t in range(w):
        y[t] = math.ldexp(x[t], e)
    c = y[0]
    acc = 0.0
    for t in range(w):
        acc += y[t] - c
    mean = c + acc / w
    q = 0.0
    for t in range(w):
        d = y[t] - mean
        out[t] = d
        q += d * d
    if not q > 0.0:
        return np.zeros(w)
    inv = 1.0 / np.sqrt(q)
    for t in range(w):
        out[t] *= inv
    return out


@numba.njit(**JIT)
def edges(T, threshold, radius):  # pragma: no cover - compiled
    """Events: positions ``i + 1`` where the z-normalized signal jumps by more than ``threshold``
    between samples ``i`` and ``i + 1`` and the jump is the largest within ``radius`` samples
    (the earliest such jump on ties). Non-finite samples never make an event."""
    n = T.shape[0]
    big = 0.0
    for t in range(n):
        if np.isfinite(T[t]):
            big = max(big, abs(T[t]))
    e = -math.frexp(big)[1] if big > 0.0 else 0
    S = np.empty(n)
    for t in range(n):
        S[t] = math.ldexp(T[t], e) if np.isfinite(T[t]) else T[t]
    mean = 0.0
    cnt = 0
    for t in range(n):
        if np.isfinite(S[t]):
            mean += S[t]
            cnt += 1
    if cnt < 2:
        return np.empty(0, dtype=np.int64)
    mean /= cnt
    var = 0.0
    for t in range(n):
        if np.isfinite(S[t]):
            var += (S[t] - mean) ** 2
    std = np.sqrt(var / cnt)
    if not std > 0.0:
        return np.empty(0, dtype=np.int64)
    d = np.zeros(max(n - 1, 0))
    for t in range(n - 1):
        j = abs(S[t + 1] - S[t]) / std
        d[t] = j if np.isfinite(j) else 0.0
    out = np.empty(d.shape[0], dtype=np.int64)
    k = 0
    for t in range(d.shape[0]):
        if d[t] <= threshold:
            continue
        lo = max(0, t - radius)
        hi = min(d.shape[0], t + radius + 1)
        keep = True
        for u in range(lo, hi):
            if d[u] > d[t] or (d[u] == d[t] and u < t):
                keep = False
                break
        if keep:
            out[k] = t + 1
            k += 1
    return out[:k].copy()


@numba.njit(**JIT_PARALLEL)
def best_matches(Z, Tc, s, usable, threshold):  # pragma: no cover - compiled
    """For every prototype (row of ``Z``) in one signal: the best correlation over its windows,
    the offset of that window (the earliest on ties; ``-1`` and ``-inf`` when no window is
    usable) and the number of non-overlapping windows correlating ``>= threshold`` (the matches
    of :func:`match_prototypes`)."""
    L = Z.shape[0]
    w = Z.shape[1]
    n = s.shape[0]
    best = np.full(L, -np.inf)
    pos = np.full(L, -1, dtype=np.int64)
    count = np.zeros(L, dtype=np.int64)
    for p in numba.prange(L):
        corr = np.empty(n)
        cand = np.empty(n, dtype=np.int64)
        key = np.empty(n)
        _correlate_one(Z[p], Tc, s, usable, corr)
        b = -np.inf
        bi = -1
        for i in range(n):
            if corr[i] > b:
                b = corr[i]
                bi = i
        best[p] = b
        pos[p] = bi
        count[p] = _peaks(corr, threshold, w, cand, key).shape[0]
    return best, pos, count
