"""asv benchmarks: SCAMP (``pyscamp.selfjoin``) and ``pl.matrix_profile`` side by side (optional).

pyscamp is not a dependency (``pip install -e ".[bench]"`` builds it from source); without it the
pyscamp cases are skipped (``setup`` raises ``NotImplementedError``, asv's skip) and the
patternlab cases still run. ``benchmarks/compare_scamp.py`` is the full comparison (1 and 2
threads, neighbours checked); this module tracks the same figures commit by commit.
"""

from __future__ import annotations

import importlib.util
import os

import patternlab as pl
from patternlab.datasets.synthetic import random_walk

SCALE = float(os.environ.get("PATTERNLAB_BENCH_SCALE", "1"))
#: Modules a case needs that the project does not depend on (the smoke test checks the skips).
OPTIONAL = ("pyscamp",)


class SelfJoin:
    """Random walk, n = 100,000, m = 100, every thread: pyscamp (double) and patternlab."""

    params = ["pyscamp", "float64", "float32"]
    param_names = ["implementation"]
    timeout = 300

    def setup(self, implementation: str) -> None:
        if implementation == "pyscamp" and importlib.util.find_spec("pyscamp") is None:
            raise NotImplementedError("pyscamp is not installed: pip install -e '.[bench]'")
        self.impl = implementation
        self.T = random_walk(max(1000, int(100_000 * SCALE)), seed=0)
        self.m = 100
        self.run(self.T[:1000])

    def run(self, T: object) -> None:
        if self.impl == "pyscamp":
            import pyscamp

            pyscamp.selfjoin(T, self.m)
        else:
            pl.matrix_profile(T, self.m, dtype=self.impl)

    def time_self_join(self, implementation: str) -> None:
        self.run(self.T)

    def track_cells_per_second(self, implementation: str) -> float:
        import time

        t0 = time.perf_counter()
        self.run(self.T)
        ell = len(self.T) - self.m + 1 - (self.m + 3) // 4
        return ell * ell / 2 / (time.perf_counter() - t0)

    track_cells_per_second.unit = "cells/s"  # type: ignore[attr-defined]
