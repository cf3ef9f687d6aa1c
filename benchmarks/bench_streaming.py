"""asv benchmarks: the streaming profile (updates on a sliding history) and the anytime profile.

``setup`` compiles (a small stream first), so ``time_*`` measure warm calls. ``SCALE`` shrinks
the inputs for the smoke run of the test suite (``PATTERNLAB_BENCH_SCALE=0.01``).
"""

from __future__ import annotations

import os

import patternlab as pl
from patternlab.datasets.synthetic import random_walk

SCALE = float(os.environ.get("PATTERNLAB_BENCH_SCALE", "1"))


def _n(n: int) -> int:
    return max(400, int(n * SCALE))


class Streaming:
    """``update()`` one sample at a time on a 20,000-sample sliding history, m = 100."""

    timeout = 600

    def setup(self) -> None:
        self.m = 100
        S = random_walk(_n(20_000) + 1000, seed=0)
        self.history, self.tail = S[:-1000], S[-1000:]
        warm = pl.StreamingProfile(self.history[:4 * self.m], self.m)
        warm.extend(self.tail[:10])
        self.sp = pl.StreamingProfile(self.history, self.m)

    def time_1000_updates(self) -> None:
        for x in self.tail:
            self.sp.update(x)

    def time_extend_1000(self) -> None:
        self.sp.extend(self.tail)


class Anytime:
    """The anytime profile of a 20,000-sample walk at 5 % of the diagonals, with its pre-scan."""

    timeout = 600

    def setup(self) -> None:
        self.T = random_walk(_n(20_000), seed=1)
        pl.approximate_profile(self.T[:1000], 100, percentage=0.1)

    def time_five_percent(self) -> None:
        pl.approximate_profile(self.T, 100, percentage=0.05, seed=0)

    def time_five_percent_without_prescan(self) -> None:
        pl.approximate_profile(self.T, 100, percentage=0.05, seed=0, prescan=False)
