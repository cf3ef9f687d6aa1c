"""asv benchmarks: STUMPY's surface beyond the nearest neighbour -- the ``k`` nearest
neighbours, non-normalized (p-norm) profiles and distance profiles, motif sets.

``setup`` compiles (a small warm-up call), so ``time_*`` measure warm calls. ``SCALE`` shrinks the
inputs for the smoke run of the test suite (``PATTERNLAB_BENCH_SCALE=0.01``).
"""

from __future__ import annotations

import os

import patternlab as pl
from patternlab.datasets.synthetic import random_walk

SCALE = float(os.environ.get("PATTERNLAB_BENCH_SCALE", "1"))


def _n(n: int) -> int:
    return max(600, int(n * SCALE))


class NearestNeighbours:
    """``matrix_profile(T, m, k=k)`` on a random walk."""

    params = ([20_000], [1, 3])
    param_names = ["n", "k"]
    timeout = 300

    def setup(self, n: int, k: int) -> None:
        self.T = random_walk(_n(n), seed=0)
        pl.matrix_profile(self.T[:600], 50, k=k)

    def time_self_join(self, n: int, k: int) -> None:
        pl.matrix_profile(self.T, 50, k=k)


class NonNormalized:
    """``matrix_profile(T, m, normalize=False, p=p)`` and its distance profile."""

    params = ([20_000], [1.0, 2.0, 3.0])
    param_names = ["n", "p"]
    timeout = 300

    def setup(self, n: int, p: float) -> None:
        self.T = random_walk(_n(n), seed=1)
        self.Q = self.T[100:150].copy()
        pl.matrix_profile(self.T[:600], 50, normalize=False, p=p)
        pl.distance_profile(self.Q, self.T[:600], normalize=False, p=p)

    def time_self_join(self, n: int, p: float) -> None:
        pl.matrix_profile(self.T, 50, normalize=False, p=p)

    def time_distance_profile(self, n: int, p: float) -> None:
        pl.distance_profile(self.Q, self.T, normalize=False, p=p)


class MotifSets:
    """Three motif sets of up to ten occurrences, from a computed profile."""

    def setup(self) -> None:
        self.T = random_walk(_n(100_000), seed=2)
        self.mp = pl.matrix_profile(self.T, 100)
        pl.motifs(self.T[:600], 50, 1, max_matches=3)

    def time_motif_sets(self) -> None:
        pl.motifs(self.T, 100, 3, max_matches=10, cutoff=float("inf"), profile=self.mp)
