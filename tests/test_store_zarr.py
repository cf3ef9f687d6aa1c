"""ZarrPatternStore on disk: the shared suite, persistence across openings, the library format,
the lock between writers, and bit-for-bit agreement with the reference store."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import patternlab as pl
import patternlab.store.zarr_store as zs
from store_tests import PatternStoreTests, W, exercise, make_library, snapshot


class TestZarrPatternStore(PatternStoreTests):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[pl.ZarrPatternStore]:
        with pl.ZarrPatternStore(tmp_path / "patterns.zarr") as st:
            yield st


def test_same_results_as_the_reference_store(tmp_path: Path) -> None:
    with pl.MemoryPatternStore() as ref, pl.ZarrPatternStore(tmp_path / "p.zarr") as st:
        assert exercise(st) == exercise(ref)


def test_a_reopened_store_has_the_libraries_and_the_tokens(tmp_path: Path) -> None:
    path = tmp_path / "p.zarr"
    lib = make_library(12)
    with pl.ZarrPatternStore(path) as st:
        st.publish(None, lib, token="a")
        st.archive("audio", W, min_support=2, idle_seconds=0)
        state = snapshot(st.load_library("audio", W))
    with pl.ZarrPatternStore(str(path)) as again:
        assert again.libraries() == [("audio", W)]
        assert snapshot(again.load_library("audio", W)) == state
        assert again.publish(None, lib, token="a").skipped >= 1  # the token survived
        assert again.restore("audio", W) == sorted(p.id for p in lib if p.support < 2)


def test_the_library_is_a_saved_library(tmp_path: Path) -> None:
    path = tmp_path / "p.zarr"
    with pl.ZarrPatternStore(path) as st:
        st.publish(None, make_library(5), token="a")
        st.publish(None, make_library(5), token="b")  # a second version replaces the first
        got = st.load_library("audio", W)
    (group,) = [p for p in path.iterdir() if p.is_dir()]
    (version,) = [p for p in group.iterdir() if p.is_dir() and p.name.startswith("v")]
    saved = pl.PatternLibrary.load(version)
    assert saved.ids == got.ids and np.array_equal(saved.prototypes, got.prototypes)
    assert {p.id: p.support for p in saved} == {p.id: 2 * p.support for p in make_library(5)}


def test_two_writers_take_turns(tmp_path: Path) -> None:
    """Two stores on one directory (two lock file handles, as two processes have) writing at once."""
    path = tmp_path / "p.zarr"
    lib = make_library(6)
    with pl.ZarrPatternStore(path) as st:
        st.publish(None, lib, token="a")
        before = st.load_library("audio", W)
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        try:
            with pl.ZarrPatternStore(path) as mine:
                for k in range(6):
                    after = before.copy()
                    after.reinforce(before.ids[0], before[before.ids[0]].prototype, 1, (t, k))
                    mine.publish(before, after, token=f"w{t}/{k}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with pl.ZarrPatternStore(path) as st:
        assert st.load_library("audio", W)[before.ids[0]].support == before[before.ids[0]].support + 12


def test_a_directory_with_other_data_is_refused(tmp_path: Path) -> None:
    lib = make_library(2)
    lib.save(tmp_path / "lib.zarr")
    with pytest.raises(pl.InvalidParameterError, match="not a patternlab pattern store"):
        pl.ZarrPatternStore(tmp_path / "lib.zarr")
    with pytest.raises(pl.InvalidParameterError, match="path=12"):
        pl.ZarrPatternStore(12)  # type: ignore[arg-type]


def test_a_write_cut_short_leaves_the_previous_version(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.zarr"
    lib = make_library(6)
    with pl.ZarrPatternStore(path) as st:
        st.publish(None, lib, token="a")
        state = snapshot(st.load_library("audio", W))

        def broken(group: object, library: object) -> None:
            raise OSError("disk full")
        monkeypatch.setattr(zs.zstore, "write_library_group", broken)
        with pytest.raises(OSError, match="disk full"):
            st.publish(None, lib, token="b")
        monkeypatch.undo()
        assert snapshot(st.load_library("audio", W)) == state  # the live version is untouched
        assert st.publish(None, lib, token="b").created == 0  # the retry applies, once
        assert st.publish(None, lib, token="b").skipped >= 1
        assert st.load_library("audio", W).supports.sum() == 2 * lib.supports.sum()


def test_a_damaged_library_is_a_store_data_error(tmp_path: Path) -> None:
    path = tmp_path / "p.zarr"
    with pl.ZarrPatternStore(path) as st:
        st.publish(None, make_library(3), token="a")
    (group,) = [p for p in path.iterdir() if p.is_dir()]
    (version,) = [p for p in group.iterdir() if p.name.startswith("v")]
    shutil.rmtree(version / "acc")
    with pl.ZarrPatternStore(path) as st, pytest.raises(pl.StoreDataError, match="acc"):
        st.load_library("audio", W)
