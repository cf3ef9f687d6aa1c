"""asv benchmarks: the multi-dimensional matrix profile, segmentation, the consensus motif and
the pan matrix profile.

``setup`` compiles (a small warm-up call), so ``time_*`` measure warm calls. ``SCALE`` shrinks
the inputs for the smoke run of the test suite (``PATTERNLAB_BENCH_SCALE=0.01``).
"""

from __future__ import annotations

import os

import numpy as np

import patternlab as pl
from patternlab.datasets.synthetic import random_walk

SCALE = float(os.environ.get("PATTERNLAB_BENCH_SCALE", "1"))


def _n(n: int, least: int = 500) -> int:
    return max(least, int(n * SCALE))


class MultiProfile:
    """mSTAMP on ``d`` random walks of 10,000 samples, m = 100."""

    params = [3, 10]
    param_names = ["d"]
    timeout = 600

    def setup(self, d: int) -> None:
        self.T = np.stack([random_walk(_n(10_000), seed=k) for k in range(d)])
        pl.matrix_profile(self.T[:, :500], 50)

    def time_multi_profile(self, d: int) -> None:
        pl.matrix_profile(self.T, 100)

    def track_cells_per_second(self, d: int) -> float:
        import time

        t0 = time.perf_counter()
        mp = pl.matrix_profile(self.T, 100)
        dt = time.perf_counter() - t0
        ell = len(mp) - mp.exclusion_zone
        return ell * ell / 2 * d / dt

    track_cells_per_second.unit = "cells/s"  # type: ignore[attr-defined]


class Segments:
    """FLUSS from a profile of 100,000 windows (the profile computed in setup)."""

    def setup(self) -> None:
        self.mp = pl.matrix_profile(random_walk(_n(100_000, 2_000), seed=1), 100)

    def time_segments(self) -> None:
        pl.segments(self.mp, n_regimes=3)


class Consensus:
    """The consensus motif of 50 random walks of 1,000 samples, m = 50."""

    timeout = 600

    def setup(self) -> None:
        self.Ts = [random_walk(_n(1_000, 200), seed=k) for k in range(max(3, int(50 * min(1.0, 10 * SCALE))))]
        pl.consensus_motif(self.Ts[:3], 50)

    def time_consensus_motif(self) -> None:
        pl.consensus_motif(self.Ts, 50)


class Pan:
    """The pan profile of a 10,000-sample walk, windows 20 .. 400 every 20."""

    timeout = 600

    def setup(self) -> None:
        self.T = random_walk(_n(10_000, 1_000), seed=2)
        pl.pan_profile(self.T[:500], 20, 40, step=20)

    def time_pan_profile(self) -> None:
        pl.pan_profile(self.T, 20, 400, step=20)
