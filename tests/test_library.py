"""Pattern and PatternLibrary: prototypes, stable ids, nearest-prototype search, learning, capacity
and archive, merging, export to plain arrays, and the HTML repr."""

from __future__ import annotations

import html
import itertools
import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import patternlab as pl
import reference as ref
from patternlab.errors import InvalidParameterError, InvalidSignalError, PatternlabError, PatternNotFoundError
from patternlab.library import pattern_id
from reference import pearson, unit

W = 16


@pytest.fixture
def shapes() -> dict[str, np.ndarray]:
    """Four shapes of length ``W``, pairwise correlated well below 0.7."""
    t = np.linspace(0.0, 1.0, W)
    out = {
        "sine": np.sin(2 * np.pi * t),
        "ramp": t.copy(),
        "bump": np.exp(-(((t - 0.5) / 0.1) ** 2)),
        "zigzag": np.where(np.arange(W) % 2 == 0, 1.0, -1.0),
    }
    names = list(out)
    for a, b in itertools.combinations(names, 2):
        assert abs(pearson(out[a], out[b])) < 0.7, (a, b)
    return out


#: Learning as one pattern per unmatched candidate, without pool, complexity filter or lag
#: alignment: these tests are about the mechanics of updating, founding and merging
#: (tests/test_library_meaning.py covers the defaults).
PLAIN = {"min_complexity": 0.0, "min_support": 1, "max_lag": 0}


def make_library(shapes: dict[str, np.ndarray], supports=None, **config) -> pl.PatternLibrary:
    cfg = pl.EngineConfig(window=W, **{**PLAIN, **config})
    lib = pl.PatternLibrary(domain="test", config=cfg)
    for k, (_, values) in enumerate(shapes.items()):
        lib.add(values, signal_id=k, offset=10 * k, support=1 if supports is None else supports[k])
    return lib


