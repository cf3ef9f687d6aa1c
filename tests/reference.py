"""Obviously correct NumPy twins of patternlab's kernels, for the tests only.

Everything here is written for clarity, not speed: per-window loops, a full distance matrix, a
plain argmin. Inputs of a few hundred samples take well under a second. Values should be of a
sane magnitude (roughly 1e-100 <= |x| <= 1e100) so that squares neither underflow nor overflow;
the library rescales its input, this reference does not.

Conventions (the library's, see ``patternlab.matrix_profile``):

* window ``i`` is ``T[i:i+m]``; a window holding NaN or inf is *invalid*: distance inf to
  everything, index -1, never a neighbour;
* a window is *constant* when all its values are equal, or when its spread is at the rounding
  floor of its values (``sum((w - mean)**2) <= m * (4 * eps * max|w|)**2``, or below the
  smallest normal float64); two constant windows
  are at distance 0, a constant and a non-constant window at ``sqrt(m)``;
* a self-join ignores neighbours with ``|i - j| <= ceil(m / 4)``;
* ties go to the smallest index.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

EPS = float(np.finfo(np.float64).eps)


def exclusion_zone(m: int) -> int:
    """Self-joins ignore neighbours with ``|i - j| <= exclusion_zone(m)``."""
    return math.ceil(m / 4)


def windows(T, m: int) -> list[np.ndarray]:
    """Every window ``T[i:i+m]`` as a float64 array."""
    T = np.asarray(T, dtype=np.float64)
    return [T[i : i + m] for i in range(len(T) - m + 1)]


# --------------------------------------------------------------------------- window statistics


def window_mean_ss(w: np.ndarray) -> tuple[float, float]:
    """Mean and sum of squared deviations of one window: two passes, each an exact sum."""
    mean = math.fsum(w) / len(w)
    return mean, math.fsum((x - mean) ** 2 for x in w)


def window_mean_std(w: np.ndarray) -> tuple[float, float]:
    """Mean and population standard deviation of one window."""
    mean, ss = window_mean_ss(w)
    return mean, math.sqrt(ss / len(w))


def sliding_mean_std(T, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std of every window (NaN for windows holding NaN/inf)."""
    mu, sd = [], []
    for w in windows(T, m):
        if np.isfinite(w).all():
            a, b = window_mean_std(w)
        else:
            a, b = np.nan, np.nan
        mu.append(a)
        sd.append(b)
    return np.array(mu), np.array(sd)


def is_valid(w: np.ndarray) -> bool:
    """A window is valid when it holds only finite values."""
    return bool(np.isfinite(w).all())


def is_constant(w: np.ndarray) -> bool:
    """All values equal, or a spread at the rounding floor of the values (finite windows)."""
    if np.all(w == w[0]):
        return True
    _, ss = window_mean_ss(w)
    floor = 4.0 * EPS * float(np.abs(w).max())
    return ss <= len(w) * floor * floor or ss < np.finfo(np.float64).tiny


def window_valid(T, m: int) -> np.ndarray:
    """Whether each window holds only finite values."""
    return np.array([is_valid(w) for w in windows(T, m)])


def window_flags(T, m: int) -> tuple[np.ndarray, np.ndarray]:
    """``(valid, constant)`` per window; ``constant`` is only meaningful where ``valid``."""
    ws = windows(T, m)
    valid = np.array([is_valid(w) for w in ws])
    constant = np.array([is_valid(w) and is_constant(w) for w in ws])
    return valid, constant


# --------------------------------------------------------------------------------- distances


def znorm(w: np.ndarray) -> np.ndarray:
    """The z-normalized window ``(w - mean) / std`` (non-constant, finite windows only)."""
    mean, sd = window_mean_std(w)
    return (w - mean) / sd


def znorm_distance(a: np.ndarray, b: np.ndarray) -> float:
    """z-normalized Euclidean distance between two windows of equal length, with the NaN/inf and
    constant-window conventions."""
    m = len(a)
    if not (is_valid(a) and is_valid(b)):
        return math.inf
    ca, cb = is_constant(a), is_constant(b)
    if ca and cb:
        return 0.0
    if ca or cb:
        return math.sqrt(m)
    return math.sqrt(float(np.sum((znorm(a) - znorm(b)) ** 2)))


def distance_matrix(T_A, m: int, T_B=None, *, exclusion: bool = True, constant_A=None,
                    constant_B=None) -> np.ndarray:
    """``D[i, j]``: distance from window ``i`` of ``T_A`` to window ``j`` of ``T_B``.

    ``T_B=None`` means ``T_B = T_A`` (self-join); then, with ``exclusion=True``, cells inside the
    exclusion zone ``|i - j| <= ceil(m / 4)`` are set to inf. ``constant_A``/``constant_B``: the
    user's constant flags per window instead of the rounding-floor rule (see :func:`_normalized`).
    """
    self_join = T_B is None
    kind_A, Z_A = _normalized(T_A, m, constant_A)
    kind_B, Z_B = (kind_A, Z_A) if self_join else _normalized(T_B, m, constant_B)
    D = np.empty((len(kind_A), len(kind_B)))
    for i in range(len(kind_A)):
        # one row at a time: the direct z-norm difference to every window of B ...
        D[i] = np.sqrt(np.sum((Z_A[i] - Z_B) ** 2, axis=1))
        # ... then the conventions for constant and invalid windows
        if kind_A[i] == "constant":
            D[i] = np.where(kind_B == "constant", 0.0, math.sqrt(m))
        else:
            D[i, kind_B == "constant"] = math.sqrt(m)
        if kind_A[i] == "invalid":
            D[i] = math.inf
        D[i, kind_B == "invalid"] = math.inf
    if self_join and exclusion:
        i, j = np.indices(D.shape)
        D[np.abs(i - j) <= exclusion_zone(m)] = math.inf
    return D


