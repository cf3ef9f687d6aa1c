"""STUMPY's surface beyond ``stump``: ``k`` nearest neighbours, non-normalized (``aamp``) profiles,
user-chosen constant windows, ``mass`` / ``mass_absolute``, motif sets and pandas/polars input.

The cases are STUMPY's own (tests/test_stump.py, test_aamp.py, test_core.py, test_motifs.py,
test_precision.py): their inputs and their tolerance (``assert_almost_equal``, 7 decimals),
checked against our naive twins in ``reference.py`` and, where STUMPY computes the same thing,
against STUMPY itself.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import numpy.testing as npt
import pandas as pd
import polars
import pytest
import stumpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import patternlab as pl
import reference as ref

_rng = np.random.default_rng(20)
# STUMPY's test_data (its uniform series drawn here from a seeded generator)
PAIRS = {
    "wide": (np.array([9.0, 8100, -60, 7]), np.array([584.0, -11, 23, 79, 1001, 0, -19])),
    "uniform": (_rng.uniform(-1000, 1000, 8), _rng.uniform(-1000, 1000, 64)),
}
# STUMPY's substitution locations and values
LOCATIONS = [slice(0, 0), 0, -1, slice(1, 3), [0, 3]]
VALUES = [np.nan, np.inf]


def _inf_to_zero(x: np.ndarray) -> np.ndarray:
    """STUMPY's ``naive.replace_inf``."""
    x = np.array(x, dtype=np.float64)
    x[np.isinf(x)] = 0.0
    return x


def _assert_profile(mp: pl.MatrixProfile, want: tuple[np.ndarray, ...], indices: bool = True) -> None:
    P, I, PL, IL, PR, IR = want
    npt.assert_almost_equal(_inf_to_zero(mp.P), _inf_to_zero(P))
    npt.assert_almost_equal(_inf_to_zero(mp.PL), _inf_to_zero(PL))
    npt.assert_almost_equal(_inf_to_zero(mp.PR), _inf_to_zero(PR))
    if indices:
        npt.assert_array_equal(mp.I, I)
        npt.assert_array_equal(mp.IL, IL)
        npt.assert_array_equal(mp.IR, IR)


