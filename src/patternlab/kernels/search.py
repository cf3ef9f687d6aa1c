"""All non-overlapping occurrences of a query in a distance profile (the search of
:func:`patternlab.match`)."""

from __future__ import annotations

import numba
import numpy as np

from .._numba import JIT


@numba.njit(**JIT)
def find_matches(D, excl, threshold, max_matches):  # pragma: no cover - compiled
    """The windows of ``D`` taken greedily by increasing distance, each excluding its neighbours.

    Windows with a finite ``D[i] <= threshold`` are visited by increasing distance (the smaller
    index first on ties); one is kept unless it lies within ``excl`` of a window kept before
    (``|i - j| <= excl``), and at most ``max_matches`` are kept. This is STUMPY's repeated
    ``argmin`` with an exclusion zone, in one sort. Returns ``(distances, indices)``, best first.
    """
    n = D.shape[0]
    cand = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        d = D[i]
        if np.isfinite(d) and d <= threshold:
            cand[k] = i
            k += 1
    cand = cand[:k]
    order = cand[np.argsort(D[cand], kind="mergesort")]
    used = np.zeros(n, dtype=np.bool_)
    top = min(k, max_matches)
    out_d = np.empty(top)
    out_i = np.empty(top, dtype=np.int64)
    found = 0
    for x in order:
        if found == top:
            break
        if used[x]:
            continue
        out_d[found] = D[x]
        out_i[found] = x
        found += 1
        for y in range(max(0, x - excl), min(n, x + excl + 1)):
            used[y] = True
    return out_d[:found], out_i[:found]
