"""perceive and batch_perceive with ``redis=``: they start from the store's library and publish
what they learned into it (real redis-server processes)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import patternlab as pl
from checks import planted_sines
from patternlab.store.zarr import open_group
from redis_servers import RedisServer, free_port, running

# one pattern per unmatched candidate (no pool, no complexity filter, no alignment): these tests
# are about how learning is shared through Redis, not about what the defaults keep
CFG = pl.EngineConfig(window=32, min_complexity=0.0, min_support=1, max_lag=0)


def signals(n: int = 24, length: int = 400, seed: int = 0) -> list[np.ndarray]:
    return planted_sines(n, length, seed, vary=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with running(tmp_path_factory.mktemp("redis-learning")) as srv:
        yield srv


@pytest.fixture
def store(server: RedisServer, request: pytest.FixtureRequest) -> Iterator[pl.RedisPatternStore]:
    ns = f"t{os.getpid()}-{request.node.name}"[:60].replace("[", "-").replace("]", "-")
    with pl.RedisPatternStore(server.url, namespace=ns, sync_interval=0.0) as st:
        yield st


def same(a: pl.PatternLibrary, b: pl.PatternLibrary) -> bool:
    return (sorted(a.ids) == sorted(b.ids)
            and dict(zip(a.ids, a.supports.tolist())) == dict(zip(b.ids, b.supports.tolist())))


def test_perceive_publishes_and_the_next_process_starts_from_it(store: pl.RedisPatternStore) -> None:
    T0, T1 = signals(2)
    res = pl.perceive(T0, "audio", config=CFG, redis=store)
    assert res.new_patterns
    stored = store.load_library("audio", 32, CFG, refresh=True)
    assert sorted(stored.ids) == sorted(res.new_patterns)
    # a second call (another process would do the same) starts from the store's library
    lib = pl.PatternLibrary(config=CFG)
    res1 = pl.perceive(T1, "audio", lib, redis=store, signal_id=1)
    assert set(stored.ids) <= set(lib.ids)
    assert res1.matches or res1.updated_patterns  # it recognizes what the first signal taught
    after = store.load_library("audio", 32, CFG, refresh=True)
    assert same(after, lib)
    # learn=False reads, never writes
    before = store.load_library("audio", 32, CFG, refresh=True)
    pl.perceive(T0, "audio", config=CFG, redis=store, signal_id=5, learn=False)
    assert same(store.load_library("audio", 32, CFG, refresh=True), before)


def test_perceive_with_a_url(server: RedisServer) -> None:
    url = server.url
    pl.perceive(signals(1)[0], "url-domain", config=CFG, redis=url)
    with pl.RedisPatternStore(url) as st:
        assert st.count("url-domain", 32) > 0


def test_batch_perceive_starts_from_the_store_and_publishes_once(store: pl.RedisPatternStore,
                                                                 tmp_path: Path) -> None:
    sig = signals()
    seed_lib = pl.batch_perceive(sig[:4], "ecg", config=CFG, client=False, batch_size=4,
                                 progress=False).library
    store.publish(None, seed_lib, token="seed")
    start = store.load_library("ecg", 32, CFG, refresh=True)
    ref = pl.batch_perceive(sig[4:], "ecg", start, CFG, client=False, batch_size=5, progress=False)
    out = pl.batch_perceive(sig[4:], "ecg", config=CFG, client=False, batch_size=5, progress=False,
                            redis=store, store=tmp_path / "run.zarr")
    # the run learned from the store's library, exactly as from that library in memory
    assert out.library.ids == ref.library.ids
    assert np.array_equal(out.library.prototypes, ref.library.prototypes)
    published = store.load_library("ecg", 32, CFG, refresh=True)
    assert same(published, out.library)
    # rerunning the finished run (or resuming it) publishes nothing twice, and starts from the
    # library stored with the run, not from the store's changed one
    again = pl.batch_perceive(sig[4:], "ecg", config=CFG, client=False, batch_size=5, progress=False,
                              redis=store, store=tmp_path / "run.zarr")
    assert again.metrics["partitions_resumed"] == 4 and again.library.ids == out.library.ids
    assert same(store.load_library("ecg", 32, CFG, refresh=True), published)
    # a run interrupted after two partitions, resumed: published once, same result
    g = open_group(tmp_path / "run.zarr", mode="r+")
    g["partitions/done"][2:] = 0
    g.attrs.update({"complete": False})
    resumed = pl.batch_perceive(sig[4:], "ecg", config=CFG, client=False, batch_size=5,
                                progress=False, redis=store, store=tmp_path / "run.zarr")
    assert resumed.metrics["tasks_processed"] == 2 and resumed.library.ids == out.library.ids
    assert same(store.load_library("ecg", 32, CFG, refresh=True), published)


def test_batch_perceive_on_a_cluster_with_redis(store: pl.RedisPatternStore) -> None:
    from distributed import Client, LocalCluster

    sig = signals(12)
    ref = pl.batch_perceive(sig, "c", config=CFG, client=False, batch_size=4, progress=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
            Client(cl) as client:
        out = pl.batch_perceive(sig, "c", config=CFG, client=client, batch_size=4, progress=False,
                                redis=store)
    assert out.library.ids == ref.library.ids
    assert same(store.load_library("c", 32, CFG, refresh=True), ref.library)


def test_redis_bad_arguments(store: pl.RedisPatternStore) -> None:
    lib = pl.PatternLibrary(config=CFG)
    lib.add(np.sin(np.arange(32.0)), signal_id=0, offset=0)
    with pytest.raises(pl.InvalidParameterError, match="library= or redis="):
        pl.batch_perceive(signals(2), "x", lib, client=False, progress=False, redis=store)
    with pytest.raises(pl.InvalidParameterError, match="redis must be a URL"):
        pl.batch_perceive(signals(2), "x", config=CFG, client=False, progress=False, redis=42)
    with pytest.raises(pl.InvalidSignalError):
        pl.perceive(np.ones((3, 3)), "x", config=CFG, redis=store)
    assert store.count("x", 32) == 0


def test_unreachable_redis_fails_clearly_and_hides_the_password() -> None:
    url = f"redis://user:s3cret-pw@127.0.0.1:{free_port()}/0"
    with pytest.raises(pl.PatternlabError) as info:
        pl.perceive(signals(1)[0], "x", config=CFG,
                    redis=pl.RedisPatternStore(url, retries=1, backoff=0.01, socket_timeout=1.0))
    assert isinstance(info.value, ConnectionError) and "s3cret-pw" not in str(info.value)
