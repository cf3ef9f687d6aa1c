"""Top-k motifs and discords against the naive reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import patternlab as pl
import reference as ref


def _profile(P, I, m):
    """A MatrixProfile built from given P and I (to test the ranking on chosen values)."""
    P = np.asarray(P, dtype=np.float64)
    I = np.asarray(I, dtype=np.int64)
    none = np.full(len(P), np.inf)
    return pl.MatrixProfile(
        P, I, none, np.full(len(P), -1), none.copy(), np.full(len(P), -1), m, 0, False, "float64"
    )


def _assert_no_overlap(windows, m):
    for a in range(len(windows)):
        for b in range(a + 1, len(windows)):
            assert abs(windows[a] - windows[b]) >= m, (windows[a], windows[b])


def _series(kind, n=300):
    rng = np.random.default_rng(31)
    T = rng.standard_normal(n)
    if kind == "nonfinite":
        T[[3, 100, 101, 102, 250]] = np.nan
        T[180] = np.inf
    if kind == "constant":
        T[40:70] = 1.0
        T[200:215] = -3.0
    if kind == "walk":
        T = np.cumsum(T)
    return T


@pytest.mark.parametrize("kind", ["random", "nonfinite", "constant", "walk"])
@pytest.mark.parametrize("m", [5, 20])
@pytest.mark.parametrize("k", [1, 3, 10, 50])
def test_motifs_and_discords_follow_the_reference_rules(kind, m, k):
    T = _series(kind)
    mp = pl.matrix_profile(T, m)
    # the ranking applied to the library's own profile: identical, pair for pair
    want_motifs = ref.motifs(mp.P, mp.I, k, m)
    want_discords = ref.discords(mp.P, mp.I, k, m)
    got_motifs = mp.motifs(k)
    got_discords = mp.discords(k)
    assert [tuple(x) for x in got_motifs] == want_motifs
    assert [tuple(x) for x in got_discords] == want_discords
    assert all(isinstance(x, pl.Motif) for x in got_motifs)
    assert all(isinstance(x, pl.Discord) for x in got_discords)
    assert pl.motifs(T, m, k) == got_motifs
    assert pl.discords(T, m, k) == got_discords
    # and on the reference profile (no ties in these series): the same windows
    r = ref.matrix_profile(T, m)
    ref_motifs = ref.motifs(r.P, r.I, k, m)
    ref_discords = ref.discords(r.P, r.I, k, m)
    if kind != "constant":  # constant stretches tie at distance 0 or sqrt(m): orders may differ
        assert [x[:2] for x in got_motifs] == [x[:2] for x in ref_motifs]
        assert [(x[0], x[2]) for x in got_discords] == [(x[0], x[2]) for x in ref_discords]
        np.testing.assert_allclose([x[2] for x in got_motifs], [x[2] for x in ref_motifs], atol=1e-8)
        np.testing.assert_allclose([x[1] for x in got_discords], [x[1] for x in ref_discords], atol=1e-8)


@pytest.mark.parametrize("kind", ["random", "nonfinite", "constant"])
def test_motif_and_discord_properties(kind):
    T = _series(kind)
    m = 12
    mp = pl.matrix_profile(T, m)
    motifs = mp.motifs(20)
    assert len(motifs) >= 3
    distances = [x.distance for x in motifs]
    assert distances == sorted(distances)
    members: list[int] = []
    for a, b, d in motifs:
        assert a < b and b - a >= m  # the two windows of a pair never overlap each other
        assert d == mp.P[a] or d == mp.P[b]
        assert b in (mp.I[a],) or a in (mp.I[b],)
        # neither member overlaps a member of an earlier pair
        assert all(abs(a - u) >= m and abs(b - u) >= m for u in members)
        members += [a, b]
    discords = mp.discords(20)
    assert [x.distance for x in discords] == sorted((x.distance for x in discords), reverse=True)
    _assert_no_overlap([x.index for x in discords], m)
    for x in discords:
        assert np.isfinite(x.distance) and x.distance == mp.P[x.index] and x.neighbor == mp.I[x.index]
    # windows with infinite P are neither motifs nor discords
    inf = set(np.flatnonzero(np.isinf(mp.P)))
    assert not inf & {w for pair in motifs for w in pair[:2]}
    assert not inf & {x.index for x in discords}


def test_a_window_and_its_overlapping_neighbour_are_not_a_motif():
    """Along a slow, smooth decay every window's nearest neighbour is a shifted copy of itself,
    closer than a window away: the profile's best pairs overlap, and none of them is a motif."""
    rng = np.random.default_rng(34)
    T = rng.standard_normal(1200)
    T[300:700] = 8.0 * np.exp(-np.arange(400) / 120.0) + 0.002 * rng.standard_normal(400)
    m = 60
    mp = pl.matrix_profile(T, m)
    best = int(np.argmin(mp.P))
    assert 300 <= best and abs(best - int(mp.I[best])) < m  # the profile's best pair overlaps itself
    motifs = mp.motifs(5)
    assert motifs and all(b - a >= m for a, b, _ in motifs)
    assert [tuple(x) for x in motifs] == ref.motifs(mp.P, mp.I, 5, m)
    # the pairs kept are the best of those that do not overlap themselves
    apart = [x for x in np.argsort(mp.P, kind="stable") if abs(x - mp.I[x]) >= m]
    assert motifs[0].distance == mp.P[apart[0]]


