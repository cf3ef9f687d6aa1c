"""One test suite for every pattern store, as zarr-python's ``StoreTests`` serves its stores.

A backend's test module subclasses :class:`PatternStoreTests` and supplies the ``store`` fixture
(a fresh, empty store, closed afterwards); every test here then runs against the real backend.
Expected values are derived here, independently of the stores: a stored prototype is the
z-normalized sum of ``support * prototype`` of every publish, the earlier first and the later
last provenance are kept.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import patternlab as pl
from patternlab.errors import InvalidParameterError, PatternlabError, PatternNotFoundError
from patternlab.library import encode_signal_id, provenance_order

#: Store mechanics, not learning rules: every candidate updates its nearest pattern or founds one
#: (no complexity filter, pool or lag alignment), as the tests' expectations assume.
PLAIN_LEARNING = pl.EngineConfig(window=16, min_complexity=0.0, min_support=1, max_lag=0)


W = 16


def make_library(n: int, seed: int = 0, domain: str = "audio", window: int = W) -> pl.PatternLibrary:
    """``n`` patterns founded in integer and string signals, supports 1 to 4."""
    rng = np.random.default_rng(seed)
    lib = pl.PatternLibrary(window=window, domain=domain, config=pl.EngineConfig(window=window))
    for k in range(n):
        lib.add(np.cumsum(rng.standard_normal(window)), signal_id=k if k % 3 else f"sig-{k}",
                offset=7 * k, support=1 + k % 4)
    return lib


def build(rows: list[tuple[str, Any, int, tuple[Any, int], tuple[Any, int]]], domain: str = "audio",
          window: int = W) -> pl.PatternLibrary:
    """A library of exactly ``rows``: ``(id, prototype, support, first_seen, last_updated)``."""
    return pl.PatternLibrary.from_arrays({
        "window": np.int64(window), "domain": np.array(domain), "ids": np.array([r[0] for r in rows]),
        "domains": np.array([domain] * len(rows)),
        "prototypes": np.array([r[1] for r in rows], dtype=np.float64).reshape(len(rows), window),
        "supports": np.array([r[2] for r in rows], dtype=np.int64),
        "first_signal": np.array([encode_signal_id(r[3][0]) for r in rows]),
        "first_offset": np.array([r[3][1] for r in rows], dtype=np.int64),
        "last_signal": np.array([encode_signal_id(r[4][0]) for r in rows]),
        "last_offset": np.array([r[4][1] for r in rows], dtype=np.int64),
    })


def unit(x: Any) -> np.ndarray:
    """Zero mean, unit L2 norm (the naive form of the library's normalization)."""
    a = np.asarray(x, dtype=np.float64)
    a = a - a.mean()
    return a / np.linalg.norm(a)


def snapshot(lib: pl.PatternLibrary) -> dict[str, tuple[Any, ...]]:
    return {p.id: (p.support, p.first_seen, p.last_updated, p.prototype.tobytes()) for p in lib}


class PatternStoreTests:
    """The behaviour every :class:`patternlab.PatternStore` backend shares."""

    @pytest.fixture
    def store(self) -> Iterator[pl.PatternStore]:
        raise NotImplementedError("a backend's test class supplies the store fixture")

    # -- the interface -------------------------------------------------------------------------
    def test_is_a_pattern_store(self, store: pl.PatternStore) -> None:
        assert isinstance(store, pl.PatternStore)
        assert not isinstance(object(), pl.PatternStore)

    def test_an_empty_store(self, store: pl.PatternStore) -> None:
        lib = store.load_library("audio", W)
        assert isinstance(lib, pl.PatternLibrary) and len(lib) == 0
        assert (lib.domain, lib.window, lib.ids) == ("audio", W, [])
        assert store.libraries() == []
        cfg = pl.EngineConfig(window=32, cluster_threshold=0.9)
        withcfg = store.load_library("audio", W, cfg)
        assert withcfg.window == W and withcfg.config.cluster_threshold == 0.9

    # -- publish -------------------------------------------------------------------------------
    def test_publish_creates_patterns(self, store: pl.PatternStore) -> None:
        lib = make_library(40)
        res = store.publish(None, lib, token="run/0")
        assert res == pl.PublishResult(40, 0, 0, "run/0")
        got = store.load_library("audio", W)
        order = sorted(lib, key=lambda p: (provenance_order(p.first_seen), p.id))
        assert got.ids == [p.id for p in order] and got.domain == "audio" and got.window == W
        for p in lib:
            q = got[p.id]
            np.testing.assert_allclose(q.prototype, p.prototype, rtol=0, atol=1e-14)
            assert (q.support, q.first_seen, q.last_updated, q.domain) == \
                (p.support, p.first_seen, p.last_updated, p.domain)
        # the loaded library is the caller's: changing it changes nothing stored
        got.add(np.sin(np.arange(W)), signal_id="local", offset=0)
        again = store.load_library("audio", W)
        assert len(again) == 40 and np.array_equal(again.prototypes, got.prototypes[:40])
        # nothing learned, nothing written
        assert store.publish(again, again, token="run/1") == pl.PublishResult(0, 0, 0, "run/1")

    def test_publish_reinforces_supports_and_prototypes(self, store: pl.PatternStore) -> None:
        lib = make_library(6)
        store.publish(None, lib, token="a")
        before = store.load_library("audio", W)
        after = before.copy()
        p0, p1, p2 = before.ids[1], before.ids[3], before.ids[4]
        inst = before[p0].prototype + 0.3 * np.sin(np.arange(W))
        assert after.learn(inst, signal_id=99, offset=5, config=PLAIN_LEARNING) == ("updated", p0)
        z = unit(np.cos(np.arange(W) / 3.0) + before[p1].prototype)
        after.reinforce(p1, 3.0 * z, 3, ("later", 2))
        new = after.add(np.cos(np.arange(W) / 2.0), signal_id="new", offset=1)
        res = store.publish(before, after, token="b")
        assert (res.created, res.updated, res.skipped) == (1, 2, 0)
        now = store.load_library("audio", W)
        for pid, dn in ((p0, 1), (p1, 3)):
            # independently: the stored sum is support * prototype as first published, plus dn * the
            # prototype the publisher ended with
            acc = lib[pid].support * lib[pid].prototype + dn * after[pid].prototype
            np.testing.assert_allclose(now[pid].prototype, unit(acc), rtol=0, atol=1e-12)
            assert now[pid].support == lib[pid].support + dn
            assert now[pid].first_seen == lib[pid].first_seen
            # as a local library folds the same instances in
            local = before.copy()
            local.reinforce(pid, dn * after[pid].prototype, dn, after[pid].last_updated)
            np.testing.assert_allclose(now[pid].prototype, local[pid].prototype, rtol=0, atol=1e-12)
            assert (now[pid].support, now[pid].last_updated) == (local[pid].support, local[pid].last_updated)
        assert now[p0].last_updated == max(lib[p0].last_updated, (99, 5), key=provenance_order)
        assert now[p1].last_updated == ("later", 2)  # string signal ids come after integer ones
        assert now[new.id].support == 1 and now[new.id].first_seen == ("new", 1)
        np.testing.assert_allclose(now[new.id].prototype, new.prototype, rtol=0, atol=1e-14)
        for pid in set(before.ids) - {p0, p1}:  # untouched patterns are exactly as they were
            assert now[pid].support == before[pid].support
            assert np.array_equal(now[pid].prototype, before[pid].prototype)
        assert p2 in now

    def test_two_tokens_add_up(self, store: pl.PatternStore) -> None:
        lib = make_library(5)
        store.publish(None, lib, token="a")
        before = store.load_library("audio", W)
        after = before.copy()
        pid = before.ids[2]
        assert after.learn(before[pid].prototype + 0.2 * np.sin(np.arange(W)), signal_id=50,
                           offset=3, config=PLAIN_LEARNING)[1] == pid
        r1 = store.publish(before, after, token="t1")
        r2 = store.publish(before, after, token="t2")
        assert (r1.updated, r1.skipped, r2.updated, r2.skipped) == (1, 0, 1, 0)
        now = store.load_library("audio", W)
        acc = lib[pid].support * lib[pid].prototype + after[pid].prototype + after[pid].prototype
        assert now[pid].support == lib[pid].support + 2
        np.testing.assert_allclose(now[pid].prototype, unit(acc), rtol=0, atol=1e-12)
        assert sum(p.support for p in now) == sum(p.support for p in lib) + 2
        # the first token again: a retry, nothing changes
        state = snapshot(now)
        r3 = store.publish(before, after, token="t1")
        assert (r3.created, r3.updated) == (0, 0) and r3.skipped >= 1
        assert snapshot(store.load_library("audio", W)) == state

    def test_same_token_twice_is_a_no_op(self, store: pl.PatternStore) -> None:
        lib = make_library(30)
        first = store.publish(None, lib, token="run-1/partition-7")
        state = snapshot(store.load_library("audio", W))
        again = store.publish(None, lib, token="run-1/partition-7")
        assert first.skipped == 0 and (first.created, first.updated) == (30, 0)
        assert (again.created, again.updated) == (0, 0) and again.skipped >= 1
        assert again.token == "run-1/partition-7"
        assert snapshot(store.load_library("audio", W)) == state
        # still skipped after other updates came in between
        store.publish(None, make_library(3, seed=9, domain="audio"), token="other")
        assert store.publish(None, lib, token="run-1/partition-7").created == 0

    def test_provenance_rules(self, store: pl.PatternStore) -> None:
        z = unit(np.sin(np.arange(W) / 2.0))
        store.publish(None, build([("p", z, 2, (5, 10), (5, 10))]), token="a")
        steps = [  # (first, last) published -> (first, last) stored
            (((7, 0), (3, 99)), ((5, 10), (5, 10))),        # later first, earlier last: both kept
            (((2, 50), ("zz", 0)), ((2, 50), ("zz", 0))),   # earlier first, later last (str > int)
            (((2, 40), ("aa", 5)), ((2, 40), ("zz", 0))),   # same signal, smaller offset; earlier last
            ((("a", 0), (9, 9)), ((2, 40), ("zz", 0))),     # a string first is later than any int
            (((2, 40), ("zz", 1)), ((2, 40), ("zz", 1))),   # same signal, later offset
        ]
        for k, ((first, last), (want_first, want_last)) in enumerate(steps):
            store.publish(None, build([("p", z, 1, first, last)]), token=f"step-{k}")
            got = store.load_library("audio", W)["p"]
            assert (got.first_seen, got.last_updated) == (want_first, want_last), k
        assert store.load_library("audio", W)["p"].support == 2 + len(steps)

    @pytest.mark.parametrize(("first", "earlier", "last", "later"), [
        ((2**60 + 1, 0), (2**60, 0), (2**60 + 1, 0), (2**60 + 2, 0)),  # beyond float precision
        ((-5, 3), (-12, 3), (-5, 3), (-5, 4)),                           # negative ids, offsets
        (("a", 0), ("B", 0), ("a", 0), ("b", 0)),                        # code point order, not locale
        (("\u00e9", 0), ("z", 0), ("\u00e9", 0), ("\u00e9t\u00e9", 0)),  # non-ASCII ids
    ])
    def test_provenance_order_is_exact(self, store: pl.PatternStore, first: Any, earlier: Any, last: Any,
                                       later: Any) -> None:
        assert provenance_order(earlier) < provenance_order(first) < provenance_order(later)
        z = unit(np.sin(np.arange(W) / 2.0))
        store.publish(None, build([("p", z, 1, first, last)]), token="a")
        store.publish(None, build([("p", z, 1, earlier, later)]), token="b")
        got = store.load_library("audio", W)["p"]
        assert (got.first_seen, got.last_updated) == (earlier, later)
        store.publish(None, build([("p", z, 1, first, last)]), token="c")  # neither moves back
        got = store.load_library("audio", W)["p"]
        assert (got.first_seen, got.last_updated) == (earlier, later)

    def test_libraries_are_listed(self, store: pl.PatternStore) -> None:
        store.publish(None, make_library(3, domain="speech"), token="s")
        store.publish(None, make_library(2, window=32), token="a32")
        store.publish(None, make_library(2), token="a16")
        quiet = make_library(2, domain="music")
        store.publish(quiet, quiet, token="nothing")  # nothing learned: nothing stored
        assert store.libraries() == [("audio", W), ("audio", 32), ("speech", W)]
        assert len(store.load_library("audio", 32)) == 2 and len(store.load_library("speech", W)) == 3
        assert store.load_library("music", W).ids == []
        # a library whose patterns were all archived is still listed
        assert len(store.archive("speech", W, min_support=100, idle_seconds=0)) == 3
        assert store.load_library("speech", W).ids == []
        assert store.libraries() == [("audio", W), ("audio", 32), ("speech", W)]

    # -- archive and restore -------------------------------------------------------------------
    def test_archive_then_restore_round_trip(self, store: pl.PatternStore) -> None:
        lib = make_library(24)
        store.publish(None, lib, token="a")
        assert store.archive("audio", W, min_support=3, idle_seconds=3600) == []  # none idle that long
        weak = sorted(p.id for p in lib if p.support < 3)
        assert len(weak) == 12
        assert store.archive("audio", W, min_support=3, idle_seconds=0) == weak
        live = store.load_library("audio", W)
        assert sorted(live.ids) == sorted(p.id for p in lib if p.support >= 3)
        assert store.archive("audio", W, min_support=3, idle_seconds=0) == []  # already archived
        some = weak[7:10]
        assert store.restore("audio", W, ids=(pid for pid in some)) == some  # any iterable of ids
        assert sorted(store.load_library("audio", W).ids) == sorted(live.ids + some)
        assert store.restore("audio", W) == sorted(set(weak) - set(some))
        assert store.restore("audio", W) == []  # the archive is empty now
        back = store.load_library("audio", W)
        assert back.ids == [p.id for p in sorted(lib, key=lambda p: (provenance_order(p.first_seen), p.id))]
        for p in lib:
            q = back[p.id]
            assert (q.support, q.first_seen, q.last_updated, q.domain) == \
                (p.support, p.first_seen, p.last_updated, p.domain)
            np.testing.assert_allclose(q.prototype, p.prototype, rtol=0, atol=1e-12)
        # a restored pattern learns as any other
        after = back.copy()
        after.reinforce(some[0], 2.0 * back[some[0]].prototype, 2, (1000, 0))
        assert store.publish(back, after, token="after-restore").updated == 1
        assert store.load_library("audio", W)[some[0]].support == lib[some[0]].support + 2

    def test_restore_of_an_unknown_id_raises(self, store: pl.PatternStore) -> None:
        lib = make_library(8)
        store.publish(None, lib, token="a")
        weak = store.archive("audio", W, min_support=2, idle_seconds=0)
        assert weak == sorted(p.id for p in lib if p.support < 2) and weak
        with pytest.raises(PatternNotFoundError, match="nope"):
            store.restore("audio", W, ids=["nope", weak[0]])
        assert sorted(store.load_library("audio", W).ids) == sorted(set(lib.ids) - set(weak))  # untouched
        with pytest.raises(PatternNotFoundError, match="nope"):
            store.restore("speech", W, ids=["nope"])  # nothing ever archived there
        assert store.restore("speech", W) == []
        assert store.restore("audio", W) == weak

    def test_archive_at_an_explicit_path(self, store: pl.PatternStore, tmp_path: Path) -> None:
        lib = make_library(10)
        store.publish(None, lib, token="a")
        target = tmp_path / "elsewhere.zarr"
        weak = sorted(p.id for p in lib if p.support < 2)
        assert store.archive("audio", W, min_support=2, idle_seconds=0, path=target) == weak
        batches = sorted(p for p in target.iterdir() if p.is_dir())
        saved = pl.PatternLibrary.load(batches[0])  # each batch is a saved library, archive included
        assert sorted(p.id for p in saved.archived) == weak
        assert store.restore("audio", W) == []  # the store's own archive holds none of them
        with pytest.raises(InvalidParameterError, match="archives"):
            store.archive("speech", W, min_support=2, idle_seconds=0, path=target)
        with pytest.raises(InvalidParameterError, match=r"missing\.zarr"):
            store.restore("audio", W, path=tmp_path / "missing.zarr")
        assert store.restore("audio", W, path=target) == weak
        assert sorted(store.load_library("audio", W).ids) == sorted(lib.ids)

    # -- errors and lifetime -------------------------------------------------------------------
    def test_bad_arguments_raise_naming_the_value(self, store: pl.PatternStore) -> None:
        lib, lib32 = make_library(2), make_library(2, window=32)
        calls = [
            (lambda: store.load_library("", W), "domain=''"),
            (lambda: store.load_library("audio", 0), "window=0"),
            (lambda: store.load_library("audio", 2.5), "window=2.5"),  # type: ignore[arg-type]
            (lambda: store.load_library("audio", W, config="fast"), "config='fast'"),  # type: ignore[arg-type]
            (lambda: store.publish(None, "lib", token="t"), "str"),  # type: ignore[arg-type]
            (lambda: store.publish(None, lib, token=""), "token=''"),
            (lambda: store.publish(None, lib, token=7), "token=7"),  # type: ignore[arg-type]
            (lambda: store.publish(lib, lib32, token="t"), "'audio'/16"),
            (lambda: store.archive("audio", W, min_support=0, idle_seconds=0), "min_support=0"),
            (lambda: store.archive("audio", W, min_support=2.5, idle_seconds=0), "min_support=2.5"),
            (lambda: store.archive("audio", W, min_support=2, idle_seconds=-1), "idle_seconds=-1"),
            (lambda: store.archive("audio", -3, min_support=2, idle_seconds=0), "window=-3"),
            (lambda: store.restore("audio", W, ids="abc"), "ids='abc'"),  # type: ignore[arg-type]
            (lambda: store.restore("", W), "domain=''"),
        ]
        for call, text in calls:
            with pytest.raises(InvalidParameterError, match=text.replace("(", r"\(")) as info:
                call()
            assert isinstance(info.value, (PatternlabError, ValueError))
        assert store.libraries() == []  # nothing was written on the way

    def test_close_and_context_manager(self, store: pl.PatternStore) -> None:
        with store as entered:
            assert entered is store
            entered.publish(None, make_library(2), token="a")
            assert len(entered.load_library("audio", W)) == 2
        with pytest.raises(PatternlabError, match="closed"):
            store.load_library("audio", W)
        with pytest.raises(PatternlabError, match="closed"):
            store.publish(None, make_library(3), token="b")
        store.close()  # closing again is harmless

    def test_threads_publishing_at_once_add_up(self, store: pl.PatternStore) -> None:
        lib = make_library(8)
        store.publish(None, lib, token="a")
        before = store.load_library("audio", W)
        picked = before.ids[:4]
        errors: list[BaseException] = []

        def worker(t: int) -> None:
            try:
                for k in range(5):
                    after = before.copy()
                    for pid in picked:
                        after.reinforce(pid, before[pid].prototype, 1, (100 + t, k))
                    store.publish(before, after, token=f"thread-{t}/{k}")
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        now = store.load_library("audio", W)
        for pid in picked:
            step = before.copy()
            step.reinforce(pid, before[pid].prototype, 1, (0, 0))
            acc = lib[pid].support * lib[pid].prototype + 20 * step[pid].prototype
            assert now[pid].support == lib[pid].support + 20 and now[pid].last_updated == (103, 4)
            np.testing.assert_allclose(now[pid].prototype, unit(acc), rtol=0, atol=1e-12)


def exercise(store: pl.PatternStore) -> dict[tuple[str, int], dict[str, tuple[Any, ...]]]:
    """A fixed sequence of publishes, retries, archives and restores; every library afterwards
    (ids, supports, provenance, prototype bytes), to compare backends bit for bit."""
    a = make_library(20, seed=1)
    store.publish(None, a, token="a")
    before = store.load_library("audio", W)
    after = before.copy()
    rng = np.random.default_rng(5)
    for k in range(30):
        pid = before.ids[k % 7]
        after.learn(before[pid].prototype + 0.1 * rng.standard_normal(W), signal_id=200 + k, offset=k,
                    config=PLAIN_LEARNING)
    store.publish(before, after, token="b")
    store.publish(before, after, token="b")  # a retry
    store.publish(None, make_library(4, seed=2, domain="speech"), token="c")
    store.archive("audio", W, min_support=2, idle_seconds=0)
    store.restore("audio", W, ids=store.archive("audio", W, min_support=3, idle_seconds=0)[:2])
    return {key: snapshot(store.load_library(*key)) for key in store.libraries()}
