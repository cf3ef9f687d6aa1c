"""Top-k motifs and discords from a matrix profile."""

from __future__ import annotations

import numba
import numpy as np

from .._numba import JIT


@numba.njit(**JIT)
def _block(mask, x, m):  # pragma: no cover - compiled
    """Mark every window that overlaps window ``x`` (``|y - x| < m``)."""
    lo = max(0, x - m + 1)
    hi = min(mask.shape[0], x + m)
    for y in range(lo, hi):
        mask[y] = True


@numba.njit(**JIT)
def top_motifs(P, I, k, m, apart=True):  # pragma: no cover - compiled
    """The ``k`` best motif pairs of a self-join profile, as ``(a, b, distance)`` rows with ``a < b``.

    Windows are taken by increasing profile distance (the smaller index first on ties); a pair is
    kept when its two windows do not overlap each other (``|a - b| >= m``: a window and its
    neighbour inside it are one stretch, e.g. of a slow trend, not a shape seen twice; with
    ``apart=False`` such pairs are kept too, as closest pairs rather than motifs) and neither
    overlaps a window of a pair already kept; then every window overlapping either member is
    blocked. Windows with an infinite distance (NaN/inf data, no admissible neighbour) are never
    motifs. Fewer than ``k`` rows are returned when the profile has no more admissible pairs.
    """
    order = np.argsort(P, kind="mergesort")
    used = np.zeros(P.shape[0], dtype=np.bool_)
    out_a = np.empty(k, dtype=np.int64)
    out_b = np.empty(k, dtype=np.int64)
    out_d = np.empty(k)
    found = 0
    for x in order:
        if found == k:
            break
        d = P[x]
        if not np.isfinite(d):
            break
        y = I[x]
        if y < 0 or (apart and abs(x - y) < m) or used[x] or used[y]:
            continue
        out_a[found] = min(x, y)
        out_b[found] = max(x, y)
        out_d[found] = d
        found += 1
        _block(used, x, m)
        _block(used, y, m)
    return out_a[:found], out_b[:found], out_d[:found]


@numba.njit(**JIT)
def top_discords(P, I, k, m):  # pragma: no cover - compiled
    """The ``k`` windows farthest from their nearest neighbour, as ``(index, distance,
    neighbour)``, non-overlapping (each kept discord blocks the windows overlapping it). Windows
    with an infinite distance are not ranked: they have no comparable neighbour."""
    order = np.argsort(-P, kind="mergesort")
    used = np.zeros(P.shape[0], dtype=np.bool_)
    out_i = np.empty(k, dtype=np.int64)
    out_n = np.empty(k, dtype=np.int64)
    out_d = np.empty(k)
    found = 0
    for x in order:
        if found == k:
            break
        d = P[x]
        if not np.isfinite(d) or used[x]:
            continue
        out_i[found] = x
        out_d[found] = d
        out_n[found] = I[x]
        found += 1
        _block(used, x, m)
    return out_i[:found], out_d[:found], out_n[:found]