def test_planted_motif_is_found():
    rng = np.random.default_rng(32)
    T = rng.standard_normal(800)
    shape = 4 * np.sin(np.linspace(0, 3 * np.pi, 60)) * np.hanning(60)
    T[150:210] = shape + 0.05 * rng.standard_normal(60)
    T[610:670] = 2.0 * shape + 5.0 + 0.1 * rng.standard_normal(60)  # scaled and shifted copy
    best = pl.motifs(T, 60, k=1)[0]
    assert (best.a, best.b) == (150, 610)
    assert best.distance < 1.0
    assert pl.matrix_profile(T, 60).motifs(1)[0] == best


def test_planted_anomaly_is_the_top_discord():
    t = np.linspace(0, 40 * np.pi, 2000)
    T = np.sin(t) + 0.01 * np.random.default_rng(33).standard_normal(2000)
    T[1203:1213] += np.hanning(10) * 1.5
    top = pl.discords(T, 50, k=1)[0]
    assert 1163 <= top.index <= 1213
    assert top.distance > 3 * np.median(pl.matrix_profile(T, 50).P)
    second = pl.discords(T, 50, k=2)[1]
    assert abs(second.index - top.index) >= 50


def test_fewer_than_k_when_the_profile_has_no_more():
    T = np.random.default_rng(34).standard_normal(40)
    m = 10
    mp = pl.matrix_profile(T, m)
    motifs = mp.motifs(100)
    discords = mp.discords(100)
    assert 1 <= len(motifs) < 100 and 1 <= len(discords) < 100
    assert len(discords) <= -(-len(mp) // m) + 1  # non-overlapping windows of 31 positions
    assert [tuple(x) for x in motifs] == ref.motifs(mp.P, mp.I, 100, m)
    assert [tuple(x) for x in discords] == ref.discords(mp.P, mp.I, 100, m)


def test_only_nonfinite_neighbours_gives_nothing():
    # every window but one holds NaN: no window has a finite neighbour
    T = np.full(30, np.nan)
    T[10:15] = [1.0, 2.0, 0.0, 3.0, 1.0]
    mp = pl.matrix_profile(T, 5)
    assert np.isinf(mp.P).all()
    assert mp.motifs(3) == [] and mp.discords(3) == []


def test_ties_are_ranked_smaller_index_first():
    # four windows at the same distance: by index; overlapping ones are skipped
    P = [2.0, 1.0, 1.0, 5.0, 1.0, 1.0, 0.5, 9.0, np.inf, 1.0]
    I = [3, 4, 5, 0, 1, 2, 9, 0, -1, 6]
    mp = _profile(P, I, 2)
    assert [tuple(x) for x in mp.motifs(10)] == ref.motifs(P, I, 10, 2)
    assert [tuple(x) for x in mp.discords(10)] == ref.discords(P, I, 10, 2)
    assert [tuple(x) for x in mp.motifs(2)] == [(6, 9, 0.5), (1, 4, 1.0)]
    assert [tuple(x) for x in mp.discords(3)] == [(7, 9.0, 0), (3, 5.0, 0), (0, 2.0, 3)]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_hypothesis_ranking_matches_reference(data):
    n = data.draw(st.integers(1, 40))
    m = data.draw(st.integers(1, 8))
    P = data.draw(hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, np.inf])))
    I = np.array([data.draw(st.integers(0, n - 1)) for _ in range(n)], dtype=np.int64)
    I[np.isinf(P)] = -1
    k = data.draw(st.integers(1, 12))
    mp = _profile(P, I, m)
    assert [tuple(x) for x in mp.motifs(k)] == ref.motifs(P, I, k, m)
    assert [tuple(x) for x in mp.discords(k)] == ref.discords(P, I, k, m)
