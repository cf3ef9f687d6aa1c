"""RedisPatternStore against real servers -- a single node and a 6-node Redis Cluster -- through
the shared store suite, and bit-for-bit agreement with the reference store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import patternlab as pl
import redis_servers as rs
from store_tests import PatternStoreTests, W, exercise, make_library


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rs.RedisServer]:
    with rs.running(tmp_path_factory.mktemp("redis")) as srv:
        yield srv


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rs.Cluster]:
    with rs.cluster(tmp_path_factory.mktemp("cluster")) as cl:
        yield cl


def open_store(url: str, tmp_path: Path) -> pl.RedisPatternStore:
    return pl.RedisPatternStore(url, f"s{uuid.uuid4().hex[:10]}", sync_interval=0.0,
                                archive_path=str(tmp_path / "archive-{domain}-{window}.zarr"))


class TestRedisSingleNode(PatternStoreTests):
    @pytest.fixture
    def store(self, server: rs.RedisServer, tmp_path: Path) -> Iterator[pl.RedisPatternStore]:
        with open_store(server.url, tmp_path) as st:
            yield st


@pytest.mark.slow
class TestRedisCluster(PatternStoreTests):
    @pytest.fixture
    def store(self, cluster: rs.Cluster, tmp_path: Path) -> Iterator[pl.RedisPatternStore]:
        with open_store(cluster.url, tmp_path) as st:
            assert st.is_cluster
            yield st


def test_same_results_as_the_reference_store(server: rs.RedisServer, tmp_path: Path) -> None:
    with pl.MemoryPatternStore() as ref, open_store(server.url, tmp_path) as st:
        assert exercise(st) == exercise(ref)


def test_same_results_as_the_reference_store_on_a_cluster(cluster: rs.Cluster, tmp_path: Path) -> None:
    with pl.MemoryPatternStore() as ref, open_store(cluster.url, tmp_path) as st:
        assert exercise(st) == exercise(ref)


def test_archive_without_a_path_needs_an_archive_path(server: rs.RedisServer) -> None:
    with pl.RedisPatternStore(server.url, f"s{uuid.uuid4().hex[:10]}") as st:
        st.publish(None, make_library(3), token="a")
        with pytest.raises(pl.InvalidParameterError, match="archive_path"):
            st.archive("audio", W, min_support=5, idle_seconds=0)
        with pytest.raises(pl.InvalidParameterError, match="archive_path"):
            st.restore("audio", W)
