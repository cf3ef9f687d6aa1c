"""Exact top-k discords without the full profile (``pl.find_discords``): the kernels against their
naive twins, and the answer against the full profile's on planted anomalies, NaN and constant
stretches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import patternlab as pl
import reference as ref
from patternlab import _numba
from patternlab.kernels import discord as dk
from patternlab.kernels import stats
from patternlab.profiles import discord_search as dmod
from patternlab.profiles._prepare import stats_of as _stats


def _windows(T: np.ndarray, m: int) -> tuple[np.ndarray, ...]:
    Tc, mu, sig2, valid, constant = _stats(T, m)
    s, e = stats.correlation_terms(mu, sig2, valid, constant)
    return Tc, mu, s, e


def planted(n: int, m: int, seed: int) -> np.ndarray:
    """A random walk with two planted shapes, a NaN stretch and a constant stretch."""
    rng = np.random.default_rng(seed)
    T = np.cumsum(rng.standard_normal(n))
    T[n // 4:n // 4 + m // 2] += 4 * np.sin(np.linspace(0, 3 * np.pi, m // 2))
    T[3 * n // 5:3 * n // 5 + 7] += 9.0
    T[n // 2:n // 2 + 11] = np.nan
    T[4 * n // 5:4 * n // 5 + 2 * m] = T[4 * n // 5]
    return T


def same_discords(found: list[pl.Discord], want: list[pl.Discord], T: np.ndarray, m: int) -> None:
    assert [d.index for d in found] == [d.index for d in want]
    np.testing.assert_array_equal([d.distance for d in found], [d.distance for d in want])
    for a, b in zip(found, want):
        if a.neighbor != b.neighbor:  # only a genuine tie
            D = ref.distance_profile(T[a.index:a.index + m], T)
            assert abs(D[a.neighbor] - D[b.neighbor]) < 1e-9


def test_sq_below_is_the_squared_distance_over_m(rng: np.random.Generator) -> None:
    m = 21
    T = np.cumsum(rng.standard_normal(300))
    T[100] = np.nan
    T[200:240] = 3.0
    Tc, mu, s, e = _windows(T, m)
    W = [T[i:i + m] for i in range(len(s))]
    for a, b in [(0, 50), (5, 130), (90, 250), (185, 205), (199, 230), (10, 211), (30, 95)]:
        want = ref.znorm_distance(W[a], W[b]) ** 2 / m
        got = dk.sq_below(Tc, mu, s, e, a, b, m, np.inf)
        if np.isinf(want):
            assert np.isinf(got)
        else:
            assert got == pytest.approx(want, abs=1e-12)
            above = dk.sq_below(Tc, mu, s, e, a, b, m, want / 2)  # abandoned: above the bound
            assert above > want / 2 or want == 0


@pytest.mark.parametrize("r", [1.0, 3.0, 4.5])
def test_candidates_and_refinement_keep_every_window_at_or_above_r(r: float) -> None:
    m = 16
    T = planted(900, m, 3)
    Tc, mu, s, e = _windows(T, m)
    excl = int(np.ceil(m / 4))
    P = ref.matrix_profile(T, m).P
    keep, _ = dk.candidates_serial(Tc, mu, s, e, m, excl, r, 97)  # many segments
    assert keep[np.isfinite(P) & (P >= r)].all()  # a superset of the answer
    keep2, _ = dk.candidates(Tc, mu, s, e, m, excl, r, 97)
    np.testing.assert_array_equal(keep, keep2)
    cand = np.flatnonzero(keep)
    D, I, W = dk.refine_serial(Tc, mu, s, e, m, excl, r, cand)
    for x, c in enumerate(cand):
        if np.isfinite(P[c]) and P[c] >= r * (1 + 1e-9):
            assert I[x] >= 0 and D[x] == pytest.approx(P[c], abs=1e-9)
        elif I[x] >= 0:
            assert D[x] >= r * (1 - 1e-9)
    par = dk.refine(Tc, mu, s, e, m, excl, r, cand)
    for a, b in zip(par, (D, I, W)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("n", "m", "k", "seed"), [(1200, 32, 3, 1), (4000, 50, 5, 2), (2500, 20, 1, 3),
                                                     (3000, 64, 4, 4)])
def test_the_profiles_discords(n: int, m: int, k: int, seed: int) -> None:
    T = planted(n, m, seed)
    found = pl.find_discords(T, m, k)
    assert isinstance(found, pl.Discords) and not found.stats["fallback"]
    same_discords(found, pl.matrix_profile(T, m).discords(k), T, m)
    assert 0 < found.stats["pruning_rate"] < 1 and found.stats["survivors"] >= len(found)
    if n <= 1200:  # and the naive twin's
        P = ref.matrix_profile(T, m)
        want = ref.discords(P.P, P.I, k, m)
        assert [d.index for d in found] == [w[0] for w in want]
        np.testing.assert_allclose([d.distance for d in found], [w[1] for w in want], atol=1e-9)


def test_threads_do_not_change_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    T = planted(3000, 40, 5)
    one = pl.find_discords(T, 40, 4, threads=1)
    monkeypatch.setattr(_numba, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(dk, "SEGMENT", 300)  # segments for both threads
    two = pl.find_discords(T, 40, 4, threads=2)
    assert list(one) == list(two)


def test_fewer_discords_than_asked_and_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    T = planted(600, 50, 6)
    found = pl.find_discords(T, 50, 40)  # only so many non-overlapping windows
    want = pl.matrix_profile(T, 50).discords(40)
    assert 0 < len(found) == len(want) < 40
    same_discords(found, want, T, 50)
    monkeypatch.setattr(dmod, "MIN_BUDGET", 1)  # every threshold keeps too many candidates
    fb = pl.find_discords(T, 50, 3)
    assert fb.stats["fallback"] and list(fb) == pl.matrix_profile(T, 50).discords(3)


def test_constant_and_nonfinite_series() -> None:
    T = np.r_[np.zeros(300), np.full(50, np.nan), np.ones(300), np.sin(np.arange(200) / 5)]
    same_discords(pl.find_discords(T, 30, 3), pl.matrix_profile(T, 30).discords(3), T, 30)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(pl.InvalidParameterError, match="k=0"):
        pl.find_discords(np.arange(100.0), 10, 0)
    with pytest.raises(pl.InvalidWindowError):
        pl.find_discords(np.arange(100.0), 200)
    with pytest.raises(pl.SignalTypeError):
        pl.find_discords("abc", 3)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_hypothesis_the_profiles_discords(data: st.DataObject) -> None:
    n = data.draw(st.integers(60, 400))
    m = data.draw(st.integers(4, 24))
    seed = data.draw(st.integers(0, 2**31))
    k = data.draw(st.integers(1, 4))
    rng = np.random.default_rng(seed)
    T = np.round(np.cumsum(rng.standard_normal(n)), data.draw(st.sampled_from([1, 8])))
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, n - 5))
        T[at:at + data.draw(st.integers(1, 30))] = np.nan
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, n - 5))
        T[at:at + data.draw(st.integers(1, 3 * m))] = 2.0
    if not np.isfinite(T).any() or np.isfinite(T).sum() < m:
        return
    try:
        want = pl.matrix_profile(T, m).discords(k)
    except pl.PatternlabError:  # no finite window, no admissible pair: both refuse it
        with pytest.raises(pl.PatternlabError):
            pl.find_discords(T, m, k)
        return
    same_discords(pl.find_discords(T, m, k), want, T, m)
