"""The pan matrix profile (STUMPY's ``stimp``) and the window suggestions.

STUMPY's own cases (its ``tests/test_stimp.py``, exact profiles: the fixed 7-sample series and
uniform(-1000, 1000) data of 64 samples, ``min_m = 3``, with and without ``max_m = 5``,
``assert_almost_equal``) against the naive twin in ``reference.py`` and against ``stumpy.stimp``
itself, also part way (anytime); then the suggestions on planted structure, and the errors.
The Dask runs are in ``test_beyond_dask.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.testing as npt
import pytest
import stumpy

import patternlab as pl
import reference_beyond as ref

CASES = [np.array([584, -11, 23, 79, 1001, 0, -19], dtype=np.float64),
         np.random.default_rng(64).uniform(-1000, 1000, 64)]


def _stimp(T: np.ndarray, min_m: int, max_m: int | None, updates: int) -> stumpy.stimp:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pan = stumpy.stimp(T, min_m=min_m, max_m=max_m, step=1, percentage=1.0, pre_scrump=False)
        for _ in range(updates):
            pan.update()
    return pan


@pytest.mark.parametrize("T", CASES)
@pytest.mark.parametrize("max_m", [None, 5])
def test_stumpy_stimp_100_percent(T: np.ndarray, max_m: int | None) -> None:
    ours = pl.pan_profile(T, 3, max_m)
    theirs = _stimp(T, 3, max_m, len(T) - 3 + 1)
    npt.assert_equal(ours.M, theirs.M_)
    for a, b in zip(ours.P, theirs.P_):
        npt.assert_almost_equal(a, b)
    image = ours.pan()
    npt.assert_almost_equal(image, theirs.PAN_)
    npt.assert_almost_equal(image, ref.pan_image(T, ours.windows))


@pytest.mark.parametrize("done", [1, 2, 5])
def test_anytime_part_way(done: int) -> None:
    T = CASES[1]
    ours = pl.pan_profile(T, 3, 30, n=done)
    assert ours.n_processed == done
    theirs = _stimp(T, 3, 30, done)
    npt.assert_almost_equal(ours.pan(), theirs.PAN_)
    npt.assert_almost_equal(ours.pan(), ref.pan_image(T, ours.windows, done))
    ours.update(3)
    assert ours.n_processed == done + 3
    full = ours.run()
    assert full.n_processed == 28 and "28 computed" in repr(full)
    npt.assert_almost_equal(full.pan(), ref.pan_image(T, full.windows))


def test_pan_options() -> None:
    T = np.cumsum(np.random.default_rng(1).standard_normal(300))
    T[100:110] = np.nan
    pan = pl.pan_profile(T, 10, 60, step=10)
    raw = pan.pan(normalize=False, contrast=False, binary=False, clip=False)
    P = pl.matrix_profile(T, 30).P
    row = list(pan.windows).index(30)
    npt.assert_array_equal(raw[row, :len(P)][np.isfinite(P)], P[np.isfinite(P)])
    soft = pan.pan(binary=False)
    assert np.all((soft >= 0) & (soft <= 1)) and len(np.unique(soft)) > 2


def test_suggestions() -> None:
    rng = np.random.default_rng(0)
    T = np.cumsum(rng.standard_normal(3000))
    T[500:650] = T[2000:2150] = np.cumsum(rng.standard_normal(150)) * 3  # a 150-sample motif
    pan = pl.pan_profile(T, 50, 300, step=10)
    assert pan.suggest(1, by="motif") == [150]
    t = np.arange(4000)
    periodic = np.sin(2 * np.pi * t / 100) ** 9 + rng.normal(0, 0.05, 4000)  # a spike every 100
    assert 80 <= pl.suggest_windows(pl.pan_profile(periodic, 10, 300, step=10))[0] <= 120


def test_ecg_suggestions() -> None:
    ecg = pl.datasets.ecg()
    pan = pl.pan_profile(ecg.signal[:10_800], 20, 720, step=20)  # 30 s, windows of 56 ms to 2 s
    assert pan.suggest(1) == [80]  # about 0.22 s: the QRS complex and its surroundings
    assert pan.suggest(1, by="motif") == [360]  # 1 s: a whole beat


def test_errors() -> None:
    T = np.random.default_rng(2).standard_normal(100)
    with pytest.raises(pl.InvalidWindowError, match="min_m"):
        pl.pan_profile(T, 2)
    with pytest.raises(pl.InvalidParameterError, match="min_m=90"):
        pl.pan_profile(T, 90, 95)
    with pytest.raises(pl.InvalidParameterError, match="step"):
        pl.pan_profile(T, 3, 10, step=0)
    pan = pl.pan_profile(T, 3, 10, n=1)
    with pytest.raises(pl.InvalidParameterError, match="two computed windows"):
        pan.suggest()
    with pytest.raises(pl.InvalidParameterError, match="criterion"):
        pan.update().suggest(by="best")
    with pytest.raises(pl.InvalidParameterError, match="PanProfile"):
        pl.suggest_windows(T)  # type: ignore[arg-type]
    with pytest.raises(pl.InvalidParameterError, match="threshold"):
        pan.pan(threshold="high")  # type: ignore[arg-type]


def test_a_series_too_holed_for_the_longest_window() -> None:
    T = np.random.default_rng(3).standard_normal(400)
    T[::50] = np.nan  # finite stretches of 49 samples
    with pytest.raises(pl.InvalidSignalError, match="m=60"):
        pl.pan_profile(T, 10, 60, step=10)
    assert pl.pan_profile(T, 10, 40, step=10).n_processed == 4
