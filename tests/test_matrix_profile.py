"""The exact matrix profile against the naive reference: self-joins, AB-joins, non-finite and
constant windows, wide magnitudes, tiny tiles, thread counts, float32, hypothesis inputs."""

from __future__ import annotations

import itertools
import math
import warnings

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import patternlab as pl
import reference as ref
from checks import (
    assert_distances_equal,
    assert_neighbours_match,
    assert_profile_matches,
    check_profile_invariants,
)

# STUMPY's small fixed series
STUMPY_TEST_DATA = np.array([0.0, 1, 3, 2, 9, 1, 14, 15, 1, 2, 2, 10, 7])


def self_and_check(T, m, **kw):
    """Library self-join, checked against the reference; returns both."""
    mp = pl.matrix_profile(T, m, **kw)
    want = ref.matrix_profile(T, m)
    check_profile_invariants(mp, len(T), m)
    assert_profile_matches(mp, want)
    return mp, want


def ab_and_check(TA, TB, m, **kw):
    mp = pl.matrix_profile(TA, m, T_B=TB, **kw)
    want = ref.matrix_profile(TA, m, TB)
    check_profile_invariants(mp, len(TA), m, len(TB))
    assert_profile_matches(mp, want)
    return mp, want


# ----------------------------------------------------------------------------- fixed and random


@pytest.mark.parametrize("m", [3, 4, 5, 6])
def test_fixed_series_self_join(m):
    mp, want = self_and_check(STUMPY_TEST_DATA, m)
    np.testing.assert_array_equal(mp.I, want.I)
    np.testing.assert_array_equal(mp.IL, want.IL)
    np.testing.assert_array_equal(mp.IR, want.IR)
    assert mp.self_join and mp.exclusion_zone == math.ceil(m / 4) and mp.dtype == "float64"


def test_fixed_series_hand_checked():
    # the only window of A is a ramp; B holds its mirror (2 sqrt(3) away: z is negated), the ramp
    # itself (0) and a constant window (sqrt(3))
    T_B = np.array([3.0, 2, 1, 1, 2, 3, 5, 5, 5])
    mp = pl.matrix_profile([1.0, 2, 3], 3, T_B=T_B)
    assert mp.I[0] == 3 and mp.P[0] == pytest.approx(0.0, abs=1e-12)
    d = pl.distance_profile([1.0, 2, 3], T_B)
    assert d[0] == pytest.approx(2 * math.sqrt(3), abs=1e-12)
    assert d[6] == math.sqrt(3)
    assert_distances_equal(d, ref.distance_profile([1.0, 2, 3], T_B))


@pytest.mark.parametrize(("n", "m"), [(16, 3), (16, 4), (64, 3), (64, 8), (64, 13), (200, 20), (257, 64)])
def test_random_self_join(n, m):
    T = np.random.default_rng(n * 1000 + m).standard_normal(n)
    mp, want = self_and_check(T, m)
    # random data has no ties: indices are exactly the reference's
    np.testing.assert_array_equal(mp.I, want.I)
    np.testing.assert_array_equal(mp.IL, want.IL)
    np.testing.assert_array_equal(mp.IR, want.IR)


@pytest.mark.parametrize(
    ("nA", "nB", "m"), [(16, 16, 3), (20, 64, 5), (64, 20, 5), (100, 37, 11), (30, 30, 30)]
)
def test_random_ab_join(nA, nB, m):
    rng = np.random.default_rng(nA * nB + m)
    TA, TB = rng.standard_normal(nA), rng.standard_normal(nB)
    mp, want = ab_and_check(TA, TB, m)
    np.testing.assert_array_equal(mp.I, want.I)
    assert not mp.self_join and mp.exclusion_zone == 0


def test_ab_join_with_itself_finds_itself():
    T = np.random.default_rng(5).standard_normal(80)
    mp = pl.matrix_profile(T, 10, T_B=T)
    np.testing.assert_array_equal(mp.I, np.arange(len(mp)))
    np.testing.assert_allclose(mp.P, 0.0, atol=1e-7)


def test_accepts_lists_and_integer_arrays():
    T = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4]
    a = pl.matrix_profile(T, 4)
    b = pl.matrix_profile(np.array(T, dtype=np.int64), 4)
    c = pl.matrix_profile(np.array(T, dtype=np.float32), 4)
    for x in (b, c):
        np.testing.assert_array_equal(a.P, x.P)
        np.testing.assert_array_equal(a.I, x.I)
    assert_profile_matches(a, ref.matrix_profile(np.array(T, float), 4))


