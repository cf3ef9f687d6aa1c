"""batch_perceive on real Dask clusters (separate worker processes): the merged library is
identical in process, on one worker, on two, and when a worker is killed mid-run."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster

import patternlab as pl
from patternlab.batch.signals import InMemory
from patternlab.datasets.synthetic import planted_signal

CFG = pl.EngineConfig(window=48, top_k=2, seed=3)


@pytest.fixture(scope="module")
def signals() -> list[np.ndarray]:
    out = [planted_signal(2000, 48, seed=i, occurrences=2).signal for i in range(30)]
    out[7] = out[7][:40]  # too short for window 48: skipped and reported, never fatal
    out[11] = out[11].copy()
    out[11][100:300] = np.nan
    return out


@pytest.fixture(scope="module")
def reference(signals: list[np.ndarray]) -> pl.BatchResult:
    return pl.batch_perceive(signals, "test", config=CFG, client=False, batch_size=4, progress=False)


def assert_same(a: pl.BatchResult, b: pl.BatchResult) -> None:
    x, y = a.library.to_arrays(), b.library.to_arrays()
    assert x.keys() == y.keys()
    for k in x:
        np.testing.assert_array_equal(x[k], y[k], err_msg=k)
    for k in a.summaries:
        np.testing.assert_array_equal(a.summaries[k], b.summaries[k], err_msg=k)
    assert a.errors == b.errors


@pytest.fixture(scope="module")
def cluster2() -> Iterator[tuple[LocalCluster, Client]]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cl:
        with Client(cl) as c:
            yield cl, c


def test_in_process_result(reference: pl.BatchResult, signals: list[np.ndarray]) -> None:
    assert len(reference.library) > 0
    assert reference.metrics["tasks_processed"] == 8 and reference.metrics["signals"] == len(signals)
    assert set(reference.metrics) >= {"tasks_processed", "patterns_discovered", "avg_latency_ms",
                                      "throughput_per_sec"}
    assert list(reference.errors) == [7] and "window=48" in reference.errors[7]
    assert not reference.summaries["ok"][7] and reference.summaries["ok"].sum() == len(signals) - 1
    assert reference.metrics["patterns_discovered"] == len(reference.library)


def test_one_worker_gives_the_same_library(reference: pl.BatchResult, signals: list[np.ndarray]) -> None:
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cl:
        with Client(cl) as c:
            out = pl.batch_perceive(signals, "test", config=CFG, client=c, batch_size=4, progress=False)
    assert_same(reference, out)


def test_two_workers_give_the_same_library(reference: pl.BatchResult, signals: list[np.ndarray],
                                           cluster2: tuple[LocalCluster, Client]) -> None:
    out = pl.batch_perceive(signals, "test", config=CFG, client=cluster2[1], batch_size=4, progress=False)
    assert_same(reference, out)


class SlowSignals(InMemory):
    """Each partition takes a while, so that a worker can be killed while tasks are running."""

    def read(self, start: int, stop: int) -> list[np.ndarray]:
        time.sleep(0.4)
        return super().read(start, stop)


def test_a_worker_killed_mid_run_changes_nothing(reference: pl.BatchResult, signals: list[np.ndarray],
                                                 cluster2: tuple[LocalCluster, Client]) -> None:
    _, c = cluster2
    pids = c.run(os.getpid)
    victim = sorted(pids.values())[0]
    killed_at: list[float] = []

    def killer() -> None:
        time.sleep(1.0)
        os.kill(victim, signal.SIGKILL)
        killed_at.append(time.perf_counter())

    t = threading.Thread(target=killer)
    t.start()
    out = pl.batch_perceive(SlowSignals(signals), "test", config=CFG, client=c, batch_size=4,
                            progress=False)
    finished_at = time.perf_counter()
    t.join()
    assert killed_at and killed_at[0] < finished_at  # the worker died while the batch ran
    assert victim not in c.run(os.getpid).values() or len(c.run(os.getpid)) < 2
    assert_same(reference, out)


def test_inputs_2d_dask_and_zarr_corpus(tmp_path: Path, cluster2: tuple[LocalCluster, Client]) -> None:
    rows = np.stack([planted_signal(1500, 48, seed=i, occurrences=2).signal for i in range(10)])
    want = pl.batch_perceive(list(rows), "t", config=CFG, client=False, batch_size=3, progress=False)
    corpus = pl.write_signals(tmp_path / "corpus.zarr", rows)
    for src in (rows, da.from_array(rows, chunks=(4, 1500)), corpus, str(tmp_path / "corpus.zarr")):
        got = pl.batch_perceive(src, "t", config=CFG, client=cluster2[1], batch_size=3, progress=False)
        assert_same(want, got)


def test_default_client_and_current_lab_are_used(signals: list[np.ndarray],
                                                 cluster2: tuple[LocalCluster, Client]) -> None:
    _, c = cluster2
    before = c.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.task_prefixes))
    out = pl.batch_perceive(signals[:6], "test", config=CFG, batch_size=3, progress=False)
    prefixes = c.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert "perceive-partition" in prefixes and len(prefixes) >= before
    assert out.metrics["tasks_processed"] == 2


def test_library_is_a_snapshot_left_untouched(reference: pl.BatchResult, signals: list[np.ndarray]) -> None:
    lib = reference.library
    before = lib.to_arrays()
    again = pl.batch_perceive(signals[:8], "test", library=lib, client=False, batch_size=4, progress=False)
    after = lib.to_arrays()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert again.library.supports.sum() >= lib.supports.sum()


@pytest.mark.parametrize(
    ("signals_arg", "kwargs", "needle"),
    [
        ([], {}, "no signals"),
        (np.arange(100.0), {}, "one 1-D signal"),
        ([1.0, 2.0, 3.0], {}, "list of numbers"),
        ([np.arange(100.0)], {"batch_size": 0}, "batch_size=0"),
        ([np.arange(100.0)], {"client": "tcp://x"}, "client must be"),
    ],
)
def test_bad_input(signals_arg: object, kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(pl.PatternlabError, match=needle):
        pl.batch_perceive(signals_arg, config=CFG, progress=False, **{"client": False, **kwargs})


_EMBEDDED = """
import numpy as np
import patternlab as pl
from distributed import default_client

