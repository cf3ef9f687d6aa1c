"""Obviously correct NumPy twins of patternlab's kernels, for the tests only.

Everything here is written for clarity, not speed: per-window loops, a full distance matrix, a
plain argmin. Inputs of a few hundred samples take well under a second. Values should be of a
sane magnitude (roughly 1e-100 <= |x| <= 1e100) so that squares neither underflow nor overflow;
the library rescales its input, this reference does not.

Conventions (the library's, see ``patternlab.matrix_profile``):

* window ``i`` is ``T[i:i+m]``; a window holding NaN or inf is *invalid*: distance inf to
  everything, index -1, never a neighbour;
* a window is *constant* when all its values are equal, or when its spread is at the rounding
  floor of its values (``sum((w - mean)**2) <= m * (4 * eps * max|w|)**2``); two constant windows
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
    return ss <= len(w) * floor * floor


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


def distance_matrix(T_A, m: int, T_B=None, *, exclusion: bool = True) -> np.ndarray:
    """``D[i, j]``: distance from window ``i`` of ``T_A`` to window ``j`` of ``T_B``.

    ``T_B=None`` means ``T_B = T_A`` (self-join); then, with ``exclusion=True``, cells inside the
    exclusion zone ``|i - j| <= ceil(m / 4)`` are set to inf.
    """
    self_join = T_B is None
    kind_A, Z_A = _normalized(T_A, m)
    kind_B, Z_B = (kind_A, Z_A) if self_join else _normalized(T_B, m)
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


def _normalized(T, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Per window its kind ("invalid", "constant" or "normal") and its z-normalized values (a row
    of zeros for the windows that are not "normal"; the rules override their distances)."""
    ws = windows(T, m)
    kinds = np.array(
        ["invalid" if not is_valid(w) else "constant" if is_constant(w) else "normal" for w in ws]
    )
    Z = np.array([znorm(w) if k == "normal" else np.zeros(m) for w, k in zip(ws, kinds)])
    return kinds, Z


def distance_profile(Q, T) -> np.ndarray:
    """Distance from the query ``Q`` to every window of ``T`` (no exclusion zone)."""
    Q = np.asarray(Q, dtype=np.float64)
    return np.array([znorm_distance(Q, w) for w in windows(T, len(Q))])


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


# --------------------------------------------------------------------------- motifs, discords


def _overlaps(x: int, kept: list[int], m: int) -> bool:
    return any(abs(x - u) < m for u in kept)


def motifs(P, I, k: int, m: int) -> list[tuple[int, int, float]]:
    """Up to ``k`` pairs ``(a, b, distance)``, ``a < b``, by increasing distance (smaller window
    index first on ties). A pair is kept when neither window overlaps (``|x - y| < m``) a window of
    a pair kept before; windows with an infinite distance are never motifs."""
    order = sorted(range(len(P)), key=lambda x: (P[x], x))
    kept: list[int] = []
    out: list[tuple[int, int, float]] = []
    for x in order:
        if len(out) == k or not math.isfinite(P[x]):
            break
        y = int(I[x])
        if y < 0 or _overlaps(x, kept, m) or _overlaps(y, kept, m):
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


def unit(x) -> np.ndarray:
    """NumPy twin of the prototype normalization: zero mean, unit L2 norm."""
    x = np.asarray(x, dtype=np.float64)
    d = x - x.mean()
    return d / np.linalg.norm(d)


def pearson(a, b) -> float:
    """Pearson correlation of two equal-length windows."""
    return float(np.corrcoef(np.asarray(a, float), np.asarray(b, float))[0, 1])
