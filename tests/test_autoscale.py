"""Adaptive scaling on a real LocalCluster: a batch scales workers up under load and back down when
idle, with Dask's duration-based target and with the queue-based target (queue_depth_per_worker)."""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator

import dask.config
import numpy as np
import pytest

import patternlab as pl
from patternlab.batch.signals import InMemory
from patternlab.datasets.synthetic import planted_signal
from patternlab.lab.adaptive import QueueAdaptive

CFG = pl.EngineConfig(window=32, top_k=2)
SIGNALS = [planted_signal(900, 32, seed=i, occurrences=2).signal for i in range(12)]
FAST = {"interval": "150ms", "wait_count": 2}


class SlowSignals(InMemory):
    """Partitions that take a while on the worker: load that adaptive scaling can see."""

    def read(self, start: int, stop: int) -> list[np.ndarray]:
        time.sleep(0.6)
        return super().read(start, stop)


def _workers(lab: pl.Lab) -> int:
    return len(lab.client.scheduler_info()["workers"])


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _run_in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, dict[str, object]]:
    result: dict[str, object] = {}

    def target() -> None:
        try:
            result["out"] = fn()
        except BaseException as exc:  # reported by the test
            result["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    return t, result


@pytest.fixture
def lab() -> Iterator[pl.Lab]:
    with pl.Lab.local(n_workers=1, threads_per_worker=1) as lab:
        yield lab


@pytest.fixture(scope="module")
def shared_lab() -> Iterator[pl.Lab]:
    with pl.Lab.local(n_workers=1, threads_per_worker=1) as lab:
        yield lab


def test_a_batch_scales_up_under_load_and_back_down_when_idle(lab: pl.Lab) -> None:
    adaptive = lab.adapt(1, 3, target_duration="1s", **FAST)
    assert isinstance(adaptive, QueueAdaptive) and adaptive.queue_depth_per_worker is None
    t, result = _run_in_thread(lambda: lab.batch_perceive(SlowSignals(SIGNALS), config=CFG, batch_size=1,
                                                          progress=False))
    peak = 1
    while t.is_alive():
        peak = max(peak, _workers(lab))
        time.sleep(0.1)
    t.join()
    assert "error" not in result, result
    assert peak >= 2, "no worker was added under load"
    want = pl.batch_perceive(SIGNALS, config=CFG, client=False, batch_size=1, progress=False)
    assert np.array_equal(result["out"].library.prototypes, want.library.prototypes)  # type: ignore[attr-defined]
    _wait(lambda: _workers(lab) == 1, 30, "the idle workers to be retired")
    assert len(lab.cluster.worker_spec) == 1
    # the minimum holds: an idle cluster keeps one worker
    time.sleep(1.0)
    assert _workers(lab) == 1


def test_queue_depth_target(lab: pl.Lab) -> None:
    adaptive = lab.adapt(1, 3, queue_depth_per_worker=2, **FAST)
    assert adaptive.queue_depth_per_worker == 2
    assert lab.cluster.sync(adaptive.target) == 0  # nothing queued
    futures = [lab.client.submit(time.sleep, 1.0, pure=False) for _ in range(5)]
    _wait(lambda: lab.cluster.sync(adaptive.queue_depth) >= 4, 10, "tasks to queue")
    depth = lab.cluster.sync(adaptive.queue_depth)
    assert lab.cluster.sync(adaptive.target) == math.ceil(depth / 2)
    _wait(lambda: _workers(lab) == 3, 30, "the queue to bring two more workers")
    lab.client.gather(futures)
    del futures
    _wait(lambda: _workers(lab) == 1, 30, "the empty queue to retire the extra workers")
    assert lab.cluster.sync(adaptive.target) == 0
    # switching back to Dask's duration-based target on the same Lab
    again = lab.adapt(1, 2, **FAST)
    assert again is not adaptive and again.queue_depth_per_worker is None and again.maximum == 2
    assert adaptive.state == "stopped"


def test_adapt_bounds_default_to_the_configuration(shared_lab: pl.Lab,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    lab = shared_lab
    for key in list(os.environ):
        if key.startswith(("PATTERNLAB_", "DASK_PATTERNLAB__")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PATTERNLAB_MIN_WORKERS", "1")
    monkeypatch.setenv("PATTERNLAB_MAX_WORKERS", "2")
    with dask.config.set({"patternlab.max-workers": 9}):  # the short variable wins
        adaptive = lab.adapt(**FAST)
    assert (adaptive.minimum, adaptive.maximum) == (1, 2)
    monkeypatch.delenv("PATTERNLAB_MAX_WORKERS")
    adaptive = lab.adapt(maximum=3, **FAST)
    assert (adaptive.minimum, adaptive.maximum) == (1, 3)


@pytest.mark.parametrize(("args", "kwargs", "needle"), [
    ((3, 1), {}, "adapt(minimum=3, maximum=1)"),
    ((-1, 1), {}, "minimum=-1"),
    ((True, 2), {}, "minimum=True"),
    ((1, 2), {"queue_depth_per_worker": 0}, "queue_depth_per_worker=0"),
    ((1, 2), {"queue_depth_per_worker": 1.5}, "queue_depth_per_worker=1.5"),
])
def test_adapt_bad_arguments(shared_lab: pl.Lab, args: tuple[int, int], kwargs: dict[str, object],
                             needle: str) -> None:
    with pytest.raises(pl.InvalidParameterError) as info:
        shared_lab.adapt(*args, **kwargs)  # type: ignore[arg-type]
    assert needle in str(info.value)
