"""Sharded zarr checkpoints: library snapshots, run stores, resume after a crash."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

import patternlab as pl
from checks import planted_sines
from patternlab.batch.checkpoint import SUMMARY_DTYPES
from patternlab.store.zarr import open_group

CFG = pl.EngineConfig(window=32, max_patterns=2)  # small: the libraries archive patterns


def signals(n: int = 40, length: int = 400, seed: int = 0) -> list[np.ndarray]:
    return planted_sines(n, length, seed)


def assert_same_library(a: pl.PatternLibrary, b: pl.PatternLibrary) -> None:
    assert a.ids == b.ids
    assert np.array_equal(a.prototypes, b.prototypes)
    assert np.array_equal(a.supports, b.supports)
    assert [(p.domain, p.first_seen, p.last_updated) for p in a] == \
        [(p.domain, p.first_seen, p.last_updated) for p in b]
    assert [p.id for p in a.archived] == [p.id for p in b.archived]
    for p, q in zip(a.archived, b.archived):
        assert p == q
    x, y = a.to_arrays(), b.to_arrays()  # the pending candidates and the counters too
    assert x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)


@pytest.fixture(scope="module")
def reference() -> pl.BatchResult:
    return pl.batch_perceive(signals(), config=CFG, client=False, batch_size=8, progress=False)


# -- library snapshots --------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["path", "file", "memory"])
def test_library_round_trip_is_exact(reference: pl.BatchResult, tmp_path: Path, where: str) -> None:
    lib = reference.library
    assert lib.archived, "the fixture should archive patterns (max_patterns is small)"
    url = {"path": str(tmp_path / "lib.zarr"), "file": f"file://{tmp_path}/lib.zarr",
           "memory": f"memory://lib-{os.getpid()}-{id(lib)}"}[where]
    lib.save(url)
    back = pl.PatternLibrary.load(url)
    assert_same_library(lib, back)
    assert back.config == lib.config and back.domain == lib.domain and back.window == lib.window
    # learning continues identically from the loaded copy
    T = signals(1, seed=9)[0]
    r1 = pl.perceive(T, "default", lib.copy(), lib.config, signal_id=99)
    r2 = pl.perceive(T, "default", back, back.config, signal_id=99)
    assert r1.new_patterns == r2.new_patterns and r1.updated_patterns == r2.updated_patterns


def test_library_save_with_string_signal_ids_and_empty(tmp_path: Path) -> None:
    lib = pl.PatternLibrary(window=8, domain="é-audio")
    lib.add(np.sin(np.arange(8.0)), signal_id="rec/ä 1", offset=3)
    lib.save(tmp_path / "a.zarr")
    back = pl.PatternLibrary.load(tmp_path / "a.zarr")
    assert_same_library(lib, back)
    assert back[0].first_seen == ("rec/ä 1", 3)
    empty = pl.PatternLibrary(window=8)
    empty.save(tmp_path / "e.zarr")
    assert len(pl.PatternLibrary.load(tmp_path / "e.zarr")) == 0


def test_library_save_refuses_to_clobber_and_load_names_the_problem(tmp_path: Path) -> None:
    lib = pl.PatternLibrary(window=8)
    lib.add(np.sin(np.arange(8.0)), signal_id=0, offset=0)
    lib.save(tmp_path / "a.zarr")
    with pytest.raises(pl.InvalidParameterError, match="overwrite=True"):
        lib.save(tmp_path / "a.zarr")
    lib.save(tmp_path / "a.zarr", overwrite=True)
    with pytest.raises(pl.StoreError, match="no library"):
        pl.PatternLibrary.load(tmp_path / "missing.zarr")
    pl.write_signals(tmp_path / "corpus.zarr", [np.arange(5.0)])
    with pytest.raises(pl.StoreError, match="not a patternlab library"):
        pl.PatternLibrary.load(tmp_path / "corpus.zarr")


def test_library_arrays_are_plain_numbers_and_bytes(tmp_path: Path) -> None:
    lib = pl.PatternLibrary(window=8)
    lib.add(np.sin(np.arange(8.0)), signal_id=0, offset=0)
    lib.save(tmp_path / "a.zarr")
    g = zarr.open_group(tmp_path / "a.zarr", mode="r")
    kinds = {name: g[name].dtype.kind for name in g.array_keys()}
    assert set(kinds.values()) <= {"f", "i", "u"}, kinds


# -- run stores -------------------------------------------------------------------------------
def test_store_gives_the_same_result_and_reads_back(reference: pl.BatchResult, tmp_path: Path) -> None:
    url = tmp_path / "run.zarr"
    out = pl.batch_perceive(signals(), config=CFG, client=False, batch_size=8, progress=False,
                            store=url)
    assert_same_library(out.library, reference.library)
    run = pl.open_run(url)
    assert run.complete and run.progress == (5, 5) and run.domain == "default"
    assert run.config == CFG
    assert run.attrs["patternlab_version"] == pl.__version__ and run.attrs["schema_version"] == 2
    assert_same_library(run.library, reference.library)
    for name in SUMMARY_DTYPES:
        assert np.array_equal(run.summaries[name], reference.summaries[name]), name
    assert run.metrics["tasks_processed"] == 5
    # counts are integers, rates and durations floats: in the result and in the store alike
    rates = {"avg_latency_ms", "throughput_per_sec", "wall_seconds"}
    for metrics in (out.metrics, run.metrics):
        assert set(metrics) == set(out.metrics) and rates < set(metrics)
        assert all(type(v) is (float if k in rates else int) for k, v in metrics.items()), metrics
    assert run.metrics == out.metrics
    assert repr(out).startswith("<BatchResult 40 signals in 5 tasks: ")
    # a rerun finds every partition done: nothing is recomputed
    again = pl.batch_perceive(signals(), config=CFG, client=False, batch_size=8, progress=False,
                              store=url)
    assert again.metrics["tasks_processed"] == 0 and again.metrics["partitions_resumed"] == 5
    assert pl.open_run(url).metrics["tasks_processed"] == 5  # the record of the run that did the work
    assert_same_library(again.library, reference.library)
    for name in SUMMARY_DTYPES:
        assert np.array_equal(again.summaries[name], reference.summaries[name]), name
    assert again.errors == reference.errors


def test_summary_shards_align_with_partitions(tmp_path: Path) -> None:
    url = tmp_path / "run.zarr"
    pl.batch_perceive(signals(21), config=CFG, client=False, batch_size=4, progress=False, store=url)
    g = zarr.open_group(url, mode="r")
    for name, cols in (("counts", 8), ("distances", 2)):
        a = g[f"summaries/{name}"]
        # one shard per partition: exactly one writer per shard
        assert a.shards == (4, cols) and a.shape == (21, cols), (name, a.shards)
        shard_files = {p.name for p in (url / "summaries" / name / "c").iterdir()}
        assert shard_files == {str(k) for k in range(6)}
    assert g["partitions/done"].chunks == (1,)


def test_a_different_run_is_refused_and_the_store_is_untouched(tmp_path: Path) -> None:
    url = tmp_path / "run.zarr"
    sig = signals(16)
    pl.batch_perceive(sig, config=CFG, client=False, batch_size=8, progress=False, store=url)
    before = json.dumps(pl.open_run(url).attrs, sort_keys=True)
    cases = [
        (dict(config=CFG.replace(top_k=3)), "config.top_k: stored 5, given 3"),
        (dict(config=CFG, domain="other"), "domain"),
        (dict(config=CFG, batch_size=4), "batch_size: stored 8, given 4"),
    ]
    for kwargs, msg in cases:
        kw = {"batch_size": 8, **kwargs}
        with pytest.raises(pl.RunMismatchError, match=msg):
            pl.batch_perceive(sig, client=False, progress=False, store=url, **kw)
    changed = [T.copy() for T in sig]
    changed[5][10] += 1e-9
    with pytest.raises(pl.RunMismatchError, match="fingerprint") as info:
        pl.batch_perceive(changed, config=CFG, client=False, batch_size=8, progress=False, store=url)
    assert isinstance(info.value, ValueError) and "overwrite=True" in str(info.value)
    other_lib = pl.PatternLibrary(config=CFG)
    other_lib.add(np.sin(np.arange(32.0)), signal_id=0, offset=0)
    with pytest.raises(pl.RunMismatchError, match="fingerprint") as info:
        pl.batch_perceive(sig, library=other_lib, client=False, batch_size=8, progress=False, store=url)
    # the fingerprints are shown where they differ (the library part), each quote closed
    stored, given = re.search(r'fingerprint: stored ("[^"]*"), given ("[^"]*")\)', str(info.value)).groups()
    assert stored != given and "library:" in stored and "library:" in given
    assert json.dumps(pl.open_run(url).attrs, sort_keys=True) == before
    # overwrite starts over
    out = pl.batch_perceive(sig, config=CFG.replace(top_k=3), client=False, batch_size=8,
                            progress=False, store=url, overwrite=True)
    assert out.metrics["tasks_processed"] == 2 and pl.open_run(url).config.top_k == 3


def test_a_store_holding_something_else_is_refused(tmp_path: Path) -> None:
    pl.write_signals(tmp_path / "corpus.zarr", [np.arange(50.0)])
    with pytest.raises(pl.RunMismatchError, match="other than a patternlab run"):
        pl.batch_perceive(signals(4), config=CFG, client=False, progress=False,
                          store=tmp_path / "corpus.zarr")
    assert len(pl.ZarrCorpus(tmp_path / "corpus.zarr")) == 1
    with pytest.raises(pl.StoreError, match="not a patternlab run"):
        pl.open_run(tmp_path / "corpus.zarr")


def test_interrupted_partitions_are_redone(reference: pl.BatchResult, tmp_path: Path) -> None:
    """Partitions whose flag is missing are recomputed, whatever half-written data they left."""
    url = tmp_path / "run.zarr"
    pl.batch_perceive(signals(), config=CFG, client=False, batch_size=8, progress=False, store=url)
    g = open_group(url, mode="r+")
    # partition 1: data written, flag not yet (the crash came between them)
    g["partitions/done"][1] = 0
    # partition 3: crashed mid-write: a truncated shard and a half-written delta group
    g["partitions/done"][3] = 0
    shard = url / "summaries" / "counts" / "c" / "3" / "0"
    shard.write_bytes(shard.read_bytes()[:7])
    g["summaries/distances"][24:28] = -1.0
    p3 = url / "partitions" / "p00000003" / "c" / "0"
    p3.write_bytes(p3.read_bytes()[:100])
    g.attrs.update({"complete": False})
    run = pl.open_run(url)
    assert run.progress == (3, 5) and not run.complete
    with pytest.raises(pl.StoreError, match="not complete"):
        _ = run.library
    out = pl.batch_perceive(signals(), config=CFG, client=False, batch_size=8, progress=False, store=url)
    assert out.metrics["tasks_processed"] == 2 and out.metrics["partitions_resumed"] == 3
    assert_same_library(out.library, reference.library)
    for name in SUMMARY_DTYPES:
        assert np.array_equal(pl.open_run(url).summaries[name], reference.summaries[name]), name


def test_memory_store_in_process(reference: pl.BatchResult) -> None:
    url = f"memory://run-{os.getpid()}-inproc"
    out = pl.batch_perceive(signals(), config=CFG, client=False, batch_size=8, progress=False, store=url)
    assert_same_library(out.library, reference.library)
    assert pl.open_run(url).complete


# -- on a cluster -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        yield c


def test_store_on_a_cluster_resumes_from_workers(client, reference: pl.BatchResult, tmp_path: Path) -> None:
    url = tmp_path / "run.zarr"
    corpus = pl.write_signals(tmp_path / "corpus.zarr", signals())
    out = pl.batch_perceive(corpus, config=CFG, client=client, batch_size=4, progress=False, store=url)
    ref4 = pl.batch_perceive(signals(), config=CFG, client=False, batch_size=4, progress=False)
    assert_same_library(out.library, ref4.library)
    # the result's summaries stay in the store until read: no row travelled through the merges
    assert "not read yet" in repr(out.summaries)
    assert set(out.summaries) == set(ref4.summaries) and "read)" in repr(out.summaries)
    for name in SUMMARY_DTYPES:
        assert np.array_equal(out.summaries[name], ref4.summaries[name]), name
    assert out.errors == ref4.errors
    # every summary written by the workers (10 partitions, 2 workers writing at once) is there
    for name in SUMMARY_DTYPES:
        assert np.array_equal(pl.open_run(url).summaries[name], ref4.summaries[name]), name
    g = open_group(url, mode="r+")
    for k in (0, 4, 9):
        g["partitions/done"][k] = 0
    again = pl.batch_perceive(corpus, config=CFG, client=client, batch_size=4, progress=False, store=url)
    assert again.metrics["tasks_processed"] == 3 and again.metrics["partitions_resumed"] == 7
    assert_same_library(again.library, ref4.library)
    for name in SUMMARY_DTYPES:  # resumed and recomputed partitions' rows, read from the store
        assert np.array_equal(again.summaries[name], ref4.summaries[name]), name
    # damaged data of flagged partitions (a missing shard, a flipped byte) is recomputed too
    (url / "summaries" / "counts" / "c" / "2" / "0").unlink()
    blob = url / "partitions" / "p00000006" / "c" / "0"
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 1
    blob.write_bytes(bytes(data))
    third = pl.batch_perceive(corpus, config=CFG, client=client, batch_size=4, progress=False, store=url)
    assert third.metrics["tasks_processed"] == 2 and third.metrics["partitions_damaged"] == 2
    assert_same_library(third.library, ref4.library)
    for name in SUMMARY_DTYPES:
        assert np.array_equal(pl.open_run(url).summaries[name], ref4.summaries[name]), name


def test_memory_store_with_a_cluster_is_written_by_the_client(client, reference: pl.BatchResult) -> None:
    url = f"memory://run-{os.getpid()}-cluster"
    out = pl.batch_perceive(signals(), config=CFG, client=client, batch_size=8, progress=False, store=url)
    assert_same_library(out.library, reference.library)
    g = open_group(url, mode="r+")
    g["partitions/done"][2] = 0
    again = pl.batch_perceive(signals(), config=CFG, client=client, batch_size=8, progress=False, store=url)
    assert again.metrics["tasks_processed"] == 1
    assert_same_library(again.library, reference.library)


KILLED_RUN = textwrap.dedent("""
    import sys
    import patternlab as pl

    if __name__ == "__main__":
        corpus, store = sys.argv[1], sys.argv[2]
        cfg = pl.EngineConfig(window=32, max_patterns=20)
        with pl.Lab.local(n_workers=2, threads_per_worker=1) as lab:
            out = lab.batch_perceive(corpus, config=cfg, batch_size=2, progress=False, store=store)
        print("tasks", int(out.metrics["tasks_processed"]))
