"""Multi-dimensional matrix profiles (mSTAMP), subspaces and MDL, as STUMPY's ``mstump``,
``subspace`` and ``mdl``.

STUMPY's own cases (its ``tests/test_mstump.py``: the fixed 7-sample series, uniform(-1000, 1000)
data of shape (5, 20) with m = 5, every ``include`` window, ``discords``, constant and identical
subsequences, NaN/inf at its substitution locations in the first and in all dimensions) with their
tolerance (``assert_almost_equal``, 7 decimals), against the naive twin in ``reference.py`` and
against STUMPY itself; then hypothesis inputs, large offsets, tiny tiles, thread counts, the
direct rescan, the sorting network and the errors. The Dask runs are in ``test_beyond_dask.py``.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import numpy.testing as npt
import pytest
import stumpy
from hypothesis import given, settings
from hypothesis import strategies as st

import patternlab as pl
import patternlab.profiles.multi as multi
import reference_beyond as ref
from patternlab.kernels import mstump as mk

FIXED = np.array([[584, -11, 23, 79, 1001, 0, -19]], dtype=np.float64)
UNIFORM = np.random.default_rng(23).uniform(-1000, 1000, [5, 20])
CASES = [(FIXED, 3), (UNIFORM, 5)]
SUBSTITUTIONS = [slice(0, 0), 0, -1, slice(1, 3), [0, 3]]


def _quiet(fn: Any, *args: Any, **kw: Any) -> Any:
    """A STUMPY call, without its own numpy warnings (not ours)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def _stumpy_mstump(T: np.ndarray, m: int, **kw: object) -> tuple[np.ndarray, np.ndarray]:
    P, I = _quiet(stumpy.mstump, T, m, **kw)
    return np.asarray(P), np.asarray(I)


def _check(T: np.ndarray, m: int, *, stumpy_too: bool = True, **kw: object) -> None:
    P, I = pl.matrix_profile(T, m, **kw)  # type: ignore[call-overload]
    inc = tuple(np.atleast_1d(kw.get("include", ())).tolist())  # type: ignore[arg-type]
    rP, rI = ref.multi_matrix_profile(T, m, include=inc, discords=bool(kw.get("discords", False)))
    npt.assert_almost_equal(P, rP)
    npt.assert_equal(I, rI)
    if stumpy_too:
        sP, sI = _stumpy_mstump(T, m, **kw)
        npt.assert_almost_equal(P, sP)
        npt.assert_equal(I, sI)


@pytest.mark.parametrize(("T", "m"), CASES)
@pytest.mark.parametrize("discords", [False, True])
def test_stumpy_mstump_cases(T: np.ndarray, m: int, discords: bool) -> None:
    _check(T, m, discords=discords)


@pytest.mark.parametrize(("T", "m"), CASES)
@pytest.mark.parametrize("discords", [False, True])
def test_stumpy_mstump_include(T: np.ndarray, m: int, discords: bool) -> None:
    # every include window against the twin; STUMPY (slow to compile) on one of them
    for width in range(T.shape[0]):
        for i in range(T.shape[0] - width):
            _check(T, m, include=np.arange(i, i + width + 1), discords=discords,
                   stumpy_too=width == 1 and i == 0)
    if T.shape[0] > 2:
        _check(T, m, include=[3, 0], discords=discords)  # in the given order, not sorted


def test_stumpy_docstring_example() -> None:
    T = np.array([[584., -11., 23., 79., 1001., 0., -19.], [1., 2., 4., 8., 16., 0., 32.]])
    P, I = pl.matrix_profile(T, m=3)
    npt.assert_almost_equal(P, [[0.0, 1.43947142, 0.0, 2.69407392, 0.11633857],
                                [0.777905, 2.36179922, 1.50004632, 2.92246722, 0.777905]])
    npt.assert_equal(I, [[2, 4, 0, 1, 0], [4, 4, 0, 1, 0]])


def test_one_dimension_is_the_matrix_profile() -> None:
    T = np.random.default_rng(3).uniform(-1000, 1000, [1, 1000])
    mp = pl.matrix_profile(T[0], 20)
    P, I = pl.matrix_profile(T, 20)
    npt.assert_allclose(P[0], mp.P, rtol=1e-12, atol=1e-12)
    npt.assert_equal(I[0], mp.I)


