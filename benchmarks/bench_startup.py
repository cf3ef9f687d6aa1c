"""asv benchmarks of start-up costs: import time and first-call compile time (fresh processes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

_FIRST_CALL = (
    "import numpy as np, patternlab as pl; "
    "pl.matrix_profile(np.cumsum(np.random.default_rng(0).standard_normal(1000)), 50)"
)


def _run(code: str, cache_dir: str | None = None) -> None:
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


class Import:
    """``import patternlab`` in a fresh interpreter (Python's own start-up included)."""

    timeout = 600
    number = 1
    repeat = 3

    def time_import(self) -> None:
        _run("import patternlab")


class FirstCallWarmCache:
    """The first matrix profile in a fresh process whose numba cache is filled (one compilation
    in ``setup``, none timed)."""

    timeout = 600
    number = 1
    repeat = 3

    def setup(self) -> None:
        self.warm = tempfile.mkdtemp(prefix="pl-warm-")
        _run(_FIRST_CALL, self.warm)

    def teardown(self) -> None:
        shutil.rmtree(self.warm, ignore_errors=True)

    def time_first_call_warm_cache(self) -> None:
        _run(_FIRST_CALL, self.warm)


class FirstCallColdCache:
    """The first matrix profile in a fresh process with an empty numba cache: compilation."""

    timeout = 600
    number = 1
    repeat = 3

    def setup(self) -> None:
        self.cold = tempfile.mkdtemp(prefix="pl-cold-")

    def teardown(self) -> None:
        shutil.rmtree(self.cold, ignore_errors=True)

    def time_first_call_cold_cache(self) -> None:
        shutil.rmtree(self.cold, ignore_errors=True)
        os.makedirs(self.cold)
        _run(_FIRST_CALL, self.cold)
