"""Segmentation (FLUSS), as STUMPY's ``fluss``.

STUMPY's own cases (its ``tests/test_floss.py``: ``randint(0, 50, 50)`` indices, ``L = 5``,
``excl_factor = 1``, three regimes, its parabola as a custom idealized arc curve) against the naive
twins in ``reference.py`` and against ``stumpy.fluss``; then the default curve, hypothesis
indices, windows without a neighbour, a series with two regimes, and the errors.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import numpy.testing as npt
import pytest
import stumpy
from hypothesis import given, settings
from hypothesis import strategies as st

import patternlab as pl
import reference_beyond as ref

stumpy_floss = importlib.import_module("stumpy.floss")
I_RANDOM = np.random.default_rng(50).integers(0, 50, size=50, dtype=np.int64)


def stumpy_parabola(width: int) -> np.ndarray:
    """STUMPY's ``naive_iac`` (its tests' idealized arc curve)."""
    height = width / 2
    a = height / ((width / 2) * (width / 2))
    x = np.arange(width)
    return -(a * (x - width / 2) * (x - width / 2)) + height


def test_stumpy_nnmark() -> None:
    ours = pl.arc_curve(I_RANDOM)
    npt.assert_equal(ours, ref.arc_curve(I_RANDOM))
    npt.assert_equal(ours, stumpy_floss._nnmark(I_RANDOM))


def test_stumpy_fluss_with_their_curve() -> None:
    iac = stumpy_parabola(50)
    seg = pl.fluss(I_RANDOM, L=5, n_regimes=3, excl_factor=1, iac=iac)
    ref_cac = ref.corrected_arc_curve(I_RANDOM, 5, 1, iac)
    npt.assert_almost_equal(seg.cac, ref_cac)
    npt.assert_equal(seg.regimes, ref.regimes(ref_cac, 3, 5, 1))
    cac, locs = stumpy.fluss(I_RANDOM, 5, 3, excl_factor=1, custom_iac=iac)
    npt.assert_almost_equal(seg.cac, cac)
    npt.assert_equal(seg.regimes, locs)


@pytest.mark.parametrize(("L", "excl_factor", "n_regimes"), [(5, 1, 3), (2, 5, 2), (3, 0, 4)])
def test_default_curve_against_reference(L: int, excl_factor: int, n_regimes: int) -> None:
    seg = pl.fluss(I_RANDOM, L, n_regimes, excl_factor)
    ref_cac = ref.corrected_arc_curve(I_RANDOM, L, excl_factor)
    npt.assert_allclose(seg.cac, ref_cac, rtol=1e-14)
    npt.assert_equal(seg.regimes, ref.regimes(ref_cac, n_regimes, L, excl_factor))


@settings(max_examples=50, deadline=None)
@given(I=st.lists(st.integers(-1, 59), min_size=1, max_size=60), L=st.integers(1, 6),
       excl=st.integers(0, 3), n_regimes=st.integers(1, 4))
def test_hypothesis_indices(I: list[int], L: int, excl: int, n_regimes: int) -> None:
    Ia = np.array([min(x, len(I) - 1) for x in I], dtype=np.int64)
    seg = pl.fluss(Ia, L, n_regimes, excl)
    ref_cac = ref.corrected_arc_curve(Ia, L, excl)
    npt.assert_allclose(seg.cac, ref_cac, rtol=1e-14)
    npt.assert_equal(seg.regimes, ref.regimes(ref_cac, n_regimes, L, excl))
    assert np.all((seg.cac >= 0) & (seg.cac <= 1))


def _two_regimes(n: int = 3000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.where(t < n // 2, np.sin(t / 8), np.sign(np.sin(t / 15))) + rng.normal(0, 0.1, n)


def test_series_with_two_regimes_against_stumpy() -> None:
    T = _two_regimes()
    mp = pl.matrix_profile(T, 100)
    seg = pl.segments(mp, n_regimes=2)
    assert abs(seg.regimes[0] - 1500) < 100
    npt.assert_array_equal(pl.segments(T, 100, 2).cac, seg.cac)
    with warnings.catch_warnings():  # STUMPY's own numpy/scipy warnings
        warnings.simplefilter("ignore")
        their_iac = stumpy_floss._iac(len(mp), seed=0)  # what stumpy.fluss fits by default
        cac, locs = stumpy.fluss(mp.I, 100, 2, custom_iac=their_iac.copy())
    npt.assert_allclose(seg.cac, cac, atol=0.03)  # the two idealized curves differ by ~1%
    npt.assert_equal(seg.regimes, locs)
    exact = pl.segments(mp, n_regimes=2, iac=their_iac)
    npt.assert_allclose(exact.cac, cac, rtol=1e-15)


def test_windows_without_neighbour_have_no_arc() -> None:
    T = _two_regimes(1200, 1)
    T[600:650] = np.nan
    mp = pl.matrix_profile(T, 50)
    assert (mp.I < 0).any()
    seg = pl.segments(mp, n_regimes=3, L=20, excl_factor=2)
    ref_cac = ref.corrected_arc_curve(mp.I, 20, 2)
    npt.assert_allclose(seg.cac, ref_cac, rtol=1e-14)
    npt.assert_equal(seg.regimes, ref.regimes(ref_cac, 3, 20, 2))


def test_errors() -> None:
    T = _two_regimes(500)
    mp = pl.matrix_profile(T, 20)
    with pytest.raises(pl.InvalidParameterError, match="m=30 differs"):
        pl.segments(mp, 30)
    with pytest.raises(pl.InvalidParameterError, match="pass m="):
        pl.segments(T)
    with pytest.raises(pl.InvalidParameterError, match="AB-join"):
        pl.segments(pl.matrix_profile(T, 20, T[::-1]), n_regimes=2)
    with pytest.raises(pl.InvalidParameterError, match="n_regimes"):
        pl.segments(mp, n_regimes=0)
    with pytest.raises(pl.InvalidParameterError, match="iac"):
        pl.segments(mp, iac=np.ones(3))
    with pytest.raises(pl.InvalidParameterError, match="window indices"):
        pl.fluss(np.ones(10), 2, 2)
    with pytest.raises(pl.InvalidParameterError, match="index 10"):
        pl.fluss(np.arange(1, 11), 2, 2)
    with pytest.raises(pl.InvalidWindowError):
        pl.segments(T, 600)