def test_stumpy_constant_subsequences() -> None:
    T_A = np.concatenate((np.zeros(20), np.ones(5)))
    T = np.array([T_A, T_A, np.random.default_rng(4).random(25)])
    P, _ = pl.matrix_profile(T, 3)
    rP, _ = ref.multi_matrix_profile(T, 3)
    npt.assert_almost_equal(P, rP)  # indices: ties among constant windows
    npt.assert_almost_equal(P, _stumpy_mstump(T, 3)[0])


def test_stumpy_identical_subsequences() -> None:
    rng = np.random.default_rng(5)
    T_A = rng.random(20)
    T_A[1:9] = T_A[11:19] = rng.random(8)
    T = np.array([T_A, T_A, rng.random(20)])
    P, I = pl.matrix_profile(T, 3)
    rP, _ = ref.multi_matrix_profile(T, 3)
    npt.assert_almost_equal(P, rP)
    npt.assert_almost_equal(P, _stumpy_mstump(T, 3)[0])
    assert P[0, 1] == 0.0 and I[0, 1] == 11  # an exact repeat is at distance exactly 0


@pytest.mark.parametrize(("T", "m"), CASES)
@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("where", SUBSTITUTIONS)
@pytest.mark.parametrize("dims", ["first", "all"])
def test_stumpy_nan_inf(T: np.ndarray, m: int, value: float, where: object, dims: str) -> None:
    T_sub = T.copy()
    if dims == "first":
        T_sub[0, where] = value  # type: ignore[index]
    else:
        T_sub[:, where] = value  # type: ignore[index]
    if not all(np.isfinite(np.lib.stride_tricks.sliding_window_view(r, m)).all(axis=1).any() for r in T_sub):
        with pytest.raises(pl.InvalidSignalError, match="no window"):
            pl.matrix_profile(T_sub, m)
        return
    # every case against the twin; STUMPY (about 2 s a call here) on the scattered locations
    _check(T_sub, m, stumpy_too=isinstance(where, list))


def _walks(d: int, n: int, seed: int) -> np.ndarray:
    return np.cumsum(np.random.default_rng(seed).standard_normal((d, n)), axis=1)


@settings(max_examples=30, deadline=None)
@given(d=st.integers(1, 4), n=st.integers(8, 60), m=st.integers(3, 8), seed=st.integers(0, 2**32 - 1),
       holes=st.integers(0, 3), flat=st.booleans(), discords=st.booleans())
def test_hypothesis_against_reference(d: int, n: int, m: int, seed: int, holes: int, flat: bool,
                                      discords: bool) -> None:
    rng = np.random.default_rng(seed)
    T = np.round(rng.standard_normal((d, n)), 1)  # rounding makes ties and repeats
    for _ in range(holes):
        T[rng.integers(d), rng.integers(n)] = rng.choice([np.nan, np.inf, -np.inf])
    if flat:
        T[rng.integers(d), 2:2 + m + 2] = 7.0
    if n - m + 1 < ref.exclusion_zone(m) + 2 or not all(
            np.isfinite(np.lib.stride_tricks.sliding_window_view(r, m)).all(axis=1).any() for r in T):
        return
    P, I = pl.matrix_profile(T, m, discords=discords)
    rP, rI = ref.multi_matrix_profile(T, m, discords=discords)
    npt.assert_allclose(P, rP, rtol=1e-9, atol=1e-9)
    # a different neighbour only where it is a genuine tie
    for k, i in zip(*np.nonzero(I != rI)):
        assert I[k, i] >= 0 and abs(i - I[k, i]) > ref.exclusion_zone(m)
        mean = ref.multi_pair_means(T, m, i, I[k, i], discords=discords)[k]
        assert abs(mean - rP[k, i]) <= 1e-9


def test_large_offset_and_wide_magnitudes() -> None:
    rng = np.random.default_rng(6)
    T = rng.standard_normal((3, 200))
    T[0] += 1e8
    T[1] *= 1e-6
    T[2] = np.cumsum(T[2]) * 1e5
    P, I = pl.matrix_profile(T, 12)
    rP, rI = ref.multi_matrix_profile(T, 12)
    npt.assert_allclose(P, rP, rtol=1e-7, atol=1e-7)
    npt.assert_equal(I, rI)


@pytest.mark.parametrize(("R", "K"), [(7, 3), (50, 16), (1, 1)])
def test_tiny_tiles(monkeypatch: pytest.MonkeyPatch, R: int, K: int) -> None:
    monkeypatch.setattr(multi, "TILES", (R, K))
    T = _walks(3, 150, R + K)
    T[1, 40:50] = np.nan
    T[2, 90:110] = 2.0
    for kw in ({}, {"include": [2]}, {"discords": True}):
        P, I = pl.matrix_profile(T, 9, **kw)  # type: ignore[call-overload]
        rP, rI = ref.multi_matrix_profile(T, 9, include=tuple(kw.get("include", ())),
                                          discords=bool(kw.get("discords", False)))
        npt.assert_allclose(P, rP, rtol=1e-10, atol=1e-10)
        npt.assert_equal(I, rI)


