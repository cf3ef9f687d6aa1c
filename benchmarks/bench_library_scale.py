"""Per-signal cost against the size of the library: perceive on 1,000-sample signals, window 64,
libraries of 100 to 100,000 patterns.

    python benchmarks/bench_library_scale.py                      # 100 .. 100,000 patterns
    python benchmarks/bench_library_scale.py --sizes 100,10000 --signals 5

Two kinds of library: random z-normalized prototypes (white noise: almost every pair is far
apart and the bounds discard it) and windows of random walks (shapes like the signals' own
windows: at the default threshold of 0.7 about 8% of all pattern-window pairs really correlate
that well, so the matches themselves grow with the library). For each the script prints the
time per signal of ``perceive`` (learning included) and of its matching step alone, pruned and by
brute force (every prototype against every window; up to 10,000 patterns), the matches per signal
and the ratio to the smallest library. Target: at 10,000 patterns at most 3x the time at 100.
The asv class below times the same perceive call.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import patternlab as pl

try:
    from benchmarks._machine import describe
except ImportError:  # run as a script from the benchmarks folder
    from _machine import describe  # type: ignore[no-redef]

SCALE = float(os.environ.get("PATTERNLAB_BENCH_SCALE", "1"))
WINDOW = 64


def library(n_patterns: int, kind: str, seed: int = 0) -> pl.PatternLibrary:
    """``n_patterns`` prototypes: ``"random"`` (white noise) or ``"walk"`` (windows of random
    walks of 1,000 samples)."""
    rng = np.random.default_rng(seed)
    cfg = pl.EngineConfig(window=WINDOW, max_patterns=2 * n_patterns + 1000)
    lib = pl.PatternLibrary(window=WINDOW, config=cfg)
    for k in range(n_patterns):
        if kind == "random":
            x = rng.standard_normal(WINDOW)
        else:
            walk = np.cumsum(rng.standard_normal(1000))
            i = int(rng.integers(0, 1000 - WINDOW + 1))
            x = walk[i:i + WINDOW]
        lib.add(x, signal_id=k, offset=0)
    return lib


def _signals(count: int, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.cumsum(rng.standard_normal(1000)) for _ in range(count)]


def _matching(lib: pl.PatternLibrary, T: np.ndarray, brute: bool) -> tuple[float, int]:
    from patternlab._validation import unit_scaled
    from patternlab.engine import _window_data
    from patternlab.kernels import matching, pruning

    usable, Tm, s = _window_data(unit_scaled(T), WINDOW)
    Z = lib.prototypes
    thr = lib.config.cluster_threshold
    if brute:
        t0 = time.perf_counter()
        pat, _, _ = matching.match_prototypes_serial(Z, Tm, s, usable, thr)
    else:  # as perceive matches: with the features the library keeps of its prototypes
        f = lib._kept_features()
        t0 = time.perf_counter()
        pat, _, _ = pruning.match_prototypes_kept_serial(Z, f.P1, f.P2, f.P3, f.q, f.zsum, Tm, s,
                                                         usable, thr)
    return time.perf_counter() - t0, len(pat)


def measure(sizes: list[int], signals: int) -> list[dict[str, float | int | str]]:
    rows: list[dict[str, float | int | str]] = []
    sigs = _signals(signals)
    for kind in ("random", "walk"):
        for L in sizes:
            lib = library(L, kind)
            n = signals if L < 100_000 else max(1, signals // 4)
            for _ in range(2):  # the first pass compiles or loads every variant used: the second is timed
                work = lib.copy()
                t0 = time.perf_counter()
                for k, T in enumerate(sigs[:n]):
                    pl.perceive(T, "bench", work, signal_id=10**6 + k)
            t_perceive = (time.perf_counter() - t0) / n
            t_pruned = min(_matching(lib, T, False)[0] for T in sigs[:n])
            matches = _matching(lib, sigs[0], False)[1]
            t_brute = min(_matching(lib, T, True)[0] for T in sigs[:2]) if L <= 10_000 else float("nan")
            rows.append({"kind": kind, "patterns": L, "perceive": t_perceive, "pruned": t_pruned,
                         "brute": t_brute, "matches": matches})
            base = next(r for r in rows if r["kind"] == kind)
            print(f"  {kind:<7}{L:>8,}{t_perceive * 1e3:12.2f} ms{t_pruned * 1e3:12.2f} ms"
                  f"{t_brute * 1e3:12.2f} ms{matches:>10,}"
                  f"{t_perceive / float(base['perceive']):8.2f}x", flush=True)
    return rows


class LibraryScale:
    """perceive (learning included) on a 1,000-sample signal against a library of L patterns."""

    params = ([100, 10_000], ["random", "walk"])
    param_names = ["patterns", "kind"]

    def setup(self, patterns: int, kind: str) -> None:
        self.lib = library(max(4, int(patterns * SCALE)), kind)
        self.T = _signals(1)[0]
        pl.perceive(self.T[:300], library=self.lib.copy())

    def time_perceive(self, patterns: int, kind: str) -> None:
        pl.perceive(self.T, "bench", self.lib.copy())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="100,1000,10000,100000", help="library sizes, comma-separated")
    p.add_argument("--signals", type=int, default=8, help="signals timed per library (default 8)")
    args = p.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    print(describe())
    print(f"signals of 1,000 samples, window {WINDOW}, cluster_threshold "
          f"{pl.EngineConfig().cluster_threshold}, default threads")
    print(f"  {'kind':<7}{'patterns':>8}{'perceive':>15}{'match pruned':>15}{'match brute':>15}"
          f"{'matches':>10}{'vs first':>9}")
    measure(sizes, args.signals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
