"""Default threads against ``threads=1`` on a quiet machine and next to a busy process.

    python benchmarks/compare_threads.py            # 1,000 / 10,000 / 100,000 samples
    python benchmarks/compare_threads.py --quick    # without the 100,000-sample matrix profile

For each case the default (kernels choose their threads by size: small inputs on one thread,
large ones on all numba threads) and ``numba_threads(1)`` are timed on warm calls, in alternating
rounds (the best of each), first on the machine as it is and then while a competing busy process (a
bounded Python loop, one core) runs. Target: the default is never more than 1.3x slower than one
thread, with or without the competitor; on a quiet machine the large inputs keep their all-core
speed (the last column: threads=1 time over default time). Cases: 1,200 ``distance_profile``
calls on GunPoint (150 samples, query of 50), ``distance_profile`` and ``matrix_profile`` on
random walks, and ``perceive`` with a library of 200 patterns.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

try:
    from benchmarks._machine import describe
except ImportError:  # run as a script from the benchmarks folder
    from _machine import describe  # type: ignore[no-redef]

TARGET = 1.3


def _pair(fn: Callable[[], Any], rounds: int, budget: float) -> tuple[float, float]:
    """Best time of ``fn`` with the default threads and with ``numba_threads(1)``, taken in
    alternating rounds (so that a change of the machine's load hits both alike): at least
    ``rounds`` rounds, more while under ``budget`` seconds."""
    from patternlab._numba import numba_threads

    best = [float("inf"), float("inf")]
    start = time.perf_counter()
    k = 0
    while k < rounds or time.perf_counter() - start < budget:
        for j, n in enumerate((None, 1)):
            with numba_threads(n):
                t0 = time.perf_counter()
                fn()
                best[j] = min(best[j], time.perf_counter() - t0)
        k += 1
    return best[0], best[1]


def _cases(quick: bool, seed: int) -> list[tuple[str, Callable[[], Any], int]]:
    import patternlab as pl

    rng = np.random.default_rng(seed)
    X = pl.datasets.gunpoint("train").X
    queries = [X[i % len(X)][10:60].copy() for i in range(40)]

    def gunpoint() -> None:
        for q in queries:
            for x in X[:30]:
                pl.distance_profile(q, x)

    walks = {n: np.cumsum(rng.standard_normal(n)) for n in (1000, 10_000, 100_000)}
    cfg = pl.EngineConfig(window=64, max_patterns=10_000)
    lib = pl.PatternLibrary(64, config=cfg)
    k = 0
    while len(lib) < 200:
        lib.add(np.cumsum(rng.standard_normal(64)), signal_id=10_000 + k, offset=0)
        k += 1
    cases: list[tuple[str, Callable[[], Any], int]] = [("1,200 distance_profile on GunPoint", gunpoint, 3)]
    for n, T in walks.items():
        cases.append((f"distance_profile n={n:,}", lambda T=T: pl.distance_profile(T[:64], T), 5))
        if not (quick and n == 100_000):
            cases.append((f"matrix_profile n={n:,}", lambda T=T: pl.matrix_profile(T, 64),
                          5 if n < 100_000 else 1))
        if n < 100_000:  # at 100,000 samples perceive is its matrix profile
            cases.append((f"perceive n={n:,}, 200 patterns",
                          lambda T=T: pl.perceive(T, "bench", lib, cfg, learn=False), 5))
    return cases


def _busy(seconds: float) -> subprocess.Popen[bytes]:
    code = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"
    return subprocess.Popen([sys.executable, "-c", code])


def measure(quick: bool, repeat: int, seed: int, busy: bool) -> list[tuple[str, float, float]]:
    """``(case, default seconds, threads=1 seconds)`` for every case."""
    from patternlab._numba import numba_threads

    cases = _cases(quick, seed)
    for _, fn, _ in cases:  # compile and warm every variant
        fn()
        with numba_threads(1):
            fn()
    rival = _busy(600) if busy else None
    try:
        time.sleep(0.3)
        out = []
        for name, fn, rounds in cases:
            t_def, t_one = _pair(fn, max(1, rounds * repeat // 3), 0.5 * repeat)
            out.append((name, t_def, t_one))
            print(f"  {name:<38}{t_def * 1e3:11.2f} ms {t_one * 1e3:11.2f} ms {t_def / t_one:8.2f}x"
                  f" {t_one / t_def:8.2f}x", flush=True)
        return out
    finally:
        if rival is not None:
            rival.kill()
            rival.wait()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="skip the 100,000-sample matrix profile")
    p.add_argument("--repeat", type=int, default=3,
                   help="scale of the rounds and of the time spent per case (default 3: 1.5 s)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    import numba

    print(describe())
    print(f"numba {numba.__version__}, {numba.config.NUMBA_NUM_THREADS} threads, "  # type: ignore[attr-defined]
          f"layer {__import__('patternlab._numba', fromlist=['x']).threading_layer()}")
    worst = 0.0
    for busy in (False, True):
        where = "with a competing busy process" if busy else "as the machine is"
        print(f"\n{where} (load {os.getloadavg()[0]:.2f}):")
        print(f"  {'case':<38}{'default':>14} {'threads=1':>14} {'def/one':>9} {'one/def':>9}")
        for _, t_def, t_one in measure(args.quick, args.repeat, args.seed, busy):
            worst = max(worst, t_def / t_one)
    print(f"\nworst default/threads=1: {worst:.2f}x (target <= {TARGET}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