def test_threads_do_not_change_the_result() -> None:
    T = _walks(3, 3000, 7)  # large enough for the parallel kernels
    one = pl.matrix_profile(T, 30, threads=1)
    many = pl.matrix_profile(T, 30)
    npt.assert_array_equal(one.P, many.P)
    npt.assert_array_equal(one.I, many.I)


def test_rescan_is_the_direct_search() -> None:
    T = _walks(3, 120, 8)
    T[0, 30] = np.nan
    X = multi._prepare_multi(T, 10, [0, 1, 2])
    P = np.zeros((3, 111))
    I = np.zeros((3, 111), dtype=np.int64)
    rows = np.array([0, 25, 60, 110])
    mk.rescan(X.Tc, X.mu, X.s, X.e, 10, ref.exclusion_zone(10), 0, False, rows, P, I)
    rP, rI = ref.multi_matrix_profile(T, 10)
    npt.assert_allclose(P[:, rows], rP[:, rows], rtol=1e-12, atol=1e-12)
    npt.assert_equal(I[:, rows], rI[:, rows])


@pytest.mark.parametrize("n", range(1, 13))
def test_sorting_network_sorts(n: int) -> None:
    net = mk.sorting_network(n)
    for bits in itertools.product([0, 1], repeat=n):  # the 0-1 principle
        x = list(bits)
        for a, b in net:
            x[a], x[b] = min(x[a], x[b]), max(x[a], x[b])
        assert x == sorted(bits)


def test_result_object() -> None:
    mp = pl.matrix_profile(_walks(2, 100, 9), 10, include=[1])
    assert isinstance(mp, pl.MultiProfile)
    assert mp.P.shape == mp.I.shape == (2, 91) and len(mp) == 91
    assert mp.include == (1,) and not mp.discords and mp.exclusion_zone == 3
    assert "2 dimensions x 91 windows of m=10, include=[1]" in repr(mp)


# ----------------------------------------------------------------------------- subspace, MDL


@pytest.mark.parametrize(("T", "m"), CASES)
def test_stumpy_subspace(T: np.ndarray, m: int) -> None:
    for k in range(T.shape[0]):
        ours = pl.subspace(T, m, 1, 4, k)
        npt.assert_equal(ours, ref.subspace(T, m, 1, 4, k))
        npt.assert_equal(ours, _quiet(stumpy.subspace, T, m, 1, 4, k))


@pytest.mark.parametrize(("T", "m"), CASES)
@pytest.mark.parametrize("discords", [False, True])
def test_stumpy_subspace_include(T: np.ndarray, m: int, discords: bool) -> None:
    for width in range(T.shape[0]):
        for i in range(T.shape[0] - width):
            include = tuple(range(i, i + width + 1))
            for k in range(T.shape[0]):
                ours = pl.subspace(T, m, 1, 4, k, include=include, discords=discords)
                npt.assert_equal(ours, ref.subspace(T, m, 1, 4, k, include, discords))
                if not discords and width == 1:
                    npt.assert_equal(ours, _quiet(stumpy.subspace, T, m, 1, 4, k, include=np.array(include)))


def test_subspace_discords_rank_by_decreasing_distance() -> None:
    """STUMPY ranks a reversed copy of the distances for discords; ours are decreasing."""
    _, _, D = multi._pair(UNIFORM, 5, 1, 4, 8)
    ours = pl.subspace(UNIFORM, 5, 1, 4, 4, discords=True)
    assert np.all(np.diff(D[ours]) <= 0)
    npt.assert_equal(ours, ref.subspace(UNIFORM, 5, 1, 4, 4, discords=True))


@pytest.mark.parametrize(("T", "m"), CASES)
def test_stumpy_mdl(T: np.ndarray, m: int) -> None:
    subseq_idx = np.full(T.shape[0], 1)
    nn_idx = np.full(T.shape[0], 4)
    bits, S = pl.mdl(T, m, subseq_idx, nn_idx)
    rbits, rS = ref.mdl(T, m, subseq_idx, nn_idx)
    sbits, sS = _quiet(stumpy.mdl, T, m, subseq_idx, nn_idx)
    npt.assert_almost_equal(bits, rbits)
    npt.assert_almost_equal(bits, sbits)
    for a, b, c in zip(S, rS, sS):
        npt.assert_equal(a, b)
        npt.assert_equal(a, c)


