"""The consensus motif of a collection (Ostinato): nearest-neighbour distances between series.

A collection is held flat, as the on-disk corpus is: the per-window arrays of every series
concatenated (``woff[k]`` is where series ``k``'s windows start, ``toff[k]`` its samples). The
distance from each window of series ``a`` to its nearest window of series ``b`` is an AB-join,
computed by the tiled matrix-profile kernel and resolved exactly
(:mod:`patternlab.kernels.matrix_profile`, :mod:`patternlab.kernels.exact`), so it is the
``P`` of ``patternlab.matrix_profile(T_a, m, T_b)`` bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import JIT
from .exact import (
    distance_profile_serial,
    nearest_of,
    resolve_columns_serial,
    resolve_rows_serial,
    valid_prefix,
)
from .matrix_profile import upper_triangle_serial
from .search import normalized_query, query_profile_serial


@numba.njit(**JIT)
def nearest_distances(Tc, mu, df, dg, s, e, toff, woff, a, b, m, R, K):  # pragma: no cover - compiled
    """For every window of series ``a``, the exact distance to its nearest window of series
    ``b`` (an AB-join's ``P``; inf for a window holding NaN/inf)."""
    ta, tb = Tc[toff[a]:toff[a + 1]], Tc[toff[b]:toff[b + 1]]
    wa, wb = slice(woff[a], woff[a + 1]), slice(woff[b], woff[b + 1])
    muA, dfA, dgA, sA, eA = mu[wa], df[wa], dg[wa], s[wa], e[wa]
    muB, dfB, dgB, sB, eB = mu[wb], df[wb], dg[wb], s[wb], e[wb]
    idx = np.empty(0, dtype=np.int64)
    # cells j >= i: rows of A, columns of B; cells j < i: rows of B, columns of A
    rowP, rowI, _, _ = upper_triangle_serial(ta, muA, dfA, dgA, sA, eA, tb, muB, dfB, dgB, sB, eB, m,
                                             0, sB.shape[0], R, K, idx)
    _, _, colP, colI = upper_triangle_serial(tb, muB, dfB, dgB, sB, eB, ta, muA, dfA, dgA, sA, eA, m,
                                             1, sA.shape[0], R, K, idx)
    validB = valid_prefix(eB)
    PR, IR = resolve_rows_serial(ta, muA, sA, eA, tb, muB, sB, eB, m, 0, rowP, rowI, validB, 0, sA.shape[0])
    PL, IL = resolve_columns_serial(tb, muB, sB, eB, ta, muA, sA, eA, m, 1, colP, colI, validB, 0,
                                    sA.shape[0])
    P, _ = nearest_of(PL, IL, PR, IR)
    return P


@numba.njit(**JIT)
def kth_smallest_columns(D, r):  # pragma: no cover - compiled
    """``out[q]``: the ``r``-th smallest value (1-based) of column ``q`` of ``D``."""
    out = np.empty(D.shape[1])
    for q in range(D.shape[1]):
        out[q] = np.sort(D[:, q])[r - 1]
    return out


#: A window's distances are measured one window at a time (a distance profile per other series)
#: while ``alive * m * WINDOW_COST < len``: cheaper than the series' whole AB-join.
WINDOW_COST = 4
#: Relative margin of the abandonment test: a window is abandoned when a distance exceeds the
#: best radius by more than this, so that the rounding of another way of measuring it can never
#: abandon a tie.
MARGIN = 1e-9


@numba.njit(**JIT)
def window_nearest(Tc, mu, s, e, toff, woff, j, q, b, m):  # pragma: no cover - compiled
    """The distance from window ``q`` of series ``j`` to its nearest window of series ``b``, by
    the query's distance profile (direct distances)."""
    w = woff[j] + q
    qn = normalized_query(Tc[toff[j] + q:toff[j] + q + m], mu[w:w + 1], s[w:w + 1], m)
    wb = slice(woff[b], woff[b + 1])
    D = query_profile_serial(qn, e[w], Tc[toff[b]:toff[b + 1]], mu[wb], s[wb], e[wb], m)
    return D.min()


@numba.njit(**JIT)
def series_radii(Tc, mu, df, dg, s, e, toff, woff, j, others, r, bsf, lower, m, R, K):  # pragma: no cover
    """The radius of every window of series ``j``: the ``r``-th smallest of its nearest-neighbour
    distances (:func:`nearest_distances`) to the series ``others`` (all but ``j``).

    Returns ``(radii, complete)``. A window whose lower bound ``lower`` exceeds ``bsf``, or which
    has ``len(others) - r + 1`` distances above ``bsf`` (each by the relative :data:`MARGIN`),
    has a radius above ``bsf`` and is abandoned (radius inf); when every window is, the series is
    abandoned (``complete`` False) before the remaining series are searched. While few windows
    are left, they are measured one at a time (:func:`window_nearest`), only to abandon them;
    the radii returned always come from whole AB-joins, so they do not depend on ``bsf``.
    """
    lj = woff[j + 1] - woff[j]
    n_other = others.shape[0]
    need = n_other - r + 1  # distances above bsf that put the r-th smallest above it
    limit = bsf + MARGIN * (1.0 + bsf)
    D = np.full((n_other, lj), np.inf)
    joined = np.zeros(n_other, dtype=np.bool_)
    above = np.zeros(lj, dtype=np.int64)
    for q in range(lj):
        if lower[q] > limit:
            above[q] = need
    for t in range(n_other):
        alive = 0
        for q in range(lj):
            if above[q] < need:
                alive += 1
        if alive == 0:
            return np.full(lj, np.inf), False
        if alive * m * WINDOW_COST < lj:
            for q in range(lj):
                if above[q] < need and window_nearest(Tc, mu, s, e, toff, woff, j, q, others[t], m) > limit:
                    above[q] += 1
        else:
            D[t] = nearest_distances(Tc, mu, df, dg, s, e, toff, woff, j, others[t], m, R, K)
            joined[t] = True
            for q in range(lj):
                if D[t, q] > limit:
                    above[q] += 1
    alive = 0
    for q in range(lj):
        if above[q] < need:
            alive += 1
    if alive == 0:
        return np.full(lj, np.inf), False
    for t in range(n_other):
        if not joined[t]:
            D[t] = nearest_distances(Tc, mu, df, dg, s, e, toff, woff, j, others[t], m, R, K)
    radii = kth_smallest_columns(D, r)
    for q in range(lj):
        if above[q] >= need:
            radii[q] = np.inf
    return radii, True


@numba.njit(**JIT)
def across_series(Tc, mu, s, e, toff, woff, j, q, m):  # pragma: no cover - compiled
    """The nearest window of every series to window ``q`` of series ``j`` (its own series
    included: itself, at distance 0): ``(distances, indices)``, the first index on ties."""
    n = woff.shape[0] - 1
    w = woff[j] + q
    Qc = Tc[toff[j] + q:toff[j] + q + m]
    dist = np.empty(n)
    where = np.empty(n, dtype=np.int64)
    for k in range(n):
        wk = slice(woff[k], woff[k + 1])
        D = distance_profile_serial(Qc, mu[w:w + 1], s[w:w + 1], e[w:w + 1], Tc[toff[k]:toff[k + 1]],
                                    mu[wk], s[wk], e[wk], m)
        x = np.argmin(D)
        dist[k] = D[x]
        where[k] = x
    return dist, where
