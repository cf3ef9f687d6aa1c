"""RedisPatternStore on a real 6-node Redis Cluster (3 primaries + 3 replicas, made by
``redis-cli --cluster create``): sharding over every primary, publish/load, tokens, events,
concurrent writers."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator

import numpy as np
import pytest

import patternlab as pl
import redis_servers as rs
from patternlab.errors import InvalidParameterError
from patternlab.store.redis import SHARDS, RedisPatternStore, shard_of

#: Store mechanics, not learning rules: every candidate updates its nearest pattern or founds one
#: (no complexity filter, pool or lag alignment), as the tests' expectations assume.
PLAIN_LEARNING = pl.EngineConfig(window=16, min_complexity=0.0, min_support=1, max_lag=0)


W = 16


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rs.Cluster]:
    with rs.cluster(tmp_path_factory.mktemp("cluster")) as cl:
        yield cl


@pytest.fixture
def ns() -> str:
    return f"c{uuid.uuid4().hex[:10]}"


def make_library(n: int, first: int = 0) -> pl.PatternLibrary:
    rng = np.random.default_rng(first)
    lib = pl.PatternLibrary(window=W, domain="audio", config=pl.EngineConfig(window=W, max_patterns=5000))
    for k in range(n):
        lib.add(np.cumsum(rng.standard_normal(W)), signal_id=first + k, offset=k, support=1 + k % 3)
    return lib


def test_patterns_spread_over_every_primary(cluster: rs.Cluster, ns: str) -> None:
    with RedisPatternStore(cluster.url, ns) as st:
        assert st.is_cluster
        lib = make_library(300)
        res = st.publish(None, lib, token="a")
        assert res.created == 300
        primaries = cluster.primaries()
        assert len(primaries) == 3
        per_node = []
        for node in primaries:
            with node.client() as c:
                per_node.append(sum(1 for _ in c.scan_iter(match=f"{ns}:*:p:*", count=1000)))
        assert sum(per_node) == 300 and min(per_node) > 0, per_node
        # each shard's keys (index, version, tokens, patterns) share one slot
        c0 = st.client
        for pid in lib.ids[:20]:
            s = shard_of(pid)
            names = ("idx", "ver", "tokens", f"p:{pid}")
            slots = {c0.keyslot(st._key("audio", W, s, what)) for what in names}
            assert len(slots) == 1
        assert len({c0.keyslot(st._key("audio", W, s, "idx")) for s in range(SHARDS)}) == SHARDS


def test_cluster_round_trip_tokens_and_events(cluster: rs.Cluster, ns: str) -> None:
    with RedisPatternStore(cluster.url, ns, sync_interval=0) as st:
        lib = make_library(50)
        with st.subscribe("audio", timeout=1.0) as sub:
            st.publish(None, lib, token="a")
            again = st.publish(None, lib, token="a")
            events = list(sub)
        assert again.created == again.updated == 0 and again.skipped > 0
        assert len(events) == 50 and {e.kind for e in events} == {"created"}
        got = st.load_library("audio", W)
        assert sorted(got.ids) == sorted(lib.ids)
        for p in lib:
            np.testing.assert_allclose(got[p.id].prototype, p.prototype, atol=1e-14)
            assert got[p.id].support == p.support
        after = got.copy()
        for p in got:
            after.learn(p.prototype, signal_id=999, offset=p.support, config=PLAIN_LEARNING)
        res = st.publish(got, after, token="b")
        assert res.updated == 50
        assert st.load_library("audio", W).supports.sum() == lib.supports.sum() + 50
    # the other spellings of a cluster address
    nodes = [f"127.0.0.1:{n.port}" for n in cluster.nodes[:2]]
    with RedisPatternStore(nodes, ns) as by_list, \
            RedisPatternStore(f"redis://127.0.0.1:{cluster.nodes[4].port}/0", ns, cluster=True) as by_flag:
        assert by_list.count("audio", W) == by_flag.count("audio", W) == 50
    with pytest.raises(InvalidParameterError, match="cluster"):
        RedisPatternStore(nodes, ns, cluster=False)


def test_cluster_concurrent_writers_add_up(cluster: rs.Cluster, ns: str) -> None:
    ids = [f"shared-{k}" for k in range(25)]
    z0 = rs.worker_protos(99, len(ids), W)
    with RedisPatternStore(cluster.url, ns) as st:
        st.publish(None, rs.shared_library(ids, z0, [1] * len(ids), "audio", W), token="init")
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(3) as pool:
            counts = pool.starmap(rs.concurrent_updates,
                                  [(cluster.url, ns, "audio", W, ids, seed, 50, 10) for seed in range(3)])
        assert counts == [500] * 3
        support = dict.fromkeys(ids, 1)
        for seed in range(3):
            for ups in rs.update_plan(seed, len(ids), 50, 10):
                for p, dn in ups:
                    support[ids[p]] += dn
        assert {p.id: p.support for p in st.load_library("audio", W, refresh=True)} == support
