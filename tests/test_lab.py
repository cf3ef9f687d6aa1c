"""Lab: the session object, on real LocalClusters."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time

import numpy as np
import pytest
from distributed import LocalCluster

import patternlab as pl
from patternlab.batch.signals import InMemory
from patternlab.datasets.synthetic import planted_signal

CFG = pl.EngineConfig(window=32, top_k=2)
SIGNALS = [planted_signal(1200, 32, seed=i, occurrences=2).signal for i in range(8)]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_local_lab_is_current_and_used_by_batch_perceive() -> None:
    nanny_log = _Records()
    logging.getLogger("distributed.nanny").addHandler(nanny_log)
    try:
        _local_lab_is_current_and_used_by_batch_perceive()
    finally:
        logging.getLogger("distributed.nanny").removeHandler(nanny_log)
    # the worker exited by itself when the Lab closed: the nanny did not have to kill it
    assert not [m for m in nanny_log.messages if "still alive" in m], nanny_log.messages


def _local_lab_is_current_and_used_by_batch_perceive() -> None:
    with pl.Lab.local(n_workers=1, threads_per_worker=1) as lab:
        assert pl.Lab.current() is lab
        # the worker plugin froze the worker's long-lived objects out of the collector's passes
        assert all(n > 10_000 for n in lab.client.run(gc.get_freeze_count).values())
        out = pl.batch_perceive(SIGNALS, config=CFG, batch_size=3, progress=False)
        prefixes = lab.client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
        assert "perceive-partition" in prefixes
        lab.batch_perceive(SIGNALS, config=CFG, batch_size=4, progress=False)
        st = lab.status()
        assert st["workers"] == 1 and st["threads"] == 1
        # the scheduler's counts since it started (Lab.local preloads patternlab.dashboard):
        # both batches, 3 + 2 partitions
        assert st["tasks_processed"] == 5 and st["signals"] == 2 * len(SIGNALS)
        assert st["queue_depth"] == 0 and st["dashboard"].startswith("http")
        assert st["throughput_per_sec"] > 0
        assert out.metrics["tasks_processed"] == 3
        mp = lab.matrix_profile(SIGNALS[0], 32)
        np.testing.assert_array_equal(mp.P, pl.matrix_profile(SIGNALS[0], 32).P)
    assert pl.Lab.current() is None
    assert lab.cluster.status.name == "closed"


def test_connect_leaves_the_cluster_running() -> None:
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        with pl.Lab.connect(cluster.scheduler_address) as lab:
            want = pl.batch_perceive(SIGNALS, config=CFG, client=False, batch_size=3, progress=False)
            got = lab.batch_perceive(SIGNALS, config=CFG, batch_size=3, progress=False)
            assert np.array_equal(want.library.prototypes, got.library.prototypes)
            with pytest.raises(pl.PatternlabError, match="does not manage"):
                lab.adapt(0, 2)
        assert cluster.status.name == "running"
        assert len(cluster.scheduler_info["workers"]) == 1


def test_connect_to_nothing_is_a_clear_error() -> None:
    with pytest.raises(pl.ClusterConnectionError, match="cannot reach the Dask scheduler"):
        pl.Lab.connect("tcp://127.0.0.1:9", timeout="1s")


class SlowSignals(InMemory):
    """Partitions that take a while: load that Dask's adaptive scaling can see."""

    def read(self, start: int, stop: int) -> list[np.ndarray]:
        time.sleep(0.5)
        return super().read(start, stop)


def test_adapt_scales_up_under_load() -> None:
    with pl.Lab.local(n_workers=1, threads_per_worker=1) as lab:
        lab.adapt(minimum=1, maximum=2, interval="100ms", target_duration="1s")
        result: dict[str, object] = {}
        t = threading.Thread(target=lambda: result.update(
            out=lab.batch_perceive(SlowSignals(SIGNALS * 3), config=CFG, batch_size=1, progress=False)))
        t.start()
        seen = 1
        while t.is_alive():
            seen = max(seen, len(lab.client.scheduler_info()["workers"]))
            time.sleep(0.1)
        t.join()
        assert seen == 2
        assert "out" in result


@pytest.mark.parametrize(("kwargs", "needle"), [({"n_workers": 0}, "n_workers=0"),
                                                ({"threads_per_worker": -1}, "threads_per_worker=-1")])
def test_bad_arguments(kwargs: dict[str, int], needle: str) -> None:
    with pytest.raises(pl.PatternlabError, match=needle):
        pl.Lab.local(**kwargs)


def test_asynchronous_lab() -> None:
    async def main() -> tuple[pl.BatchResult, pl.Perception]:
        async with pl.Lab.local(n_workers=1, asynchronous=True) as lab:
            out = await lab.batch_perceive(SIGNALS, config=CFG, batch_size=4, progress=False)
            one = await lab.perceive(SIGNALS[0], config=CFG.replace(min_support=1))  # learns at once
            return out, one

    out, one = asyncio.run(main())
    want = pl.batch_perceive(SIGNALS, config=CFG, client=False, batch_size=4, progress=False)
    assert np.array_equal(out.library.prototypes, want.library.prototypes)
    assert len(one.new_patterns) > 0
