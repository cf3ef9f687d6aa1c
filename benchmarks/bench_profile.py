"""asv benchmarks: matrix profiles, distance profiles, motifs.

``setup`` compiles (a small warm-up call), so ``time_*`` measure warm calls; compilation and
import are measured separately in ``bench_startup``. ``SCALE`` shrinks the inputs for the smoke
run of the test suite (``PATTERNLAB_BENCH_SCALE=0.01``).
"""

from __future__ import annotations

import os

import patternlab as pl
from patternlab.datasets.synthetic import planted_signal, random_walk

SCALE = float(os.environ.get("PATTERNLAB_BENCH_SCALE", "1"))


def _n(n: int) -> int:
    return max(500, int(n * SCALE))


class MatrixProfile:
    """Self-join on a random walk (the STUMPY benchmark series), float64 and float32."""

    params = ([10_000, 100_000], ["float64", "float32"])
    param_names = ["n", "dtype"]
    timeout = 300

    def setup(self, n: int, dtype: str) -> None:
        self.T = random_walk(_n(n), seed=0)
        self.m = 100
        pl.matrix_profile(self.T[:1000], self.m, dtype=dtype)

    def time_self_join(self, n: int, dtype: str) -> None:
        pl.matrix_profile(self.T, self.m, dtype=dtype)

    def track_cells_per_second(self, n: int, dtype: str) -> float:
        import time

        t0 = time.perf_counter()
        mp = pl.matrix_profile(self.T, self.m, dtype=dtype)
        dt = time.perf_counter() - t0
        ell = len(mp) - mp.exclusion_zone
        return ell * ell / 2 / dt

    track_cells_per_second.unit = "cells/s"  # type: ignore[attr-defined]

    def peakmem_self_join(self, n: int, dtype: str) -> None:
        pl.matrix_profile(self.T, self.m, dtype=dtype)


class ABJoin:
    """AB-join of two random walks."""

    params = [20_000]
    param_names = ["n"]

    def setup(self, n: int) -> None:
        self.A = random_walk(_n(n), seed=1)
        self.B = random_walk(_n(n) // 2, seed=2)
        pl.matrix_profile(self.A[:600], 100, self.B[:600])

    def time_ab_join(self, n: int) -> None:
        pl.matrix_profile(self.A, 100, self.B)


class DistanceProfile:
    """One query against a long series."""

    params = [1_000_000]
    param_names = ["n"]

    def setup(self, n: int) -> None:
        self.T = random_walk(_n(n), seed=3)
        self.Q = self.T[100:200].copy()
        pl.distance_profile(self.Q, self.T[:1000])

    def time_distance_profile(self, n: int) -> None:
        pl.distance_profile(self.Q, self.T)


class MotifsDiscords:
    """Top-k motifs and discords of a planted signal, from a computed profile."""

    def setup(self) -> None:
        p = planted_signal(max(3_000, int(50_000 * SCALE)), 100, seed=0)
        self.mp = pl.matrix_profile(p.signal, p.window)

    def time_motifs(self) -> None:
        self.mp.motifs(10)

    def time_discords(self) -> None:
        self.mp.discords(10)