if __name__ == "__main__":
    signals = [np.cumsum(np.random.default_rng(i).standard_normal(600)) for i in range(6)]
    out = pl.batch_perceive(signals, config=pl.EngineConfig(window=32), batch_size=2, progress=False)
    want = pl.batch_perceive(signals, config=pl.EngineConfig(window=32), batch_size=2, client=False,
                             progress=False)
    assert out.library.ids == want.library.ids
    try:
        default_client()
    except ValueError:
        print("embedded cluster closed")
"""


def test_embedded_cluster_is_started_and_closed(tmp_path: Path) -> None:
    """No client anywhere: batch_perceive starts a LocalCluster and closes it afterwards."""
    import subprocess
    import sys

    script = tmp_path / "embedded.py"
    script.write_text(_EMBEDDED)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "embedded cluster closed" in out.stdout


def _faults_of_fresh_arrays() -> int:
    import resource

    r0 = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(200):
        a = np.ones(1 << 17)  # 1 MiB, freed at once: a task's transient arrays
        del a
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - r0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc allocator settings")
def test_workers_reuse_freed_memory() -> None:
    """Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_, which makes every large array a
    fresh mmap; the worker plugin restores reuse (measured: ~8% of a task's CPU time)."""
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
            Client(cl) as c:
        before = c.submit(_faults_of_fresh_arrays, pure=False).result()
        pl.batch_perceive([np.cumsum(np.random.default_rng(0).standard_normal(300))], client=c,
                          config=pl.EngineConfig(window=16), progress=False)  # registers the plugin
        after = c.submit(_faults_of_fresh_arrays, pure=False).result()
    assert before > 20_000, before  # 200 arrays x 256 pages: the nanny's setting is in force
    assert after < 2_000, after