def assert_same_arrays(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert np.array_equal(a[key], b[key]), key


def snapshot(lib: pl.PatternLibrary):
    return lib.to_arrays(), [p.id for p in lib.archived]


# ------------------------------------------------------------------------------------------ Pattern


def test_add_returns_a_normalized_pattern_with_its_provenance(shapes):
    lib = pl.PatternLibrary(window=W, domain="audio")
    values = 5.0 + 3.0 * shapes["sine"]
    p = lib.add(values, signal_id=7, offset=120)
    assert isinstance(p, pl.Pattern)
    assert p.id == pattern_id("audio", W, 7, 120)
    assert p.domain == "audio" and p.window == W and p.support == 1
    assert p.first_seen == (7, 120) and p.last_updated == (7, 120)
    assert p.prototype.shape == (W,) and p.prototype.dtype == np.float64
    assert abs(p.prototype.mean()) < 1e-15
    assert np.linalg.norm(p.prototype) == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(p.prototype, unit(values), rtol=0, atol=1e-14)
    assert lib[p.id] == p


def test_pattern_prototypes_are_read_only_copies(shapes):
    lib = make_library(shapes)
    p = lib[0]
    with pytest.raises(ValueError):
        p.prototype[0] = 1.0
    before = lib.prototypes
    protos = lib.prototypes
    protos[:] = 0.0  # a copy: the library does not change
    assert np.array_equal(lib.prototypes, before)
    sup = lib.supports
    sup[:] = 99
    assert not np.any(lib.supports == 99)


def test_domain_override_and_support(shapes):
    lib = pl.PatternLibrary(window=W, domain="audio")
    p = lib.add(shapes["ramp"], signal_id="rec-1", offset=3, domain="speech", support=4)
    assert p.domain == "speech" and p.support == 4
    assert p.id == pattern_id("speech", W, "rec-1", 3)


def test_ids_derive_from_provenance_only(shapes):
    a = pl.PatternLibrary(window=W, domain="audio")
    b = pl.PatternLibrary(window=W, domain="audio")
    pa = a.add(shapes["sine"], signal_id=3, offset=40)
    pb = b.add(shapes["bump"], signal_id=3, offset=40)  # other values, same provenance
    assert pa.id == pb.id
    others = {
        pattern_id("audio", W, 3, 40),
        pattern_id("speech", W, 3, 40),
        pattern_id("audio", W + 1, 3, 40),
        pattern_id("audio", W, 4, 40),
        pattern_id("audio", W, "3", 40),
        pattern_id("audio", W, 3, 41),
    }
    assert len(others) == 6
    assert pattern_id("audio", W, 3, 40) == pattern_id("audio", W, 3, 40)  # no clock, no randomness


def test_numpy_integer_provenance_gives_the_same_id(shapes):
    # Signal ids and offsets are often numpy integers (np.arange, an index array); the id of a
    # pattern must not depend on whether the caller's 7 was an int or an np.int64.
    a = pl.PatternLibrary(window=W, domain="audio")
    b = pl.PatternLibrary(window=W, domain="audio")
    pa = a.add(shapes["sine"], signal_id=7, offset=1200)
    pb = b.add(shapes["sine"], signal_id=np.int64(7), offset=np.int64(1200))
    assert pa.id == pb.id


def test_same_provenance_twice_gets_distinct_ids(shapes):
    lib = pl.PatternLibrary(window=W)
    p1 = lib.add(shapes["sine"], signal_id=0, offset=0)
    p2 = lib.add(shapes["ramp"], signal_id=0, offset=0)
    assert p1.id != p2.id and p2.id.startswith(p1.id)
    assert len(lib) == 2 and lib[p1.id] == p1 and lib[p2.id] == p2


@pytest.mark.parametrize(
    "values, fragment",
    [
        (np.ones(W), "constant"),
        (np.r_[np.arange(W - 1.0), np.nan], "NaN"),
        (np.r_[np.arange(W - 1.0), np.inf], "NaN"),
        (np.arange(W - 1.0), f"{W}"),
        (np.ones((2, W)), f"{W}"),
    ],
    ids=["constant", "nan", "inf", "short", "2-D"],
)
def test_add_rejects_windows_without_a_shape(values, fragment):
    lib = pl.PatternLibrary(window=W)
    with pytest.raises(InvalidSignalError, match=fragment) as info:
        lib.add(values, signal_id=0, offset=0)
    assert isinstance(info.value, ValueError)
    assert len(lib) == 0


# -------------------------------------------------------------------------------- container protocol


def test_len_iteration_and_indexing(shapes):
    lib = make_library(shapes)
    assert len(lib) == 4
    ids = lib.ids
    assert [p.id for p in lib] == ids
    assert all(isinstance(p, pl.Pattern) for p in lib)
    for k, pid in enumerate(ids):
        assert lib[k] == lib[pid]
        assert pid in lib
    assert lib[-1] == lib[ids[-1]]
    assert lib.prototypes.shape == (4, W)
    assert lib.supports.tolist() == [1, 1, 1, 1]
    assert "4 patterns" in repr(lib)


def test_unknown_id_raises_pattern_not_found(shapes):
    lib = make_library(shapes)
    with pytest.raises(PatternNotFoundError) as info:
        lib["test-16-000000000000"]
    assert isinstance(info.value, KeyError) and isinstance(info.value, PatternlabError)
    assert "test-16-000000000000" in str(info.value)
    with pytest.raises(KeyError):
        lib["nope"]
    assert "nope" not in lib


@pytest.mark.parametrize("index", [4, -5, 100])
def test_index_out_of_range_raises(shapes, index):
    lib = make_library(shapes)
    with pytest.raises((KeyError, IndexError)) as info:
        lib[index]
    assert isinstance(info.value, PatternlabError)
    assert str(index) in str(info.value)


def test_empty_library():
    lib = pl.PatternLibrary(window=W)
    assert len(lib) == 0 and list(lib) == [] and lib.ids == []
    assert lib.prototypes.shape == (0, W)
    ids, corr = lib.nearest(np.arange(W, dtype=float))
    assert ids == [None] and corr.tolist() == [-np.inf]
    with pytest.raises(PatternNotFoundError):
        lib[0]


def test_copy_is_independent(shapes):
    lib = make_library(shapes)
    before = snapshot(lib)
    other = lib.copy()
    other.learn(shapes["sine"] + 0.1 * shapes["ramp"], signal_id=9, offset=9)
    other.add(shapes["sine"] * shapes["ramp"], signal_id=9, offset=99)
    assert_same_arrays(snapshot(lib)[0], before[0])
    assert len(lib) == 4 and len(other) == 5


def test_library_grows_beyond_its_initial_buffer():
    rng = np.random.default_rng(5)
    lib = pl.PatternLibrary(window=W)
    values = rng.standard_normal((40, W))
    for k, v in enumerate(values):
        lib.add(v, signal_id=k, offset=0)
    assert len(lib) == 40
    np.testing.assert_allclose(lib.prototypes, np.stack([unit(v) for v in values]), atol=1e-14)


# ----------------------------------------------------------------------------------------- nearest


def test_nearest_finds_the_most_correlated_pattern(shapes):
    lib = make_library(shapes)
    rng = np.random.default_rng(1)
    for k, (_name, values) in enumerate(shapes.items()):
        window = -3.0 + 7.0 * values + 0.05 * rng.standard_normal(W)  # offset and scale do not matter
        ids, corr = lib.nearest(window)
        assert ids == [lib.ids[k]]
        assert corr[0] == pytest.approx(pearson(window, values), abs=1e-12)


def test_nearest_correlations_against_all_prototypes(shapes):
    lib = make_library(shapes)
    rng = np.random.default_rng(2)
    windows = rng.standard_normal((25, W))
    ids, corr = lib.nearest(windows)
    assert len(ids) == 25 and corr.shape == (25,)
    for w, pid, c in zip(windows, ids, corr):
        want = [pearson(w, p.prototype) for p in lib]
        assert pid == lib.ids[int(np.argmax(want))]
        assert c == pytest.approx(max(want), abs=1e-12)


def test_nearest_ties_go_to_the_first_pattern(shapes):
    lib = pl.PatternLibrary(window=W)
    first = lib.add(shapes["bump"], signal_id=0, offset=0)
    lib.add(2 * shapes["bump"] + 1, signal_id=1, offset=0)  # the same prototype
    ids, _ = lib.nearest(shapes["bump"])
    assert ids == [first.id]


def test_nearest_of_an_anti_correlated_window_is_negative(shapes):
    lib = pl.PatternLibrary(window=W)
    lib.add(shapes["sine"], signal_id=0, offset=0)
    _, corr = lib.nearest(-shapes["sine"])
    assert corr[0] == pytest.approx(-1.0, abs=1e-12)


def test_nearest_of_windows_without_a_shape(shapes):
    lib = make_library(shapes)
    bad = np.stack([np.ones(W), np.r_[np.nan, np.arange(W - 1.0)], np.r_[np.arange(W - 1.0), -np.inf],
                    shapes["ramp"]])
    ids, corr = lib.nearest(bad)
    assert ids[:3] == [None, None, None]
    assert np.all(corr[:3] == -np.inf)
    assert ids[3] == lib.ids[1]


@pytest.mark.parametrize("shape", [(W - 1,), (3, W + 1), (2, 3, W)])
def test_nearest_rejects_windows_of_the_wrong_length(shapes, shape):
    lib = make_library(shapes)
    with pytest.raises(InvalidSignalError, match=str(W)):
        lib.nearest(np.ones(shape))


def test_nearest_of_no_windows(shapes):
    lib = make_library(shapes)
    ids, corr = lib.nearest(np.empty((0, W)))
    assert ids == [] and corr.shape == (0,)


@pytest.mark.parametrize("scale", [1e-12, 1e12, 1e-200, 1e200])
def test_prototypes_and_correlations_do_not_depend_on_the_scale(shapes, scale):
    """Normalization is scale-free: a window scaled by any finite factor has the same shape."""
    ref = pl.PatternLibrary(window=W)
    p = ref.add(shapes["sine"] + 0.3 * shapes["ramp"], signal_id=0, offset=0)
    lib = pl.PatternLibrary(window=W)
    q = lib.add((shapes["sine"] + 0.3 * shapes["ramp"]) * scale, signal_id=0, offset=0)
    np.testing.assert_allclose(q.prototype, p.prototype, rtol=0, atol=1e-12)
    ids, corr = ref.nearest(shapes["sine"] * scale)
    assert ids == [p.id]
    assert corr[0] == pytest.approx(pearson(shapes["sine"], p.prototype), abs=1e-12)


# ------------------------------------------------------------------------------------------- learn


def test_learn_moves_the_prototype_by_the_learning_rate(shapes):
    lib = make_library(shapes, learning_rate=0.25)
    old = lib[0]
    instance = 2.0 * shapes["sine"] + 0.4 * shapes["ramp"]  # corr with "sine" >= 0.7, below 1
    assert 0.7 <= pearson(instance, old.prototype) < 0.999
    what, pid = lib.learn(instance, signal_id=42, offset=512)
    assert (what, pid) == ("updated", old.id)
    new = lib[pid]
    want = unit((1 - 0.25) * old.prototype + 0.25 * unit(instance))
    np.testing.assert_allclose(new.prototype, want, rtol=0, atol=1e-14)
    assert pearson(new.prototype, instance) > pearson(old.prototype, instance)
    assert new.support == old.support + 1
    assert new.first_seen == old.first_seen and new.last_updated == (42, 512)
    assert abs(new.prototype.mean()) < 1e-15 and np.linalg.norm(new.prototype) == pytest.approx(1, abs=1e-14)
    for k in range(1, 4):  # the others do not move
        assert lib[k] == make_library(shapes)[k]


@pytest.mark.parametrize("lr", [0.1, 0.5, 1.0])
def test_learn_formula_for_several_rates(shapes, lr):
    lib = make_library(shapes, learning_rate=lr)
    old = lib[lib.ids[2]].prototype
    instance = shapes["bump"] + 0.2 * shapes["zigzag"]
    assert lib.learn(instance, signal_id=1, offset=2) == ("updated", lib.ids[2])
    np.testing.assert_allclose(lib[2].prototype, unit((1 - lr) * old + lr * unit(instance)), atol=1e-14)
    if lr == 1.0:
        np.testing.assert_allclose(lib[2].prototype, unit(instance), atol=1e-14)


def test_learn_updates_the_most_correlated_pattern(shapes):
    lib = make_library(shapes, cluster_threshold=0.1)
    instance = shapes["bump"] + 0.3 * shapes["sine"]
    corr = [pearson(instance, p.prototype) for p in lib]
    assert sorted(corr)[-2] >= 0.1  # two candidates above the threshold
    what, pid = lib.learn(instance, signal_id=0, offset=0)
    assert what == "updated" and pid == lib.ids[int(np.argmax(corr))]


def test_learn_founds_a_new_pattern_below_the_threshold(shapes):
    lib = make_library(shapes)
    t = np.linspace(0, 1, W)
    instance = np.sin(6 * np.pi * t**2)
    assert max(pearson(instance, p.prototype) for p in lib) < 0.7
    before = snapshot(lib)
    what, pid = lib.learn(instance, signal_id="s", offset=77, domain="other")
    assert what == "new" and pid == pattern_id("other", W, "s", 77)
    assert len(lib) == 5 and lib.ids[-1] == pid
    p = lib[pid]
    assert p.support == 1 and p.first_seen == ("s", 77) and p.domain == "other"
    np.testing.assert_allclose(p.prototype, unit(instance), atol=1e-14)
    after = lib.to_arrays()
    assert np.array_equal(after["prototypes"][:4], before[0]["prototypes"])
    assert np.array_equal(after["supports"][:4], before[0]["supports"])


def test_learn_rejects_windows_without_a_shape(shapes):
    lib = make_library(shapes)
    before = snapshot(lib)
    for bad in (np.zeros(W), np.full(W, np.nan), np.arange(W + 1.0)):
        with pytest.raises(InvalidSignalError):
            lib.learn(bad, signal_id=0, offset=0)
    assert_same_arrays(lib.to_arrays(), before[0])


# ------------------------------------------------------------------------------- capacity, archive


def test_full_library_archives_the_lowest_support_pattern(shapes):
    lib = make_library(dict(itertools.islice(shapes.items(), 3)), supports=[2, 1, 1], max_patterns=3)
    p_sine, p_ramp, p_bump = lib[0], lib[1], lib[2]
    p_zig = lib.add(shapes["zigzag"], signal_id=3, offset=30)
    assert len(lib) == 3
    assert lib.ids == [p_sine.id, p_bump.id, p_zig.id]  # "ramp": lowest support, oldest on ties
    assert [p.id for p in lib.archived] == [p_ramp.id]
    assert lib.archived[0] == p_ramp  # kept whole: prototype, support, provenance
    assert p_ramp.id not in lib
    with pytest.raises(PatternNotFoundError):
        lib[p_ramp.id]
    assert "1 archived" in repr(lib)


def test_restore_brings_an_archived_pattern_back(shapes):
    lib = make_library(dict(itertools.islice(shapes.items(), 3)), supports=[2, 1, 3], max_patterns=3)
    p_sine, p_ramp, p_bump = lib[0], lib[1], lib[2]
    p_zig = lib.add(shapes["zigzag"], signal_id=3, offset=30, support=5)
    assert [p.id for p in lib.archived] == [p_ramp.id]
    back = lib.restore(p_ramp.id)
    assert back == p_ramp and lib[p_ramp.id] == p_ramp
    assert len(lib) == 3  # still full: now "sine" (support 2) is the weakest
    assert [p.id for p in lib.archived] == [p_sine.id]
    assert set(lib.ids) == {p_ramp.id, p_bump.id, p_zig.id}
    with pytest.raises(PatternNotFoundError, match="nope") as info:
        lib.restore("nope")
    assert isinstance(info.value, KeyError)


def test_restore_into_a_library_with_room(shapes):
    lib = make_library(dict(itertools.islice(shapes.items(), 2)), max_patterns=2)
    first = lib[0]
    lib.add(shapes["bump"], signal_id=5, offset=0)
    assert [p.id for p in lib.archived] == [first.id]
    lib.restore(first.id)
    assert first.id in lib and len(lib) == 2
    assert len(lib.archived) == 1 and lib.archived[0].id != first.id


def test_learning_into_a_full_library_archives(shapes):
    lib = make_library(dict(itertools.islice(shapes.items(), 2)), supports=[3, 1], max_patterns=2)
    weak = lib[1]
    what, pid = lib.learn(shapes["zigzag"], signal_id=9, offset=9)
    assert what == "new" and len(lib) == 2
    assert [p.id for p in lib.archived] == [weak.id] and pid in lib


def test_an_archived_id_is_not_reused(shapes):
    lib = make_library({"sine": shapes["sine"]}, max_patterns=1)
    p0 = lib[0]
    lib.add(shapes["ramp"], signal_id=9, offset=0)
    p2 = lib.add(shapes["bump"], signal_id=0, offset=0)  # same provenance as the archived p0
    assert p2.id != p0.id
    assert {p.id for p in lib.archived} | set(lib.ids) >= {p0.id, p2.id}


# ------------------------------------------------------------------------------------------- merge


def test_merge_combines_correlated_patterns_weighted_by_support(shapes):
    cfg = pl.EngineConfig(window=W, **PLAIN)
    a = pl.PatternLibrary(domain="test", config=cfg)
    b = pl.PatternLibrary(domain="test", config=cfg)
    pa = a.add(shapes["sine"], signal_id=5, offset=100, support=3)
    pb = b.add(shapes["sine"] + 0.3 * shapes["zigzag"], signal_id=2, offset=50, support=1)
    b.learn(shapes["sine"] + 0.2 * shapes["zigzag"], signal_id=8, offset=10)  # support 2, last (8, 10)
    pb = b[pb.id]
    assert pearson(pa.prototype, pb.prototype) >= cfg.cluster_threshold
    before_a, before_b = snapshot(a), snapshot(b)
    m = a.merge(b)
    assert len(m) == 1
    p = m[0]
    assert p.id == pa.id  # this library's id is kept
    assert p.support == 5
    want = unit((3 * pa.prototype + 2 * pb.prototype) / 5)
    np.testing.assert_allclose(p.prototype, want, rtol=0, atol=1e-14)
    assert p.first_seen == (2, 50)  # the earlier provenance
    assert p.last_updated == (8, 10)  # the later one
    assert_same_arrays(snapshot(a)[0], before_a[0])  # inputs untouched
    assert_same_arrays(snapshot(b)[0], before_b[0])


def test_merge_keeps_distinct_patterns_apart(shapes):
    a = make_library({"sine": shapes["sine"], "ramp": shapes["ramp"]})
    b = pl.PatternLibrary(domain="other", config=a.config)
    pb = b.add(shapes["bump"], signal_id="x", offset=1, support=4)
    m = a.merge(b)
    assert m.ids == [*a.ids, pb.id]
    assert m[pb.id] == pb
    assert m.domain == a.domain


def test_merge_same_id_is_combined(shapes):
    a = make_library({"sine": shapes["sine"]})
    b = a.copy()
    m = a.merge(b)
    assert m.ids == a.ids and m[0].support == 2
    np.testing.assert_allclose(m[0].prototype, a[0].prototype, atol=1e-15)


def test_merge_respects_the_capacity(shapes):
    a = make_library({"sine": shapes["sine"], "ramp": shapes["ramp"]}, supports=[5, 1], max_patterns=2)
    b = pl.PatternLibrary(config=a.config)
    b.add(shapes["bump"], signal_id=9, offset=0, support=3)
    m = a.merge(b)
    assert len(m) == 2 and [p.id for p in m.archived] == [a.ids[1]]


def test_merge_rejects_other_windows(shapes):
    a = make_library(shapes)
    b = pl.PatternLibrary(window=W + 1)
    with pytest.raises(InvalidParameterError, match=str(W + 1)) as info:
        a.merge(b)
    assert isinstance(info.value, ValueError)


def _partition_libraries(n_parts: int = 5) -> list[pl.PatternLibrary]:
    """Libraries learned from different signals (as partitions of a batch would be)."""
    rng = np.random.default_rng(11)
    t = np.linspace(0, 1, W)
    base = [np.sin(2 * np.pi * (1 + k) * t) for k in range(4)] + [t, t**2, np.exp(-((t - 0.5) / 0.1) ** 2)]
    libs = []
    for part in range(n_parts):
        lib = pl.PatternLibrary(window=W, config=pl.EngineConfig(window=W, max_patterns=6, **PLAIN))
        for j in range(6):
            k = int(rng.integers(0, len(base)))
            lib.learn(base[k] + 0.3 * rng.standard_normal(W), signal_id=part, offset=100 * j)
        libs.append(lib)
    return libs


def test_merge_all_with_a_key_does_not_depend_on_the_arrival_order():
    libs = _partition_libraries()
    index = {id(lib): k for k, lib in enumerate(libs)}

    def key(lib):
        return index[id(lib)]

    want = pl.PatternLibrary.merge_all(libs, key=key)
    fold = libs[0]
    for lib in libs[1:]:
        fold = fold.merge(lib)
    assert_same_arrays(want.to_arrays(), fold.to_arrays())
    rng = np.random.default_rng(3)
    for _ in range(8):
        shuffled = [libs[k] for k in rng.permutation(len(libs))]
        got = pl.PatternLibrary.merge_all(shuffled, key=key)
        assert_same_arrays(got.to_arrays(), want.to_arrays())
        assert [p.id for p in got.archived] == [p.id for p in want.archived]
    assert pl.PatternLibrary.merge_all(iter(libs[::-1]), key=key).ids == want.ids  # any iterable


def test_merge_all_without_a_key_folds_in_the_given_order():
    libs = _partition_libraries(3)
    got = pl.PatternLibrary.merge_all(libs)
    assert_same_arrays(got.to_arrays(), libs[0].merge(libs[1]).merge(libs[2]).to_arrays())
    single = pl.PatternLibrary.merge_all(libs[:1])
    assert_same_arrays(single.to_arrays(), libs[0].to_arrays())
    assert single is not libs[0]


def test_merge_all_of_nothing_raises():
    with pytest.raises(InvalidParameterError, match="at least one"):
        pl.PatternLibrary.merge_all([])


def test_merge_is_deterministic():
    libs = _partition_libraries()
    a = pl.PatternLibrary.merge_all(libs)
    b = pl.PatternLibrary.merge_all([lib.copy() for lib in libs])
    assert_same_arrays(a.to_arrays(), b.to_arrays())


# ------------------------------------------------------------------------------------------ arrays


def test_to_arrays_holds_plain_arrays(shapes):
    lib = make_library(shapes)
    lib.learn(shapes["sine"] + 0.3 * shapes["ramp"], signal_id="rec-9", offset=31)
    arrays = lib.to_arrays()
    assert set(arrays) >= {"window", "ids", "domains", "prototypes", "supports"}
    for key, arr in arrays.items():
        assert isinstance(arr, np.ndarray), key
        assert arr.dtype != object, key
    assert arrays["prototypes"].shape == (4, W) and arrays["prototypes"].dtype == np.float64
    assert arrays["supports"].tolist() == [2, 1, 1, 1]
    assert arrays["ids"].tolist() == lib.ids


def test_arrays_round_trip_exactly(shapes):
    lib = make_library(shapes)
    lib.learn(shapes["sine"] + 0.3 * shapes["ramp"], signal_id="rec-9", offset=31)
    lib.add(np.cos(np.arange(W)), signal_id="7", offset=0, domain="speech")  # a str id that looks like an int
    lib.add(np.arange(W) ** 2.0, signal_id=-3, offset=12)
    arrays = lib.to_arrays()
    back = pl.PatternLibrary.from_arrays(arrays, config=lib.config)
    assert_same_arrays(back.to_arrays(), arrays)
    assert list(back) == list(lib)  # Pattern equality: ids, domains, prototypes bit for bit, provenance
    assert back[4].first_seen == ("7", 0) and back[5].first_seen == (-3, 12)
    assert back.window == lib.window and back.config == lib.config
    probe = np.random.default_rng(0).standard_normal((10, W))
    ids_a, corr_a = lib.nearest(probe)
    ids_b, corr_b = back.nearest(probe)
    assert ids_a == ids_b and np.array_equal(corr_a, corr_b)


def test_arrays_round_trip_through_npz(shapes, tmp_path):
    lib = make_library(shapes)
    np.savez(tmp_path / "lib.npz", **lib.to_arrays())
    with np.load(tmp_path / "lib.npz", allow_pickle=False) as f:
        back = pl.PatternLibrary.from_arrays(dict(f))
    assert list(back) == list(lib)


@pytest.mark.parametrize("case", ["empty", "patterns of another domain"])
def test_arrays_round_trip_keeps_the_library_domain(shapes, case):
    lib = pl.PatternLibrary(window=W, domain="audio")
    if case != "empty":
        lib.add(shapes["sine"], signal_id=0, offset=0, domain="speech")
    back = pl.PatternLibrary.from_arrays(lib.to_arrays())
    assert back.domain == lib.domain
    assert len(back) == len(lib) and back.window == W


# -------------------------------------------------------------------------------------------- HTML


def test_repr_html_has_a_row_and_a_sparkline_per_pattern(shapes):
    lib = make_library(shapes)
    out = lib._repr_html_()
    assert out.count("<svg") == len(lib) == out.count("<polyline")
    assert "<table" in out and "</table>" in out
    for p in lib:
        assert p.id in out
    for points in re.findall(r"points='([^']*)'", out):
        assert len(points.split()) == W
        xy = np.array([list(map(float, pt.split(","))) for pt in points.split()])
        assert np.all(np.isfinite(xy))
    assert "support" in out


def test_repr_html_escapes_and_truncates():
    lib = pl.PatternLibrary(window=W, domain="<b>&")
    rng = np.random.default_rng(0)
    for k in range(60):
        lib.add(rng.standard_normal(W), signal_id=f"<i>{k}", offset=k)
    out = lib._repr_html_()
    assert "<b>&" not in out and html.escape("<b>&") in out
    assert "<i>" not in out
    assert out.count("<svg") == 50 and "10 more" in out
    assert pl.PatternLibrary(window=W)._repr_html_().count("<svg") == 0


# -------------------------------------------------------------------------------------- hypothesis

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)


