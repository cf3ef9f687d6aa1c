"""Per-window statistics (``patternlab.kernels.stats``) against two-pass NumPy sums."""

from __future__ import annotations

import numpy as np
import pytest

import patternlab as pl
import reference as ref
from checks import assert_distances_equal
from patternlab.kernels import stats

EPS = np.finfo(np.float64).eps


def _series(kind: str) -> np.ndarray:
    rng = np.random.default_rng(7)
    if kind == "normal":
        return rng.standard_normal(120)
    if kind == "offset_1e6":
        return 1e6 + rng.standard_normal(120)
    if kind == "offset_-1e9_small_noise":
        return -1e9 + 1e-3 * rng.standard_normal(120)
    if kind == "uniform_1000":
        return rng.uniform(-1000, 1000, 64)
    if kind == "tiny":
        return 1e-12 * rng.standard_normal(80)
    if kind == "nonfinite":
        T = rng.standard_normal(100)
        T[[0, 17, 18, 50, 99]] = [np.nan, np.inf, -np.inf, np.nan, np.inf]
        return T
    if kind == "constant_runs":
        return np.concatenate(
            [np.zeros(20), np.ones(5), rng.integers(-3, 4, 30).astype(float), 7 * np.ones(9)]
        )
    if kind == "cancellation":
        return np.array([4.0, 7, 13, 16, 10]) + 1e8
    raise AssertionError(kind)


