"""asv: batch_perceive on a LocalCluster of worker processes (1 thread each), against the same batch
in this process on one numba thread (``BatchInProcess`` in bench_perceive runs it on all threads).

The cluster is started once per benchmark class (``setup_cache`` cannot hold one: it must be
picklable), in ``setup``, and the workers are warmed with a small batch before timing, so the
timings hold the work, the scheduling and the transfers, not start-up or compilation.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

SCALE = float(os.environ.get("PATTERNLAB_BENCH_SCALE", "1"))


def _signals(n: int, length: int = 1_000, seed: int = 0) -> list[np.ndarray]:
    from patternlab.datasets.synthetic import planted_signal

    return [planted_signal(length, 64, occurrences=2, anomalies=1, seed=seed + k).signal for k in range(n)]


class BatchOnLocalCluster:
    """400 signals of 1,000 samples, window 64, batch_size 100, on 1 and 2 workers x 1 thread
    (signals/s: 400 / time_batch_perceive)."""

    params = ([1, 2],)
    param_names = ["workers"]
    timeout = 600
    number = 1
    repeat = 3
    warmup_time = 0

    def setup(self, workers: int) -> None:
        import patternlab as pl

        self.n = max(8, int(400 * SCALE))
        self.signals = _signals(self.n)
        self.cfg = pl.EngineConfig(window=64)
        self.batch_size = max(2, int(100 * SCALE))
        self.lab = pl.Lab.local(n_workers=workers, threads_per_worker=1)
        pl.batch_perceive(self.signals[:4], config=self.cfg, client=self.lab, batch_size=2, progress=False)

    def teardown(self, *params: Any) -> None:  # asv passes the parameters; a plain call works too
        self.lab.close()

    def _run(self) -> Any:
        import patternlab as pl

        return pl.batch_perceive(self.signals, config=self.cfg, client=self.lab,
                                 batch_size=self.batch_size, progress=False)

    def time_batch_perceive(self, workers: int) -> None:
        self._run()

    def track_task_overhead_ms(self, workers: int) -> float:
        """Wall time a task costs on the cluster beyond its own work (scheduling, transfer, merges)."""
        import time

        t0 = time.perf_counter()
        out = self._run()
        wall = time.perf_counter() - t0
        tasks = out.metrics["tasks_processed"]
        return float(1000 * wall * workers / tasks - out.metrics["avg_latency_ms"])

    track_task_overhead_ms.unit = "ms"  # type: ignore[attr-defined]


class BatchOneThread:
    """The same batch in this process on one numba thread: the baseline of BatchOnLocalCluster."""

    timeout = 600
    number = 1
    repeat = 3

    def setup(self) -> None:
        import patternlab as pl

        self.n = max(8, int(400 * SCALE))
        self.signals = _signals(self.n)
        self.cfg = pl.EngineConfig(window=64)
        self.batch_size = max(2, int(100 * SCALE))
        pl.batch_perceive(self.signals[:4], config=self.cfg, client=False, batch_size=2, progress=False)

    def time_batch_perceive(self) -> None:
        import numba

        import patternlab as pl

        before = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            pl.batch_perceive(self.signals, config=self.cfg, client=False, batch_size=self.batch_size,
                              progress=False)
        finally:
            numba.set_num_threads(before)