""")


@pytest.mark.slow
def test_sigkilled_client_resumes_without_recomputing(tmp_path: Path) -> None:
    sig = signals(60, length=600)
    corpus = pl.write_signals(tmp_path / "corpus.zarr", sig)
    store = tmp_path / "run.zarr"
    script = tmp_path / "run.py"
    script.write_text(KILLED_RUN)
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, str(script), str(corpus.url), str(store)],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        done = 0
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                done = int(pl.open_run(store).progress[0])
            except (pl.StoreError, KeyError, ValueError, FileNotFoundError):
                done = 0
            if done >= 5:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"the run ended before it was killed: {log.read_text()}"
        os.kill(proc.pid, signal.SIGKILL)  # the client process, with its scheduler: no clean-up
        proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        # the workers notice their parent is gone and exit; reap anything left in the group
        time.sleep(1.0)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    run = pl.open_run(store)
    finished, total = run.progress
    assert 5 <= finished < total == 30 and not run.complete
    out = pl.batch_perceive(corpus, config=pl.EngineConfig(window=32, max_patterns=20), client=False,
                            batch_size=2, progress=False, store=store)
    assert out.metrics["partitions_resumed"] == finished
    assert out.metrics["tasks_processed"] == total - finished
    ref = pl.batch_perceive(sig, config=pl.EngineConfig(window=32, max_patterns=20), client=False,
                            batch_size=2, progress=False)
    assert_same_library(out.library, ref.library)
    for name in SUMMARY_DTYPES:
        assert np.array_equal(out.summaries[name], ref.summaries[name]), name
