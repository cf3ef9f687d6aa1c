"""Exact discords without the full matrix profile: DRAG's two phases with early abandoning.

For a threshold ``r``, the windows whose nearest-neighbour distance (self-join, exclusion zone
``|i - j| <= excl``) is at least ``r`` are found exactly, without computing the rest of the
profile (Yankov, Wang and Keogh, "Disk aware discord discovery", ICDM 2007; the threshold is
chosen as in MERLIN, Nakamura et al. 2020):

1. *candidates* (:func:`candidates`): windows are scanned in order against the current candidate
   set; a candidate closer than ``r`` to the scanned window is dropped (its nearest neighbour is
   closer than ``r``), and the scanned window becomes a candidate only if no candidate was closer
   than ``r`` to it. What remains is a superset of the answer. The scan runs in fixed segments of
   the series, each with its own candidate set (in parallel; the union is the same superset
   whatever the number of threads).
2. *refinement* (:func:`refine`): each candidate's nearest neighbour is searched over the whole
   series, nearest offsets first (similar windows are often close in time, so a neighbour closer
   than ``r`` usually turns up in the first few), with every distance abandoned as soon as its
   partial sum exceeds the best so far (the candidate's samples farthest from its mean first, as
   the UCR suite orders them); a candidate is dropped as soon as a neighbour closer than
   ``r`` is found. The survivors have their exact nearest-neighbour distance and index (the
   smallest index on a tie).

Distances follow the conventions of the matrix profile (:func:`.exact.znorm_distance`): a window
holding NaN/inf is never a neighbour; two constant windows are at distance 0, a constant and a
non-constant one at ``sqrt(m)``. They are compared as ``d**2 / m`` (no square root), summed
8 samples at a time in a fixed order and abandoned as soon as the partial sum exceeds the bound
at hand. Decisions against ``r`` use a relative slack (:data:`SLACK`) so that rounding never
drops a window whose distance equals ``r``; the caller keeps only answers at or above ``r``,
with the distances recomputed as the profile reports them.
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import JIT, JIT_PARALLEL

#: Relative slack of the comparisons with the threshold (rounding of the early-abandoned sums).
SLACK = 1e-9
#: Windows per segment of the candidate scan (the unit of parallel work; fixed, so the union of
#: the candidate sets does not depend on the number of threads).
SEGMENT = 1 << 16


@numba.njit(inline="always", **JIT)
def _sq8(A, B, t, xa, ya, xb, yb):  # pragma: no cover - compiled
    """Sum of the 8 squared differences of the z-normalized samples ``t .. t+7`` of the windows
    ``A`` and ``B``, in a fixed tree (no fastmath: the same bits in every compiled variant)."""
    d0 = (A[t] - xa) * ya - (B[t] - xb) * yb
    d1 = (A[t + 1] - xa) * ya - (B[t + 1] - xb) * yb
    d2 = (A[t + 2] - xa) * ya - (B[t + 2] - xb) * yb
    d3 = (A[t + 3] - xa) * ya - (B[t + 3] - xb) * yb
    d4 = (A[t + 4] - xa) * ya - (B[t + 4] - xb) * yb
    d5 = (A[t + 5] - xa) * ya - (B[t + 5] - xb) * yb
    d6 = (A[t + 6] - xa) * ya - (B[t + 6] - xb) * yb
    d7 = (A[t + 7] - xa) * ya - (B[t + 7] - xb) * yb
    return ((d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3)) + ((d4 * d4 + d5 * d5) + (d6 * d6 + d7 * d7))


@numba.njit(inline="always", **JIT)
def sq_below(Tc, mu, s, e, a, b, m, bound):  # pragma: no cover - compiled
    """``d**2 / m`` for the z-normalized distance ``d`` between windows ``a`` and ``b`` if it is at
    most ``bound``; otherwise some value above ``bound`` (the sum is abandoned once it exceeds
    it). NaN/inf windows are at ``inf``; two constant windows at 0, a constant and a
    non-constant one at 1 (distance ``sqrt(m)``)."""
    if e[a] < 0 or e[b] < 0:
        return np.inf
    if e[a] > 0 or e[b] > 0:
        return 0.0 if (e[a] > 0 and e[b] > 0) else 1.0
    A = Tc[a:a + m]
    B = Tc[b:b + m]
    xa = mu[a]
    ya = s[a]
    xb = mu[b]
    yb = s[b]
    acc = 0.0
    for blk in range(m // 8):
        acc += _sq8(A, B, blk * 8, xa, ya, xb, yb)
        if acc > bound:
            return acc
    for t in range(m - m % 8, m):
        d = (A[t] - xa) * ya - (B[t] - xb) * yb
        acc += d * d
    return acc


@numba.njit(**JIT)
def _segment(Tc, mu, s, e, m, excl, r, lo, hi, keep, counts, seg):  # pragma: no cover - compiled
    """Phase 1 on windows ``lo <= i < hi``: mark the surviving candidates in ``keep``; count the
    distances computed in ``counts[seg]``."""
    cand = np.empty(hi - lo, dtype=np.int64)
    nc = 0
    bound = r * r * (1.0 - SLACK) / m  # d < r, in the units of sq_below
    work = 0
    for i in range(lo, hi):
        if e[i] < 0:
            continue
        alone = True
        q = 0
        for x in range(nc):
            c = cand[x]
            if i - c > excl:
                work += 1
                if sq_below(Tc, mu, s, e, i, c, m, bound) < bound:
                    alone = False
                    continue  # c has a neighbour closer than r: dropped
            cand[q] = c
            q += 1
        nc = q
        if alone:
            cand[nc] = i
            nc += 1
    for x in range(nc):
        keep[cand[x]] = True
    counts[seg] = work


@numba.njit(**JIT_PARALLEL)
def candidates(Tc, mu, s, e, m, excl, r, seg):  # pragma: no cover - compiled
    """Phase 1 over the whole series in segments of ``seg`` windows (:data:`SEGMENT`), in
    parallel: ``(keep, distances computed)``, where ``keep`` marks a superset of the windows whose
    nearest-neighbour distance is ``>= r``. :func:`candidates_serial` is its serial twin."""
    n = s.shape[0]
    nseg = (n + seg - 1) // seg
    keep = np.zeros(n, dtype=np.bool_)
    counts = np.zeros(nseg, dtype=np.int64)
    for g in numba.prange(nseg):
        _segment(Tc, mu, s, e, m, excl, r, g * seg, min(n, g * seg + seg), keep, counts, g)
    return keep, counts.sum()


@numba.njit(**JIT)
def candidates_serial(Tc, mu, s, e, m, excl, r, seg):  # pragma: no cover - compiled
    """:func:`candidates` on the calling thread (the same result)."""
    n = s.shape[0]
    nseg = (n + seg - 1) // seg
    keep = np.zeros(n, dtype=np.bool_)
    counts = np.zeros(nseg, dtype=np.int64)
    for g in range(nseg):
        _segment(Tc, mu, s, e, m, excl, r, g * seg, min(n, g * seg + seg), keep, counts, g)
    return keep, counts.sum()


@numba.njit(inline="always", **JIT)
def _sq_ordered(zc, order, Tc, mu, s, e, j, m, bound):  # pragma: no cover - compiled
    """:func:`sq_below` between a window given by its z-normalized samples ``zc`` and window
    ``j``, the samples taken in ``order`` (the largest ``|zc|`` first, so that a far window is
    abandoned after a few of them), four at a time."""
    if e[j] < 0:
        return np.inf
    if e[j] > 0:
        return 1.0
    B = Tc[j:j + m]
    xb = mu[j]
    yb = s[j]
    acc = 0.0
    for blk in range(m // 4):
        t = blk * 4
        d0 = zc[order[t]] - (B[order[t]] - xb) * yb
        d1 = zc[order[t + 1]] - (B[order[t + 1]] - xb) * yb
        d2 = zc[order[t + 2]] - (B[order[t + 2]] - xb) * yb
        d3 = zc[order[t + 3]] - (B[order[t + 3]] - xb) * yb
        acc += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3)
        if acc > bound:
            return acc
    for t in range(m - m % 4, m):
        d = zc[order[t]] - (B[order[t]] - xb) * yb
        acc += d * d
    return acc


@numba.njit(**JIT)
def _nearest(Tc, mu, s, e, m, excl, c, r):  # pragma: no cover - compiled
    """Nearest neighbour of window ``c`` (outside the exclusion zone), scanned by increasing
    offset, each distance abandoned above the best so far (the samples of ``c`` farthest from
    its mean first); stops as soon as one is closer than ``r``. Returns ``(distance, index,
    distances computed)``; index -1 when stopped early or when no window is admissible."""
    n = s.shape[0]
    below = r * r * (1.0 - SLACK) / m  # d < r, in the units of sq_below
    best = np.inf
    who = -1
    work = 0
    const = e[c] > 0
    zc = (Tc[c:c + m] - mu[c]) * s[c]
    order = np.argsort(-np.abs(zc), kind="mergesort")
    top = max(c, n - 1 - c)
    for off in range(excl + 1, top + 1):
        for side in range(2):
            j = c - off if side == 0 else c + off
            if j < 0 or j >= n or e[j] < 0:
                continue
            work += 1
            if const:
                d = 0.0 if e[j] > 0 else 1.0
            else:
                d = _sq_ordered(zc, order, Tc, mu, s, e, j, m, best)
            if d < best or (d == best and j < who):
                best = d
                who = j
                if best < below:
                    return np.sqrt(m * best), -1, work
    return np.sqrt(m * best), who, work


@numba.njit(**JIT_PARALLEL)
def refine(Tc, mu, s, e, m, excl, r, cand):  # pragma: no cover - compiled
    """Phase 2 for the windows ``cand``: ``(distance, index, distances computed)`` per candidate
    (index -1: its nearest neighbour is closer than ``r``, or it has none).
    :func:`refine_serial` is its serial twin."""
    nc = cand.shape[0]
    D = np.full(nc, np.inf)
    I = np.full(nc, -1, dtype=np.int64)
    W = np.zeros(nc, dtype=np.int64)
    for x in numba.prange(nc):
        D[x], I[x], W[x] = _nearest(Tc, mu, s, e, m, excl, cand[x], r)
    return D, I, W


@numba.njit(**JIT)
def refine_serial(Tc, mu, s, e, m, excl, r, cand):  # pragma: no cover - compiled
    """:func:`refine` on the calling thread (the same result)."""
    nc = cand.shape[0]
    D = np.full(nc, np.inf)
    I = np.full(nc, -1, dtype=np.int64)
    W = np.zeros(nc, dtype=np.int64)
    for x in range(nc):
        D[x], I[x], W[x] = _nearest(Tc, mu, s, e, m, excl, cand[x], r)
    return D, I, W


# -- left discords ------------------------------------------------------------------------------
#: Relative slack of the left search's pruning: its distances come from dot products (a loop
#: that vectorizes), whose rounding is far above the early-abandoned sums' but far below this.
LEFT_SLACK = 1e-6
#: Windows of the first chunk of a window's past, and of the largest (chunks double).
LEFT_CHUNK = 64
LEFT_CHUNK_MAX = 4096
#: ``|mean| / (spread sqrt(m))`` of a window above which its distance is summed directly.
LEFT_OFFSET = 1e4

@numba.njit(**JIT)
def _separated_kth(val, idx, c, k, sep):  # pragma: no cover - compiled
    """A lower bound of the ``k``-th discord of any superset of the ``c`` windows ``idx`` (their
    distances ``val``): the ``k``-th value of a greedy pick, by decreasing value, of windows at
    least ``sep = 2 m - 1`` apart (a discord of the superset blocks at most one of them, so the
    greedy discord pass keeps picking at or above each of their values); 0 when there are not
    ``k`` such windows."""
    order = np.argsort(-val[:c], kind="mergesort")
    taken = np.empty(k, dtype=np.int64)
    nt = 0
    for x in order:
        i = idx[x]
        ok = True
        for q in range(nt):
            if abs(i - taken[q]) < sep:
                ok = False
                break
        if ok:
            taken[nt] = i
            nt += 1
            if nt == k:
                return val[x]
    return 0.0


@numba.njit(**JIT)
def left_search(Tc, mu, s, e, m, excl, k, budget, start):  # pragma: no cover - compiled
    """The windows that can be among the ``k`` left discords (the windows farthest from their
    nearest neighbour in the past, ``j < i - excl``), with that neighbour, in the manner of DAMP
    (Lu, Wu, Mueen, Zuluaga and Keogh, "Matrix profile XXIV", KDD 2022): windows are taken in
    order; each one's past is scanned nearest offsets first, in chunks of doubling size whose
    distances come from vectorized dot products with the window (DAMP's backward search, with
    direct products instead of its FFTs), and the scan stops after the chunk where a neighbour
    is closer than the threshold ``r``
    (the window cannot be a discord). ``r`` is a lower bound of the ``k``-th discord from the
    windows measured so far (:func:`_separated_kth`), refreshed as they accumulate.

    Returns ``(index, d**2 / m, neighbour, distances computed, pruning failed)`` of the windows
    measured to the end (every window whose left distance is at least the final ``r``); stops
    with ``pruning failed`` once more than ``budget`` windows were measured to the end. Windows
    before ``start`` are not ranked (they are only the past of the others)."""
    n = s.shape[0]
    sep = 2 * m - 1
    out_i = np.empty(budget + 1, dtype=np.int64)
    out_d = np.empty(budget + 1)
    out_n = np.empty(budget + 1, dtype=np.int64)
    c = 0
    fresh = 0
    r = 0.0  # in units of d**2 / m
    work = 0
    zq = np.empty(m)
    acc = np.empty(LEFT_CHUNK_MAX)
    for i in range(start, n):
        if e[i] < 0:
            continue  # a window holding NaN/inf is never ranked
        top = i - excl - 1
        if top < 0:
            continue  # no past outside the exclusion zone: infinite, not ranked
        below = r * (1.0 - LEFT_SLACK)
        best = np.inf
        who = -1
        pruned = False
        if e[i] > 0:  # a constant window: 0 to a constant one, sqrt(m) (1 here) to the others
            for j in range(top, -1, -1):
                if e[j] < 0:
                    continue
                work += 1
                d = 0.0 if e[j] > 0 else 1.0
                if d < best or (d == best and j < who):
                    best = d
                    who = j
                    if best < below:
                        pruned = True
                        break
        else:
            # the past in chunks of growing size, nearest first; each chunk's distances from its
            # dot products with the unit query (a loop over the chunk's windows that vectorizes)
            for t in range(m):
                zq[t] = (Tc[i + t] - mu[i]) * s[i]
            zsum = 0.0
            for t in range(m):
                zsum += zq[t]
            hi = top
            size = LEFT_CHUNK
            while hi >= 0 and not pruned:
                lo = max(0, hi - size + 1)
                nb = hi - lo + 1
                for x in range(nb):
                    acc[x] = 0.0
                for t in range(m):
                    zt = zq[t]
                    seg = Tc[lo + t:lo + t + nb]
                    for x in range(nb):
                        acc[x] += zt * seg[x]
                work += nb
                for x in range(nb - 1, -1, -1):
                    j = lo + x
                    if e[j] < 0:
                        continue
                    if e[j] > 0:
                        d = 1.0
                    elif abs(mu[j]) * s[j] > LEFT_OFFSET:
                        # a window far from zero for its spread: the products would lose too many
                        # digits, so this one is summed directly
                        d = 0.0
                        for t in range(m):
                            q = zq[t] - (Tc[j + t] - mu[j]) * s[j]
                            d += q * q
                    else:
                        d = max(0.0, 2.0 - 2.0 * s[j] * (acc[x] - mu[j] * zsum))
                    if d < best or (d == best and j < who):
                        best = d
                        who = j
                if best < below:
                    pruned = True
                hi = lo - 1
                size = min(2 * size, LEFT_CHUNK_MAX)
        if pruned or who < 0:
            continue
        if c == budget:
            return out_i[:c], out_d[:c], out_n[:c], work, True
        out_i[c] = i
        out_d[c] = best
        out_n[c] = who
        c += 1
        fresh += 1
        if 8 * fresh >= c:  # the bound is refreshed as the measured windows grow by an eighth
            r = max(r, _separated_kth(out_d, out_i, c, k, sep))
            fresh = 0
    return out_i[:c], out_d[:c], out_n[:c], work, False
