"""``distance_profile`` against the naive reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import patternlab as pl
import reference as ref
from checks import assert_distances_equal


def _cases():
    rng = np.random.default_rng(21)
    T = rng.standard_normal(200)
    yield "random", T[50:70], T
    yield "query_from_elsewhere", rng.standard_normal(9), T
    yield "m=3", T[:3], T
    yield "len(Q)=len(T)", T[:40], T[:40].copy()
    T_nan = T.copy()
    T_nan[[0, 77, 78, 199]] = [np.nan, np.inf, -np.inf, np.nan]
    yield "nonfinite_T", T[100:116], T_nan
    T_const = np.concatenate([rng.standard_normal(30), np.full(20, 3.0), rng.standard_normal(30)])
    yield "constant_windows", T_const[:8], T_const
    yield "constant_query", np.full(8, -2.0), T_const
    yield "offset_1e6", 1e6 + T[10:30], 1e6 + T
    yield "cancellation", np.array([4.0, 7, 13, 16]) + 1e8, np.array([4.0, 7, 13, 16, 10]) + 1e8
    yield "wide", np.array([9.0, 8100, -60]), np.array([584.0, -11, 23, 79, 1001, 0, -19])
    yield "uniform_1000", rng.uniform(-1000, 1000, 8), rng.uniform(-1000, 1000, 64)
    yield "near_flat_query", 5.0 + np.array([0, 1, 0, 2, 1]) * np.finfo(float).eps * 4, T_const


CASES = {name: (Q, T) for name, Q, T in _cases()}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_reference(name):
    Q, T = CASES[name]
    got = pl.distance_profile(Q, T)
    assert got.dtype == np.float64 and got.shape == (len(T) - len(Q) + 1,)
    assert_distances_equal(got, ref.distance_profile(Q, T))


def test_constant_query_rules():
    T = np.concatenate([np.zeros(6), [1.0, 2.0, 0.5, 3.0, 1.0]])
    d = pl.distance_profile([7.0, 7.0, 7.0], T)
    np.testing.assert_array_equal(
        d, [0, 0, 0, 0, math.sqrt(3), math.sqrt(3), math.sqrt(3), math.sqrt(3), math.sqrt(3)]
    )
    d = pl.distance_profile([1.0, 2.0, 3.0], T)
    np.testing.assert_array_equal(d[:4], math.sqrt(3))


def test_finds_its_own_window():
    T = np.sin(np.linspace(0, 10 * np.pi, 500)) + 0.01 * np.random.default_rng(0).standard_normal(500)
    for i in (0, 123, 450):
        d = pl.distance_profile(T[i : i + 50], T)
        assert int(np.argmin(d)) == i


def test_distance_of_a_window_to_itself_is_exactly_zero():
    # PEERS: "a window's distance to itself exactly 0"; kernels/exact.py: "an exact repeat is at
    # distance exactly 0"
    T = np.random.default_rng(22).standard_normal(100)
    m = 12
    self_d = [pl.distance_profile(T[i : i + m], T)[i] for i in range(len(T) - m + 1)]
    np.testing.assert_array_equal(self_d, 0.0)


def test_symmetric_to_1e_14():
    T = np.random.default_rng(23).standard_normal(60)
    m = 7
    ell = len(T) - m + 1
    D = np.array([pl.distance_profile(T[i : i + m], T) for i in range(ell)])
    np.testing.assert_allclose(D, D.T, rtol=0, atol=1e-14)
    assert_distances_equal(D, ref.distance_matrix(T, m, exclusion=False))


def test_scale_and_offset_invariance():
    rng = np.random.default_rng(24)
    T = rng.standard_normal(80)
    Q = rng.standard_normal(10)
    base = pl.distance_profile(Q, T)
    for a, b in [(3.0, 0.0), (1e-5, 7.0), (2.0**30, -1e3)]:
        np.testing.assert_allclose(pl.distance_profile(a * Q + b, a * T + b), base, rtol=0, atol=1e-8)


@settings(max_examples=100, deadline=None)
@given(
    T=hnp.arrays(np.float64, st.integers(3, 50), elements=st.integers(-100, 100).map(lambda x: x / 4)),
    data=st.data(),
)
def test_hypothesis_matches_reference(T, data):
    m = data.draw(st.integers(3, len(T)))
    start = data.draw(st.integers(0, len(T) - m))
    Q = T[start : start + m].copy()
    bad = data.draw(st.lists(st.integers(0, len(T) - 1), max_size=3))
    T = T.copy()
    T[bad] = np.nan
    if not ref.window_valid(T, m).any():  # STUMPY's answer: all inf, with a warning
        with pytest.warns(pl.NoFiniteWindowWarning):
            assert np.isinf(pl.distance_profile(Q, T)).all()
        return
    assert_distances_equal(pl.distance_profile(Q, T), ref.distance_profile(Q, T))