def _normalized(T, m: int, constant=None) -> tuple[np.ndarray, np.ndarray]:
    """Per window its kind ("invalid", "constant" or "normal") and its z-normalized values (a row
    of zeros for the windows that are not "normal"; the rules override their distances).
    ``constant``: the user's flags instead of :func:`is_constant` (a window of equal samples is
    constant whatever they say)."""
    ws = windows(T, m)
    flag = [is_valid(w) and (is_constant(w) if constant is None
                             else bool(constant[i]) or bool(np.all(w == w[0])))
            for i, w in enumerate(ws)]
    kinds = np.array(
        ["invalid" if not is_valid(w) else "constant" if c else "normal" for w, c in zip(ws, flag)]
    )
    Z = np.array([znorm(w) if k == "normal" else np.zeros(m) for w, k in zip(ws, kinds)])
    return kinds, Z


def distance_profile(Q, T, constant_T=None, constant_Q=None) -> np.ndarray:
    """Distance from the query ``Q`` to every window of ``T`` (no exclusion zone); with the
    user's constant flags, from :func:`distance_matrix`."""
    Q = np.asarray(Q, dtype=np.float64)
    if constant_T is None and constant_Q is None:
        return np.array([znorm_distance(Q, w) for w in windows(T, len(Q))])
    return distance_matrix(Q, len(Q), T, constant_A=constant_Q, constant_B=constant_T)[0]


# ------------------------------------------------------------------------------ matrix profile


class Profile(NamedTuple):
    P: np.ndarray
    I: np.ndarray
    PL: np.ndarray
    IL: np.ndarray
    PR: np.ndarray
    IR: np.ndarray
    D: np.ndarray  # the distance matrix the profile was taken from (exclusion zone applied)
    kind_A: np.ndarray  # "invalid", "constant" or "normal" per window of T_A
    kind_B: np.ndarray  # the same for T_B (T_A in a self-join)
    W_B: np.ndarray  # the windows of T_B, one per row (to recognize exact repeats)


def nearest(row: np.ndarray, offset: int = 0) -> tuple[float, int]:
    """Smallest finite value of ``row`` and its index (+ ``offset``), the first on ties;
    ``(inf, -1)`` when ``row`` has no finite value."""
    if len(row) == 0:
        return math.inf, -1
    j = int(np.argmin(row))  # argmin returns the first of equal minima
    if not math.isfinite(row[j]):
        return math.inf, -1
    return float(row[j]), j + offset


def matrix_profile(T_A, m: int, T_B=None) -> Profile:
    """Naive matrix profile: self-join (``T_B=None``) or AB-join, from the full distance matrix."""
    D = distance_matrix(T_A, m, T_B)
    kind_A = _normalized(T_A, m)[0]
    kind_B = kind_A if T_B is None else _normalized(T_B, m)[0]
    W_B = np.array(windows(T_A if T_B is None else T_B, m))
    n = D.shape[0]
    P, PL, PR = np.full(n, np.inf), np.full(n, np.inf), np.full(n, np.inf)
    I, IL, IR = (np.full(n, -1, dtype=np.int64) for _ in range(3))
    for i in range(n):
        P[i], I[i] = nearest(D[i])
        if T_B is None:
            PL[i], IL[i] = nearest(D[i, :i])
            PR[i], IR[i] = nearest(D[i, i + 1 :], offset=i + 1)
    return Profile(P, I, PL, IL, PR, IR, D, kind_A, kind_B, W_B)


# ------------------------------------------------------------------------------------ search


def find_matches(D, excl: int, limit: float, max_matches: int | None = None) -> list[tuple[float, int]]:
    """STUMPY's search, literally: repeatedly take the window of smallest distance (``argmin``:
    the first on ties); stop when it is above ``limit``, not finite, or ``max_matches`` are
    taken; otherwise keep it and set ``D`` to inf within ``excl`` of it. NaN counts as inf (a
    distance profile never holds NaN; NumPy's argmin would stop at one)."""
    D = np.array(D, dtype=np.float64)
    D[np.isnan(D)] = math.inf
    out: list[tuple[float, int]] = []
    while max_matches is None or len(out) < max_matches:
        i = int(np.argmin(D))
        if not math.isfinite(D[i]) or D[i] > limit:
            break
        out.append((float(D[i]), i))
        D[max(0, i - excl):i + excl + 1] = math.inf
    return out


