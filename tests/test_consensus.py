"""The consensus motif of a collection (Ostinato), as STUMPY's ``ostinato``.

STUMPY's own cases (its ``tests/test_ostinato.py``: three ``np.random.rand`` series of 64, 128
and 256 samples, m = 50, its deterministic seeds, ``assert_almost_equal``) against the brute
force in ``reference.py`` and against ``stumpy.ostinato``; then ``fraction``, NaN/inf, planted
motifs, the pruning and the errors. The Dask runs are in ``test_beyond_dask.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.testing as npt
import pytest
import stumpy

import patternlab as pl
import patternlab.profiles.consensus as consensus
import reference_beyond as ref


def _stumpy_case(seed: int) -> list[np.ndarray]:
    np.random.seed(seed)  # noqa: NPY002  (STUMPY's cases are drawn from the legacy generator)
    return [np.random.rand(n) for n in [64, 128, 256]]  # noqa: NPY002


@pytest.mark.parametrize("seed", [79, 109, 151, 275, 355])  # five of its ten
def test_stumpy_deterministic_ostinato(seed: int) -> None:
    Ts = _stumpy_case(seed)
    ours = pl.consensus_motif(Ts, 50)
    npt.assert_almost_equal(ours, ref.consensus_motif(Ts, 50))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        npt.assert_almost_equal(ours, stumpy.ostinato(Ts, 50))


@pytest.mark.parametrize("fraction", [0.5, 0.75, 0.34])
def test_fraction_against_reference(fraction: float) -> None:
    rng = np.random.default_rng(int(fraction * 100))
    Ts = [np.cumsum(rng.standard_normal(int(rng.integers(40, 70)))) for _ in range(5)]
    npt.assert_almost_equal(pl.consensus_motif(Ts, 12, fraction=fraction),
                            ref.consensus_motif(Ts, 12, fraction))


def test_fraction_finds_a_motif_shared_by_some_series() -> None:
    rng = np.random.default_rng(3)
    shape = np.sin(np.linspace(0, 4 * np.pi, 40)) * 4
    Ts = [rng.standard_normal(300) for _ in range(6)]
    for k in range(4):  # in four of the six series only
        Ts[k][30 + 50 * k:70 + 50 * k] += shape
    half = pl.consensus_motif(Ts, 40, fraction=0.6)  # 3 of the 5 others
    assert half.series < 4 and abs(half.index - (30 + 50 * half.series)) <= 2
    assert half.radius < pl.consensus_motif(Ts, 40).radius


def test_nan_inf_and_constant_windows() -> None:
    rng = np.random.default_rng(4)
    Ts = [np.cumsum(rng.standard_normal(n)) for n in (60, 45, 70, 52)]
    Ts[0][10:14] = np.nan
    Ts[1][-3] = np.inf
    Ts[2][20:40] = 1.5
    Ts[3][:8] = -np.inf
    npt.assert_almost_equal(pl.consensus_motif(Ts, 10), ref.consensus_motif(Ts, 10))


def test_two_dimensional_input_and_exact_repeats() -> None:
    rng = np.random.default_rng(5)
    X = rng.standard_normal((6, 120))
    X[:, 50:80] = rng.standard_normal(30)  # the same window in every series
    radius, series, index = pl.consensus_motif(X, 30)
    assert radius == 0.0 and index == 50
    npt.assert_almost_equal((radius, series, index), ref.consensus_motif(list(X), 30))


def test_pruning_abandons_series(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(6)
    shape = np.sin(np.linspace(0, 3 * np.pi, 30)) * 5
    Ts = [rng.standard_normal(200) * 0.2 for _ in range(12)]
    for T in Ts:
        T[60:90] += shape
    outcomes: list[bool] = []
    real = consensus._radii_task

    def spy(*args):  # type: ignore[no-untyped-def]
        found = real(*args)
        outcomes.append(found is not None)
        return found

    monkeypatch.setattr(consensus, "_radii_task", spy)
    found = pl.consensus_motif(Ts, 30)
    assert abs(found.index - 60) <= 2 and found.radius < 1.5
    assert len(outcomes) < 12 or not all(outcomes)  # series skipped or abandoned


def test_errors() -> None:
    T = np.random.default_rng(7).standard_normal(100)
    with pytest.raises(pl.InvalidSignalError, match="at least 2"):
        pl.consensus_motif([T], 10)
    with pytest.raises(pl.InvalidSignalError, match="list of 1-D series"):
        pl.consensus_motif(T, 10)
    with pytest.raises(pl.InvalidWindowError, match=r"signals\[1\]"):
        pl.consensus_motif([T, T[:20]], 30)
    with pytest.raises(pl.InvalidParameterError, match="fraction"):
        pl.consensus_motif([T, T], 10, fraction=0)
    with pytest.raises(pl.InvalidSignalError, match="no finite value"):
        pl.consensus_motif([T, np.full(50, np.nan)], 10)
    holes = np.ones(50)
    holes[::5] = np.nan
    with pytest.raises(pl.InvalidSignalError, match=r"signals\[1\] has no window"):
        pl.consensus_motif([T, holes], 10)
    with pytest.raises(pl.SignalTypeError):
        pl.consensus_motif([T, ["a"] * 50], 10)


def test_radii_do_not_depend_on_the_best_so_far() -> None:
    """Windows measured one at a time only abandon; the radii returned are the AB-joins', bit for
    bit, whatever the best radius known when the series was searched."""
    from patternlab.kernels import consensus as ck

    rng = np.random.default_rng(8)
    Ts = [np.cumsum(rng.standard_normal(400)) for _ in range(6)]
    F = consensus._flat(Ts, 20)
    others = consensus._others(0, 6, 5)
    lower = np.zeros(381)
    full, done = ck.series_radii(F.Tc, F.mu, F.df, F.dg, F.s, F.e, F.toff, F.woff, 0, others, 5, np.inf,
                                 lower, 20, F.R, F.K)
    assert done and np.isfinite(full).all()
    bsf = float(np.sort(full)[3])  # four windows at or below it, the others abandoned
    part, done = ck.series_radii(F.Tc, F.mu, F.df, F.dg, F.s, F.e, F.toff, F.woff, 0, others, 5, bsf,
                                 lower, 20, F.R, F.K)
    kept = np.isfinite(part)
    assert done and kept.sum() >= 4 and np.all(full[~kept] > bsf)
    npt.assert_array_equal(part[kept], full[kept])
    # one window at a time: the exact nearest distance, never above the AB-join's
    for q in (0, 200, 380):
        for b in (1, 4):
            one = ck.window_nearest(F.Tc, F.mu, F.s, F.e, F.toff, F.woff, 0, q, b, 20)
            ab = ck.nearest_distances(F.Tc, F.mu, F.df, F.dg, F.s, F.e, F.toff, F.woff, 0, b, 20, F.R, F.K)[q]
            assert one <= ab + 1e-12 and abs(one - ab) <= 1e-9
            npt.assert_allclose(one, ref.distance_profile(Ts[0][q:q + 20], Ts[b]).min(), rtol=1e-10)
