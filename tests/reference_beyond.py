"""Obviously correct NumPy twins of the multi-dimensional profile, the segmentation, the
consensus motif and the pan matrix profile, for the tests only (the companion of
``reference.py``, whose distances and conventions they are built on).
"""

from __future__ import annotations

import math

import numpy as np

from reference import (
    distance_matrix,
    distance_profile,
    exclusion_zone,
    is_constant,
    is_valid,
    matrix_profile,
    nearest,
    znorm,
    znorm_distance,
)

__all__ = ["exclusion_zone"]


# ---------------------------------------------------------------- multi-dimensional profiles


def multi_matrix_profile(T, m: int, include=(), discords: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """mSTAMP from the full distance matrix of each dimension: for every window ``i`` and
    neighbour ``j`` the per-dimension distances, the included dimensions first (in the given
    order), the others sorted (decreasing with ``discords``); ``P[k, i]`` the smallest mean of
    the first ``k + 1`` over ``j`` (the first ``j`` on ties), ``inf`` / ``-1`` when infinite."""
    T = np.asarray(T, dtype=np.float64)
    d = T.shape[0]
    Ds = np.array([distance_matrix(T[r], m) for r in range(d)])  # (d, l, l), exclusion applied
    rest = [r for r in range(d) if r not in include]
    ell = Ds.shape[1]
    P = np.full((d, ell), np.inf)
    I = np.full((d, ell), -1, dtype=np.int64)
    for i in range(ell):
        D = Ds[:, i, :]
        others = np.sort(D[rest], axis=0)
        if discords:
            others = others[::-1]
        ordered = np.concatenate([D[list(include)], others]) if include else others
        means = np.cumsum(ordered, axis=0) / np.arange(1, d + 1)[:, None]
        for k in range(d):
            P[k, i], I[k, i] = nearest(means[k])
    return P, I


def discretized_window(T, i: int, m: int, n_bit: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Each dimension's window z-normalized (zeros when constant or holding NaN/inf) and
    discretized by the equal-probability bins of a standard normal; and whether it is finite."""
    from statistics import NormalDist

    bins = np.array([NormalDist().inv_cdf(k / 2**n_bit) for k in range(1, 2**n_bit)])
    W = np.asarray(T, dtype=np.float64)[:, i:i + m]
    out, finite = [], []
    for w in W:
        ok = is_valid(w)
        z = znorm(w) if ok and not is_constant(w) else np.zeros(m)
        out.append([int(np.sum(bins < x)) for x in z])  # searchsorted, left
        finite.append(ok)
    return np.array(out, dtype=np.int64), np.array(finite)


def subspace(T, m: int, i: int, j: int, k: int, include=(), discords: bool = False,
             n_bit: int = 8) -> np.ndarray:
    """Dimensions by the distance of the discretized windows (decreasing with ``discords``; ties
    to the smaller dimension; NaN/inf: inf), the included ones first; the first ``k + 1``."""
    a, fa = discretized_window(T, i, m, n_bit)
    b, fb = discretized_window(T, j, m, n_bit)
    D = [math.sqrt(float(np.sum((x - y) ** 2))) if p and q else math.inf
         for x, y, p, q in zip(a, b, fa, fb)]
    order = sorted(range(len(D)), key=lambda r: (-D[r] if discords else D[r], r))
    order = [r for r in order if r in include] + [r for r in order if r not in include]
    return np.array(order[:k + 1], dtype=np.int64)


def mdl(T, m: int, subseq_idx, nn_idx, include=(), discords: bool = False, n_bit: int = 8):
    """STUMPY's MDL bit count for each number of dimensions, and the subspaces."""
    d = np.asarray(T).shape[0]
    bits, S = [], []
    for k in range(d):
        a, _ = discretized_window(T, subseq_idx[k], m, n_bit)
        b, _ = discretized_window(T, nn_idx[k], m, n_bit)
        sub = subspace(T, m, subseq_idx[k], nn_idx[k], k, include, discords, n_bit)
        n_val = len({int(x) for x in (a[sub] - b[sub]).ravel()})
        bits.append(n_bit * (2 * d * m - (k + 1) * m) + (k + 1) * m * math.log2(n_val) + n_val * n_bit)
        S.append(sub)
    return np.array(bits), S


def multi_pair_means(T, m: int, i: int, j: int, include=(), discords: bool = False) -> np.ndarray:
    """The means of the first ``k + 1`` ordered per-dimension distances of windows ``i`` and ``j``."""
    T = np.asarray(T, dtype=np.float64)
    D = np.array([znorm_distance(r[i:i + m], r[j:j + m]) for r in T])
    rest = np.sort([D[r] for r in range(len(D)) if r not in include])
    ordered = np.concatenate([D[list(include)], rest[::-1] if discords else rest])
    return np.cumsum(ordered) / np.arange(1, len(D) + 1)


# ------------------------------------------------------------------------------ segmentation


def arc_curve(I) -> np.ndarray:
    """Arcs over each position, one arc at a time (a window without a neighbour has none)."""
    k = len(I)
    ac = np.zeros(k, dtype=np.int64)
    for i, j in enumerate(I):
        j = i if j < 0 else int(j)
        for x in range(min(i, j), max(i, j)):
            ac[x] += 1
    return ac


def corrected_arc_curve(I, L: int, excl_factor: int, iac=None) -> np.ndarray:
    """``min(1, arcs / idealized arcs)``, the idealized curve ``2 (x + 1) (k - 1 - x) / k`` (the
    expected arcs of uniformly random neighbours) unless given; 1 within ``L * excl_factor`` of
    either end."""
    k = len(I)
    ideal = [2 * (x + 1) * (k - 1 - x) / k for x in range(k)] if iac is None else list(iac)
    cac = np.array([min(1.0, a / (q if q != 0 else 1e-10)) for a, q in zip(arc_curve(I), ideal)])
    if excl_factor:
        cac[:L * excl_factor] = 1.0
        cac[max(k - L * excl_factor, 0):] = 1.0
    return cac


def regimes(cac, n_regimes: int, L: int, excl_factor: int) -> np.ndarray:
    """STUMPY's regime extraction, literally: the first minimum, then 1.0 around it."""
    c = list(cac)
    out = []
    for _ in range(n_regimes - 1):
        x = c.index(min(c))
        out.append(x)
        for y in range(max(x - L * excl_factor, 0), min(x + L * excl_factor, len(c))):
            c[y] = 1.0
    return np.array(out, dtype=np.int64)


# --------------------------------------------------------------------------- consensus motif


def across_series(Ts, j: int, q: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Nearest distance and window in every series (its own included) to window ``q`` of ``j``."""
    Q = np.asarray(Ts[j], dtype=np.float64)[q:q + m]
    D = [distance_profile(Q, T) for T in Ts]
    return np.array([d.min() for d in D]), np.array([int(np.argmin(d)) for d in D])


def consensus_motif(Ts, m: int, fraction: float = 1.0) -> tuple[float, int, int]:
    """Brute force: every window's radius (the ``r``-th smallest nearest distance to the other
    series), the smallest (first series, then window, on ties), then STUMPY's central choice."""
    n = len(Ts)
    r = max(1, min(n - 1, math.ceil(fraction * (n - 1) - 1e-9)))
    best = (math.inf, -1, -1)
    for j in range(n):
        # row q: the nearest distance of window q of series j to each other series
        near = np.array([distance_matrix(Ts[j], m, Ts[i]).min(axis=1) for i in range(n) if i != j]).T
        for q, d in enumerate(near):
            best = min(best, (float(np.sort(d)[r - 1]), j, q))
    radius, j, q = best
    d, w = across_series(Ts, j, q, m)
    mean = d.mean()
    for k in np.flatnonzero(np.isclose(d, radius)):
        d2, _ = across_series(Ts, int(k), int(w[k]), m)
        if np.isclose(np.sort(np.delete(d2, k))[r - 1], radius) and d2.mean() < mean:
            j, q, mean = int(k), int(w[k]), d2.mean()
    return radius, j, q


# ---------------------------------------------------------------------------- pan matrix profile


def pan_image(T, windows, n_processed: int | None = None, threshold: float = 0.2) -> np.ndarray:
    """The rendered pan profile, row by row: the naive profile of each window computed (the
    first ``n_processed`` in the middle-first order), divided by ``2 sqrt(m)`` and capped at 1,
    rank percentiles through a sigmoid at ``threshold``, binarized, each missing row copied from
    the next computed one, NaN (past a profile's end) set to the largest value."""
    T = np.asarray(T, dtype=np.float64)
    windows = list(windows)
    order, level = [], [(0, len(windows))]
    while level:  # middle first, then the middles of the halves
        nxt = []
        for lo, hi in level:
            order.append((lo + hi) // 2)
            nxt += [r for r in ((lo, (lo + hi) // 2), ((lo + hi) // 2 + 1, hi)) if r[0] < r[1]]
        level = nxt
    done = sorted(order[:len(windows) if n_processed is None else n_processed])
    pan = np.full((len(windows), len(T)), np.nan)
    for row in done:
        m = windows[row]
        P = matrix_profile(T, m).P
        pan[row, :len(P)] = np.where(np.isfinite(P), np.minimum(1.0, P / (2 * math.sqrt(m))), np.nan)
    values = pan[done].ravel()
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[np.argsort(values, kind="mergesort")] = np.arange(len(values))  # NaN last
    pct = np.linspace(0, 1, len(values))[ranks]
    soft = 1 / (1 + np.exp(-10 * (pct - threshold)))
    pan[done] = np.where(soft <= threshold, 0.0, 1.0).reshape(len(done), -1)
    out = pan.copy()
    for row in range(len(windows)):
        later = [r for r in done if r >= row]
        if later:
            out[row] = pan[later[0]]
    out[np.isnan(out)] = np.nanmax(out)
    return out