def _stumpy_columns(st: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """``(P, I, IL, IR)`` of STUMPY's object array for ``k`` neighbours."""
    P = st[:, :k].astype(np.float64)
    I = st[:, k:2 * k].astype(np.int64)
    return P, I, st[:, 2 * k].astype(np.int64), st[:, 2 * k + 1].astype(np.int64)


# ---------------------------------------------------------------------- k nearest neighbours


@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("k", [1, 2, 3])  # k=1: the nearest-neighbour kernel, in the k shapes
def test_knn_self_join_as_stumpy(name: str, k: int) -> None:
    _, T = PAIRS[name]
    want = ref.matrix_profile_k(T, 3, k)
    for series in (T, pd.Series(T), polars.Series(T)):
        _assert_profile(pl.matrix_profile(series, 3, k=k), want)
    P, I, IL, IR = _stumpy_columns(stumpy.stump(T, 3, k=k), k)
    npt.assert_almost_equal(_inf_to_zero(want[0]), _inf_to_zero(P))
    npt.assert_array_equal(want[1], I)
    npt.assert_array_equal(want[3], IL)
    npt.assert_array_equal(want[5], IR)


@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_knn_ab_join_as_stumpy(name: str, k: int) -> None:
    TA, TB = PAIRS[name]
    want = ref.matrix_profile_k(TA, 3, k, TB)
    _assert_profile(pl.matrix_profile(TA, 3, TB, k=k), want)
    _assert_profile(pl.matrix_profile(pd.Series(TA), 3, pd.Series(TB), k=k), want)
    P, I, _, _ = _stumpy_columns(stumpy.stump(TA, 3, TB, ignore_trivial=False, k=k), k)
    npt.assert_almost_equal(_inf_to_zero(want[0]), _inf_to_zero(P))
    npt.assert_array_equal(want[1], I)


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("where", range(len(LOCATIONS)))
def test_knn_nonfinite_self_and_ab_joins(value: float, where: int) -> None:
    TA, TB = PAIRS["uniform"]
    T = TB.copy()
    T[LOCATIONS[where]] = value
    _assert_profile(pl.matrix_profile(T, 3, k=3), ref.matrix_profile_k(T, 3, 3))
    A = TA.copy()
    A[LOCATIONS[-1 - where]] = value
    _assert_profile(pl.matrix_profile(A, 3, T, k=2), ref.matrix_profile_k(A, 3, 2, T))


def test_knn_nan_window_with_zero_mean() -> None:
    T = np.array([-1, 0, 1, np.inf, 1, 0, -1])
    _assert_profile(pl.matrix_profile(T, 3, k=2), ref.matrix_profile_k(T, 3, 2))


def test_knn_first_column_is_the_nearest_neighbour_profile() -> None:
    T = np.cumsum(np.random.default_rng(3).standard_normal(3000))
    T[[100, 1500]] = np.nan
    one = pl.matrix_profile(T, 40)
    many = pl.matrix_profile(T, 40, k=4)
    npt.assert_allclose(many.P[:, 0], one.P, rtol=0, atol=1e-9)
    npt.assert_array_equal(many.I[:, 0], one.I)
    npt.assert_allclose(many.PL, one.PL, rtol=0, atol=1e-9)
    npt.assert_allclose(many.PR, one.PR, rtol=0, atol=1e-9)
    assert (np.diff(np.where(np.isinf(many.P), 1e300, many.P), axis=1) >= 0).all()
    assert many.motifs(2) == one.motifs(2) and many.discords(2) == one.discords(2)
    assert many.k == 4 and "k=4" in repr(many)
    # k=1 comes from the nearest-neighbour kernel (float64), in the k-neighbour shapes: the same
    # values as the first column of the k-neighbour kernel's lists, bit for bit
    single = pl.matrix_profile(T, 40, k=1)
    assert single.P.shape == single.I.shape == (len(one), 1) and single.k == 1
    npt.assert_array_equal(single.P[:, 0], one.P)
    npt.assert_array_equal(single.P[:, 0], many.P[:, 0])
    npt.assert_array_equal(single.I[:, 0], many.I[:, 0])
    for side in ("PL", "IL", "PR", "IR"):
        npt.assert_array_equal(getattr(single, side), getattr(many, side))


@pytest.mark.parametrize("tiles", [None, (64, 48)], ids=["default tiles", "small tiles"])
def test_knn_longer_series_as_the_reference(tiles, monkeypatch) -> None:
    """A series longer than a tile's band of diagonals: most rows are folded two at a time
    (:func:`patternlab.kernels.neighbours._row_pair`), the others one at a time; the lists are the
    naive reference's, with a constant stretch and a NaN, on one thread and on two alike."""
    import patternlab.profiles._neighbours as nbm

    if tiles is not None:
        monkeypatch.setattr(nbm, "TILES", {np.float64: tiles, np.float32: tiles})
    T = np.cumsum(np.random.default_rng(7).standard_normal(1400))
    T[300:340] = 2.0
    T[900] = np.nan
    want = ref.matrix_profile_k(T, 20, 3)
    one = pl.matrix_profile(T, 20, k=3, threads=1)
    _assert_profile(one, want)
    monkeypatch.setattr("patternlab._numba.PARALLEL_MIN_WORK", 0)  # the threaded kernel, even here
    two = pl.matrix_profile(T, 20, k=3, threads=2)
    for name in ("P", "I", "PL", "IL", "PR", "IR"):
        npt.assert_array_equal(getattr(two, name), getattr(one, name))


def test_knn_more_neighbours_than_windows_and_float32() -> None:
    T = np.random.default_rng(4).standard_normal(12)
    mp = pl.matrix_profile(T, 4, k=12)
    _assert_profile(mp, ref.matrix_profile_k(T, 4, 12))
    assert (mp.I[:, -1] == -1).all() and np.isinf(mp.P[:, -1]).all()
    T = np.cumsum(np.random.default_rng(5).standard_normal(600))
    f32 = pl.matrix_profile(T, 20, k=3, dtype="float32")
    want = ref.matrix_profile_k(T, 20, 3)
    assert f32.dtype == "float32"
    npt.assert_allclose(f32.P, want[0], rtol=0, atol=1e-3)


def test_knn_constant_regions_in_both_directions() -> None:
    z20o5 = np.concatenate([np.zeros(20), np.ones(5)])
    z10o10 = np.concatenate([np.zeros(10), np.ones(10)])
    _assert_profile(pl.matrix_profile(z20o5, 3, k=2), ref.matrix_profile_k(z20o5, 3, 2))
    for A, B in ((z20o5, z10o10), (z10o10, z20o5)):
        _assert_profile(pl.matrix_profile(A, 3, B, k=3), ref.matrix_profile_k(A, 3, 3, B),
                        indices=False)


# ---------------------------------------------------------------------------- aamp (p-norm)


@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_aamp_self_and_ab_join_as_stumpy(name: str, p: float) -> None:
    TA, TB = PAIRS[name]
    want = ref.aamp(TB, 3, p=p)
    _assert_profile(pl.matrix_profile(TB, 3, normalize=False, p=p), want)
    _assert_profile(pl.matrix_profile(pd.Series(TB), 3, normalize=False, p=p), want)
    st = stumpy.aamp(TB, 3, p=p)
    npt.assert_almost_equal(_inf_to_zero(want[0]), _inf_to_zero(st[:, 0].astype(float)))
    npt.assert_array_equal(want[1], st[:, 1].astype(np.int64))
    want = ref.aamp(TA, 3, TB, p=p)
    mp = pl.matrix_profile(TA, 3, TB, normalize=False, p=p)
    _assert_profile(mp, want)
    assert not mp.normalize and mp.p == p and "non-normalized" in repr(mp)


@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("k", [2, 3])
def test_aamp_knn_as_stumpy(name: str, k: int) -> None:
    TA, TB = PAIRS[name]
    for p in (1.0, 2.0, 3.0):
        want = ref.aamp(TB, 3, p=p, k=k)
        _assert_profile(pl.matrix_profile(TB, 3, normalize=False, p=p, k=k), want)
        _assert_profile(pl.matrix_profile(TA, 3, TB, normalize=False, p=p, k=k),
                        ref.aamp(TA, 3, TB, p=p, k=k))
    P, I, _, _ = _stumpy_columns(stumpy.aamp(TB, 3, p=2.0, k=k), k)
    want = ref.aamp(TB, 3, p=2.0, k=k)
    npt.assert_almost_equal(_inf_to_zero(want[0]), _inf_to_zero(P))
    npt.assert_array_equal(want[1], I)


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("where", range(len(LOCATIONS)))
def test_aamp_nonfinite(value: float, where: int) -> None:
    TA, TB = PAIRS["uniform"]
    T = TB.copy()
    T[LOCATIONS[where]] = value
    _assert_profile(pl.matrix_profile(T, 3, normalize=False), ref.aamp(T, 3))
    A = TA.copy()
    A[LOCATIONS[-1 - where]] = value
    _assert_profile(pl.matrix_profile(A, 3, T, normalize=False, p=1.0), ref.aamp(A, 3, T, p=1.0))


def test_aamp_constant_identical_and_wide_inputs() -> None:
    rng = np.random.default_rng(6)
    z20o5 = np.concatenate([np.zeros(20), np.ones(5)])
    _assert_profile(pl.matrix_profile(z20o5, 3, normalize=False), ref.aamp(z20o5, 3), indices=False)
    TA, TB = rng.random(20), rng.random(20)
    identical = rng.random(8)
    TA[1:9] = identical
    TB[11:19] = identical
    mp = pl.matrix_profile(TA, 3, TB, normalize=False)
    _assert_profile(mp, ref.aamp(TA, 3, TB), indices=False)
    assert (mp.P[1:7] == 0.0).all()  # exact repeats at distance exactly 0
    T = np.array([-1, 0, 1, np.inf, 1, 0, -1])
    _assert_profile(pl.matrix_profile(T, 3, normalize=False), ref.aamp(T, 3))
    big = np.array([3e300, -2e300, 1e300, 3e300, -2e300, 1.5e300, 0.0])  # no |x|**p overflows
    npt.assert_allclose(pl.matrix_profile(big, 3, normalize=False).P / 1e300,
                        ref.aamp(big / 1e300, 3)[0], rtol=1e-12)


def test_aamp_long_series_and_large_p() -> None:
    # a long random walk far from 0 with NaN inside: large p makes the running sums' terms span
    # many orders of magnitude (rows whose search drifted are measured directly)
    T = np.cumsum(np.random.default_rng(7).standard_normal(220)) + 1e4
    T[[30, 150, 151]] = np.nan
    for p, k in ((2.0, None), (1.5, 2), (7.0, None)):
        want = ref.aamp(T, 10, p=p, k=k)
        mp = pl.matrix_profile(T, 10, normalize=False, p=p, k=k)
        npt.assert_allclose(mp.P, want[0], rtol=1e-9, atol=1e-9)
        npt.assert_array_equal(mp.I, want[1])


# ------------------------------------------------------------------------- mass, mass_absolute


MASS = {
    "ramp": (np.array([-1.0, 1, 2]), np.arange(5.0)),
    "wide": (np.array([9.0, 8100, -60]), np.array([584.0, -11, 23, 79, 1001])),
    "uniform": (_rng.uniform(-1000, 1000, 8), _rng.uniform(-1000, 1000, 64)),
}


@pytest.mark.parametrize("name", list(MASS))
def test_mass_as_stumpy(name: str) -> None:
    Q, T = MASS[name]
    D = pl.distance_profile(Q, T)
    npt.assert_almost_equal(D, ref.distance_profile(Q, T))
    npt.assert_almost_equal(D, stumpy.mass(Q, T))
    for bad in (np.nan, np.inf):
        Tb = T.copy()
        Tb[1] = bad
        npt.assert_almost_equal(_inf_to_zero(pl.distance_profile(Q, Tb)),
                                _inf_to_zero(ref.distance_profile(Q, Tb)))
        Qb = Q.copy()
        Qb[1] = bad
        with pytest.warns(pl.NoFiniteWindowWarning, match="Q has no window"):
            D = pl.distance_profile(Qb, T)
        assert np.isinf(D).all()
        npt.assert_array_equal(D, stumpy.mass(Qb, T))


@pytest.mark.parametrize("name", list(MASS))
def test_mass_absolute_as_stumpy(name: str) -> None:
    Q, T = MASS[name]
    for p in (1.0, 1.5, 2.0, 3.0):
        D = pl.distance_profile(Q, T, normalize=False, p=p)
        npt.assert_almost_equal(D, ref.pnorm_profile(Q, T, p))
        npt.assert_almost_equal(D, np.linalg.norm(np.lib.stride_tricks.sliding_window_view(T, len(Q)) - Q,
                                                  axis=1, ord=p))
    npt.assert_almost_equal(pl.distance_profile(Q, T, normalize=False), stumpy.core.mass_absolute(Q, T))
    Tb = T.copy()
    Tb[1] = np.nan
    npt.assert_almost_equal(_inf_to_zero(pl.distance_profile(Q, Tb, normalize=False)),
                            _inf_to_zero(ref.pnorm_profile(Q, Tb)))
    Qb = Q.copy()
    Qb[1] = np.inf
    with pytest.warns(pl.NoFiniteWindowWarning):
        assert np.isinf(pl.distance_profile(Qb, T, normalize=False)).all()


def test_self_distance_is_zero_and_symmetric() -> None:
    # STUMPY's test_precision: a window's distance to itself is exactly 0, d(i, j) == d(j, i)
    T = np.random.default_rng(332).uniform(-1000.0, 1000.0, 64)
    m = 3
    D = np.array([pl.distance_profile(T[i:i + m], T) for i in range(len(T) - m + 1)])
    assert (np.diag(D) == 0.0).all()
    npt.assert_allclose(D, D.T, rtol=0, atol=1e-14)
    A = np.array([pl.distance_profile(T[i:i + m], T, normalize=False) for i in range(len(T) - m + 1)])
    assert (np.diag(A) == 0.0).all()
    npt.assert_array_equal(A, A.T)


# ---------------------------------------------------------------------- T_subseq_isconstant


@pytest.mark.parametrize("name", list(PAIRS))
def test_custom_isconstant_as_stumpy(name: str) -> None:
    TA, TB = PAIRS[name]
    func = functools.partial(ref.stddev_isconstant, quantile_threshold=0.05)
    flags = func(TB, 3)
    want = ref.matrix_profile_k(TB, 3, None, constant_A=flags)
    for spec in (flags, func):
        _assert_profile(pl.matrix_profile(TB, 3, T_subseq_isconstant=spec), want)
    st = stumpy.stump(TB, 3, T_A_subseq_isconstant=flags)
    npt.assert_almost_equal(_inf_to_zero(want[0]), _inf_to_zero(st[:, 0].astype(float)))
    fA, fB = func(TA, 3), flags
    want = ref.matrix_profile_k(TA, 3, 2, TB, constant_A=fA, constant_B=fB)
    _assert_profile(pl.matrix_profile(TA, 3, TB, k=2, T_subseq_isconstant=func,
                                      T_B_subseq_isconstant=fB), want)


def test_isconstant_in_distance_profile_and_match() -> None:
    # STUMPY's test_match_isconstant: T's flags from a function, then Q flagged constant too
    for Q, T in ((np.array([0.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.0, -1.0, -1.0, 0.0, 1.0, 0.0, -0.5])),
                 (np.array([0.0, 1.0, 2.0]), np.array([0.1, 1.0, 2.0, 3.0, -1.0, 0.1, 1.0, 2.0, -0.5])),
                 MASS["uniform"]):
        func = functools.partial(ref.stddev_isconstant, quantile_threshold=0.05)
        m = len(Q)
        for q_flag in (None, np.array([True])):
            D_ref = ref.distance_profile(Q, T, constant_T=func(T, m),
                                         constant_Q=None if q_flag is None else q_flag)
            if q_flag is None:  # the reference's default rule for Q
                D_ref = ref.distance_profile(Q, T, constant_T=func(T, m), constant_Q=[ref.is_constant(Q)])
            D = pl.distance_profile(Q, T, T_subseq_isconstant=func, Q_subseq_isconstant=q_flag)
            npt.assert_almost_equal(D, D_ref)
            want = ref.find_matches(D_ref, ref.exclusion_zone(m), 0.3 + 1e-8)
            got = pl.match(Q, T, lambda D: 0.3, T_subseq_isconstant=func, Q_subseq_isconstant=q_flag)
            npt.assert_almost_equal(np.array(got, dtype=float).reshape(-1, 2),
                                    np.array(want, dtype=float).reshape(-1, 2))
            theirs = stumpy.match(Q, T, max_distance=lambda D: 0.3, T_subseq_isconstant=func,
                                  Q_subseq_isconstant=q_flag)
            npt.assert_almost_equal(np.array(got, dtype=float).reshape(-1, 2),
                                    theirs.astype(float).reshape(-1, 2))


def test_isconstant_rules() -> None:
    T = np.r_[np.zeros(10), np.random.default_rng(8).standard_normal(30)]
    m = 5
    never = np.zeros(len(T) - m + 1, dtype=bool)
    mp = pl.matrix_profile(T, m, T_subseq_isconstant=never)  # equal samples stay constant
    _assert_profile(mp, ref.matrix_profile_k(T, m, None, constant_A=never))
    assert mp.P[0] == 0.0
    everything = ~never
    mp = pl.matrix_profile(T, m, T_subseq_isconstant=everything)
    assert (mp.P == 0.0).all()
    with pytest.raises(pl.InvalidParameterError, match=r"shape \(36,\)"):
        pl.matrix_profile(T, m, T_subseq_isconstant=never[:-1])
    with pytest.raises(pl.InvalidParameterError, match="boolean"):
        pl.matrix_profile(T, m, T_subseq_isconstant=never.astype(int))
    with pytest.raises(pl.InvalidParameterError, match="raised ZeroDivisionError"):
        pl.matrix_profile(T, m, T_subseq_isconstant=lambda a, w: 1 / 0)
    with pytest.raises(pl.InvalidParameterError, match="without T_B"):
        pl.matrix_profile(T, m, T_B_subseq_isconstant=never)
    with pytest.raises(pl.InvalidParameterError, match="z-normalized"):
        pl.matrix_profile(T, m, normalize=False, T_subseq_isconstant=never)


# -------------------------------------------------------------------------------- motif sets


def _as_sets(found: list[pl.MotifSet]) -> list[tuple[list[float], list[int]]]:
    return [(s.distances.tolist(), s.indices.tolist()) for s in found]


def _same_sets(found: list[pl.MotifSet], want: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """The same windows in the same order, distances to 1e-9 (the reference measures them
    separately)."""
    assert [s.indices.tolist() for s in found] == [[int(x) for x in i] for _, i in want]
    for s, (d, _) in zip(found, want):
        npt.assert_allclose(s.distances, d, rtol=0, atol=1e-9)


def test_motif_sets_one_motif_as_stumpy() -> None:
    # STUMPY's test_motifs_one_motif: [0 1 0] at 0, 5 and 9
    T = np.array([0.0, 1.0, 0.0, -1.0, -1.0, 0.0, 1.0, 0.0, -0.5, 2.0, 3.0, 2.0])
    found = pl.motifs(T, 3, 1, max_distance=lambda D: 0.001, cutoff=np.inf)
    assert [s.indices.tolist() for s in found] == [[0, 5, 9]]
    npt.assert_almost_equal(found[0].distances, [0.0, 0.0, 0.0])
    d, i = stumpy.motifs(T, stumpy.stump(T, 3)[:, 0].astype(float), max_distance=lambda D: 0.001,
                         max_motifs=1, cutoff=np.inf)
    npt.assert_array_equal(i, [s.indices for s in found])
    npt.assert_almost_equal(d, [s.distances for s in found])


def test_motif_sets_two_motifs_and_max_matches() -> None:
    # STUMPY's test_motifs_two_motifs: steps at 10, 110, 210 and slopes at 70, 170
    T = np.random.RandomState(1234).normal(size=300)
    m = 20
    T[10:30] = 1
    T[12:28] = 2
    T[110:130] = 3
    T[112:128] = 6
    T[120] = 6.6
    T[210:230] = 1
    T[212:228] = 2
    T[220] = 1.9
    T[70:90] = np.arange(m) * 0.1
    T[170:190] = np.arange(m) * 0.1
    found = pl.motifs(T, m, 2, max_distance=0.5, cutoff=np.inf)
    assert [sorted(s.indices.tolist()) for s in found] == [[70, 170], [10, 110, 210]]
    npt.assert_almost_equal(found[1].distances, [0.0, ref.znorm_distance(T[10:30], T[210:230]),
                                                 ref.znorm_distance(T[10:30], T[110:130])])
    d, _ = stumpy.motifs(T, stumpy.stump(T, m)[:, 0].astype(float), max_motifs=2, max_distance=0.5,
                         cutoff=np.inf)  # its indices within a set may come in another order
    npt.assert_almost_equal(np.nan_to_num(d), [np.r_[s.distances, [0.0] * (3 - len(s.indices))]
                                               for s in found])
    _same_sets(found, ref.motif_sets(T, m, 2, max_distance=0.5, cutoff=np.inf))
    # STUMPY's test_motifs_max_matches: at most three occurrences a set
    T = np.array([0.0, 1.0, 0.0, 2.3, -1.0, -1.0, -2.0, 0.0, 1.0, 0.0, -2.0, -1.0, -1.03, -2.0, -0.5,
                  2.0, 3.0, 2.04, 2.3, 2.0, 3.0, 3.0])
    found = pl.motifs(T, 3, 2, max_matches=3, max_distance=0.05, cutoff=np.inf)
    npt.assert_almost_equal([s.distances[:2] for s in found],
                            [[0.0, 0.0], [0.0, ref.znorm_distance(T[4:7], T[11:14])]])
    found = pl.motifs(T, 3, 2, max_matches=2, max_distance=np.inf, cutoff=np.inf)
    assert [s.indices.tolist() for s in found] == [[0, 7], [4, 11]]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_motif_sets_agree_with_the_reference(seed: int) -> None:
    # STUMPY's test_motifs inputs (random 64 samples, m=3, 3 motifs, 4 matches, no limits),
    # with our non-overlapping semantics
    rng = np.random.default_rng(seed)
    T = rng.random(64)
    args = {"max_matches": 4, "max_distance": np.inf, "cutoff": np.inf}
    _same_sets(pl.motifs(T, 3, 3, **args), ref.motif_sets(T, 3, 3, **args))
    func = functools.partial(ref.stddev_isconstant, quantile_threshold=0.05)
    _same_sets(pl.motifs(T, 3, 3, T_subseq_isconstant=func, **args),
               ref.motif_sets(T, 3, 3, constant=func(T, 3), **args))
    T = np.cumsum(rng.standard_normal(160))
    T[[50, 51, 120]] = np.nan
    kwargs = [{"min_neighbors": 2}, {"max_distance": 2.0, "max_matches": 5},
              {"max_distance": lambda D: float(np.nanpercentile(D[np.isfinite(D)], 5))},
              {"min_neighbors": 0, "cutoff": 0.5}][seed]
    _same_sets(pl.motifs(T, 8, 4, **kwargs), ref.motif_sets(T, 8, 4, **kwargs))
    _same_sets(pl.motifs(T, 8, 4, normalize=False, p=1.0, **kwargs),
               ref.motif_sets(T, 8, 4, p=1.0, **kwargs))


def test_motif_sets_never_overlap() -> None:
    T = np.tile(np.sin(np.linspace(0, 2 * np.pi, 50)), 20) + np.random.default_rng(9).normal(0, 0.05, 1000)
    m = 40
    found = pl.motifs(T, m, 5, max_distance=np.inf, max_matches=4, cutoff=np.inf)
    windows = np.concatenate([s.indices for s in found])
    assert len(found) >= 3 and all(2 <= len(s.indices) <= 4 for s in found)
    gaps = np.abs(windows[:, None] - windows[None, :]) + m * np.eye(len(windows), dtype=int)
    assert (gaps >= m).all()  # within and across sets
    for s in found:
        assert (np.diff(s.distances) >= 0).all() and s.distances[0] == 0.0
    assert pl.motifs(T, m, 2) == pl.matrix_profile(T, m).motifs(2)  # the pair form stays
    mp = pl.matrix_profile(T, m)
    assert _as_sets(pl.motifs(T, m, 3, max_matches=4, profile=mp)) == \
        _as_sets(pl.motifs(T, m, 3, max_matches=4))
    with pytest.raises(pl.InvalidParameterError, match="not the self-join"):
        pl.motifs(T, m + 1, 3, max_matches=4, profile=mp)
    with pytest.raises(pl.InvalidParameterError, match="min_neighbors"):
        pl.motifs(T, m, 3, min_neighbors=-1)
    assert "MotifSet({" in repr(found[0])


# ------------------------------------------------------------------------------ input types


def test_pandas_polars_integer_and_float32_inputs() -> None:
    T = np.cumsum(np.random.default_rng(10).integers(-3, 4, 200))
    want = pl.matrix_profile(T.astype(np.float64), 8)
    for series in (T, T.astype(np.int32), T.astype(np.float32), pd.Series(T), pd.Series(T, dtype="Int64"),
                   polars.Series(T), polars.Series(T.astype(np.float32)), list(T)):
        mp = pl.matrix_profile(series, 8)
        npt.assert_array_equal(mp.P, want.P)
        npt.assert_array_equal(mp.I, want.I)
    with_missing = pd.Series([1.0, None, 3.0, 4.0, 2.0, 5.0, 1.0, 0.0], dtype="Float64")
    D = pl.distance_profile([1.0, 2.0, 3.0], with_missing)
    assert np.isinf(D[:2]).all() and np.isfinite(D[2:]).all()
    nulls = polars.Series([1, None, 3, 4, 2, 5, 1, 0])
    npt.assert_array_equal(pl.distance_profile([1.0, 2.0, 3.0], nulls), D)
    assert pl.match(pd.Series([1.0, 2.0, 3.0]), polars.Series([0.0, 1, 2, 3, 0, 1]), np.inf) == \
        pl.match([1.0, 2.0, 3.0], [0.0, 1, 2, 3, 0, 1], np.inf)
    with pytest.raises(pl.SignalTypeError):
        pl.matrix_profile(pd.Series(["a", "b", "c", "d"]), 3)
    with pytest.raises(pl.SignalTypeError):
        pl.matrix_profile(polars.Series([True, False, True, True]), 3)


def test_bad_options_are_refused() -> None:
    T = np.random.default_rng(11).standard_normal(50)
    for kwargs, fragment in (({"k": 0}, "k=0"), ({"k": 2.0}, "k must be"), ({"p": 0.5}, "1 <= p"),
                             ({"p": "2"}, "p must be"), ({"normalize": "yes"}, "normalize must be")):
        with pytest.raises(pl.InvalidParameterError, match=fragment):
            pl.matrix_profile(T, 5, **kwargs)
    with pytest.raises(pl.InvalidParameterError, match="1 <= p"):
        pl.match(T[:5], T, normalize=False, p=200)
    with pytest.raises(pl.InvalidParameterError, match="z-normalized"):
        pl.distance_profile(T[:5], T, normalize=False, Q_subseq_isconstant=True)
    with pytest.raises(pl.InvalidParameterError, match="2 entries for 3 series"):
        pl.match(T[:5], [T, T, T], T_subseq_isconstant=[None, None])


def test_match_without_finite_windows_finds_nothing() -> None:
    T = np.random.default_rng(12).standard_normal(100)
    with pytest.warns(pl.NoFiniteWindowWarning, match="Q has no window"):
        assert pl.match(np.r_[T[:9], np.nan], T) == []
    with pytest.warns(pl.NoFiniteWindowWarning, match=r"T\[1\] has no window"):
        found = pl.match(T[:10], [T, np.full(50, np.nan)])
    assert found and all(o.series == 0 for o in found)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pl.match(T[:10], T, normalize=False, p=1.0)[0] == (0.0, 0)
    assert pl.match(T[:10], T, 1.0, normalize=False) == [
        pl.Occurrence(d, i) for d, i in ref.find_matches(ref.pnorm_profile(T[:10], T), ref.exclusion_zone(10),
                                                         1.0 + 1e-8)]


# ------------------------------------------------------------ tiles, threads (determinism)


@pytest.mark.parametrize(("R", "K"), [(7, 3), (50, 11), (8192, 512)])
def test_tiny_tiles_and_threads(tiles, R: int, K: int) -> None:
    """Tile edges and exclusion zones straddling tiles (SCAMP's tiling stress), on one and on two
    threads with the parallel kernels forced: the same lists, equal to the reference."""
    import patternlab._numba as nb

    tiles(R, K)
    rng = np.random.default_rng(R)
    T = np.cumsum(rng.standard_normal(150))
    T[[40, 41, 100]] = np.nan
    T[60:75] = 2.0
    B = rng.standard_normal(90)
    cases = [((T, 9), {"k": 3}, ref.matrix_profile_k(T, 9, 3)),
             ((T, 9, B), {"k": 2}, ref.matrix_profile_k(T, 9, 2, B)),
             ((T, 9), {"normalize": False, "k": 2}, ref.aamp(T, 9, k=2)),
             ((B, 9, T), {"normalize": False, "p": 3.0}, ref.aamp(B, 9, T, p=3.0))]
    for args, options, want in cases:
        serial = pl.matrix_profile(*args, threads=1, **options)
        _assert_profile(serial, want)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(nb, "PARALLEL_MIN_WORK", 1)
            parallel = pl.matrix_profile(*args, threads=2, **options)
        for name in ("P", "I", "PL", "IL", "PR", "IR"):
            npt.assert_array_equal(getattr(serial, name), getattr(parallel, name), err_msg=name)


def test_compare_stumpy_surface_script_agrees(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """benchmarks/compare_stumpy_surface.py runs every feature and finds STUMPY's results."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    from benchmarks import compare_stumpy_surface

    assert compare_stumpy_surface.main(["--n", "1500", "--m", "20", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and "random walk n=1,500, m=20" in out
    for name in compare_stumpy_surface.FEATURES:
        assert f"\n{name} " in out
    assert "DISAGREE" not in out


# ---------------------------------------------------------------------------------- hypothesis

@st.composite
def _grid_series(draw, min_size=5, max_size=45):
    """Values on a grid of 1/8 (constant runs, repeats and exact ties are likely), scaled, with a
    few NaN/inf."""
    n = draw(st.integers(min_size, max_size))
    T = draw(hnp.arrays(np.float64, n, elements=st.integers(-100, 100).map(lambda x: x / 8)))
    T = T * draw(st.sampled_from([1.0, 1e-3, 1e6]))
    for _ in range(draw(st.integers(0, 2))):
        T[draw(st.integers(0, n - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return T


def _assert_lists(P: np.ndarray, I: np.ndarray, want: tuple[np.ndarray, ...], D: np.ndarray) -> None:
    """The reference's distances; each index a window at the distance reported (rounding may
    order equal-looking neighbours differently), -1 exactly where the distance is inf."""
    scale = max(1.0, float(np.abs(want[0][np.isfinite(want[0])]).max(initial=0.0)))
    np.testing.assert_array_equal(np.isinf(P), np.isinf(want[0]))
    np.testing.assert_allclose(P, want[0], rtol=0, atol=1e-9 * scale)
    np.testing.assert_array_equal(I == -1, np.isinf(P))
    rows = np.nonzero(I >= 0)[0] if I.ndim == 1 else np.nonzero(I >= 0)
    got = D[rows[0], I[rows]] if I.ndim == 2 else D[rows, I[rows]]
    np.testing.assert_allclose(got, P[rows], rtol=0, atol=1e-9 * scale)
    if I.ndim == 2:  # a window appears once in a row
        for row in I:
            kept = row[row >= 0]
            assert len(set(kept.tolist())) == len(kept)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hypothesis_knn_and_aamp_agree_with_the_reference(data) -> None:
    T = data.draw(_grid_series())
    top = max(m for m in range(3, len(T) + 1) if len(T) - m + 1 >= -(-m // 4) + 2)
    m = data.draw(st.integers(3, top))
    k = data.draw(st.sampled_from([None, 1, 2, 4]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.NoFiniteWindowWarning)
        mp = pl.matrix_profile(T, m, k=k)
        want = ref.matrix_profile_k(T, m, k)
        _assert_lists(mp.P, mp.I, want, ref.distance_matrix(T, m))
        p = data.draw(st.sampled_from([1.0, 2.0, 3.0]))
        raw = pl.matrix_profile(T, m, k=k, normalize=False, p=p)
        _assert_lists(raw.P, raw.I, ref.aamp(T, m, p=p, k=k), ref.pnorm_matrix(T, m, p=p))