def default_max_distance(D) -> float:
    """STUMPY's default ``max_distance``: ``max(mean - 2 std, min)`` of the finite distances."""
    finite = np.asarray(D, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return max(float(finite.mean() - 2.0 * finite.std()), float(finite.min()))


def match(Q, T, max_distance=None, max_matches: int | None = None,
          atol: float = 1e-8) -> list[tuple[float, int]]:
    """Every occurrence ``(distance, index)`` of ``Q`` in ``T``, as ``patternlab.match``."""
    D = distance_profile(Q, T)
    if max_distance is None:
        max_distance = default_max_distance(D)
    elif callable(max_distance):
        max_distance = max_distance(D)
    return find_matches(D, exclusion_zone(len(Q)), max_distance + atol, max_matches)


def match_collection(Q, series, max_distance=None, max_matches: int | None = None,
                     atol: float = 1e-8) -> list[tuple[float, int, int]]:
    """Every occurrence ``(distance, series, index)`` of ``Q`` in a collection: one threshold
    for all the profiles together, each series searched alone, then sorted by distance, series
    and index."""
    profiles = [distance_profile(Q, T) for T in series]
    pooled = np.concatenate(profiles)
    if max_distance is None:
        max_distance = default_max_distance(pooled)
    elif callable(max_distance):
        max_distance = max_distance(pooled)
    out = [(d, k, i) for k, D in enumerate(profiles)
           for d, i in find_matches(D, exclusion_zone(len(Q)), max_distance + atol)]
    out.sort()
    return out[:max_matches]


# --------------------------------------------------------------------------- motifs, discords


def _overlaps(x: int, kept: list[int], m: int) -> bool:
    return any(abs(x - u) < m for u in kept)


def motifs(P, I, k: int, m: int, apart: bool = True) -> list[tuple[int, int, float]]:
    """Up to ``k`` pairs ``(a, b, distance)``, ``a < b``, by increasing distance (smaller window
    index first on ties). A pair is kept when its two windows do not overlap each other and neither
    window overlaps (``|x - y| < m``) a window of a pair kept before; windows with an infinite
    distance are never motifs. ``apart=False`` keeps pairs whose windows overlap each other too."""
    order = sorted(range(len(P)), key=lambda x: (P[x], x))
    kept: list[int] = []
    out: list[tuple[int, int, float]] = []
    for x in order:
        if len(out) == k or not math.isfinite(P[x]):
            break
        y = int(I[x])
        if y < 0 or (apart and abs(x - y) < m) or _overlaps(x, kept, m) or _overlaps(y, kept, m):
            continue
        out.append((min(x, y), max(x, y), float(P[x])))
        kept += [x, y]
    return out


def discords(P, I, k: int, m: int) -> list[tuple[int, float, int]]:
    """Up to ``k`` windows ``(index, distance, neighbour)`` by decreasing finite distance (smaller
    index first on ties), none overlapping (``|x - y| < m``) a discord kept before."""
    order = sorted(range(len(P)), key=lambda x: (-P[x], x))
    kept: list[int] = []
    out: list[tuple[int, float, int]] = []
    for x in order:
        if len(out) == k:
            break
        if not math.isfinite(P[x]) or _overlaps(x, kept, m):
            continue
        out.append((x, float(P[x]), int(I[x])))
        kept.append(x)
    return out


# ------------------------------------------------------------------- bounds of the exact pruning


def segment_features(v, k: int) -> tuple[np.ndarray, float]:
    """Twin of the pruning's segment coordinates of ``v`` with ``k`` segments (boundaries
    ``(j * len(v)) // k``): ``y_j = sum(segment j) / sqrt(len(segment j))`` (the coordinates on
    an orthonormal basis of piecewise-constant vectors) and the norm of ``v`` minus its segment
    means (what the coordinates do not see)."""
    v = np.asarray(v, dtype=np.float64)
    w = len(v)
    y = []
    rest = []
    for j in range(k):
        seg = v[(j * w) // k:((j + 1) * w) // k]
        y.append(math.fsum(seg) / math.sqrt(len(seg)))
        rest.extend(seg - math.fsum(seg) / len(seg))
    return np.array(y), math.sqrt(math.fsum(x * x for x in rest))


def segment_bound(a, b, k: int) -> float:
    """Lower bound of ``||a - b||``: ``sqrt(sum((ya - yb)**2) + (ra - rb)**2)`` from
    :func:`segment_features` (Pythagoras on the segment subspace and its complement, and the
    reverse triangle inequality on the complement)."""
    ya, ra = segment_features(a, k)
    yb, rb = segment_features(b, k)
    return math.sqrt(math.fsum((ya - yb) ** 2) + (ra - rb) ** 2)


def angle_bound(a, b, k: int) -> float:
    """Upper bound of ``sum(a * b)``: ``|ya| |yb| + ra rb`` (Cauchy-Schwarz on each subspace),
    i.e. ``|a| |b| cos(angle_a - angle_b)`` with ``angle = atan2(r, |y|)``."""
    ya, ra = segment_features(a, k)
    yb, rb = segment_features(b, k)
    return math.hypot(*ya) * math.hypot(*yb) + ra * rb


def unit(x) -> np.ndarray:
    """NumPy twin of the prototype normalization: zero mean, unit L2 norm."""
    x = np.asarray(x, dtype=np.float64)
    d = x - x.mean()
    return d / np.linalg.norm(d)


def pearson(a, b) -> float:
    """Pearson correlation of two equal-length windows."""
    return float(np.corrcoef(np.asarray(a, float), np.asarray(b, float))[0, 1])


# ----------------------------------------------------------------------------- matching kernels
#
# Twins of ``patternlab.kernels.matching``. Prototypes are *unit* windows: zero mean and L2 norm 1
# (``unit_normalize``), so the Pearson correlation of a prototype ``z`` with a window ``x`` is
# ``sum(z * (x - mean(x))) / ||x - mean(x)||``. The twins take exact sums (``math.fsum``) and
# overflow-free norms (``math.hypot``), and scale a window by a power of two (exact) where its
# magnitude could matter, so they hold at any magnitude.

#: Correlation of a window that cannot match (it holds NaN/inf, or it is constant).
NO_MATCH = -math.inf


def pow2_scaled(x) -> np.ndarray:
    """``x`` times the power of two that brings its largest finite magnitude into ``[0.5, 1)``
    (exact, non-finite values stay); ``x`` unchanged when it has no finite non-zero value."""
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    big = float(np.abs(x[finite]).max()) if finite.any() else 0.0
    return np.ldexp(x, -math.frexp(big)[1]) if big > 0.0 else x.copy()


def _clip(r: float) -> float:
    return min(1.0, max(-1.0, r))


def unit_normalize(x) -> np.ndarray:
    """Twin of ``unit_normalize``: ``(x - mean) / ||x - mean||``.

    All zeros when ``x`` holds NaN or inf, or when all its values are *exactly* equal. Unlike the
    window statistics (:func:`is_constant`), no rounding floor applies here: ``[1, 1, 1 + eps]``
    has a shape. Any magnitude: the window is scaled by a power of two first.
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0 or not np.isfinite(x).all() or np.all(x == x[0]):
        return np.zeros(len(x))
    y = pow2_scaled(x)
    d = y - math.fsum(y) / len(y)
    return d / math.hypot(*d)


def nearest_prototypes(C, Z, nz: int) -> tuple[np.ndarray, np.ndarray]:
    """Twin of ``nearest_prototypes``: for each candidate (row of ``C``, a unit window), the most
    correlated of the first ``nz`` prototypes (rows of ``Z``) and that correlation.

    * correlation = ``sum(c * z)`` clipped to ``[-1, 1]``; the first of equal maxima wins (the
      smallest prototype index);
    * ``(-1, -inf)`` for every candidate when ``nz == 0`` (an empty library);
    * rows of ``Z`` from ``nz`` on are not read (the library's spare capacity);
    * an all-zero candidate (a window without a shape) correlates 0 with every prototype and so
      gets index 0: callers (``PatternLibrary.nearest``) mask such candidates themselves.
    """
    C = np.asarray(C, dtype=np.float64)
    Z = np.asarray(Z, dtype=np.float64)
    idx = np.full(len(C), -1, dtype=np.int64)
    val = np.full(len(C), -np.inf)
    for c in range(len(C)):
        corr = [_clip(math.fsum(C[c] * Z[p])) for p in range(nz)]
        if corr:
            val[c] = max(corr)
            idx[c] = corr.index(val[c])  # list.index: the first of equal values
    return idx, val


def gram(Z, n: int) -> np.ndarray:
    """Twin of ``gram``: ``G[a, b] = sum(Z[a] * Z[b])`` clipped to ``[-1, 1]``, for the first ``n``
    prototypes (an ``n x n`` matrix; rows from ``n`` on are not read)."""
    Z = np.asarray(Z, dtype=np.float64)
    G = np.empty((n, n))
    for a in range(n):
        for b in range(n):
            G[a, b] = _clip(math.fsum(Z[a] * Z[b]))
    return G


def prototype_correlation(z, T) -> np.ndarray:
    """Pearson correlation of the unit prototype ``z`` with every window of ``T``, clipped to
    ``[-1, 1]``; :data:`NO_MATCH` for a window that holds NaN/inf or is constant (the rule of
    :func:`is_constant`, on the window's own values)."""
    z = np.asarray(z, dtype=np.float64)
    out = []
    for x in windows(T, len(z)):
        if not is_valid(x) or is_constant(x):
            out.append(NO_MATCH)
            continue
        y = pow2_scaled(x)
        d = y - math.fsum(y) / len(y)
        out.append(_clip(math.fsum(z * d) / math.hypot(*d)))
    return np.array(out)


def peaks(corr, threshold: float, w: int) -> list[int]:
    """The occurrences among correlations ``corr`` (one per window): windows with
    ``corr >= threshold``, taken greedily by decreasing correlation (the smaller offset first on
    equal values), each skipped when it overlaps (``|i - j| < w``) one taken before. Offsets
    ascending. With ``threshold >= -1`` a :data:`NO_MATCH` window never qualifies."""
    cands = [i for i in range(len(corr)) if corr[i] >= threshold]
    taken: list[int] = []
    for i in sorted(cands, key=lambda i: (-corr[i], i)):
        if all(abs(i - j) >= w for j in taken):
            taken.append(i)
    return sorted(taken)


def match_prototypes(Z, T, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Twin of ``match_prototypes``, from the raw signal ``T``: the occurrences of every prototype
    (rows of ``Z``, unit windows of length ``w``) as ``(pattern, offset, correlation)`` arrays,
    sorted by pattern then offset.

    For each prototype: :func:`peaks` of :func:`prototype_correlation` -- the non-overlapping
    windows with correlation ``>= threshold``, the strongest first and the earliest on ties. One
    prototype's occurrences never overlap; two prototypes may both claim a window. Windows with
    NaN/inf or constant never match. ``threshold`` is a correlation in ``[-1, 1]`` (``perceive``
    passes ``cluster_threshold``, in ``[0, 1]``). No prototype (an empty library): three empty
    arrays.

    The kernel itself takes the signal as ``perceive`` prepares it: scaled by a power of two,
    centred, non-finite samples set to 0 (``Tc``), with ``s = 1 / ||x - mean(x)||`` and a
    ``usable`` flag per window; the correlation of window ``i`` is then ``sum(z * Tc[i:i+w]) * s[i]``,
    which is the Pearson correlation because ``sum(z) == 0``.
    """
    Z = np.asarray(Z, dtype=np.float64)
    pat: list[int] = []
    off: list[int] = []
    val: list[float] = []
    for p in range(len(Z)):
        corr = prototype_correlation(Z[p], T)
        for i in peaks(corr, threshold, Z.shape[1]):
            pat.append(p)
            off.append(i)
            val.append(float(corr[i]))
    return np.array(pat, dtype=np.int64), np.array(off, dtype=np.int64), np.array(val, dtype=np.float64)


def jumps(T) -> np.ndarray:
    """``d[i]``: the jump of the z-normalized signal from sample ``i`` to ``i + 1``,
    ``|T[i+1] - T[i]| / std`` (``std``: the population standard deviation of the finite samples);
    0 where either sample is NaN/inf. Empty when ``T`` has fewer than two finite samples or they
    are all equal. Any magnitude: ``T`` is scaled by a power of two first."""
    S = pow2_scaled(T)
    finite = S[np.isfinite(S)]
    if len(finite) < 2:
        return np.empty(0)
    mean = math.fsum(finite) / len(finite)
    std = math.sqrt(math.fsum((finite - mean) ** 2) / len(finite))
    if not std > 0.0:
        return np.empty(0)
    d = np.zeros(max(len(S) - 1, 0))
    for i in range(len(d)):
        if np.isfinite(S[i]) and np.isfinite(S[i + 1]):
            d[i] = abs(S[i + 1] - S[i]) / std
    return d


def edges(T, threshold: float, radius: int) -> np.ndarray:
    """Twin of ``edges`` (``perceive``'s events): positions ``i + 1`` where the z-normalized
    signal jumps by *more* than ``threshold`` from ``i`` to ``i + 1`` (:func:`jumps`; a jump equal
    to the threshold is not an event) and that jump is the largest within ``radius`` jumps of it:
    a larger ``d[u]`` with ``|u - i| <= radius``, or an equal one with ``u < i``, vetoes ``i``
    (whether or not ``u`` is an event itself: on a staircase of equal steps closer than
    ``radius`` only the first step is an event). Jumps to or from NaN/inf count 0: never an event.
    No events for a constant signal or one with fewer than two finite samples. ``int64`` offsets,
    ascending."""
    d = jumps(T)
    out = []
    for i in range(len(d)):
        if not d[i] > threshold:
            continue
        near = range(max(0, i - radius), min(len(d), i + radius + 1))
        if not any(d[u] > d[i] or (d[u] == d[i] and u < i) for u in near):
            out.append(i + 1)
    return np.array(out, dtype=np.int64)


# --------------------------------------------------------------------------- the library's shape kernels


def complexity(z: np.ndarray) -> float:
    """Batista et al.'s complexity estimate of a window: ``sqrt(sum(diff(x) ** 2))`` of the window
    z-normalized to unit standard deviation (``z`` may be any window; 0 when it is constant)."""
    z = np.asarray(z, dtype=np.float64)
    sd = z.std()
    if not sd > 0:
        return 0.0
    x = (z - z.mean()) / sd
    return math.sqrt(math.fsum(np.diff(x) ** 2))


def corrected(r: float, ca: float, cb: float) -> float:
    """The complexity-invariant correlation ``1 - CF**2 (1 - r)``, ``CF = max / min`` of the
    complexities (-1 when exactly one of them is 0, ``r`` when both are)."""
    lo, hi = min(ca, cb), max(ca, cb)
    if not lo > 0:
        return -1.0 if hi > 0 else r
    return max(-1.0, 1.0 - (hi / lo) ** 2 * (1.0 - r))


def overlap_pearson(a: np.ndarray, b: np.ndarray, d: int) -> float:
    """Pearson correlation of ``a[t]`` with ``b[t - d]`` where both exist (0 if either is constant)."""
    w = len(a)
    x = np.asarray(a[max(0, d):w + min(0, d)], dtype=np.float64)
    y = np.asarray(b[max(0, -d):w + min(0, -d)], dtype=np.float64)
    x, y = x - x.mean(), y - y.mean()
    nx, ny = math.sqrt(math.fsum(x * x)), math.sqrt(math.fsum(y * y))
    if not (nx > 1e-6 and ny > 1e-6):
        return 0.0
    return max(-1.0, min(1.0, math.fsum(x * y) / (nx * ny)))


def lagged_correlations(A, ca, B, cb, max_lag: int, far: int, use_cid: bool):
    """Every row of ``A`` against every row of ``B``: the best correlation over the shifts
    ``|d| <= max(max_lag, far)`` (``2 r - 1`` beyond ``max_lag``), the smallest ``|d|`` then the
    negative one on ties, complexity-corrected when ``use_cid``."""
    A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    R = np.empty((len(A), len(B)))
    D = np.zeros((len(A), len(B)), dtype=np.int64)
    for i, a in enumerate(A):
        for j, b in enumerate(B):
            best, bd = max(-1.0, min(1.0, float(a @ b))), 0
            for k in range(1, max(max_lag, far) + 1):
                for d in (-k, k):
                    r = overlap_pearson(a, b, d)
                    if k > max_lag:
                        r = 2 * r - 1
                    if r > best:
                        best, bd = r, d
            R[i, j] = corrected(best, ca[i], cb[j]) if use_cid else best
            D[i, j] = bd
    return R, D


def nearest_corrected(C, cc, Z, cz):
    """For each row of ``C``, the row of ``Z`` with the best complexity-corrected correlation (the
    first on ties) and that value; ``-1`` and ``-inf`` when ``Z`` is empty."""
    idx, val = [], []
    for c, x in zip(cc, np.asarray(C, dtype=np.float64)):
        r = [corrected(max(-1.0, min(1.0, float(x @ z))), c, q) for z, q in zip(Z, cz)]
        idx.append(int(np.argmax(r)) if r else -1)
        val.append(max(r) if r else -np.inf)
    return np.array(idx, dtype=np.int64), np.array(val)


def shifted_units(T, at: int, w: int, max_lag: int):
    """The unit windows ``T[at + d:at + d + w]`` for ``d = 0, -1, 1, ..., -max_lag, max_lag`` that
    fit, and those shifts (zeros for a constant or non-finite window)."""
    T = np.asarray(T, dtype=np.float64)
    shifts = [0] + [d for k in range(1, max_lag + 1) for d in (-k, k) if 0 <= at + d and at + d + w <= len(T)]
    def safe(x: np.ndarray) -> np.ndarray:
        return unit(x) if is_valid(x) and not is_constant(x) else np.zeros(w)

    return np.array([safe(T[at + d:at + d + w]) for d in shifts]).reshape(len(shifts), w), np.array(shifts)


def best_matches(Z, T, threshold: float):
    """For each unit prototype: the best Pearson correlation over the windows of ``T`` (NaN/inf
    and constant windows excluded), the first window reaching it, and the number of
    non-overlapping windows correlating ``>= threshold`` taken strongest first (earliest on ties)."""
    T = np.asarray(T, dtype=np.float64)
    w = np.asarray(Z).shape[1]
    usable = [is_valid(x) and not is_constant(x) for x in windows(T, w)]
    best, pos, count = [], [], []
    for z in np.asarray(Z, dtype=np.float64):
        corr = [pearson(z, x) if ok else -np.inf for x, ok in zip(windows(T, w), usable)]
        b = max(corr) if corr else -np.inf
        best.append(b)
        pos.append(corr.index(b) if b > -np.inf else -1)
        order = sorted((i for i, c in enumerate(corr) if c >= threshold), key=lambda i: (-corr[i], i))
        taken: list[int] = []
        for i in order:
            if all(abs(i - t) >= w for t in taken):
                taken.append(i)
        count.append(len(taken))
    return np.array(best), np.array(pos, dtype=np.int64), np.array(count, dtype=np.int64)


# ------------------------------------------------------------------------- streaming profiles


def kept_series(stream, n_initial: int, egress: bool) -> np.ndarray:
    """The samples a streaming profile keeps after receiving ``stream`` (its first
    ``n_initial`` samples were the initial history): all of them, or with egress the last
    ``n_initial``."""
    stream = np.asarray(stream, dtype=np.float64)
    return stream[len(stream) - n_initial:] if egress else stream


def streaming_profile(stream, n_initial: int, m: int, egress: bool) -> Profile:
    """Twin of :func:`patternlab.kernels.streaming.extend`: the naive matrix profile of the kept
    samples (indices relative to the first kept sample)."""
    return matrix_profile(kept_series(stream, n_initial, egress), m)


def left_records(row: np.ndarray, lo: int, hi: int) -> list[int]:
    """The *records* of a window's left distances ``row[lo:hi]`` (indices into ``row``): the
    ``k`` nearer than every ``k' > k`` in range, ties kept (the smaller index wins a tie), so
    that the nearest left neighbour among windows ``>= s`` is the first record ``>= s``. Infinite
    distances are never records. Ascending."""
    out = []
    best = math.inf
    for k in range(hi - 1, lo - 1, -1):
        if math.isfinite(row[k]) and row[k] <= best:
            best = row[k]
            out.append(k)
    return out[::-1]


# --------------------------------------------------------------------------- anytime profiles


def restricted_profile(T, m: int, diags) -> Profile:
    """Twin of :func:`patternlab.kernels.anytime.diagonals_serial` from an empty profile: the
    naive self-join profile over the cells ``(i, i + d)`` of the diagonals ``d`` in ``diags`` only
    (ties to the smallest index)."""
    full = matrix_profile(T, m)
    D = full.D.copy()
    i, j = np.indices(D.shape)
    keep = np.isin(np.abs(j - i), np.asarray(diags))
    D[~keep] = math.inf
    n = D.shape[0]
    P, PL, PR = np.full(n, np.inf), np.full(n, np.inf), np.full(n, np.inf)
    I, IL, IR = (np.full(n, -1, dtype=np.int64) for _ in range(3))
    for a in range(n):
        P[a], I[a] = nearest(D[a])
        PL[a], IL[a] = nearest(D[a, :a])
        PR[a], IR[a] = nearest(D[a, a + 1 :], offset=a + 1)
    return Profile(P, I, PL, IL, PR, IR, D, full.kind_A, full.kind_B, full.W_B)


def stream_matches(corr, threshold: float, w: int, lo: int, hi: int) -> list[int]:
    """The matches :class:`patternlab.PatternStream` reports among windows ``lo <= c < hi``
    (correlations ``corr`` of one prototype with every window of the stream): ``corr[c] >=
    threshold``, larger than every window up to ``w - 1`` before it and at least as large as every
    window up to ``w - 1`` after it (so the earlier wins a tie; two never overlap)."""
    out = []
    for c in range(lo, hi):
        before = corr[max(0, c - w + 1):c]
        after = corr[c + 1:c + w]
        if corr[c] >= threshold and all(corr[c] > x for x in before) and all(corr[c] >= x for x in after):
            out.append(c)
    return out


def euclidean_profile(T, m: int) -> Profile:
    """Naive self-join profile with plain (not z-normalized) Euclidean distances, as STUMPY's
    ``aamp``: a window holding NaN/inf is at distance inf from everything; the exclusion zone
    and the tie rule as above."""
    ws = windows(T, m)
    n = len(ws)
    valid = np.array([is_valid(w) for w in ws])
    W = np.array([np.where(np.isfinite(w), w, 0.0) for w in ws])
    D = np.sqrt(((W[:, None, :] - W[None, :, :]) ** 2).sum(axis=2))
    D[~valid] = math.inf
    D[:, ~valid] = math.inf
    i, j = np.indices(D.shape)
    D[np.abs(i - j) <= exclusion_zone(m)] = math.inf
    kinds = np.where(valid, "normal", "invalid")
    P, PL, PR = np.full(n, np.inf), np.full(n, np.inf), np.full(n, np.inf)
    I, IL, IR = (np.full(n, -1, dtype=np.int64) for _ in range(3))
    for a in range(n):
        P[a], I[a] = nearest(D[a])
        PL[a], IL[a] = nearest(D[a, :a])
        PR[a], IR[a] = nearest(D[a, a + 1 :], offset=a + 1)
    return Profile(P, I, PL, IL, PR, IR, D, kinds, kinds, np.array(ws))


# ------------------------------------------------------------------- k nearest neighbours


def sorted_neighbours(row: np.ndarray, k: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest finite values of ``row`` ascending (the smaller index on ties) and
    their indices (+ ``offset``); inf / -1 in the slots left over."""
    order = [j for j in np.argsort(row, kind="mergesort") if math.isfinite(row[j])][:k]
    P, I = np.full(k, math.inf), np.full(k, -1, dtype=np.int64)
    P[:len(order)] = row[order]
    I[:len(order)] = np.array(order, dtype=np.int64) + offset
    return P, I


def profile_from_matrix(D: np.ndarray, k: int | None, self_join: bool) -> tuple[np.ndarray, ...]:
    """``(P, I, PL, IL, PR, IR)`` of a distance matrix (exclusion zone applied): the ``k``
    nearest (1-D for ``k=None``) and, for a self-join, the nearest left and right neighbours."""
    n = D.shape[0]
    kk = 1 if k is None else k
    P, I = np.full((n, kk), math.inf), np.full((n, kk), -1, dtype=np.int64)
    PL, PR = np.full(n, math.inf), np.full(n, math.inf)
    IL, IR = np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    for i in range(n):
        P[i], I[i] = sorted_neighbours(D[i], kk)
        if self_join:
            PL[i], IL[i] = nearest(D[i, :i])
            PR[i], IR[i] = nearest(D[i, i + 1:], offset=i + 1)
    if k is None:
        P, I = P[:, 0], I[:, 0]
    return P, I, PL, IL, PR, IR


def matrix_profile_k(T_A, m: int, k: int | None, T_B=None, constant_A=None, constant_B=None):
    """The z-normalized profile with the ``k`` nearest neighbours, from the full matrix."""
    D = distance_matrix(T_A, m, T_B, constant_A=constant_A, constant_B=constant_B)
    return profile_from_matrix(D, k, T_B is None)


# ------------------------------------------------------------------- non-normalized (aamp)


def pnorm_distance(a, b, p: float) -> float:
    """``sum(|a - b|**p)**(1/p)``, inf when either window holds NaN/inf (exact sums)."""
    if not (is_valid(a) and is_valid(b)):
        return math.inf
    return math.fsum(abs(x - y) ** p for x, y in zip(a, b)) ** (1.0 / p)


def pnorm_matrix(T_A, m: int, T_B=None, p: float = 2.0) -> np.ndarray:
    """The p-norm distance matrix, exclusion zone applied in a self-join."""
    A = windows(T_A, m)
    B = A if T_B is None else windows(T_B, m)
    D = np.array([[pnorm_distance(a, b, p) for b in B] for a in A])
    if T_B is None:
        i, j = np.indices(D.shape)
        D[np.abs(i - j) <= exclusion_zone(m)] = math.inf
    return D


def aamp(T_A, m: int, T_B=None, p: float = 2.0, k: int | None = None):
    """The non-normalized profile ``(P, I, PL, IL, PR, IR)``."""
    return profile_from_matrix(pnorm_matrix(T_A, m, T_B, p), k, T_B is None)


def pnorm_profile(Q, T, p: float = 2.0) -> np.ndarray:
    """The p-norm distance from ``Q`` to every window of ``T``."""
    Q = np.asarray(Q, dtype=np.float64)
    return np.array([pnorm_distance(Q, w, p) for w in windows(T, len(Q))])


# ------------------------------------------------------------------------------ motif sets


def motif_sets(T, m: int, k: int, max_matches=None, max_distance=None, min_neighbors: int = 1,
               cutoff=None, atol: float = 1e-8, p: float | None = None, constant=None):
    """Motif sets as ``patternlab.motifs`` documents them, literally: candidates by increasing
    profile value (smaller index on ties) up to ``cutoff``; each candidate's occurrences are
    itself, then windows within ``max_distance + atol`` by increasing distance, skipping any that
    overlaps (``|x - y| < m``) an occurrence kept before in this or an earlier set; a set with at
    least ``min_neighbors`` others is kept, else its windows' exclusion zones stop being
    candidates. ``p``: non-normalized distances. Returns ``[(distances, indices), ...]``."""
    if p is None:
        D = distance_matrix(T, m, T, constant_A=constant, constant_B=constant)
        P = matrix_profile_k(T, m, None, constant_A=constant)[0]
    else:
        D = pnorm_matrix(T, m, T, p)
        P = aamp(T, m, p=p)[0]
    finite = P[np.isfinite(P)]
    limit = max(finite.mean() - 2 * finite.std(), finite.min()) if cutoff is None else cutoff
    excl = exclusion_zone(m)
    kept: list[int] = []
    tried: set[int] = set()
    out = []
    for c in sorted(range(len(P)), key=lambda x: (P[x], x)):
        if len(out) == k or not math.isfinite(P[c]) or P[c] > limit:
            break
        if c in tried or _overlaps(c, kept, m):
            continue
        row = D[c]
        if max_distance is None:
            thr = default_max_distance(row)
        else:
            thr = max_distance(row) if callable(max_distance) else max_distance
        occ = [(float(row[c]), c)]
        for j in sorted(range(len(row)), key=lambda x: (row[x], x)):
            if max_matches is not None and len(occ) >= max_matches:
                break
            if j == c or not math.isfinite(row[j]) or row[j] > thr + atol:
                continue
            if _overlaps(j, kept, m) or _overlaps(j, [x for _, x in occ], m):
                continue
            occ.append((float(row[j]), j))
        if len(occ) - 1 >= min_neighbors:
            out.append((np.array([d for d, _ in occ]), np.array([x for _, x in occ])))
            kept += [x for _, x in occ]
        else:
            for _, x in occ:
                tried.update(range(x - excl, x + excl + 1))
        tried.add(c)
    return out


def stddev_isconstant(a, w: int, quantile_threshold: float = 0.0) -> np.ndarray:
    """STUMPY's test helper ``isconstant_func_stddev_threshold``: a window is constant when its
    std (NaN ignored) is at most the ``quantile_threshold`` quantile of all windows' stds."""
    a = np.asarray(a, dtype=np.float64)
    sd = np.array([np.nanstd(x) for x in windows(a, w)])
    limit = 0.0 if quantile_threshold == 0 else np.quantile(sd, quantile_threshold)
    return sd <= limit
