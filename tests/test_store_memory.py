"""MemoryPatternStore, the reference store: the shared suite, and its token lifetime."""

from __future__ import annotations

import types
from collections.abc import Iterator

import pytest

import patternlab as pl
import patternlab.store._local as local
from store_tests import PatternStoreTests, make_library


class TestMemoryPatternStore(PatternStoreTests):
    @pytest.fixture
    def store(self) -> Iterator[pl.MemoryPatternStore]:
        with pl.MemoryPatternStore() as st:
            yield st


def test_tokens_are_forgotten_after_their_lifetime(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(local, "time", types.SimpleNamespace(time=lambda: clock[0]))
    lib = make_library(3)
    with pl.MemoryPatternStore(token_ttl=60) as store:
        store.publish(None, lib, token="t1")
        clock[0] += 59
        assert store.publish(None, lib, token="t1").skipped >= 1  # within its lifetime: a retry
        clock[0] += 2
        store.publish(None, lib, token="t2")  # a later write to the same shards forgets t1 ...
        assert store.publish(None, lib, token="t1").created == 0 and \
            store.load_library("audio", 16).supports.sum() == 3 * lib.supports.sum()  # ... so it applies


def test_bad_token_lifetime_is_refused() -> None:
    with pytest.raises(pl.InvalidParameterError, match="token_ttl=0"):
        pl.MemoryPatternStore(token_ttl=0)


def test_closing_drops_the_data() -> None:
    store = pl.MemoryPatternStore()
    store.publish(None, make_library(2), token="a")
    assert "1 libraries" in repr(store)
    store.close()
    with pytest.raises(pl.InvalidParameterError, match="closed"):
        store.libraries()
