"""Smoke run of the Redis benchmarks: the asv class and the comparison script run once on small
inputs against real servers (no timing is asserted; figures come from the real runs)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _benchmarks_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))


def test_asv_redis_benchmarks_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import bench_redis

    monkeypatch.setattr(bench_redis, "SCALE", 0.05)
    bench = bench_redis.RedisStore()
    bench.setup()
    try:
        for name in ("time_publish_new", "time_publish_updates", "time_load_library"):
            getattr(bench, name)()
        assert bench.store.count("bench", 64) == 100
    finally:
        bench.teardown()
    assert bench._server is not None


def test_asv_redis_benchmarks_skip_without_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import bench_redis

    monkeypatch.setattr(bench_redis, "redis_binary", lambda name="redis-server": None)
    with pytest.raises(NotImplementedError, match="redis-server"):
        bench_redis.RedisStore().setup()


def test_compare_redis_script(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import compare_redis

    assert compare_redis.main(["--patterns", "300", "--partition", "100", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "single node: store / raw" in out and "cluster: store / raw" in out
    assert "benchmarks.compare_redis" in sys.modules
