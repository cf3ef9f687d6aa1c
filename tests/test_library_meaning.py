"""What the learned library holds: on planted corpora of three backgrounds, each planted shape
once, on top, and little else; the pool of pending candidates, the complexity filter and the
lag alignment keep every guarantee of the batch machinery (workers, partitions, stores)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from distributed import Client, LocalCluster

import patternlab as pl
from patternlab.datasets.synthetic import BACKGROUNDS, planted_corpus
from patternlab.library import COUNTERS

W = 64
N = 300
OLD = {"min_complexity": 0.0, "min_support": 1, "max_lag": 0}  # learning as before the pool


def assert_same(a: pl.PatternLibrary, b: pl.PatternLibrary) -> None:
    x, y = a.to_arrays(), b.to_arrays()
    assert x.keys() == y.keys()
    for k in x:
        np.testing.assert_array_equal(x[k], y[k], err_msg=k)


@pytest.fixture(scope="module", params=BACKGROUNDS)
def learned(request: pytest.FixtureRequest) -> tuple[object, pl.PatternLibrary, list[int]]:
    corpus = planted_corpus(N, request.param, window=W, seed=5)
    lib = pl.PatternLibrary(window=W)
    sizes = []
    for i, x in enumerate(corpus.signals):
        pl.perceive(x, "planted", lib, signal_id=i)
        sizes.append(len(lib))
    return corpus, lib, sizes


def test_every_planted_shape_is_found_and_leads(learned: tuple) -> None:
    corpus, lib, _ = learned
    score = corpus.score(lib, max_lag=W // 2)  # found, if need be shifted by up to half a window
    assert score["recall"] == 1.0
    assert score["precision"] >= 0.9
    assert all(1 <= n <= 3 for n in score["duplicates"].values())  # shifted views count here
    assert score["junk"] < 0.1
    assert len(lib) < 60  # the shapes and what recurs in the background, not one per signal


def test_each_planted_shape_is_one_aligned_pattern(learned: tuple) -> None:
    corpus, lib, _ = learned
    score = corpus.score(lib, max_lag=W // 2)  # one pattern within the fold lag, on top
    assert score["recall"] == 1.0 and score["precision"] >= 0.9
    assert score["duplicates"] == dict.fromkeys(corpus.shapes, 1)


def test_the_library_stops_growing(learned: tuple) -> None:
    corpus, _, sizes = learned
    # learning as before the pool founds patterns at a steady rate: the second half of the corpus
    # would double the library; here it adds at most half of what the first half built, or (for
    # a library of little more than the shapes) as many patterns as there are shapes
    mid = sizes[N // 2 - 1]
    assert max(sizes[N // 2:]) - mid <= max(mid // 2, len(corpus.shapes))


def test_the_counters_account_for_every_candidate(learned: tuple) -> None:
    _, lib, _ = learned
    c = lib.counters
    assert set(c) == set(COUNTERS) and c["seen"] > 10 * N // 2
    assert len(lib) == c["promoted"] - c["folded"] - c["retired"] - len(lib.archived)
    assert c["pooled"] == c["promoted"] + c["aged_out"] + len(lib.pending)
    assert len(lib.pending) <= lib.config.pool_size
    for key in ("seen", "pooled", "promoted", "aged out", "folded", "retired"):
        assert key in repr(lib) and key in lib._repr_html_()


def test_trends_found_nothing() -> None:
    rng = np.random.default_rng(0)
    lib = pl.PatternLibrary(window=W)
    for i in range(20):  # ramps and plateaus, their kinks at least two windows apart
        knots = np.arange(0, 1001, 2 * W + 8)
        x = np.interp(np.arange(1000), knots, rng.normal(0, 5, len(knots)))
        pl.perceive(x + 0.01 * rng.standard_normal(1000), "trends", lib, signal_id=i)
    assert len(lib) == 0  # a few windows around kinks wait in the pool, never to recur
    assert lib.counters["too_simple"] >= 0.9 * lib.counters["seen"] > 0
    off = pl.PatternLibrary(window=W, config=pl.EngineConfig(window=W, **OLD))
    pl.perceive(x, "trends", off, signal_id=0)
    assert len(off) > 0  # without the filter the same windows found patterns


def test_simple_windows_are_skipped_and_shapes_are_not() -> None:
    t = np.linspace(0, 1, W)
    noise = 0.02 * np.random.default_rng(1).standard_normal(W)
    lib = pl.PatternLibrary(window=W)
    for simple in (t, np.where(t < 0.5, 0.0, 1.0), np.sin(2 * np.pi * t), np.tanh(8 * (t - 0.5))):
        assert lib.learn(simple + noise, signal_id=0, offset=0) == ("skipped", None)
    chirp = np.sin(2 * np.pi * (2 + 6 * t) * t) * np.hanning(W)
    assert lib.learn(chirp + noise, signal_id=0, offset=0)[0] == "pooled"
    assert lib.counters["too_simple"] == 4


def test_a_complex_pattern_does_not_absorb_a_trend() -> None:
    t = np.linspace(0, 1, W)
    shape = np.sin(2 * np.pi * 6 * t) + 3 * t  # correlates ~0.7 with its own trend
    lib = pl.PatternLibrary(window=W, config=pl.EngineConfig(window=W, min_complexity=0.3))
    lib.learn(shape, signal_id=0, offset=0)
    lib.learn(shape, signal_id=1, offset=0)
    assert len(lib) == 1
    trend = 3 * t + 0.05 * np.sin(2 * np.pi * 30 * t)
    assert float(np.corrcoef(trend, shape)[0, 1]) >= lib.config.cluster_threshold
    what, _ = lib.learn(trend, signal_id=2, offset=0)
    assert what == "pooled" and lib[0].support == 2


def test_a_shifted_copy_is_the_same_pattern() -> None:
    rng = np.random.default_rng(3)
    base = np.cumsum(rng.standard_normal(400)) * 0.1
    t = np.linspace(0, 1, W)
    shape = np.sin(2 * np.pi * (2 + 6 * t) * t) * np.hanning(W) * 4
    a, b = base.copy(), base[::-1].copy()
    a[100:100 + W] += shape
    b[200:200 + W] += shape
    lib = pl.PatternLibrary(window=W)
    lib._learn(a, 100, 100, 0, "s", lib.config)
    what, _ = lib._learn(b, 200 + W // 8, 200 + W // 8, 1, "s", lib.config)  # cut W // 8 late
    assert what == "new" and len(lib) == 1
    sid, at = lib[0].first_seen
    assert sid == 0 and abs(at - 100) <= W // 8  # framed around the chirp's activity
    assert lib[0].last_updated == (1, 200 + at - 100)  # the copy framed alike, wherever it was cut
    plain = pl.PatternLibrary(window=W, config=lib.config.replace(max_lag=0))
    plain._learn(a, 100, 100, 0, "s", plain.config)
    assert plain._learn(b, 200 + W // 4, 200 + W // 4, 1, "s", plain.config)[0] == "pooled"


@pytest.mark.parametrize("name", ["chirp", "damped", "spikes", "square"])
def test_a_shape_is_framed_alike_wherever_it_is_cut(name: str) -> None:
    from patternlab._learning import _framed

    rng = np.random.default_rng(4)
    shape = planted_corpus(1, window=W).shapes[name]
    # the square wave, periodic, is framed on one of its periods: within the fold lag
    spread = W // 2 if name == "square" else W // 8
    frames = []
    for _ in range(6):  # copies on random walks, with random amplitude, offset and noise
        x = np.cumsum(rng.standard_normal(600))
        amp, noise, scale = rng.uniform(2, 4), rng.uniform(0.05, 0.2), x[300:300 + W].std()
        x[300:300 + W] += scale * (amp * shape + rng.uniform(-3, 3) + noise * amp * rng.standard_normal(W))
        cut = {at + _framed(x, at, W) for at in range(300 - W // 4, 300 + W // 4 + 1, 2)}
        assert max(cut) - min(cut) <= spread, cut  # one frame, give or take, wherever it was cut
        frames += cut
    assert all(abs(f - 300) <= W // 2 for f in frames)  # around the shape, not the background
    # the copies lie within the lag of learning of each other (the square wave: the fold lag)
    assert max(frames) - min(frames) <= max(spread, W // 4), frames


def test_framing_is_skipped_near_non_finite_samples_and_at_the_ends() -> None:
    from patternlab._learning import _framed

    x = np.r_[np.zeros(40), np.hanning(W) * np.sin(np.arange(W)), np.zeros(40)]
    assert 0 + _framed(x, 0, W) >= 0 and _framed(x, len(x) - W, W) <= 0  # stays within the signal
    assert _framed(np.zeros(200), 50, W) == 0  # constant: nothing to frame
    y = x.copy()
    y[5] = np.nan
    assert _framed(y, 20, W) == 0
    z = x * 1e308
    assert isinstance(_framed(z, 20, W), int)  # overflowing differences: no error


def test_a_signal_never_teaches_one_window_twice() -> None:
    from patternlab.engine import _framed_candidates

    rng = np.random.default_rng(6)
    x = rng.standard_normal(800) * 0.1
    t = np.linspace(0, 1, W)
    x[300:300 + W] += np.sin(2 * np.pi * (2 + 6 * t) * t) * np.hanning(W) * 4
    usable = np.ones(len(x) - W + 1, dtype=bool)
    # cut 30 samples apart (not near-duplicates as cut), both framed onto the chirp: one is kept
    framed = _framed_candidates(x, [285, 315, 600], W, usable)
    assert len(framed) == 2 and abs(framed[0] - 300) <= W // 8 and framed[1] >= 600 - W
    lib = pl.PatternLibrary(window=W)
    pl.perceive(x, "s", lib, signal_id=0)
    assert len(lib) == 0 and max(p.support for p in lib.pending) == 1  # seen once: pooled


def test_merging_aligns_shifted_copies() -> None:
    corpus = planted_corpus(40, "noise", window=W, seed=9)
    one = pl.batch_perceive(corpus.signals[:20], "m", client=False, batch_size=20, progress=False).library
    two = pl.batch_perceive(corpus.signals[20:], "m", client=False, batch_size=20, progress=False).library
    merged = one.merge(two)
    score = corpus.score(merged, max_lag=W // 2)
    assert all(v <= 1 for v in score["duplicates"].values())
    assert merged.counters["seen"] == one.counters["seen"] + two.counters["seen"]


def test_the_off_switch_learns_without_pool_filter_or_alignment() -> None:
    corpus = planted_corpus(30, "walk", window=W, seed=2)
    cfg = pl.EngineConfig(window=W, **OLD)
    lib = pl.PatternLibrary(window=W, config=cfg)
    for i, x in enumerate(corpus.signals):
        pl.perceive(x, "old", lib, signal_id=i)
    c = lib.counters
    assert not lib.pending and c["pooled"] == c["too_simple"] == c["folded"] == c["retired"] == 0
    assert c["promoted"] == len(lib) + len(lib.archived) > len(corpus.signals)  # one per unmatched candidate


# -- the pool through copies, arrays, stores, partitions ------------------------------------------
@pytest.fixture(scope="module")
def small() -> list[np.ndarray]:
    return planted_corpus(60, "walk", window=W, seed=11, min_length=500, max_length=900).signals


@pytest.fixture(scope="module")
def reference(small: list[np.ndarray]) -> pl.BatchResult:
    return pl.batch_perceive(small, "p", client=False, batch_size=15, progress=False)


def test_the_pool_round_trips(small: list[np.ndarray], tmp_path: Path) -> None:
    lib = pl.PatternLibrary(window=W)
    for i, x in enumerate(small[:12]):
        pl.perceive(x, "p", lib, signal_id=i)
    assert lib.pending and lib.counters["pooled"] > 0
    assert_same(lib, lib.copy())
    assert_same(lib, pl.PatternLibrary.from_arrays(lib.to_arrays(), config=lib.config))
    lib.save(tmp_path / "lib.zarr")
    back = pl.PatternLibrary.load(tmp_path / "lib.zarr")
    assert_same(lib, back)
    assert [p.id for p in back.pending] == [p.id for p in lib.pending]
    # learning goes on identically from the copy that went through the store
    pl.perceive(small[12], "p", lib, signal_id=12)
    pl.perceive(small[12], "p", back, signal_id=12)
    assert_same(lib, back)


def test_batch_is_identical_on_any_number_of_workers(reference: pl.BatchResult,
                                                     small: list[np.ndarray]) -> None:
    assert reference.metrics["candidates_seen"] == reference.library.counters["seen"] > 0
    for key in ("candidates_pooled", "candidates_promoted", "candidates_aged_out"):
        assert key in reference.metrics
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cl:
        with Client(cl) as c:
            out = pl.batch_perceive(small, "p", client=c, batch_size=15, progress=False)
    assert_same(reference.library, out.library)
    assert out.metrics["candidates_seen"] == reference.metrics["candidates_seen"]


def test_one_partition_is_one_partition_whatever_its_size(small: list[np.ndarray]) -> None:
    a = pl.batch_perceive(small[:30], "p", client=False, batch_size=30, progress=False)
    b = pl.batch_perceive(small[:30], "p", client=False, batch_size=64, progress=False)
    assert_same(a.library, b.library)


def test_a_partition_delta_carries_the_pool_through_the_run_store(small: list[np.ndarray],
                                                                  tmp_path: Path) -> None:
    from patternlab.batch import RunStore, as_collection
    from patternlab.batch.partition import run_partition

    snap = pl.PatternLibrary(window=W, domain="p")
    for i, x in enumerate(small[:10]):
        pl.perceive(x, "p", snap, signal_id=100 + i)
    assert snap.pending
    cfg = snap.config.to_dict()
    delta = run_partition(1, as_collection(small), 15, 30, snap.to_arrays(), cfg, "p")
    assert len(delta.new["pool_ids"]) and np.asarray(delta.new["counters"]).sum() > 0
    identity = {"config": cfg, "domain": "p", "window": W, "batch_size": 15, "n_signals": len(small),
                "fingerprint": "test"}
    store = RunStore.open(tmp_path / "run.zarr", identity)
    store.write_partition(delta, 15, 30)
    back = store.read_partition(1, 15, 30)
    assert back.upd_ids == delta.upd_ids and back.upd_last == delta.upd_last
    np.testing.assert_array_equal(back.upd_sum, delta.upd_sum)
    np.testing.assert_array_equal(back.upd_n, delta.upd_n)
    assert set(back.new) == set(delta.new)
    for k in delta.new:
        np.testing.assert_array_equal(np.asarray(back.new[k]), np.asarray(delta.new[k]), err_msg=k)
