"""Per-window statistics: mean, spread, finiteness and constancy of every length-``m`` window.

All statistics are computed directly for each window (two passes over its ``m`` values, shifted by
the window's first value) rather than by a running sum. That costs ``O(n m)``, which is at most a
fraction ``m / l`` of any matrix-profile computation that uses it, and it is exact to a few ulps
whatever the offset of the data (``1e6 + noise`` loses nothing): no catastrophic cancellation, no
drift along long series.
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import JIT, JIT_PARALLEL
from ._simd import fma

#: Additive term of a constant window in correlation space: two constant windows correlate 1
#: (distance 0), a constant and a non-constant window 0.5 (distance sqrt(m)), as in STUMPY.
CONSTANT_TERM = 0.5
#: Additive term of a window holding NaN or inf: any correlation with it is below -2, which the
#: callers turn into distance inf and index -1.
INVALID_TERM = -4.0
#: Correlations below this value mark "no valid neighbour".
INVALID_BELOW = -2.0


#: The smallest normal float64: a window whose sum of squared deviations is below it is constant.
TINY = float(np.finfo(np.float64).tiny)

@numba.njit(**JIT)
def sanitize(T):  # pragma: no cover - compiled
    """Return ``(Tc, nonfinite_prefix)``: T with non-finite values set to 0, and the running count
    of non-finite values (``prefix[t]`` counts ``T[:t]``)."""
    n = T.shape[0]
    Tc = np.empty(n, dtype=np.float64)
    prefix = np.zeros(n + 1, dtype=np.int64)
    for t in range(n):
        v = T[t]
        if np.isfinite(v):
            Tc[t] = v
            prefix[t + 1] = prefix[t]
        else:
            Tc[t] = 0.0
            prefix[t + 1] = prefix[t] + 1
    return Tc, prefix


#: Windows per chunk of the parallel variants: a chunk is one unit of work of a thread.
CHUNK = 256


@numba.njit(**JIT)
def _stats_setup(T, m):  # pragma: no cover - compiled
    Tc, prefix = sanitize(T)
    n = T.shape[0]
    ell = n - m + 1
    # changes[t] = number of k < t with Tc[k + 1] != Tc[k]
    changes = np.zeros(n, dtype=np.int64)
    for t in range(1, n):
        changes[t] = changes[t - 1] + (1 if Tc[t] != Tc[t - 1] else 0)
    mu = np.empty(ell, dtype=np.float64)
    sig2 = np.empty(ell, dtype=np.float64)
    valid = np.empty(ell, dtype=np.bool_)
    constant = np.empty(ell, dtype=np.bool_)
    return Tc, prefix, changes, mu, sig2, valid, constant


@numba.njit(**JIT)
def mean_and_squares(Tc, i, m):  # pragma: no cover - compiled
    """``(mean, sum of squared deviations, max |x|)`` of window ``i``, measured directly: each sum
    as four interleaved partial sums added in a fixed order, with no fastmath flag, so every
    kernel that calls this (serial, parallel, streaming, search) gets the same bits."""
    c = Tc[i]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    big = 0.0
    t = 0
    while t + 4 <= m:
        x0 = Tc[i + t]
        x1 = Tc[i + t + 1]
        x2 = Tc[i + t + 2]
        x3 = Tc[i + t + 3]
        s0 += x0 - c
        s1 += x1 - c
        s2 += x2 - c
        s3 += x3 - c
        big = max(big, max(max(abs(x0), abs(x1)), max(abs(x2), abs(x3))))
        t += 4
    while t < m:
        x0 = Tc[i + t]
        s0 += x0 - c
        big = max(big, abs(x0))
        t += 1
    mean = c + ((s0 + s1) + (s2 + s3)) / m
    q0 = 0.0
    q1 = 0.0
    q2 = 0.0
    q3 = 0.0
    t = 0
    while t + 4 <= m:
        d0 = Tc[i + t] - mean
        d1 = Tc[i + t + 1] - mean
        d2 = Tc[i + t + 2] - mean
        d3 = Tc[i + t + 3] - mean
        q0 += d0 * d0
        q1 += d1 * d1
        q2 += d2 * d2
        q3 += d3 * d3
        t += 4
    while t < m:
        d0 = Tc[i + t] - mean
        q0 += d0 * d0
        t += 1
    return mean, (q0 + q1) + (q2 + q3), big


@numba.njit(**JIT)
def _stats_range(Tc, prefix, changes, m, lo, hi, mu, sig2, valid, constant):  # pragma: no cover
    """The statistics of windows ``lo <= i < hi`` (see :func:`window_stats`).

    Each sum runs as four interleaved partial sums added in a fixed order, with no fastmath
    flag: the compiler may not reorder it, so every kernel that calls this (serial, parallel,
    streaming) gets the same statistics bit for bit. (With ``reassoc`` the sums were vectorized
    differently in each caller, and the serial and parallel variants differed in the last bits.)
    """
    eps = np.finfo(np.float64).eps
    for i in range(lo, hi):
        mean, q, big = mean_and_squares(Tc, i, m)
        mu[i] = mean
        sig2[i] = q
        valid[i] = prefix[i + m] - prefix[i] == 0
        floor = 4.0 * eps * big
        # below TINY the spread itself is subnormal (too few bits to normalize by), and the
        # floor may have underflowed to 0
        constant[i] = (changes[i + m - 1] - changes[i] == 0) or q <= m * floor * floor or q < TINY


@numba.njit(**JIT_PARALLEL)
def window_stats(T, m):  # pragma: no cover - compiled
    """Statistics of every window ``T[i:i+m]``.

    Returns ``(Tc, mu, sig2, valid, constant)``: the sanitized series (non-finite -> 0), the window
    means, the sums of squared deviations ``sum((T[i:i+m] - mu[i])**2)``, whether the window holds
    only finite values, and whether it is constant. A window is constant when all its values are
    equal, or when its spread is at the rounding floor of its values
    (``sig2 <= m * (4 * eps * max|x|)**2``), where a z-normalization would only amplify rounding,
    or when ``sig2`` is below the smallest normal float64 (a subnormal spread keeps too few bits).
    Parallel over chunks of windows; :func:`window_stats_serial` is its serial twin.
    """
    Tc, prefix, changes, mu, sig2, valid, constant = _stats_setup(T, m)
    ell = mu.shape[0]
    for c in numba.prange((ell + CHUNK - 1) // CHUNK):
        _stats_range(Tc, prefix, changes, m, c * CHUNK, min(ell, c * CHUNK + CHUNK), mu, sig2,
                     valid, constant)
    return Tc, mu, sig2, valid, constant


@numba.njit(**JIT)
def window_stats_serial(T, m):  # pragma: no cover - compiled
    """:func:`window_stats` on the calling thread (the same result, bit for bit)."""
    Tc, prefix, changes, mu, sig2, valid, constant = _stats_setup(T, m)
    _stats_range(Tc, prefix, changes, m, 0, mu.shape[0], mu, sig2, valid, constant)
    return Tc, mu, sig2, valid, constant


@numba.njit(**JIT)
def correlation_terms(mu, sig2, valid, constant):  # pragma: no cover - compiled
    """Per-window scale and additive term such that for every pair of windows
    ``corr(i, j) = cov(i, j) * s[i] * s[j] + e[i] + e[j]`` follows the constant and non-finite
    conventions (see :data:`CONSTANT_TERM`, :data:`INVALID_TERM`)."""
    ell = mu.shape[0]
    s = np.empty(ell, dtype=np.float64)
    e = np.empty(ell, dtype=np.float64)
    for i in range(ell):
        if not valid[i]:
            s[i] = 0.0
            e[i] = INVALID_TERM
        elif constant[i]:
            s[i] = 0.0
            e[i] = CONSTANT_TERM
        else:
            s[i] = 1.0 / np.sqrt(sig2[i])
            e[i] = 0.0
    return s, e


@numba.njit(**JIT)
def diagonal_terms(Tc, mu, m):  # pragma: no cover - compiled
    """The update terms of the mean-centred covariance along a diagonal.

    With ``df[i] = (T[i-1+m] - T[i-1]) / 2`` and
    ``dg[i] = (T[i-1+m] - mu[i]) + (T[i-1] - mu[i-1])`` (both 0 at ``i = 0``),
    ``cov(i, j) = cov(i-1, j-1) + df[i] * dg[j] + df[j] * dg[i]`` for the covariance
    ``cov(i, j) = sum((T[i:i+m] - mu[i]) * (T[j:j+m] - mu[j]))``.
    """
    ell = mu.shape[0]
    df = np.zeros(ell, dtype=np.float64)
    dg = np.zeros(ell, dtype=np.float64)
    for i in range(1, ell):
        a = Tc[i - 1 + m]
        b = Tc[i - 1]
        df[i] = 0.5 * (a - b)
        dg[i] = (a - mu[i]) + (b - mu[i - 1])
    return df, dg


# ------------------------------------------------------------------ O(n) statistics (search)

#: Windows whose sum of squared deviations is below ``FLAT * m`` (the samples scaled to at most
#: 1) are measured directly by :func:`window_stats_prefix`: there the error of the prefix sums
#: (about 1e-32 of the series' magnitude) could reach 1e-14 of the spread.
FLAT = 1e-12


@numba.njit(**JIT)  # no fastmath: the error-free transformations need IEEE rounding
def _two_sum(a, b):  # pragma: no cover - compiled
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


@numba.njit(**JIT)
def _dd_add(ah, al, bh, bl):  # pragma: no cover - compiled
    """``(ah + al) + (bh + bl)`` in double-double."""
    s, e = _two_sum(ah, bh)
    e += al + bl
    return _two_sum(s, e)


@numba.njit(**JIT)
def _dd_mul(ah, al, bh, bl):  # pragma: no cover - compiled
    """``(ah + al) * (bh + bl)`` in double-double."""
    p = ah * bh
    e = fma(ah, bh, -p) + (ah * bl + al * bh)
    return _two_sum(p, e)


@numba.njit(**JIT)
def window_stats_prefix(T, m):  # pragma: no cover - compiled
    """:func:`window_stats` in ``O(n)``: each window's sum and sum of squares from double-double
    prefix sums (error-free transformations, about 32 significant digits), so the mean and the
    sum of squared deviations keep full float64 precision whatever the offset of the data;
    windows flatter than :data:`FLAT` (where that could fall short, and where the
    rounding-floor rule for constant windows applies) are measured directly, as
    :func:`window_stats` measures them. Used where the statistics cost as much as the rest
    (distance profiles, search), not by the matrix profile. Serial (one pass)."""
    Tc, prefix, changes, mu, sig2, valid, constant = _stats_setup(T, m)
    n = T.shape[0]
    ell = mu.shape[0]
    s1h = np.zeros(n + 1)
    s1l = np.zeros(n + 1)
    s2h = np.zeros(n + 1)
    s2l = np.zeros(n + 1)
    for t in range(n):
        x = Tc[t]
        s1h[t + 1], s1l[t + 1] = _dd_add(s1h[t], s1l[t], x, 0.0)
        p = x * x
        s2h[t + 1], s2l[t + 1] = _dd_add(s2h[t], s2l[t], p, fma(x, x, -p))
    for i in range(ell):
        ah, al = _dd_add(s1h[i + m], s1l[i + m], -s1h[i], -s1l[i])  # window sum
        bh, bl = _dd_add(s2h[i + m], s2l[i + m], -s2h[i], -s2l[i])  # window sum of squares
        qh = ah / m  # the mean, in double-double
        rh, rl = _dd_mul(qh, 0.0, float(m), 0.0)
        dh, dl = _dd_add(ah, al, -rh, -rl)
        ql = (dh + dl) / m
        ph, pl = _dd_mul(ah, al, qh, ql)  # sum * mean
        vh, vl = _dd_add(bh, bl, -ph, -pl)
        q = vh + vl
        valid[i] = prefix[i + m] - prefix[i] == 0
        if q < FLAT * m:
            _stats_range(Tc, prefix, changes, m, i, i + 1, mu, sig2, valid, constant)
            continue
        mu[i] = qh + ql
        sig2[i] = q
        constant[i] = changes[i + m - 1] - changes[i] == 0
    return Tc, mu, sig2, valid, constant
