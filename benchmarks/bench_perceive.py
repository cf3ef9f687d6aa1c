"""asv benchmarks of perceive and the pattern library.

The headline figure: perceive on a signal of n = 10,000 samples, window 64, against a library of
1,000 patterns (all 1,000 prototypes are searched in the signal by one kernel).
"""

from __future__ import annotations

import os

import numpy as np

import patternlab as pl

SCALE = float(os.environ.get("PATTERNLAB_BENCH_SCALE", "1"))


def _library(n_patterns: int, window: int, seed: int = 0) -> pl.PatternLibrary:
    rng = np.random.default_rng(seed)
    cfg = pl.EngineConfig(window=window, max_patterns=max(2 * n_patterns, 1))
    lib = pl.PatternLibrary(window=window, config=cfg)
    for k in range(n_patterns):
        lib.add(np.cumsum(rng.standard_normal(window)), signal_id=k, offset=0)
    return lib


class Perceive:
    """One signal against a library of L patterns."""

    params = ([0, 1_000],)
    param_names = ["patterns"]

    def setup(self, patterns: int) -> None:
        n = max(500, int(10_000 * SCALE))
        self.L = max(0, int(patterns * max(SCALE, 0.05)))
        self.T = np.cumsum(np.random.default_rng(1).standard_normal(n))
        self.lib = _library(self.L, 64)
        pl.perceive(self.T[:500], library=self.lib.copy())

    def time_perceive(self, patterns: int) -> None:
        pl.perceive(self.T, library=self.lib.copy(), signal_id=1)

    def time_perceive_no_learning(self, patterns: int) -> None:
        pl.perceive(self.T, library=self.lib, signal_id=1, learn=False)


class Library:
    """Nearest-prototype search and merging."""

    def setup(self) -> None:
        L = max(10, int(1_000 * SCALE))
        self.a = _library(L, 64, seed=2)
        self.b = _library(L, 64, seed=3)
        self.queries = np.cumsum(np.random.default_rng(4).standard_normal((100, 64)), axis=1)
        self.a.nearest(self.queries[:2])
        self.a.merge(_library(2, 64, seed=5))

    def time_nearest_100(self) -> None:
        self.a.nearest(self.queries)

    def time_merge(self) -> None:
        self.a.merge(self.b)

    def time_to_from_arrays(self) -> None:
        pl.PatternLibrary.from_arrays(self.a.to_arrays())


class BatchInProcess:
    """batch_perceive without Dask (the partition, delta and merge machinery alone)."""

    params = ([25, 100],)
    param_names = ["batch_size"]
    timeout = 300

    def setup(self, batch_size: int) -> None:
        rng = np.random.default_rng(6)
        n = max(8, int(400 * SCALE))
        self.signals = [np.cumsum(rng.standard_normal(1_000)) for _ in range(n)]
        self.cfg = pl.EngineConfig(window=64)
        pl.batch_perceive(self.signals[:4], config=self.cfg, client=False, batch_size=2, progress=False)

    def time_batch_perceive(self, batch_size: int) -> None:
        pl.batch_perceive(self.signals, config=self.cfg, client=False, batch_size=batch_size,
                          progress=False)

    def track_signals_per_second(self, batch_size: int) -> float:
        out = pl.batch_perceive(self.signals, config=self.cfg, client=False, batch_size=batch_size,
                                progress=False)
        return out.metrics["throughput_per_sec"]

    track_signals_per_second.unit = "signals/s"  # type: ignore[attr-defined]