def test_window_of_full_length_ab_join():
    rng = np.random.default_rng(2)
    TA, TB = rng.standard_normal(12), rng.standard_normal(12)
    mp, _ = ab_and_check(TA, TB, 12)
    assert len(mp) == 1 and mp.I[0] == 0


# ----------------------------------------------------------------------------------- non-finite


def _with_nonfinite(T, where, value):
    T = T.copy()
    n = len(T)
    positions = {
        "first": [0],
        "last": [n - 1],
        "slice": list(range(n // 3, n // 3 + 7)),
        "scattered": [1, 5, n // 2, n // 2 + 2, n - 4],
    }[where]
    T[positions] = value
    return T


NONFINITE = [np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("where", ["first", "last", "slice", "scattered"])
@pytest.mark.parametrize("value", NONFINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("m", [3, 8])
def test_nonfinite_self_join(where, value, m):
    T = _with_nonfinite(np.random.default_rng(11).standard_normal(48), where, value)
    mp = self_and_check(T, m)[0]
    bad = ~ref.window_flags(T, m)[0]
    assert bad.any()
    assert np.isinf(mp.P[bad]).all() and (mp.I[bad] == -1).all()
    # a window holding NaN/inf is nobody's neighbour
    for I in (mp.I, mp.IL, mp.IR):
        assert not np.isin(I, np.flatnonzero(bad)).any()


@pytest.mark.parametrize("where", ["first", "last", "slice", "scattered"])
@pytest.mark.parametrize("value", NONFINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("side", ["A", "B", "both"])
def test_nonfinite_ab_join(where, value, side):
    rng = np.random.default_rng(12)
    TA, TB = rng.standard_normal(40), rng.standard_normal(33)
    if side in ("A", "both"):
        TA = _with_nonfinite(TA, where, value)
    if side in ("B", "both"):
        TB = _with_nonfinite(TB, where, value)
    mp = ab_and_check(TA, TB, 5)[0]
    bad_B = np.flatnonzero(~ref.window_flags(TB, 5)[0])
    assert not np.isin(mp.I, bad_B).any()


def test_nan_window_with_zero_mean_finite_values():
    # the finite values of the windows holding inf have mean 0: a kernel that forgot to mask them
    # would see a perfectly valid-looking window
    T = np.array([-1.0, 0, 1, np.inf, 1, 0, -1])
    mp = self_and_check(T, 3)[0]
    np.testing.assert_array_equal(np.isinf(mp.P), [False, True, True, True, False])
    np.testing.assert_array_equal(mp.I, [4, -1, -1, -1, 0])
    assert mp.P[0] == pytest.approx(2 * math.sqrt(3), abs=1e-12)  # [-1,0,1] vs its mirror
    TB = np.random.default_rng(3).standard_normal(10)
    ab_and_check(T, TB, 3)
    ab_and_check(TB, T, 3)
    T_nan = np.array([-1.0, 0, 1, np.nan, 1, 0, -1])
    ab_and_check(T_nan, T, 3)


def test_window_without_admissible_neighbour_is_inf():
    # n=10, m=7: only windows 0 and 3 are outside each other's exclusion zone (|i-j| <= 2)
    T = np.random.default_rng(4).standard_normal(10)
    mp = self_and_check(T, 7)[0]
    np.testing.assert_array_equal(mp.I, [3, -1, -1, 0])
    assert np.isinf(mp.P[1:3]).all()


# ------------------------------------------------------------------------------------- constants

Z20_O5 = np.concatenate([np.zeros(20), np.ones(5)])
Z10_O10 = np.concatenate([np.zeros(10), np.ones(10)])


@pytest.mark.parametrize("T", [Z20_O5, Z10_O10], ids=["z20o5", "z10o10"])
@pytest.mark.parametrize("m", [3, 4, 5])
def test_constant_regions_self_join(T, m):
    mp, want = self_and_check(T, m)
    # constant windows tie exactly: the smallest index wins
    np.testing.assert_array_equal(mp.I, want.I)
    np.testing.assert_array_equal(mp.IL, want.IL)
    np.testing.assert_array_equal(mp.IR, want.IR)


@pytest.mark.parametrize(("TA", "TB"), [(Z20_O5, Z10_O10), (Z10_O10, Z20_O5)], ids=["AB", "BA"])
@pytest.mark.parametrize("m", [3, 4, 5])
def test_constant_regions_ab_join(TA, TB, m):
    mp, want = ab_and_check(TA, TB, m)
    np.testing.assert_array_equal(mp.I, want.I)
    # constant windows of A: 0 to the first constant window of B
    const_A = ref.window_flags(TA, m)[1]
    assert (mp.P[const_A] == 0.0).all() and (mp.I[const_A] == 0).all()


@pytest.mark.parametrize("m", [4, 9])
def test_one_constant_stretch_inside_random_data(m):
    rng = np.random.default_rng(8)
    T = np.concatenate([rng.standard_normal(30), np.full(15, 2.5), rng.standard_normal(30)])
    mp, want = self_and_check(T, m)
    np.testing.assert_array_equal(mp.I, want.I)
    ab_and_check(T, rng.standard_normal(40), m)
    ab_and_check(rng.standard_normal(40), T, m)


def test_constant_vs_non_constant_is_sqrt_m():
    T = np.concatenate([np.zeros(8), [0.0, 1.0, 0.0]])
    mp = pl.matrix_profile(np.array([1.0, 2.0, 0.5, 3.0]), 3, T_B=np.zeros(6))
    np.testing.assert_array_equal(mp.P, [math.sqrt(3)] * 2)
    np.testing.assert_array_equal(mp.I, [0, 0])
    assert_profile_matches(pl.matrix_profile(T, 3), ref.matrix_profile(T, 3))


# ------------------------------------------------------------------------------ wide magnitudes

T_A_WIDE = np.array([9.0, 8100, -60, 7])
T_B_WIDE = np.array([584.0, -11, 23, 79, 1001, 0, -19])


def test_wide_magnitudes_ab_join_both_directions():
    mp, want = ab_and_check(T_A_WIDE, T_B_WIDE, 3)
    np.testing.assert_array_equal(mp.I, want.I)
    mp, want = ab_and_check(T_B_WIDE, T_A_WIDE, 3)
    np.testing.assert_array_equal(mp.I, want.I)


def test_wide_magnitudes_self_join():
    mp, want = self_and_check(T_B_WIDE, 3)
    np.testing.assert_array_equal(mp.I, want.I)


@pytest.mark.parametrize("n", [8, 64])
@pytest.mark.parametrize("m", [3, 4, 5])
def test_uniform_1000(n, m):
    rng = np.random.default_rng(n + m)
    T = rng.uniform(-1000, 1000, n)
    mp, want = self_and_check(T, m)
    np.testing.assert_array_equal(mp.I, want.I)
    TB = rng.uniform(-1000, 1000, n)
    ab_and_check(T, TB, m)
    ab_and_check(TB, T, m)


# ----------------------------------------------------------------------------- symmetry, repeats


@pytest.mark.parametrize("m", [3, 10])
def test_distances_are_symmetric(m):
    # column j of the distance matrix through an AB-join against window j alone (the kernel's
    # column path), row j through distance_profile; d(i, j) == d(j, i)
    T = np.random.default_rng(9).standard_normal(40)
    T[25] = np.nan
    ell = len(T) - m + 1
    D_ref = ref.distance_matrix(T, m, exclusion=False)
    for j in range(ell):
        if not np.isfinite(T[j : j + m]).all():
            continue
        col = pl.matrix_profile(T, m, T_B=T[j : j + m]).P
        row = pl.distance_profile(T[j : j + m], T)
        assert_distances_equal(col, D_ref[:, j])
        np.testing.assert_array_equal(np.isinf(col), np.isinf(row))
        finite = np.isfinite(row)
        np.testing.assert_allclose(col[finite], row[finite], rtol=0, atol=1e-14)


def test_exact_repeat_is_at_distance_exactly_zero():
    # documented in kernels/exact.py: "an exact repeat is at distance exactly 0"
    rng = np.random.default_rng(10)
    T = rng.standard_normal(120)
    T[80:100] = T[10:30]
    for dtype in ("float64", "float32"):
        mp = pl.matrix_profile(T, 20, dtype=dtype)
        assert mp.I[10] == 80 and mp.I[80] == 10
        assert mp.P[10] == 0.0 and mp.P[80] == 0.0, (dtype, mp.P[10], mp.P[80])


@pytest.mark.parametrize("m", [3, 5, 8])
def test_exact_repeats_are_found_at_distance_zero(m):
    # four exact copies of the same stretch: every window has up to three neighbours holding
    # exactly its samples. They are all at distance exactly 0; the search's correlations for them
    # may differ in the last bit (they run along different diagonals), so the documented rule is
    # that one of the copies is reported -- the same one whatever the number of threads.
    base = np.random.default_rng(3).standard_normal(11)
    T = np.tile(base, 4)
    mp = pl.matrix_profile(T, m)
    want = ref.matrix_profile(T, m)
    assert_distances_equal(mp.P, want.P)
    D = ref.distance_matrix(T, m)
    for i in range(len(mp.P)):
        for got, P in ((mp.I[i], mp.P[i]), (mp.IL[i], mp.PL[i]), (mp.IR[i], mp.PR[i])):
            if np.isfinite(P):
                assert abs(D[i, got] - P) <= 1e-8
    one = pl.matrix_profile(T, m, threads=1)
    np.testing.assert_array_equal(mp.I, one.I)
    np.testing.assert_array_equal(mp.IL, one.IL)
    np.testing.assert_array_equal(mp.IR, one.IR)


@pytest.mark.parametrize("threads", [1, 2])
def test_constant_window_ties_with_default_tiles(threads):
    # the only constant window is the last one: every left neighbour is at exactly sqrt(m), so the
    # left (and overall) neighbour is window 0, whatever the number of threads
    T = np.concatenate([np.random.default_rng(1).standard_normal(600), np.zeros(10)])
    mp = pl.matrix_profile(T, 10, threads=min(threads, numba.config.NUMBA_NUM_THREADS))
    assert mp.PL[-1] == math.sqrt(10) and mp.P[-1] == math.sqrt(10)
    assert (mp.IL[-1], mp.I[-1]) == (0, 0)


def test_ties_between_constant_windows_go_to_the_smallest_index():
    rng = np.random.default_rng(13)
    T = np.concatenate(
        [np.zeros(12), rng.standard_normal(10), np.full(9, 4.0), rng.standard_normal(10), np.ones(12)]
    )
    for m in (3, 4, 6):
        # the helper demands the smallest index wherever a constant window makes an exact tie
        # (windows like [a, c, c] and [b, d, d] are also at equal distances, but not by a
        # rule the search applies exactly: either may be reported)
        self_and_check(T, m)


# ----------------------------------------------------------------------------------- tiny tiles

TILE_SHAPES = list(itertools.product([1, 2, 3, 7], [1, 2, 5, 16]))


def _stress_series(n: int, m: int) -> np.ndarray:
    rng = np.random.default_rng(n * 7 + m)
    T = rng.standard_normal(n)
    # a constant stretch, a non-finite sample and one exact repeat, placed relative to n
    c = n // 5
    T[c : c + max(m // 2, 4)] = 1.5
    T[(3 * n) // 5] = np.nan
    if n >= 4 * m:
        T[n - 2 * m : n - m] = T[m : 2 * m]
    return T


STRESS_CASES = [
    (20, 3),
    (20, 4),
    (21, 5),
    (37, 7),
    (50, 9),
    (64, 12),
    (100, 16),
    (128, 20),
    (200, 33),
    (300, 45),
    (450, 60),
    (600, 5),
    (600, 17),
    (600, 60),
]


@pytest.mark.parametrize(("n", "m"), STRESS_CASES)
def test_tiny_tiles_self_join(tiles, n, m):
    T = _stress_series(n, m)
    want = ref.matrix_profile(T, m)
    for R, K in TILE_SHAPES:
        tiles(R, K)
        mp = pl.matrix_profile(T, m)
        check_profile_invariants(mp, n, m)
        # the planted repeat puts two windows at equal distances from every other window; the
        # smallest-index rule for exact repeats has its own test, constant-window ties are strict
        assert_profile_matches(mp, want, copies=False)


@pytest.mark.parametrize(("nA", "nB", "m"), [(20, 31, 3), (45, 20, 6), (120, 77, 10), (200, 260, 33)])
def test_tiny_tiles_ab_join(tiles, nA, nB, m):
    TA = _stress_series(nA, m)
    TB = _stress_series(nB, m + 1)[::-1].copy()
    want = ref.matrix_profile(TA, m, TB)
    for R, K in TILE_SHAPES:
        tiles(R, K)
        mp = pl.matrix_profile(TA, m, T_B=TB)
        check_profile_invariants(mp, nA, m, nB)
        assert_profile_matches(mp, want, copies=False)


@pytest.mark.parametrize("m", [3, 8, 25])
def test_tiles_larger_than_the_input(tiles, m):
    T = _stress_series(90, m)
    want = ref.matrix_profile(T, m)
    for R, K in [(1, 10_000), (10_000, 1), (89, 89), (90, 90), (91, 91)]:
        tiles(R, K)
        assert_profile_matches(pl.matrix_profile(T, m), want, copies=False)


# --------------------------------------------------------------------------------------- threads


def _thread_counts():
    return sorted({1, 2, numba.config.NUMBA_NUM_THREADS} & set(range(1, numba.config.NUMBA_NUM_THREADS + 1)))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("R", "K"), [(8192, 512), (3, 5), (1, 2)])
def test_thread_count_does_not_change_a_bit(tiles, dtype, R, K):
    tiles(R, K)
    rng = np.random.default_rng(14)
    T = _stress_series(400, 20)
    T[300:330] = -2.0  # constant windows: exact ties in the search
    TB = rng.standard_normal(150)
    TB[:25] = 3.0
    runs = [
        (
            pl.matrix_profile(T, 20, dtype=dtype, threads=t),
            pl.matrix_profile(T, 20, T_B=TB, dtype=dtype, threads=t),
            pl.matrix_profile(TB, 20, T_B=T, dtype=dtype, threads=t),
        )
        for t in [*_thread_counts(), None]
    ]
    for got in runs[1:]:
        for a, b in zip(runs[0], got):
            for name in ("P", "I", "PL", "IL", "PR", "IR"):
                assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_threads_argument_leaves_numba_setting_alone():
    before = numba.get_num_threads()
    pl.matrix_profile(np.random.default_rng(0).standard_normal(50), 5, threads=1)
    assert numba.get_num_threads() == before


# --------------------------------------------------------------------------------------- float32


_RNG32 = np.random.default_rng(15)
FLOAT32_CASES = {  # name: (T, T_B, m)
    "random": (_RNG32.standard_normal(300), None, 16),
    "offset": (1e6 + _RNG32.standard_normal(200), None, 10),
    "nonfinite+constant": (_stress_series(250, 12), None, 12),
    "wide": (T_B_WIDE, None, 3),
    "wide_ab": (T_A_WIDE, T_B_WIDE, 3),
    "uniform_ab": (_RNG32.uniform(-1000, 1000, 64), _RNG32.uniform(-1000, 1000, 80), 6),
    "sine": (np.sin(np.linspace(0, 30, 400)) + 0.01 * _RNG32.standard_normal(400), None, 40),
    # windows whose spread is 1e-30 of the series' largest value (an exact repeat at 0 and 9)
    "wide_dynamic_range": (
        np.array([1e-30, 0, 2e-30, 0, 1e-30, 1.0, 0.5, 0.2, 0.9, 1e-30, 0, 2e-30]),
        None,
        3,
    ),
}


@pytest.mark.parametrize("name", list(FLOAT32_CASES))
def test_float32_within_1e_3_of_float64(name):
    T, TB, m = FLOAT32_CASES[name]
    mp32 = pl.matrix_profile(T, m, T_B=TB, dtype="float32")
    mp64 = pl.matrix_profile(T, m, T_B=TB)
    want = ref.matrix_profile(T, m, TB)
    # spreads more than 100x apart are searched in float64 (documented): say so in the result
    assert mp32.dtype == ("float64" if name == "wide_dynamic_range" else "float32")
    check_profile_invariants(mp32, len(T), m, None if TB is None else len(TB))
    for (P32, I32), P64, D_best in (
        ((mp32.P, mp32.I), mp64.P, want.P),
        ((mp32.PL, mp32.IL), mp64.PL, want.PL),
        ((mp32.PR, mp32.IR), mp64.PR, want.PR),
    ):
        np.testing.assert_array_equal(np.isinf(P32), np.isinf(P64))
        finite = np.isfinite(P64)
        # never better than the true best (reported distances are exact) ...
        assert (P32[finite] >= D_best[finite] - 1e-8).all()
        # ... and at most 1e-3 worse
        np.testing.assert_allclose(P32, P64, rtol=0, atol=1e-3)
        # the reported distance is the exact float64 distance of the reported neighbour
        ok = I32 >= 0
        np.testing.assert_allclose(P32[ok], want.D[np.flatnonzero(ok), I32[ok]], rtol=0, atol=1e-8)


# ------------------------------------------------------------------------------------ hypothesis


@st.composite
def well_conditioned_series(draw, min_size=5, max_size=60):
    """Integers on a grid of 1/8 (constant runs, repeats and ties are likely), scaled, with a
    few NaN/inf: every window is either exactly constant or far from the rounding floor."""
    n = draw(st.integers(min_size, max_size))
    values = draw(hnp.arrays(np.float64, n, elements=st.integers(-200, 200).map(lambda x: x / 8)))
    scale = draw(st.sampled_from([1.0, 1e-3, 37.5, 1e6]))
    T = values * scale
    k = draw(st.integers(0, 3))
    for _ in range(k):
        T[draw(st.integers(0, n - 1))] = draw(st.sampled_from(NONFINITE))
    return T


def _self_join_m(draw, n):
    top = max(m for m in range(3, n + 1) if n - m + 1 >= math.ceil(m / 4) + 2)
    return draw(st.integers(3, top))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hypothesis_self_join_agrees_with_reference(data):
    T = data.draw(well_conditioned_series())
    m = _self_join_m(data.draw, len(T))
    valid = ref.window_flags(T, m)[0]
    if not valid.any():  # STUMPY's answer: all inf, -1, and a warning
        with pytest.warns(pl.NoFiniteWindowWarning):
            mp = pl.matrix_profile(T, m)
        assert np.isinf(mp.P).all() and (mp.I == -1).all()
        return
    mp = pl.matrix_profile(T, m)
    check_profile_invariants(mp, len(T), m)
    assert_profile_matches(mp, ref.matrix_profile(T, m), copies=False)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hypothesis_ab_join_agrees_with_reference(data):
    TA = data.draw(well_conditioned_series(3, 40))
    TB = data.draw(well_conditioned_series(3, 40))
    m = data.draw(st.integers(3, min(len(TA), len(TB))))
    if not (ref.window_flags(TA, m)[0].any() and ref.window_flags(TB, m)[0].any()):
        with pytest.warns(pl.NoFiniteWindowWarning):
            mp = pl.matrix_profile(TA, m, T_B=TB)
        assert np.isinf(mp.P).all() and (mp.I == -1).all()
        return
    mp = pl.matrix_profile(TA, m, T_B=TB)
    check_profile_invariants(mp, len(TA), m, len(TB))
    assert_profile_matches(mp, ref.matrix_profile(TA, m, TB), copies=False)


wild_floats = hnp.arrays(
    np.float64,
    st.integers(3, 50),
    elements=st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(T=wild_floats, data=st.data())
def test_hypothesis_any_floats_never_crash(T, data):
    # arbitrary doubles (huge, subnormal, NaN, inf): a clear PatternlabError or a sane profile
    m = data.draw(st.integers(3, len(T)))
    dtype = data.draw(st.sampled_from(["float64", "float32"]))
    TB = data.draw(st.none() | wild_floats)
    try:
        with warnings.catch_warnings():  # a series without a finite window is answered with inf
            warnings.simplefilter("ignore", pl.NoFiniteWindowWarning)
            mp = pl.matrix_profile(T, m, T_B=TB, dtype=dtype)
    except pl.PatternlabError as exc:
        assert isinstance(exc, (pl.InvalidSignalError, pl.InvalidWindowError)), exc
        return
    check_profile_invariants(mp, len(T), m, None if TB is None else len(TB))
    valid_A = ref.window_valid(T, m)
    valid_B = valid_A if TB is None else ref.window_valid(TB, m)
    assert valid_B[mp.I[mp.I >= 0]].all()
    # a window has a finite distance iff it is finite and has a finite admissible neighbour
    admissible = valid_A[:, None] & valid_B[None, :]
    if TB is None:
        i, j = np.indices(admissible.shape)
        admissible &= np.abs(i - j) > math.ceil(m / 4)
    np.testing.assert_array_equal(np.isfinite(mp.P), admissible.any(axis=1))
    bound = 2 * math.sqrt(m) * (1 + 1e-12)  # z-normalized distances lie in [0, 2 sqrt(m)]
    assert (mp.P[np.isfinite(mp.P)] <= bound).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hypothesis_tiny_tiles_and_threads(data):
    import patternlab.profiles.matrix as profile

    T = data.draw(well_conditioned_series(8, 60))
    m = _self_join_m(data.draw, len(T))
    if not ref.window_flags(T, m)[0].any():
        return
    R = data.draw(st.integers(1, 9))
    K = data.draw(st.integers(1, 9))
    saved = dict(profile.TILES)
    try:
        profile.TILES[np.float64] = (R, K)
        one = pl.matrix_profile(T, m, threads=1)
        two = pl.matrix_profile(T, m, threads=min(2, numba.config.NUMBA_NUM_THREADS))
    finally:
        profile.TILES.update(saved)
    for name in ("P", "I", "PL", "IL", "PR", "IR"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name
    assert_profile_matches(one, ref.matrix_profile(T, m), copies=False)


def test_the_comparison_helper_is_strict():
    # the helper itself: a wrong neighbour, or the larger index of an exact tie, must fail
    T = np.concatenate([np.random.default_rng(16).standard_normal(30), np.zeros(4)])
    want = ref.matrix_profile(T, 4)
    mp = pl.matrix_profile(T, 4)
    assert_profile_matches(mp, want)
    wrong = (want.I + 5) % len(want.I)
    with pytest.raises(AssertionError):
        assert_neighbours_match(want.D[np.arange(len(wrong)), wrong], wrong, want)
    with pytest.raises(AssertionError, match="is nearer"):
        assert_neighbours_match(want.P + 1e-9, wrong, want)
    last = len(want.I) - 1  # a constant window: every left neighbour at sqrt(4) but the constant ones
    IL = want.IL.copy()
    assert want.IL[last] == 0 and want.D[last, 1] == want.D[last, 0] == 2.0
    IL[last] = 1
    with pytest.raises(AssertionError, match="exact tie"):
        assert_neighbours_match(want.PL, IL, want, "L")


@pytest.mark.parametrize("swap", [False, True])
def test_cancellation_never_hides_a_valid_neighbour(swap: bool) -> None:
    """Found by the hypothesis test above: after the series is scaled by its largest value
    (2.5e17), window 1 of T has a spread of 1e-18, and its running covariance with B's only valid
    window is pure cancellation error, far below the mark of invalid pairs. The search then
    points at an invalid window; the resolution must notice that a valid partner exists and
    measure it directly (rows when T is A, columns when T is B)."""
    T = np.array([2.4668231140757686e17, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    TB = np.array([0.0, np.inf, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    A, B = (TB, T) if swap else (T, TB)
    for dtype in ("float64", "float32"):
        mp = pl.matrix_profile(A, 9, T_B=B, dtype=dtype)
        valid_A, valid_B = ref.window_valid(A, 9), ref.window_valid(B, 9)
        assert np.array_equal(np.isfinite(mp.P), valid_A & valid_B.any()), (dtype, mp.P)
        np.testing.assert_allclose(mp.P, ref.matrix_profile(A, 9, B).P, atol=1e-6)
    if not swap:
        assert pl.matrix_profile(A, 9, T_B=B).I.tolist() == [2, 2]


def test_float32_falls_back_where_values_would_overflow_it() -> None:
    """Found by the hypothesis test above: a valid window with a spread of 1e-39 (after
    scaling) beside a value of 2e38 cannot be searched in float32 (the shift that brings the
    spread to 1 pushes the value past float32's range): float64 is used, without a warning."""
    T = np.zeros(7)
    TB = np.array([1.0, 0, 0, 0, 0, 0, 0, np.inf, 1.98498041e38])
    mp = pl.matrix_profile(T, 7, T_B=TB, dtype="float32")
    assert mp.P.tolist() == [pytest.approx(math.sqrt(7))] and mp.I.tolist() == [0]
    assert mp.dtype == "float64"