KINDS = [
    "normal",
    "offset_1e6",
    "offset_-1e9_small_noise",
    "uniform_1000",
    "tiny",
    "nonfinite",
    "constant_runs",
    "cancellation",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("m", [3, 4, 5, 16])
def test_window_stats_match_two_pass_reference(kind, m):
    T = _series(kind)
    if m > len(T):
        m = len(T)
    Tc, mu, sig2, valid, constant = stats.window_stats(T, m)
    want_valid, want_constant = ref.window_flags(T, m)
    np.testing.assert_array_equal(Tc, np.where(np.isfinite(T), T, 0.0))
    np.testing.assert_array_equal(valid, want_valid)
    np.testing.assert_array_equal(constant[valid], want_constant[valid])
    for i in np.flatnonzero(valid):
        w = T[i : i + m]
        want_mu, want_ss = ref.window_mean_ss(w)
        # the mean to a few ulps of the window's values, whatever its offset
        assert abs(mu[i] - want_mu) <= 4 * EPS * np.abs(w).max(), (i, mu[i], want_mu)
        # the spread to a relative 1e-12 (no cancellation against the offset), up to the effect
        # of rounding the mean itself to the nearest double (m * ulp**2)
        slack = 1e-12 * want_ss + m * (2 * EPS * np.abs(w).max()) ** 2
        assert abs(sig2[i] - want_ss) <= slack, (i, sig2[i], want_ss)


def test_catastrophic_cancellation_is_exact():
    # STUMPY's case: a running sum of squares minus squared sum loses every digit here
    T = np.array([4.0, 7, 13, 16, 10]) + 1e8
    _, mu, sig2, valid, constant = stats.window_stats(T, 4)
    np.testing.assert_array_equal(mu, [1e8 + 10.0, 1e8 + 11.5])
    np.testing.assert_array_equal(sig2, [90.0, 45.0])
    assert valid.all() and not constant.any()
    want_mu, want_sd = ref.sliding_mean_std(T, 4)
    np.testing.assert_array_equal(want_mu, mu)
    np.testing.assert_array_equal(want_sd, np.sqrt(sig2 / 4))


@pytest.mark.parametrize("offset", [0.0, 1e8, -1e8])
def test_catastrophic_cancellation_distances(offset):
    # the offset is exactly representable and the means are exact: distances match the
    # un-offset ones to rounding, and the reference's
    base = np.array([4.0, 7, 13, 16, 10])
    T = base + offset
    got = pl.distance_profile(T[:4], T)
    assert_distances_equal(got, ref.distance_profile(T[:4], T))
    np.testing.assert_allclose(got, pl.distance_profile(base[:4], base), rtol=0, atol=1e-12)
    ab = pl.matrix_profile(T, 4, T_B=T[::-1].copy())
    want = ref.matrix_profile(T, 4, T[::-1])
    assert_distances_equal(ab.P, want.P)
    np.testing.assert_array_equal(ab.I, want.I)


@pytest.mark.parametrize("offset", [1e3, 1e6, -1e6])
def test_large_offset_profile_matches_unshifted(rng, offset):
    # z-normalization removes the offset: 1e6 + noise has the profile of the noise (STUMPY #610)
    noise = rng.standard_normal(150)
    mp = pl.matrix_profile(noise + offset, 12)
    want = ref.matrix_profile(noise + offset, 12)
    assert_distances_equal(mp.P, want.P)
    np.testing.assert_array_equal(mp.I, want.I)
    plain = pl.matrix_profile(noise, 12)
    np.testing.assert_allclose(mp.P, plain.P, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(mp.I, plain.I)


@pytest.mark.parametrize(
    ("ulps", "constant"),
    [(0, True), (1, True), (4, True), (8, True), (10, False), (64, False), (2**20, False)],
)
def test_rounding_floor_counts_as_constant(ulps, constant):
    # a window [1, 1, 1 + k ulp] is constant while its spread is at the rounding floor
    # (sum of squares <= m * (4 eps max|x|)**2)
    top = 1.0 + ulps * EPS
    T = np.array([1.0, 1.0, top, 1.0, 1.0])
    _, _, _, valid, flags = stats.window_stats(T, 3)
    assert valid.all()
    assert ref.is_constant(T[:3]) == constant
    np.testing.assert_array_equal(flags, ref.window_flags(T, 3)[1])
    assert bool(flags[0]) == constant


@pytest.mark.parametrize("scale", [1.0, 2.0**-40, 2.0**40, 3e-7, 1e9], ids=str)
def test_near_flat_windows_follow_the_constant_rule_at_any_scale(scale):
    # a flat stretch with rounding-level jitter is constant (distance 0 to other flat windows,
    # sqrt(m) to the rest); a clearly varying one is not
    jitter = np.array([0, 1, 0, 2, 1, 0, 1, 0]) * EPS
    T = scale * np.concatenate([1 + jitter, [3.0, -1.0, 2.0, 5.0, 0.5], 1 + jitter[::-1]])
    _, _, _, _, flags = stats.window_stats(T, 4)
    np.testing.assert_array_equal(flags, ref.window_flags(T, 4)[1])
    assert flags[0] and flags[-1]
    mp = pl.matrix_profile(T, 4)
    want = ref.matrix_profile(T, 4)
    assert_distances_equal(mp.P, want.P)
    np.testing.assert_array_equal(mp.I, want.I)
    # windows 0..4 are flat: window 0's nearest (outside the exclusion zone) is window 2
    assert mp.P[0] == 0.0 and mp.I[0] == 2
    assert mp.P[-1] == 0.0 and mp.I[-1] == 0


def test_correlation_terms_encode_the_conventions():
    T = np.concatenate([np.random.default_rng(1).standard_normal(12), np.zeros(6), [np.nan], np.ones(3)])
    m = 4
    _, mu, sig2, valid, constant = stats.window_stats(T, m)
    s, e = stats.correlation_terms(mu, sig2, valid, constant)
    normal = valid & ~constant
    np.testing.assert_array_equal(s[normal], 1 / np.sqrt(sig2[normal]))
    np.testing.assert_array_equal(e[normal], 0.0)
    np.testing.assert_array_equal(s[~normal], 0.0)
    np.testing.assert_array_equal(e[valid & constant], stats.CONSTANT_TERM)
    np.testing.assert_array_equal(e[~valid], stats.INVALID_TERM)
    # any pair with an invalid window falls below the "no neighbour" threshold
    assert 2 * stats.INVALID_TERM + 1 < stats.INVALID_BELOW
    assert stats.INVALID_TERM + stats.CONSTANT_TERM + 1 < stats.INVALID_BELOW
    # two constant windows correlate 1 (distance 0), constant vs other 0.5 (distance sqrt(m))
    assert 2 * stats.CONSTANT_TERM == 1.0


@pytest.mark.parametrize("m", [3, 7, 20])
def test_diagonal_terms_follow_the_covariance_recurrence(rng, m):
    T = rng.standard_normal(60) + 5.0
    Tc, mu, _, _, _ = stats.window_stats(T, m)
    df, dg = stats.diagonal_terms(Tc, mu, m)
    ell = len(T) - m + 1
    assert df[0] == 0.0 and dg[0] == 0.0
    i = np.arange(1, ell)
    np.testing.assert_allclose(df[1:], 0.5 * (T[i - 1 + m] - T[i - 1]), rtol=1e-15)
    np.testing.assert_allclose(dg[1:], (T[i - 1 + m] - mu[i]) + (T[i - 1] - mu[i - 1]), rtol=1e-12)
    centred = np.array([T[k : k + m] - ref.window_mean_ss(T[k : k + m])[0] for k in range(ell)])
    cov = centred @ centred.T
    for a in range(1, ell):
        for b in range(1, ell):
            step = df[a] * dg[b] + df[b] * dg[a]
            assert abs(cov[a, b] - cov[a - 1, b - 1] - step) <= 1e-11 * m, (a, b)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("m", [3, 5, 16, 40])
def test_prefix_sum_stats_match_two_pass_reference(kind, m):
    """The O(n) statistics of distance profiles (double-double prefix sums, flat windows
    measured directly): the same flags, the mean and spread to the two-pass precision."""
    from patternlab._validation import unit_scaled

    T = unit_scaled(_series(kind))  # as the profiles call it (a power of two: exact)
    m = min(m, len(T) - 1)
    Tc, mu, sig2, valid, constant = stats.window_stats_prefix(T, m)
    direct = stats.window_stats_serial(T, m)
    want_valid, want_constant = ref.window_flags(T, m)
    np.testing.assert_array_equal(Tc, direct[0])
    np.testing.assert_array_equal(valid, want_valid)
    np.testing.assert_array_equal(constant[valid], want_constant[valid])
    for i in np.flatnonzero(valid):
        w = T[i : i + m]
        want_mu, want_ss = ref.window_mean_ss(w)
        assert abs(mu[i] - want_mu) <= 4 * EPS * np.abs(w).max(), (i, mu[i], want_mu)
        slack = 1e-12 * want_ss + m * (2 * EPS * np.abs(w).max()) ** 2
        assert abs(sig2[i] - want_ss) <= slack, (i, sig2[i], want_ss)


def test_prefix_sum_stats_on_a_long_walk():
    from patternlab._validation import unit_scaled

    T = unit_scaled(np.cumsum(np.random.default_rng(3).standard_normal(20_000)) + 1e5)
    fast, direct = stats.window_stats_prefix(T, 64), stats.window_stats_serial(T, 64)
    np.testing.assert_allclose(fast[1], direct[1], rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(fast[2], direct[2], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(fast[4], direct[4])
