"""``pl.match``: every non-overlapping occurrence of a query, as STUMPY's ``match``.

STUMPY's own cases (its ``tests/test_motifs.py``: ``test_match``, ``test_naive_match_exclusion_zone``
and the docstring example) with their inputs and tolerances (``npt.assert_almost_equal``, 7
decimals), against the naive twin in ``reference.py`` and against ``stumpy.match`` itself; then
the search kernel against its twin on the same profiles (ties, NaN, inf), collections, errors,
and the profiles computed on a real two-process LocalCluster, bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.testing as npt
import pytest
import stumpy
from distributed import Client, LocalCluster
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import patternlab as pl
import patternlab.profiles.search as search
import reference as ref
from patternlab.kernels import search as sk


def _stumpy_cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    return {  # STUMPY's test_data (its random case seeded here)
        "010": (np.array([0.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.0, -1.0, -1.0, 0.0, 1.0, 0.0, -0.5])),
        "012": (np.array([0.0, 1.0, 2.0]), np.array([0.1, 1.0, 2.0, 3.0, -1.0, 0.1, 1.0, 2.0, -0.5])),
        "uniform": (rng.uniform(-1000, 1000, 8), rng.uniform(-1000, 1000, 64)),
    }


def _as_pairs(found: list[pl.Occurrence]) -> np.ndarray:
    return np.array([[o.distance, o.index] for o in found], dtype=np.float64).reshape(-1, 2)


def _stumpy_pairs(out: np.ndarray) -> np.ndarray:
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


@pytest.mark.parametrize("name", list(_stumpy_cases()))
def test_stumpy_test_match(name: str) -> None:
    Q, T = _stumpy_cases()[name]
    expected = ref.match(Q, T, max_distance=lambda D: 0.3)
    ours = pl.match(Q, T, max_matches=None, max_distance=lambda D: 0.3)  # also a callable
    npt.assert_almost_equal(_as_pairs(ours), np.array(expected, dtype=np.float64).reshape(-1, 2))
    theirs = stumpy.match(Q, T, max_matches=None, max_distance=lambda D: 0.3)
    npt.assert_almost_equal(_as_pairs(ours), _stumpy_pairs(theirs))
    assert pl.match(Q, T, 0.3) == ours


def test_stumpy_exclusion_zone_case() -> None:
    # an exact occurrence at 1, close ones (distance 0.05) at 0, 5 and 9: 0 is inside the
    # exclusion zone of 1
    T = np.array([0.1, 1.0, 2.0, 3.0, -1.0, 0.1, 1.0, 2.0, -0.5, 0.2, 2.0, 4.0])
    Q = np.array([0.0, 1.0, 2.0])
    d5 = ref.znorm_distance(Q, T[5:8])
    d9 = ref.znorm_distance(Q, T[9:12])
    found = pl.match(Q, T, max_distance=0.1)
    assert [o.index for o in found] == [1, 5, 9]  # d5 < d9
    npt.assert_almost_equal(_as_pairs(found), [[0.0, 1], [d5, 5], [d9, 9]])
    npt.assert_almost_equal(_as_pairs(found), _stumpy_pairs(stumpy.match(Q, T, max_distance=0.1)))


def test_stumpy_docstring_example() -> None:
    found = pl.match(np.array([-11.1, 23.4, 79.5, 1001.0]),
                     np.array([584.0, -11.0, 23.0, 79.0, 1001.0, 0.0, -19.0]))
    npt.assert_almost_equal(_as_pairs(found), [[0.0011129739290248121, 1]])


def _walk(n: int, seed: int) -> np.ndarray:
    return np.cumsum(np.random.default_rng(seed).standard_normal(n))


@pytest.mark.parametrize(("n", "m", "at"), [(2000, 50, 300), (1500, 20, 1000), (800, 7, 11)])
def test_default_max_distance_agrees_with_stumpy(n: int, m: int, at: int) -> None:
    T = _walk(n, n + m)
    Q = T[at:at + m] + np.random.default_rng(m).normal(0, 0.05, m)  # not an exact repeat
    ours = _as_pairs(pl.match(Q, T))
    theirs = _stumpy_pairs(stumpy.match(Q, T))
    assert len(ours) > 3
    npt.assert_array_equal(ours[:, 1], theirs[:, 1])
    npt.assert_allclose(ours[:, 0], theirs[:, 0], rtol=0, atol=1e-6)
    D = pl.distance_profile(Q, T)
    limit = ref.default_max_distance(D)
    assert (ours[:, 0] <= limit + 1e-8).all()
    assert [tuple(p) for p in ours] == [(d, float(i)) for d, i in ref.find_matches(D, ref.exclusion_zone(m),
                                                                                  limit + 1e-8)]


def test_default_rule_keeps_at_least_the_best() -> None:
    # a ramp against a sine: the distances spread like a sine's values (arcsine-distributed),
    # mean - 2 std is below their minimum, and the best window is kept
    T = np.sin(np.linspace(0, 30 * np.pi, 1500))
    Q = np.arange(40.0)
    found = pl.match(Q, T)
    D = pl.distance_profile(Q, T)
    assert D.mean() - 2 * D.std() < D.min()
    assert found[0] == (float(D.min()), int(np.argmin(D)))
    assert all(o.distance <= D.min() + 1e-8 for o in found)


@pytest.mark.parametrize("k", [1, 2, 5, 1000])
def test_max_matches_is_a_prefix(k: int) -> None:
    T = _walk(3000, 5)
    Q = T[100:160]
    everything = pl.match(Q, T, max_distance=np.inf)
    assert len(everything) > 5
    assert pl.match(Q, T, max_distance=np.inf, max_matches=k) == everything[:k]
    theirs = _stumpy_pairs(stumpy.match(Q, T, max_distance=np.inf, max_matches=k))
    npt.assert_array_equal(_as_pairs(everything[:k])[:, 1], theirs[:, 1])


def test_occurrences_are_outside_each_others_exclusion_zone() -> None:
    T = _walk(2000, 8)
    m = 30
    found = pl.match(T[500:500 + m], T, max_distance=np.inf)
    idx = np.array([o.index for o in found])
    gaps = np.abs(idx[:, None] - idx[None, :])[~np.eye(len(idx), dtype=bool)]
    assert gaps.min() > ref.exclusion_zone(m)
    # every window is kept or within the exclusion zone of a kept window at least as close
    D = pl.distance_profile(T[500:500 + m], T)
    for i in range(len(D)):
        near = idx[np.abs(idx - i) <= ref.exclusion_zone(m)]
        assert near.size and D[near].min() <= D[i]


def test_nan_and_inf_windows_are_never_occurrences() -> None:
    rng = np.random.default_rng(11)
    T = np.tile(rng.standard_normal(50), 6)
    Q = T[:25].copy()
    T[[3, 60, 161, 262]] = [np.nan, np.inf, -np.inf, np.nan]  # inside four of the six repeats
    found = pl.match(Q, T, max_distance=1e-3)
    assert [o.index for o in found] == [100, 200]  # the repeats without NaN/inf
    assert all(o.distance == 0.0 for o in found)
    theirs = _stumpy_pairs(stumpy.match(Q, T, max_distance=1e-3))
    npt.assert_array_equal(theirs[:, 1], [100, 200])
    # the default rule ignores the inf distances of the windows holding them
    D = pl.distance_profile(Q, T)
    assert np.isinf(D).sum() == 4 + 3 * 25  # windows 0..3, 36..60, 137..161, 238..262
    assert pl.match(Q, T) == pl.match(Q, T, max_distance=ref.default_max_distance(D))


def test_constant_query_and_windows_follow_the_conventions() -> None:
    T = np.concatenate([np.zeros(10), np.sin(np.arange(40.0)), np.full(8, 2.5), np.cos(np.arange(30.0))])
    found = pl.match(np.ones(5), T, max_distance=0.0)
    # the constant windows are 0..6 (zeros, then sin(0) = 0) and 50..53; exclusion zone 2
    assert found == [(0.0, 0), (0.0, 3), (0.0, 6), (0.0, 50), (0.0, 53)]
    npt.assert_almost_equal(_as_pairs(found), _stumpy_pairs(stumpy.match(np.ones(5), T, max_distance=0.0)))
    assert found == [(d, i) for d, i in ref.match(np.ones(5), T, 0.0)]


def test_callable_receives_the_distance_profile() -> None:
    T = _walk(500, 2)
    Q = T[40:80]
    seen: list[np.ndarray] = []

    def rule(D: np.ndarray) -> float:
        seen.append(D)
        D[:] = 0.0  # a copy: the search is not affected
        return 2.0

    assert pl.match(Q, T, rule) == pl.match(Q, T, 2.0)
    npt.assert_array_equal(np.isfinite(seen[0]), True)
    assert len(seen[0]) == len(T) - 40 + 1


@pytest.mark.parametrize("m", [3, 4, 7, 16, 33, 100, 257])
def test_query_kernel_equals_the_distance_profile_bit_for_bit(m: int) -> None:
    rng = np.random.default_rng(m)
    T = np.cumsum(rng.standard_normal(3000)) + 1e3
    T[[10, 700, 701, 2500]] = [np.nan, np.inf, np.nan, -np.inf]
    T[1200:1200 + 2 * m] = 4.0  # constant windows
    for Q in (T[300:300 + m] + rng.normal(0, 0.1, m), T[1200:1200 + m], rng.standard_normal(m) * 1e-3):
        D = search._profile(search._query_windows(Q, m), search._windows(T, m), m)
        npt.assert_array_equal(D, pl.distance_profile(Q, T))
        t = search._windows(T, m)
        q = search._query_windows(Q, m)
        halves = [sk.query_profile_serial(q.qn, q.e, t.Tc[a:b + m - 1], t.mu[a:b], t.s[a:b], t.e[a:b], m)
                  for a, b in ((0, 1000), (1000, len(t.s)))]  # slices, as Dask tasks take them
        npt.assert_array_equal(np.concatenate(halves),
                               sk.query_profile_serial(q.qn, q.e, t.Tc, t.mu, t.s, t.e, m))
    npt.assert_allclose(D, ref.distance_profile(Q, T), rtol=0, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(D=hnp.arrays(np.float64, st.integers(1, 80),
                    elements=st.one_of(st.floats(0, 30), st.sampled_from([np.inf, np.nan]))))
def test_finite_statistics_match_numpy(D: np.ndarray) -> None:
    mean, std, low, k = sk.finite_mean_std(D)
    finite = D[np.isfinite(D)]
    assert k == finite.size
    if k == 0:
        assert np.isnan(mean) and np.isnan(std) and low == np.inf
        return
    npt.assert_allclose([mean, std], [finite.mean(), finite.std()], rtol=1e-12, atol=1e-12)
    assert low == finite.min()
    Dn = np.where(np.isinf(D), np.nan, D)  # STUMPY's formula
    stumpy_rule = np.nanmax([np.nanmean(Dn) - 2.0 * np.nanstd(Dn), np.nanmin(Dn)])
    npt.assert_allclose(search._default_threshold(D), stumpy_rule, rtol=1e-12, atol=1e-12)
    assert search._default_threshold(D) == pytest.approx(ref.default_max_distance(D), rel=1e-12, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(D=hnp.arrays(np.float64, st.integers(1, 60),
                    elements=st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, np.inf, np.nan])),
       excl=st.integers(0, 5), limit=st.sampled_from([0.0, 0.7, 1.5, np.inf]),
       top=st.one_of(st.none(), st.integers(1, 8)))
def test_search_kernel_matches_reference(D: np.ndarray, excl: int, limit: float, top: int | None) -> None:
    d, i = sk.find_matches(D, excl, limit, np.iinfo(np.int64).max if top is None else top)
    assert list(zip(d.tolist(), i.tolist())) == ref.find_matches(D, excl, limit, top)


@settings(max_examples=60, deadline=None)
@given(T=hnp.arrays(np.float64, st.integers(6, 60), elements=st.integers(-40, 40).map(lambda x: x / 4)),
       data=st.data())
def test_hypothesis_search_of_the_profile(T: np.ndarray, data: st.DataObject) -> None:
    m = data.draw(st.integers(3, len(T) // 2))
    start = data.draw(st.integers(0, len(T) - m))
    Q = T[start:start + m].copy()
    if (np.ptp(Q) == 0) or not np.isfinite(T).any():
        Q[0] += 1.0
    D = pl.distance_profile(Q, T)
    limit = data.draw(st.sampled_from([None, 0.5, 2.0, np.inf]))
    found = pl.match(Q, T, limit)
    thr = ref.default_max_distance(D) if limit is None else limit
    assert [tuple(o) for o in found] == ref.find_matches(D, ref.exclusion_zone(m), thr + 1e-8)
    npt.assert_allclose(D, ref.distance_profile(Q, T), rtol=0, atol=1e-9)


# ------------------------------------------------------------------------------- collections


def _collection() -> list[np.ndarray]:
    rng = np.random.default_rng(21)
    shape = np.hanning(30) * 4
    out = [rng.standard_normal(n) for n in (400, 90, 250, 31)]
    out[0][50:80] += shape
    out[0][300:330] += shape
    out[2][10:40] += shape * 1.5  # the same shape, scaled
    out[3][1:] += shape  # a series one window longer than the query
    return out


def test_collection_agrees_with_reference() -> None:
    series = _collection()
    Q = np.hanning(30)
    for limit in (None, 3.0, np.inf):
        found = pl.match(Q, series, limit)
        expected = ref.match_collection(Q, series, limit)
        assert [(o.series, o.index) for o in found] == [(s, i) for _, s, i in expected]
        npt.assert_allclose([o.distance for o in found], [d for d, _, _ in expected], rtol=0, atol=1e-9)
        assert all(isinstance(o, pl.SeriesOccurrence) for o in found)
    best = pl.match(Q, series, 3.0)
    planted = [(0, 50), (0, 300), (2, 10), (3, 1)]  # found within two samples (noise)
    assert all(any(o.series == s and abs(o.index - i) <= 2 for o in best[:4]) for s, i in planted)
    assert [o.distance for o in best] == sorted(o.distance for o in best)
    assert pl.match(Q, series, np.inf, max_matches=4) == pl.match(Q, series, np.inf)[:4]


def test_collection_shapes() -> None:
    rows = np.random.default_rng(4).standard_normal((3, 120))
    Q = rows[1, 30:50]
    as_list = pl.match(Q, list(rows), 4.0)
    assert pl.match(Q, rows, 4.0) == as_list
    assert pl.match(Q, tuple(rows), 4.0) == as_list
    assert as_list[0] == (0.0, 1, 30)
    # one series in a list: the same occurrences, with series 0
    single = pl.match(Q, rows[1], 4.0)
    assert [(o.distance, o.index) for o in pl.match(Q, [rows[1]], 4.0)] == [tuple(o) for o in single]
    # a list of numbers is one series
    found = pl.match([1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0, 2.0, 1.0, 0.0, 1.0, 2.0], 0.5)
    assert found == [(0.0, 0), (0.0, 6)]  # window 1, also a ramp, is in the exclusion zone of 0
    assert isinstance(found[0], pl.Occurrence)


# ------------------------------------------------------------------------------------ errors


def test_query_longer_than_the_series() -> None:
    with pytest.raises(pl.InvalidWindowError, match=r"len\(Q\)=50 is longer than T \(40 samples\)"):
        pl.match(np.arange(50.0), np.arange(40.0))
    with pytest.raises(pl.PatternlabError, match=r"longer than T\[1\] \(20 samples\)"):
        pl.match(np.sin(np.arange(30.0)), [np.arange(100.0), np.arange(20.0)])


@pytest.mark.parametrize(("kwargs", "error", "pattern"), [
    ({"Q": [1.0, 2.0]}, pl.InvalidWindowError, r"len\(Q\)=2 is too short"),
    ({"Q": np.ones((2, 3))}, pl.PatternlabError, "Q"),
    ({"max_distance": "far"}, pl.InvalidParameterError, "max_distance must be a real number"),
    ({"max_distance": np.nan}, pl.InvalidParameterError, "max_distance must be a real number"),
    ({"max_distance": lambda D: None}, pl.InvalidParameterError, r"max_distance\(D\) must be"),
    ({"max_matches": 0}, pl.InvalidParameterError, "max_matches=0 must be at least 1"),
    ({"max_matches": 2.5}, pl.InvalidParameterError, "max_matches must be a positive integer"),
    ({"atol": -1.0}, pl.InvalidParameterError, "atol must be a real number >= 0"),
    ({"client": "tcp://127.0.0.1:8786"}, pl.InvalidParameterError, "client must be a distributed.Client"),
])
def test_bad_input_is_refused(kwargs: dict, error: type, pattern: str) -> None:
    args = {"Q": np.sin(np.arange(10.0)), "T": np.cos(np.arange(30.0)), **kwargs}
    with pytest.raises(error, match=pattern):
        pl.match(**args)


# ---------------------------------------------------------------------------------- on Dask


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as c:
            yield c


@pytest.mark.parametrize("block", [None, 37, 1000])
def test_profiles_on_cluster_are_identical(client: Client, monkeypatch: pytest.MonkeyPatch,
                                           block: int | None) -> None:
    monkeypatch.setattr(search, "BLOCK_WINDOWS", block)
    series = [*_collection(), _walk(5000, 1)]
    series[4][[7, 2000, 4999]] = np.nan
    Q = np.hanning(30)
    q = search._query_windows(Q, 30)
    prepared = [search._windows(t, 30) for t in series]
    remote = search._profiles_on_cluster(client, q, prepared, 30)
    for T, D in zip(series, remote):
        npt.assert_array_equal(D, pl.distance_profile(Q, T))
    assert pl.match(Q, series, client=client) == pl.match(Q, series)
    assert pl.match(Q, series[4], np.inf, client=client) == pl.match(Q, series[4], np.inf)


def test_tasks_receive_only_their_windows(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "BLOCK_WINDOWS", 400)
    sizes: list[list[int]] = []
    real_submit = client.submit

    def spy(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        sizes.append([len(p.Tc) for p in args[2]])
        return real_submit(fn, *args, **kwargs)

    monkeypatch.setattr(client, "submit", spy)
    series = [_walk(1000, 3), _walk(150, 4), _walk(900, 5)]
    assert pl.match(np.hanning(20), series, client=client) == pl.match(np.hanning(20), series)
    windows = [sum(n - 19 for n in task) for task in sizes]
    assert len(sizes) >= -(-sum(len(t) - 19 for t in series) // 400)  # at most 400 windows a task
    assert max(windows) <= 400 and sum(windows) == sum(len(t) - 19 for t in series)


def test_a_lab_is_accepted_as_client(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "BLOCK_WINDOWS", 500)
    lab = pl.Lab(client)
    T = _walk(3000, 9)
    assert pl.match(T[10:60], T, client=lab) == pl.match(T[10:60], T)


def test_compare_match_script_agrees(capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """benchmarks/compare_match.py runs on the series it was asked for and finds STUMPY's
    occurrences."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    from benchmarks import compare_match

    assert compare_match.main(["--n", "4000", "--m", "40", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and "random walk n=4,000, m=40" in out and "results agree" in out