def test_mdl_finds_the_dimensions_of_a_planted_motif() -> None:
    rng = np.random.default_rng(10)
    T = rng.standard_normal((4, 600))
    shape = np.sin(np.linspace(0, 4 * np.pi, 40)) * 30  # a clean shape over unit noise
    for r in (1, 3):  # the motif lives in dimensions 1 and 3 only
        T[r, 100:140] += shape
        T[r, 400:440] += shape
    P, I = pl.matrix_profile(T, 40)
    best = P.argmin(axis=1)
    found = pl.mdl(T, 40, best, I[np.arange(4), best])
    assert sorted(found.best.tolist()) == [1, 3]
    assert sorted(found.subspaces[1].tolist()) == [1, 3]
    assert min(best[1], I[1, best[1]]) in range(95, 106)


def test_errors() -> None:
    T = _walks(3, 50, 11)
    with pytest.raises(pl.InvalidParameterError, match="include"):
        pl.matrix_profile(T, 5, include=[3])
    with pytest.raises(pl.InvalidParameterError, match="repeats"):
        pl.matrix_profile(T, 5, include=[1, 1])
    with pytest.raises(pl.InvalidParameterError, match="include"):
        pl.matrix_profile(T, 5, include=["a"])
    with pytest.raises(pl.InvalidParameterError, match="self-join"):
        pl.matrix_profile(T, 5, T)
    with pytest.raises(pl.InvalidParameterError, match="float64"):
        pl.matrix_profile(T, 5, dtype="float32")
    with pytest.raises(pl.InvalidParameterError, match="1-D"):
        pl.matrix_profile(T[0], 5, include=[0])
    with pytest.raises(pl.InvalidSignalError, match=r"pass T\.T"):
        pl.matrix_profile(T.T, 5)
    with pytest.raises(pl.InvalidSignalError, match="no dimension"):
        pl.matrix_profile(np.empty((0, 10)), 5)
    with pytest.raises(pl.SignalTypeError):
        pl.matrix_profile(np.array([["a", "b", "c", "d", "e"]]), 3)
    with pytest.raises(pl.InvalidWindowError):
        pl.matrix_profile(T, 60)
    with pytest.raises(pl.InvalidParameterError, match="discords"):
        pl.matrix_profile(T, 5, discords="yes")  # type: ignore[call-overload]
    with pytest.raises(pl.InvalidParameterError, match="k=3"):
        pl.subspace(T, 5, 0, 10, 3)
    with pytest.raises(pl.InvalidParameterError, match="nn_idx=46"):
        pl.subspace(T, 5, 0, 46, 0)
    with pytest.raises(pl.InvalidParameterError, match="one window per dimension"):
        pl.mdl(T, 5, [0, 1], [10, 11])
    with pytest.raises(pl.InvalidParameterError, match="n_bit"):
        pl.mdl(T, 5, [0, 1, 2], [10, 11, 12], n_bit=0)


def test_compare_mstump_script_agrees(capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """benchmarks/compare_mstump.py times both on the series asked for and finds STUMPY's profile."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    from benchmarks import compare_mstump

    assert compare_mstump.main(["--d", "2", "--n", "600", "--m", "20", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "d= 2 n=600 m=20: patternlab" in out and "stumpy.mstump" in out
    assert out.rstrip().endswith("results agree")


def test_cli_profile_takes_one_signal(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from patternlab._cli.main import main

    np.save(tmp_path / "two.npy", _walks(2, 300, 12))
    assert main(["profile", str(tmp_path / "two.npy"), "-m", "20"]) == 2
    assert "shape (2, 300)" in capsys.readouterr().err


def test_simd_min_max_reductions() -> None:
    """kernels._simd.fmin / fmax (llvm.minnum / maxnum), as the sorting network and the column
    pass use them: exact minima and maxima, in float64 and float32."""
    import numba

    from patternlab.kernels._simd import fmax, fmin

    @numba.njit
    def reduce(x):  # type: ignore[no-untyped-def]
        lo, hi = x[0], x[0]
        for v in x:
            lo, hi = fmin(lo, v), fmax(hi, v)
        return lo, hi

    for dtype in (np.float64, np.float32):
        x = np.random.default_rng(13).standard_normal(1001).astype(dtype)
        assert reduce(x) == (x.min(), x.max())