def has_shape(values: np.ndarray) -> bool:
    """Not constant by the reference rule, judged on the values scaled by a power of two (exact) so
    that their squares neither overflow nor underflow."""
    top = float(np.abs(values).max())
    if top == 0.0:
        return False
    return not ref.is_constant(np.ldexp(values, -np.frexp(top)[1]))


@settings(max_examples=150, deadline=None)
@given(values=hnp.arrays(np.float64, 8, elements=st.floats(allow_nan=False, allow_infinity=False)))
@example(values=np.array([1e308, -1e308] * 4))  # the sums overflow: a NaN prototype
@example(values=np.array([1e200, -1e200] * 4))  # the squares overflow
@example(values=np.array([3e-170, 0.0] * 4))  # the squares underflow
def test_any_finite_window_gives_a_unit_prototype_or_a_clear_error(values):
    lib = pl.PatternLibrary(window=8)
    try:
        p = lib.add(values, signal_id=0, offset=0)
    except InvalidSignalError:
        assert len(lib) == 0
        assert not has_shape(values), "a window with a shape was refused"
        return
    assert np.all(np.isfinite(p.prototype))
    assert abs(p.prototype.sum()) < 1e-9
    assert np.linalg.norm(p.prototype) == pytest.approx(1.0, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(windows=hnp.arrays(np.float64, st.tuples(st.integers(0, 4), st.just(8)), elements=ANY_FLOAT))
def test_nearest_never_returns_nan(windows):
    lib = pl.PatternLibrary(window=8)
    lib.add(np.sin(np.arange(8.0)), signal_id=0, offset=0)
    lib.add(np.arange(8.0), signal_id=0, offset=8)
    ids, corr = lib.nearest(windows)
    assert len(ids) == len(windows) and not np.any(np.isnan(corr))
    for pid, c in zip(ids, corr):
        if pid is None:
            assert c == -np.inf
        else:
            assert pid in lib and -1.0 - 1e-9 <= c <= 1.0 + 1e-9


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(hnp.arrays(np.float64, 8, elements=st.floats(-1e6, 1e6)), min_size=1, max_size=12),
       threshold=st.floats(0.0, 1.0), lr=st.floats(0.01, 1.0))
@example(rows=[np.array([1.78822447e-161] + [0.0] * 7)], threshold=0.0, lr=1.0)  # the squares are subnormal
def test_learning_keeps_prototypes_normalized(rows, threshold, lr):
    lib = pl.PatternLibrary(window=8, config=pl.EngineConfig(window=8, cluster_threshold=threshold,
                                                             learning_rate=lr, max_patterns=4))
    for k, row in enumerate(rows):
        try:
            lib.learn(row, signal_id=k, offset=0)
        except InvalidSignalError:
            continue
    assert len(lib) <= 4
    Z = lib.prototypes
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(Z.sum(axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-9)
    assert int(lib.supports.sum()) + sum(p.support for p in lib.archived) <= len(rows)
