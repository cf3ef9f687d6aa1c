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
