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


def _drawn_series(data: st.DataObject, max_n: int) -> tuple[int, int, int, np.ndarray]:
    """``(n, m, k, T)``: a rounded random walk of ``n`` samples, maybe with a NaN stretch and a
    constant stretch, a window ``m`` and a count ``k``."""
    n = data.draw(st.integers(60, max_n))
    m = data.draw(st.integers(4, 24))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    k = data.draw(st.integers(1, 4))
    T = np.round(np.cumsum(rng.standard_normal(n)), data.draw(st.sampled_from([1, 8])))
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, n - 5))
        T[at:at + data.draw(st.integers(1, 30))] = np.nan
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, n - 5))
        T[at:at + data.draw(st.integers(1, 3 * m))] = 2.0
    return n, m, k, T


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_hypothesis_the_profiles_discords(data: st.DataObject) -> None:
    _, m, k, T = _drawn_series(data, 400)
    if np.isfinite(T).sum() < m:
        return
    try:
        want = pl.matrix_profile(T, m).discords(k)
    except pl.PatternlabError:  # no finite window, no admissible pair: both refuse it
        with pytest.raises(pl.PatternlabError):
            pl.find_discords(T, m, k)
        return
    same_discords(pl.find_discords(T, m, k), want, T, m)


# ------------------------------------------------------------------------------ left discords
def _periodic(n: int, m: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    phase = np.cumsum(2 * np.pi / (m * (1 + 0.1 * np.sin(np.arange(n) / (5.0 * m)))))
    T = np.sin(phase) + 0.1 * rng.standard_normal(n)
    T[n // 3:n // 3 + m] += 3 * np.sin(np.linspace(0, 5 * np.pi, m))
    T[2 * n // 3] += 6.0
    return T


@pytest.mark.parametrize(("kind", "n", "m", "k", "start"), [
    ("walk", 1500, 32, 1, 0), ("walk", 4000, 50, 3, 400), ("periodic", 6000, 60, 4, 600),
    ("periodic", 3000, 40, 2, 0), ("offset", 2500, 30, 3, 250)])
def test_left_discords_are_the_left_profiles(kind: str, n: int, m: int, k: int, start: int) -> None:
    """DAMP-style search: the discords of the left profile (each window against its past), the
    first ``start`` windows only past; NaN, constant stretches and a series far from zero for
    its spread (summed directly) included."""
    if kind == "walk":
        T = planted(n, m, n)
    elif kind == "periodic":
        T = _periodic(n, m, n)
    else:
        T = 1e9 + 1e-3 * planted(n, m, 5)
    found = pl.find_discords(T, m, k, left=True, start=start)
    want = pl.matrix_profile(T, m).discords(k, left=True, start=start)
    assert len(found) == len(want) == k
    same_discords(found, want, T, m)
    assert all(d.index >= start and d.neighbor < d.index for d in found)
    assert found.stats["pruning_rate"] > 0.5 and not found.stats["fallback"]
    mp = pl.matrix_profile(T, m)
    assert want[0].distance == np.max(np.where(np.arange(len(mp.PL)) >= start, mp.PL, -np.inf)[
        np.isfinite(mp.PL)])


def test_left_discords_fall_back_and_refuse_bad_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    T = planted(900, 30, 7)
    monkeypatch.setattr(dmod, "MIN_BUDGET", 1)  # pruning "fails": the full profile's answer
    fb = pl.find_discords(T, 30, 2, left=True, start=100)
    assert fb.stats["fallback"] and list(fb) == pl.matrix_profile(T, 30).discords(2, left=True, start=100)
    with pytest.raises(pl.InvalidParameterError, match="pass left=True"):
        pl.find_discords(T, 30, 2, start=5)
    with pytest.raises(pl.InvalidParameterError, match="pass left=True"):
        pl.matrix_profile(T, 30).discords(2, start=5)
    with pytest.raises(pl.InvalidParameterError, match="start=-1"):
        pl.find_discords(T, 30, 2, left=True, start=-1)
    with pytest.raises(pl.InvalidParameterError, match=r"start=2\.5"):
        pl.matrix_profile(T, 30).discords(2, left=True, start=2.5)
    with pytest.raises(pl.InvalidParameterError, match="self-join"):
        pl.matrix_profile(T, 30, T[::-1].copy()).discords(2, left=True)
    mp = pl.matrix_profile(T, 30)
    before = mp.PL.copy()
    mp.discords(3, left=True, start=200)
    np.testing.assert_array_equal(mp.PL, before)  # the profile is not changed


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_hypothesis_left_discords(data: st.DataObject) -> None:
    n, m, k, T = _drawn_series(data, 500)
    if np.isfinite(T).sum() < m:
        return
    start = data.draw(st.integers(0, n - m + 1))
    try:
        want = pl.matrix_profile(T, m).discords(k, left=True, start=start)
    except pl.PatternlabError:
        with pytest.raises(pl.PatternlabError):
            pl.find_discords(T, m, k, left=True, start=start)
        return
    same_discords(pl.find_discords(T, m, k, left=True, start=start), want, T, m)
