"""perceive: events, motifs and discords, matching of known patterns, learning (new patterns,
updates by the learning rate, capacity), seeded exploration, determinism, discovery of planted
motifs, and clear errors that leave the library unchanged.

These tests are about the mechanics of one signal, so they learn as one pattern per unmatched
candidate, without the pool, the complexity filter or the lag alignment (``PLAIN``); what the
defaults make of a corpus is tested in tests/test_library_meaning.py."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import patternlab as pl
from patternlab.datasets.synthetic import planted_signal
from patternlab.errors import (
    InvalidParameterError,
    InvalidSignalError,
    InvalidWindowError,
    PatternlabError,
    SignalTypeError,
)
from reference import pearson, unit

W = 48  # window of the hand-made signals
PLAIN = {"min_complexity": 0.0, "min_support": 1, "max_lag": 0}


def config(**settings) -> pl.EngineConfig:
    """An EngineConfig that learns as one pattern per unmatched candidate (see the docstring)."""
    return pl.EngineConfig(**{**PLAIN, **settings})


def random_shape(seed: int, w: int = W) -> np.ndarray:
    """A white-noise shape: it correlates with itself only at lag 0, so its occurrences (and the motif
    windows that find them) sit exactly at the planted offsets."""
    return unit(np.random.default_rng(seed).standard_normal(w)) * np.sqrt(w)


def noisy(n: int, seed: int, noise: float = 0.5) -> np.ndarray:
    return noise * np.random.default_rng(seed).standard_normal(n)


def plant(T: np.ndarray, shape: np.ndarray, offsets, amplitude: float = 3.0,
          level: float = 0.0) -> np.ndarray:
    T = T.copy()
    for o in offsets:
        T[o:o + len(shape)] += level + amplitude * shape
    return T


def snapshot(lib: pl.PatternLibrary):
    arrays = lib.to_arrays()
    return {k: v.copy() for k, v in arrays.items()}, [p.id for p in lib.archived], lib.config


def assert_unchanged(lib: pl.PatternLibrary, before) -> None:
    arrays, archived, config = snapshot(lib)
    assert arrays.keys() == before[0].keys()
    for key in arrays:
        assert arrays[key].dtype == before[0][key].dtype, key
        assert np.array_equal(arrays[key], before[0][key]), key
    assert archived == before[1] and config == before[2]


def assert_same_perception(a: pl.Perception, b: pl.Perception) -> None:
    assert (a.signal_id, a.domain, a.window) == (b.signal_id, b.domain, b.window)
    assert np.array_equal(a.events, b.events) and a.events.dtype == b.events.dtype
    assert a.motifs == b.motifs and a.discords == b.discords
    assert a.matches == b.matches  # ids, offsets and correlations, bit for bit
    assert a.new_patterns == b.new_patterns and a.updated_patterns == b.updated_patterns
    assert a.patterns == b.patterns  # Pattern equality compares prototypes with array_equal


def ref_events(T, threshold: float, radius: int) -> list[int]:
    """Naive twin of the event rule: ``i + 1`` where the z-normalized signal jumps by more than
    ``threshold`` from ``i`` to ``i + 1`` and that jump is the largest within ``radius`` (earliest on
    ties); non-finite samples never make an event."""
    T = np.asarray(T, dtype=np.float64)
    finite = np.isfinite(T)
    if finite.sum() < 2:
        return []
    std = T[finite].std()
    if not std > 0:
        return []
    with np.errstate(invalid="ignore"):
        d = np.abs(np.diff(T)) / std
    d[~np.isfinite(d)] = 0.0
    out = []
    for t in range(len(d)):
        if d[t] <= threshold:
            continue
        lo, hi = max(0, t - radius), min(len(d), t + radius + 1)
        if all(not (d[u] > d[t] or (d[u] == d[t] and u < t)) for u in range(lo, hi)):
            out.append(t + 1)
    return out


@pytest.fixture(scope="module")
def planted():
    return planted_signal(3000, 32, occurrences=3, noise=0.1, seed=4)


@pytest.fixture
def known_library(planted) -> pl.PatternLibrary:
    """A library of window 32 that has learned from one signal (so that matching and updates happen)."""
    lib = pl.PatternLibrary(window=32, domain="demo", config=config(window=32))
    pl.perceive(planted.signal, domain="demo", library=lib, signal_id="first")
    assert len(lib) > 0
    return lib


# --------------------------------------------------------------------------------------- Perception


def test_reported_motifs_never_overlap_themselves():
    """Along a smooth decay the closest pairs are shifted copies of one stretch: perceive learns
    from their windows (as before) but reports only motifs whose two windows are apart."""
    rng = np.random.default_rng(34)
    T = rng.standard_normal(1200)
    T[300:700] = 8.0 * np.exp(-np.arange(400) / 120.0) + 0.002 * rng.standard_normal(400)
    cfg = config(window=60, top_k=3, min_complexity=0.0, min_support=1)
    res = pl.perceive(T, domain="demo", library=pl.PatternLibrary(domain="demo", config=cfg))
    assert res.motifs and all(mo.b - mo.a >= 60 for mo in res.motifs)
    closest = pl.engine._distinct_motifs(T, res.profile, cfg, apart=False)
    assert any(mo.b - mo.a < 60 for mo in closest)           # such pairs exist here
    learned = {p.first_seen[1] for p in res.patterns}
    assert learned & {x for mo in closest if mo.b - mo.a < 60 for x in (mo.a, mo.b)}


def test_perception_fields(planted):
    T = planted.signal
    cfg = config(window=32, top_k=4)
    lib = pl.PatternLibrary(domain="demo", config=cfg)
    res = pl.perceive(T, domain="demo", library=lib, signal_id="rec-1")
    assert isinstance(res, pl.Perception)
    assert (res.signal_id, res.domain, res.window) == ("rec-1", "demo", 32)
    assert isinstance(res.events, np.ndarray) and res.events.dtype == np.int64
    assert res.motifs == pl.motifs(T, 32, 4)
    assert res.discords == pl.discords(T, 32, 4)
    assert all(isinstance(m, pl.Motif) for m in res.motifs)
    assert all(isinstance(d, pl.Discord) for d in res.discords)
    assert res.matches == []  # the library knew nothing when the signal arrived
    assert res.new_patterns and len(set(res.new_patterns)) == len(res.new_patterns)
    assert len(lib) == len(res.new_patterns)  # updated in place
    assert set(res.new_patterns) == set(lib.ids)
    assert set(res.updated_patterns) <= set(res.new_patterns)
    ids = [p.id for p in res.patterns]
    assert len(ids) == len(set(ids)) and set(ids) == set(res.updated_patterns) | set(res.new_patterns)
    for p in res.patterns:
        assert isinstance(p, pl.Pattern) and p == lib[p.id]  # as they are after learning
        assert p.domain == "demo" and p.window == 32
        assert p.first_seen[0] == "rec-1" and 0 <= p.first_seen[1] <= len(T) - 32
    assert "Perception" in repr(res)


def test_perceive_without_a_library(planted):
    res = pl.perceive(planted.signal, domain="demo", config=config(window=32))
    assert res.new_patterns and {p.id for p in res.patterns} == set(res.new_patterns)
    assert all(p.domain == "demo" for p in res.patterns)


def test_config_defaults_to_the_library_config(planted):
    cfg = config(window=32, top_k=5, edge_threshold=0.3)
    a = pl.PatternLibrary(config=cfg)
    b = pl.PatternLibrary(config=cfg)
    ra = pl.perceive(planted.signal, library=a)
    rb = pl.perceive(planted.signal, library=b, config=cfg)
    assert_same_perception(ra, rb)
    assert len(ra.motifs) == 5


@pytest.mark.parametrize("kind", ["random", "walk", "nan", "step"])
@pytest.mark.parametrize("threshold", [0.0, 0.1, 0.5])
def test_events_follow_the_reference_rule(kind, threshold):
    rng = np.random.default_rng(8)
    T = rng.standard_normal(400)
    if kind == "walk":
        T = np.cumsum(T)
    if kind == "nan":
        T[[5, 6, 100, 250]] = np.nan
        T[300] = np.inf
    if kind == "step":
        T = 0.001 * T
        T[200:] += 1.0
    cfg = config(window=16, edge_threshold=threshold)
    res = pl.perceive(T, config=cfg, learn=False)
    assert res.events.tolist() == ref_events(T, threshold, 8)
    if kind == "step" and threshold > 0:
        assert res.events.tolist() == [200]


def test_constant_signal_has_no_events_and_no_patterns():
    T = np.full(200, 3.0)
    lib = pl.PatternLibrary(window=16, config=config(window=16))
    res = pl.perceive(T, library=lib)
    assert res.events.size == 0 and res.matches == [] and len(lib) == 0


# ----------------------------------------------------------------------------------------- matching


@pytest.fixture
def two_shapes():
    A, B = random_shape(1), random_shape(2)
    assert abs(pearson(A, B)) < 0.5
    return A, B


def test_known_patterns_are_matched_at_their_offsets(two_shapes):
    A, B = two_shapes
    T = noisy(4000, seed=3)
    T = plant(T, A, [300], amplitude=3.0)
    T = plant(T, A, [1700], amplitude=30.0, level=100.0)  # offset and scale do not matter
    T = plant(T, A, [3100], amplitude=5.0, level=-7.0)
    T = plant(T, B, [900, 2500], amplitude=4.0)
    T = plant(T, A, [3500], amplitude=-3.0)  # the opposite shape is not a match
    lib = pl.PatternLibrary(window=W, domain="x", config=config(window=W))
    pa = lib.add(A, signal_id="ref", offset=0)
    pb = lib.add(B, signal_id="ref", offset=1)
    before = snapshot(lib)
    res = pl.perceive(T, domain="x", library=lib, learn=False, signal_id=1)
    assert [(m.pattern_id, m.offset) for m in res.matches] == [
        (pa.id, 300), (pa.id, 1700), (pa.id, 3100), (pb.id, 900), (pb.id, 2500)]
    for m in res.matches:
        assert isinstance(m, pl.Match) and isinstance(m.offset, int) and isinstance(m.correlation, float)
        proto = lib[m.pattern_id].prototype
        assert m.correlation == pytest.approx(pearson(T[m.offset:m.offset + W], proto), abs=1e-9)
        assert 0.7 <= m.correlation <= 1.0 + 1e-12
    assert res.new_patterns == [] and res.updated_patterns == []
    assert sorted(p.id for p in res.patterns) == sorted([pa.id, pb.id])
    assert_unchanged(lib, before)


def test_matches_use_the_cluster_threshold(two_shapes):
    A, _ = two_shapes
    T = noisy(3000, seed=4, noise=1.0)
    T = plant(T, A, [500], amplitude=3.0)  # correlation ~0.95
    T = plant(T, A, [1500], amplitude=0.8)  # correlation ~0.6
    lib = pl.PatternLibrary(window=W, config=config(window=W))
    pa = lib.add(A, signal_id=0, offset=0)
    corr_weak = pearson(T[1500:1500 + W], A)
    assert 0.3 < corr_weak < 0.8
    for thr, want in [(0.9, [500]), (corr_weak - 1e-9, [500, 1500])]:
        res = pl.perceive(T, library=lib, config=lib.config.replace(cluster_threshold=thr), learn=False)
        assert [m.offset for m in res.matches if m.pattern_id == pa.id] == want
        assert all(m.correlation >= thr for m in res.matches)


def test_matches_do_not_overlap():
    smooth = np.convolve(np.random.default_rng(0).standard_normal(3000), np.ones(40) / 40, mode="same")
    lib = pl.PatternLibrary(window=W, config=config(window=W, cluster_threshold=0.3))
    lib.add(smooth[1000:1000 + W], signal_id=0, offset=1000)
    res = pl.perceive(smooth, library=lib, learn=False)
    offsets = [m.offset for m in res.matches]
    assert offsets == sorted(offsets) and 1000 in offsets
    assert all(b - a >= W for a, b in itertools.pairwise(offsets))


def _signal_with_gaps(A):
    T = plant(noisy(3000, seed=5), A, [400, 1400, 2400])
    T[1420] = np.nan  # inside the second occurrence
    T[2000:2010] = np.inf
    return T


def test_windows_holding_nan_are_not_matched(two_shapes):
    A, _ = two_shapes
    T = _signal_with_gaps(A)
    lib = pl.PatternLibrary(window=W, config=config(window=W))
    pa = lib.add(A, signal_id=0, offset=0)
    res = pl.perceive(T, library=lib, signal_id=1, learn=False)
    assert [m.offset for m in res.matches if m.pattern_id == pa.id] == [400, 2400]
    bad = ~np.isfinite(T)
    for m in res.matches:
        assert not bad[m.offset:m.offset + W].any(), m


def test_windows_holding_nan_are_never_learned(two_shapes):
    A, _ = two_shapes
    T = _signal_with_gaps(A)
    for seed in range(3):
        cfg = config(window=W, exploration_rate=1.0, top_k=5, seed=seed)
        lib = pl.PatternLibrary(config=cfg)
        lib.add(A, signal_id=0, offset=0)
        pl.perceive(T, library=lib, signal_id=1)  # NaN/inf are allowed in a signal
        bad = ~np.isfinite(T)
        for p in lib:
            if p.first_seen[0] == 1:
                off = p.first_seen[1]
                assert not bad[off:off + W].any(), p
            assert np.all(np.isfinite(p.prototype))


# ----------------------------------------------------------------------------------------- learning


def _pair_signal(shape, seed=6, offsets=(700, 2100)):
    """Noise (sd 0.5) with two occurrences of ``shape`` that replace it, each with its own faint noise
    (sd 0.05) and level: the closest pair of windows, the top motif, is exactly the two occurrences."""
    rng = np.random.default_rng(seed)
    T = 0.5 * rng.standard_normal(3000)
    for k, o in enumerate(offsets):
        T[o:o + len(shape)] = 2.0 * k + 3.0 * shape + 0.05 * rng.standard_normal(len(shape))
    return T


def test_learning_moves_a_prototype_toward_its_instance_by_the_learning_rate(two_shapes):
    A, _ = two_shapes
    T = _pair_signal(A)
    lr = 0.3
    cfg = config(window=W, top_k=1, exploration_rate=0.0, learning_rate=lr)
    lib = pl.PatternLibrary(config=cfg)
    res = pl.perceive(T, library=lib, signal_id=5)
    (motif,) = res.motifs
    assert (motif.a, motif.b) == (700, 2100)
    # candidate a founds the pattern, candidate b (correlated >= 0.7) moves it
    p = next(q for q in lib if q.first_seen == (5, motif.a))
    assert p.support == 2 and p.last_updated == (5, motif.b)
    assert p.id in res.new_patterns and p.id in res.updated_patterns
    za, zb = unit(T[motif.a:motif.a + W]), unit(T[motif.b:motif.b + W])
    want = unit((1 - lr) * za + lr * zb)
    np.testing.assert_allclose(p.prototype, want, rtol=0, atol=1e-12)


def test_learning_updates_a_known_pattern(two_shapes):
    A, _ = two_shapes
    T = _pair_signal(A)
    lr = 0.1
    lib = pl.PatternLibrary(config=config(window=W, top_k=1, exploration_rate=0.0, learning_rate=lr))
    start = A + 0.6 * random_shape(9)
    old = lib.add(start, signal_id="ref", offset=0)
    assert 0.7 < pearson(old.prototype, A) < 0.95
    res = pl.perceive(T, library=lib, signal_id=5)
    assert old.id in res.updated_patterns
    assert [m.offset for m in res.matches if m.pattern_id == old.id] == [700, 2100]
    new = lib[old.id]
    assert new.support == 3 and new.first_seen == ("ref", 0) and new.last_updated == (5, 2100)
    step1 = unit((1 - lr) * old.prototype + lr * unit(T[700:700 + W]))
    step2 = unit((1 - lr) * step1 + lr * unit(T[2100:2100 + W]))
    np.testing.assert_allclose(new.prototype, step2, rtol=0, atol=1e-12)
    assert pearson(new.prototype, A) > pearson(old.prototype, A)  # moved toward the instances
    assert next(p for p in res.patterns if p.id == old.id) == new


def test_learning_follows_the_config_passed_to_perceive(two_shapes):
    """perceive(config=...) governs the whole call: the library's own config only supplies the
    default. Here the library says learning_rate=0.1 and the call says 0.5."""
    A, _ = two_shapes
    T = _pair_signal(A)
    lib = pl.PatternLibrary(config=config(window=W, top_k=1, exploration_rate=0.0))
    cfg = lib.config.replace(learning_rate=0.5)
    pl.perceive(T, library=lib, config=cfg, signal_id=5)
    p = next(q for q in lib if q.first_seen == (5, 700))
    assert p.support == 2
    want = unit(0.5 * unit(T[700:700 + W]) + 0.5 * unit(T[2100:2100 + W]))
    np.testing.assert_allclose(p.prototype, want, rtol=0, atol=1e-12)


def test_a_new_shape_becomes_a_new_pattern(two_shapes):
    A, B = two_shapes
    T = _pair_signal(B)
    lib = pl.PatternLibrary(config=config(window=W, top_k=1, exploration_rate=0.0))
    pa = lib.add(A, signal_id="ref", offset=0)
    res = pl.perceive(T, library=lib, signal_id=2)
    assert res.matches == []
    assert lib[pa.id] == pa  # untouched
    assert pa.id not in res.updated_patterns
    pb = next(p for p in lib if p.first_seen == (2, 700))
    assert pb.id in res.new_patterns and pb.id == pl.library.pattern_id("default", W, 2, 700)
    assert pearson(pb.prototype, B) > 0.9 and abs(pearson(pb.prototype, A)) < 0.5
    again = pl.perceive(T, library=lib, signal_id=3, learn=False)
    assert [(m.pattern_id, m.offset) for m in again.matches if m.pattern_id == pb.id] == [
        (pb.id, 700), (pb.id, 2100)]


def test_learn_false_leaves_the_library_unchanged(planted, known_library):
    before = snapshot(known_library)
    res = pl.perceive(planted.signal, domain="demo", library=known_library, learn=False, signal_id=9)
    assert res.new_patterns == [] and res.updated_patterns == []
    assert res.matches  # the library knows this signal
    assert_unchanged(known_library, before)


def test_capacity_is_respected_with_archival(planted):
    cfg = config(window=32, max_patterns=2, top_k=5, exploration_rate=1.0)
    lib = pl.PatternLibrary(config=cfg)
    res = pl.perceive(planted.signal, library=lib)
    assert len(res.new_patterns) > 2
    assert len(lib) == 2
    archived = [p.id for p in lib.archived]
    assert set(res.new_patterns) <= set(lib.ids) | set(archived)
    assert len(set(archived) & set(lib.ids)) == 0
    assert all(p.id in lib for p in res.patterns)


# -------------------------------------------------------------------------- exploration, determinism


def _prov(lib: pl.PatternLibrary) -> list[tuple]:
    return sorted(p.first_seen for p in lib)


def test_exploration_is_reproducible(planted):
    cfg = config(window=32, exploration_rate=1.0, top_k=4, seed=17)
    a, b = pl.PatternLibrary(config=cfg), pl.PatternLibrary(config=cfg)
    ra = pl.perceive(planted.signal, library=a, signal_id=3)
    rb = pl.perceive(planted.signal, library=b, signal_id=3)
    assert_same_perception(ra, rb)
    assert_unchanged(b, snapshot(a))


def test_exploration_depends_on_the_seed_and_the_signal_id(planted):
    found = set()
    for seed in range(6):
        lib = pl.PatternLibrary(config=config(window=32, exploration_rate=1.0, top_k=4, seed=seed))
        pl.perceive(planted.signal, library=lib, signal_id=0)
        found.add(tuple(_prov(lib)))
    assert len(found) > 1  # different seeds draw different windows
    offsets = set()
    for sid in range(6):
        lib = pl.PatternLibrary(config=config(window=32, exploration_rate=1.0, top_k=4, seed=0))
        pl.perceive(planted.signal, library=lib, signal_id=sid)
        offsets.add(tuple(sorted(off for _, off in _prov(lib))))
    assert len(offsets) > 1  # so do different signals under one seed


def test_without_exploration_the_seed_does_not_matter(planted):
    results = []
    for seed in range(4):
        lib = pl.PatternLibrary(config=config(window=32, exploration_rate=0.0, seed=seed))
        pl.perceive(planted.signal, library=lib, signal_id=1)
        results.append(snapshot(lib))
    for other in results[1:]:
        for key in results[0][0]:
            assert np.array_equal(results[0][0][key], other[0][key]), key


def test_perceive_is_deterministic_on_copies_of_a_library(known_library):
    signal = planted_signal(3000, 32, occurrences=3, noise=0.1, seed=5).signal
    a, b = known_library.copy(), known_library.copy()
    ra = pl.perceive(signal, domain="demo", library=a, signal_id=1)
    rb = pl.perceive(signal, domain="demo", library=b, signal_id=1)
    assert ra.matches and ra.updated_patterns  # a real run: matches, updates and new patterns
    assert_same_perception(ra, rb)
    arrays_a, arrays_b = a.to_arrays(), b.to_arrays()
    assert arrays_a["ids"].tolist() == arrays_b["ids"].tolist()
    assert np.array_equal(arrays_a["supports"], arrays_b["supports"])
    for key in arrays_a:
        assert np.array_equal(arrays_a[key], arrays_b[key]), key


def test_list_and_array_input_give_the_same_result(planted):
    T = planted.signal[:1000]
    cfg = config(window=32)
    assert_same_perception(pl.perceive(T, config=cfg), pl.perceive(T.tolist(), config=cfg))


# ------------------------------------------------------------------------------------------ recall


def _planted_signal_data(seed: int, w: int):
    p = planted_signal(8000, w, occurrences=3, noise=0.1, seed=seed)
    return p.signal, p.motifs


def _shapes_in_noise_data(seed: int, w: int):
    """Three distinct shapes, each planted four times in white noise at random offsets."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, w)
    shapes = {
        "chirp": np.sin(2 * np.pi * (1 + 4 * t) * t) * np.hanning(w),
        "bumps": np.exp(-(((t - 0.3) / 0.08) ** 2)) - np.exp(-(((t - 0.7) / 0.08) ** 2)),
        "saw": ((4 * t) % 1.0 - 0.5) * np.hanning(w) * 2,
    }
    n, occ, slot = 8000, 4, 2 * w
    T = 0.3 * rng.standard_normal(n)
    slots = rng.choice(n // slot - 1, size=len(shapes) * occ, replace=False)
    truth: dict[str, list[int]] = {}
    for k, (name, shape) in enumerate(shapes.items()):
        for s in slots[k * occ:(k + 1) * occ]:
            o = int(s * slot + rng.integers(0, w))
            T[o:o + w] += 3.0 * shape / np.abs(shape).max()
            truth.setdefault(name, []).append(o)
    return T, truth


@pytest.mark.parametrize("make", [_planted_signal_data, _shapes_in_noise_data],
                         ids=["planted_signal", "shapes-in-noise"])
def test_planted_motifs_are_discovered(make):
    """Learn from a signal with the default config, then perceive it again without learning: the
    learned patterns match >= 95% of the planted occurrences, pooled over 20 seeds. An occurrence is
    found when a match overlaps it by at least two thirds of a window (the planted shapes taper to
    zero at their ends, so the best-aligned window of a shape can sit a few samples off)."""
    w = 64
    total, missed = 0, []
    for seed in range(20):
        T, truth = make(seed, w)
        lib = pl.PatternLibrary(config=config(window=w, seed=seed))
        pl.perceive(T, library=lib, signal_id=seed)
        res = pl.perceive(T, library=lib, signal_id=seed, learn=False)
        for name, offsets in truth.items():
            for o in offsets:
                total += 1
                if not any(abs(m.offset - o) <= w // 3 for m in res.matches):
                    missed.append((seed, name, o))
    recall = 1 - len(missed) / total
    assert recall >= 0.95, f"recall {recall:.3f} over {total} planted occurrences; missed {missed[:12]}"


def test_planted_signal_occurrences_of_a_shape_look_alike():
    """The ground truth the recall test relies on: occurrences of one planted shape are the same shape
    (planted_signal promises that they share the background's phase)."""
    w = 64
    worst = []
    for seed in range(3):
        p = planted_signal(8000, w, occurrences=3, noise=0.1, seed=seed)
        for name, offsets in p.motifs.items():
            for a, b in itertools.combinations(offsets, 2):
                worst.append((pearson(p.signal[a:a + w], p.signal[b:b + w]), seed, name, a, b))
    assert min(worst)[0] >= 0.9, sorted(worst)[:5]


# ----------------------------------------------------------------------------------------- scaling


@pytest.mark.parametrize("scale", [2.0**-70, 2.0**40, 2.0**-665, 2.0**665],
                         ids=["1e-21", "1e12", "1e-200", "1e200"])
def test_perceive_does_not_depend_on_the_scale_of_the_signal(planted, scale):
    T = planted.signal[:1500]
    cfg = config(window=32, exploration_rate=0.0)
    ref_lib, lib = pl.PatternLibrary(config=cfg), pl.PatternLibrary(config=cfg)
    ref = pl.perceive(T, library=ref_lib)
    got = pl.perceive(T * scale, library=lib)
    assert got.events.tolist() == ref.events.tolist()
    assert [(m.a, m.b) for m in got.motifs] == [(m.a, m.b) for m in ref.motifs]
    assert _prov(lib) == _prov(ref_lib) and lib.ids == ref_lib.ids
    np.testing.assert_allclose(lib.prototypes, ref_lib.prototypes, rtol=0, atol=1e-9)
    again_ref = pl.perceive(T, library=ref_lib, learn=False)
    again = pl.perceive(T * scale, library=lib, learn=False)
    assert [m[:2] for m in again.matches] == [m[:2] for m in again_ref.matches]
    np.testing.assert_allclose([m.correlation for m in again.matches],
                               [m.correlation for m in again_ref.matches], rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------------------- bad input

T200 = np.random.default_rng(0).standard_normal(200)
NAN_EVERY_20 = T200.copy()
NAN_EVERY_20[::20] = np.nan

BAD_INPUT = {
    # name: (kwargs for perceive besides library, error class, builtin, fragments of the message)
    "too short": ({"signal": np.arange(30.0)}, InvalidWindowError, ValueError,
                  ["30 samples", "window=32", "at least 41", "EngineConfig(window="]),
    "2-D": ({"signal": np.ones((4, 100))}, InvalidSignalError, ValueError, ["(4, 100)", "1-D"]),
    "column": ({"signal": T200.reshape(-1, 1)}, InvalidSignalError, ValueError, ["(200, 1)", ".ravel()"]),
    "string": ({"signal": "0.1, 0.2, 0.3"}, SignalTypeError, TypeError, ["string"]),
    "list of strings": ({"signal": ["0.5", "1.5"] * 50}, SignalTypeError, TypeError, ["<U3"]),
    "objects": ({"signal": np.array([1.0, "a", None] * 40, dtype=object)}, SignalTypeError, TypeError,
                ["object", "'a'"]),
    "complex": ({"signal": T200 + 1j}, SignalTypeError, TypeError, ["complex"]),
    "bool": ({"signal": T200 > 0}, SignalTypeError, TypeError, ["boolean"]),
    "empty": ({"signal": []}, InvalidSignalError, ValueError, ["empty"]),
    "None": ({"signal": None}, PatternlabError, (ValueError, TypeError), []),
    "all NaN": ({"signal": np.full(200, np.nan)}, InvalidSignalError, ValueError, ["200 samples", "NaN"]),
    "all inf": ({"signal": np.r_[np.full(100, np.inf), np.full(100, -np.inf)]}, InvalidSignalError,
                ValueError, ["NaN or inf"]),
    "no finite window": ({"signal": NAN_EVERY_20}, InvalidSignalError, ValueError, ["32", "finite"]),
    "empty domain": ({"signal": T200, "domain": ""}, InvalidParameterError, ValueError, ["domain=''"]),
    "domain not a string": ({"signal": T200, "domain": 3}, InvalidParameterError, ValueError, ["domain=3"]),
    "config not an EngineConfig": ({"signal": T200, "config": {"window": 32}}, PatternlabError,
                                   (ValueError, TypeError), ["dict"]),
    "config of another window": ({"signal": T200, "config": config(window=16)},
                                 InvalidParameterError, ValueError, ["16", "32"]),
}


@pytest.mark.parametrize("kwargs, error, builtin, fragments", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_raises_a_clear_error_and_leaves_the_library_unchanged(known_library, kwargs, error,
                                                                         builtin, fragments):
    before = snapshot(known_library)
    with pytest.raises(error) as info:
        pl.perceive(library=known_library, **kwargs)
    assert isinstance(info.value, PatternlabError) and isinstance(info.value, builtin)
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg, msg
    assert_unchanged(known_library, before)


def test_four_samples_say_what_to_do():
    with pytest.raises(InvalidWindowError) as info:
        pl.perceive([0.1, 0.3, 0.5, 0.7], domain="audio")
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, PatternlabError)
    assert type(err).__module__ == "patternlab.errors"  # never a numba error
    msg = str(err)
    w = pl.EngineConfig().window
    ez = -(-w // 4)
    assert "4 samples" in msg
    assert f"at least {pl.engine.min_signal_length(w)}" in msg
    # why that many: two windows outside each other's exclusion zone
    assert "exclusion zone" in msg and f"{w + ez + 1} samples ({w} + {ez} + 1)" in msg
    assert "no window fits 4 samples" in msg and "pass a longer signal" in msg
    assert msg.count(":") == 1  # what is wrong, then why and the fix: no chain of colons


def test_too_short_message_names_a_window_that_works():
    T = np.random.default_rng(1).standard_normal(50)
    with pytest.raises(InvalidWindowError) as info:
        pl.perceive(T, config=config(window=64))
    found = re.search(r"EngineConfig\(window=(\d+)\)", str(info.value))
    assert found, str(info.value)
    (window,) = found.groups()
    res = pl.perceive(T, config=config(window=int(window)))  # the advice works
    assert res.window == int(window)
    with pytest.raises(InvalidWindowError):
        pl.perceive(T, config=config(window=int(window) + 1))  # and it is the largest


def test_shortest_signal_is_accepted():
    for w in (3, 8, 32):
        n = pl.engine.min_signal_length(w)
        T = np.random.default_rng(w).standard_normal(n)
        assert pl.perceive(T, config=config(window=w)).window == w
        with pytest.raises(InvalidWindowError, match=f"at least {n}"):
            pl.perceive(T[:-1], config=config(window=w))


# -------------------------------------------------------------------------------------- hypothesis


def _check_perceive(T, w: int, exploration: float) -> None:
    """perceive either raises a PatternlabError or returns finite correlations and unit prototypes; a
    second look (learn=False) matches the learned patterns with finite correlations too."""
    cfg = config(window=w, top_k=2, exploration_rate=exploration, cluster_threshold=0.5)
    lib = pl.PatternLibrary(config=cfg)
    lib.add(np.sin(np.arange(w, dtype=float)) + np.arange(w) / w, signal_id="ref", offset=0)
    before = snapshot(lib)
    try:
        res = pl.perceive(T, library=lib, signal_id=0)
    except PatternlabError as err:
        assert isinstance(err, (ValueError, TypeError))
        assert_unchanged(lib, before)
        return
    for look in (res, pl.perceive(T, library=lib, signal_id=0, learn=False)):
        for m in look.matches:
            assert np.isfinite(m.correlation) and 0.5 <= m.correlation <= 1.0 + 1e-9
            assert m.pattern_id in lib
        assert np.all((look.events >= 1) & (look.events < len(T)))
    Z = lib.prototypes
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-9)
    _, corr = lib.nearest(np.lib.stride_tricks.sliding_window_view(np.asarray(T, float), w))
    assert not np.any(np.isnan(corr))


@settings(max_examples=150, deadline=None)
@given(T=hnp.arrays(np.float64, st.integers(0, 60), elements=st.floats(allow_nan=True, allow_infinity=True)),
       w=st.integers(3, 6), exploration=st.sampled_from([0.0, 1.0]))
@example(T=np.array([1e308, -1e308] * 10), w=3, exploration=0.0)  # sums overflow
@example(T=np.array([5.84408216e129, 0.0, -2.23175426e114, 0.0, 0.0]), w=3, exploration=0.0)  # |corr| > 1
def test_any_signal_never_crashes_and_never_gives_nan(T, w, exploration):
    _check_perceive(T, w, exploration)


@settings(max_examples=150, deadline=None)
@given(T=hnp.arrays(np.float64, st.integers(0, 60),
                    elements=st.one_of(st.floats(-1e3, 1e3), st.sampled_from([np.nan, np.inf, -np.inf]))),
       w=st.integers(3, 6), exploration=st.sampled_from([0.0, 1.0]))
@example(T=np.array([0.0, 1.0, np.nan, 0.0, 1.0, 1.0, 1.0, 1.0]), w=3, exploration=0.0)  # learns a NaN window
def test_ordinary_signals_with_gaps_never_crash_and_never_give_nan(T, w, exploration):
    _check_perceive(T, w, exploration)


def test_rounding_jitter_on_a_large_offset_is_no_shape_to_match():
    """Windows whose spread is one ulp of a 1e6 offset are constant, in the matrix profile and in
    matching alike: an alternating pattern must not match them at correlation 1."""
    rng = np.random.default_rng(3)
    T = 1e6 + rng.standard_normal(600)
    ulp = np.spacing(1e6)
    T[200:240] = 1e6 + ulp * (np.arange(40) % 2)
    lib = pl.PatternLibrary(window=8, config=config(window=8))
    lib.add(np.arange(8) % 2 * 1.0, signal_id="p", offset=0)
    res = pl.perceive(T, library=lib, learn=False)
    assert res.profile is not None and res.profile.P[200] == 0.0  # constant beside constant
    assert not [m for m in res.matches if 195 <= m.offset <= 240], res.matches


def test_an_event_window_is_cut_where_the_shape_recurs():
    """A shape planted twice with a level step at its onset: the candidate learned from that jump
    is the window that recurs best in the signal, within the lag that learning aligns
    (``window // 4``) of the shape itself, not the window centred on the jump (half background,
    half shape)."""
    from patternlab.datasets.synthetic import corpus_shapes
    from patternlab.engine import _event_window

    w = 64
    floor = pl.EngineConfig().min_complexity
    for seed in range(6):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(1200)
        starts = (300, 800)
        for s in starts:
            x[s:s + w] += 3.0 * corpus_shapes(w)["square"] + 1.5 + rng.normal(0, 0.3, w)
        mp = pl.matrix_profile(x, w)
        ok = np.ones(len(mp.P), dtype=bool)
        for s in starts:
            chosen = _event_window(s, w, len(mp.P), mp.P, x, floor, ok)  # the jump onto x[s]
            assert s - w + 1 <= chosen <= s and abs(chosen - s) <= w // 4, (seed, s, chosen)
    # no window around the event has a neighbour: the centred window
    inf = np.full(len(mp.P), np.inf)
    assert _event_window(500, w, len(inf), inf, x, floor, ok) == 500 - w // 2
    assert _event_window(0, w, len(inf), inf, x, floor, ok) == 0
