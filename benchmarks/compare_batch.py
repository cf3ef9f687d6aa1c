"""batch_perceive on a LocalCluster against the same work in one process on one thread.

    python benchmarks/compare_batch.py                       # 20,000 signals of 1,000 samples
    python benchmarks/compare_batch.py --signals 2000 --batch-sizes 25 100 400
    python benchmarks/compare_batch.py --signals 2000 --library 10000      # a 10,000-pattern library

The in-process baseline is ``batch_perceive(..., client=False)`` with one numba thread: the same
partitions, the same work, no Dask. Then the same call on ``LocalCluster(n workers x 1 thread)``
for each worker count and batch size. Prints signals/s, the speed-up, the per-task overhead
(wall time x workers / tasks - mean task time) and checks the merged libraries are identical.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

try:  # imported as part of the benchmarks package (asv, tests), or run as a script
    from benchmarks._machine import describe
except ImportError:  # pragma: no cover
    from _machine import describe  # type: ignore[no-redef]


def _signals(n: int, length: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, 64)
    shapes = [np.sin(2 * np.pi * (2 + 4 * t) * t) * np.hanning(64) * 3, (t - 0.5) * 6 * np.hanning(64)]
    out = []
    for _ in range(n):
        x = np.cumsum(rng.standard_normal(length)) * 0.1 + rng.standard_normal(length) * 0.3
        for s in shapes:
            o = int(rng.integers(0, length - 64))
            x[o:o + 64] += s
        out.append(x)
    return out


def _library(n: int, window: int, cfg: object) -> object:
    """``n`` patterns: windows of random walks (shapes like the signals' own)."""
    import patternlab as pl

    rng = np.random.default_rng(5)
    lib = pl.PatternLibrary(window=window, config=cfg)  # type: ignore[arg-type]
    while len(lib) < n:
        walk = np.cumsum(rng.standard_normal(4 * window))
        i = int(rng.integers(0, 3 * window))
        lib.add(walk[i:i + window], signal_id=len(lib), offset=i)
    return lib


def _same(a: object, b: object) -> bool:
    x, y = a.library.to_arrays(), b.library.to_arrays()  # type: ignore[attr-defined]
    return all(np.array_equal(x[k], y[k]) for k in x)


def main(argv: list[str] | None = None) -> int:
    from distributed import Client, LocalCluster

    import patternlab as pl
    from patternlab._numba import numba_threads

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--signals", type=int, default=20_000)
    ap.add_argument("--length", type=int, default=1_000)
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[100])
    ap.add_argument("--library", type=int, default=0,
                    help="start from a library of this many patterns (windows of random walks)")
    args = ap.parse_args(argv)
    signals = _signals(args.signals, args.length)
    cfg = pl.EngineConfig(window=args.window, max_patterns=max(1000, 2 * args.library))
    start = _library(args.library, args.window, cfg) if args.library else None
    pl.batch_perceive(signals[:4], config=cfg, client=False, batch_size=2, progress=False)
    print(describe())
    print(f"{args.signals:,} signals of {args.length:,} samples, window {args.window}, starting from "
          f"{'an empty library' if start is None else f'a library of {len(start):,} patterns'}")
    ok = True
    for bs in args.batch_sizes:
        with numba_threads(1):
            t0 = time.perf_counter()
            base = pl.batch_perceive(signals, library=start, config=cfg, client=False, batch_size=bs,
                                     progress=False)
            t_base = time.perf_counter() - t0
        rate = args.signals / t_base
        print(f"batch_size {bs}: in process, 1 thread: {t_base:7.2f} s  {rate:8.1f} signals/s"
              f"  ({len(base.library)} patterns)")
        for nw in args.workers:
            with LocalCluster(n_workers=nw, threads_per_worker=1, processes=True,
                              dashboard_address=":0") as cluster, Client(cluster) as client:
                pl.batch_perceive(signals[:4], config=cfg, client=client, batch_size=2, progress=False)
                t0 = time.perf_counter()
                out = pl.batch_perceive(signals, library=start, config=cfg, client=client, batch_size=bs,
                                        progress=False)
                wall = time.perf_counter() - t0
            tasks = out.metrics["tasks_processed"]
            overhead_ms = 1000 * (wall * nw / tasks) - out.metrics["avg_latency_ms"]
            same = _same(base, out)
            ok &= same
            print(f"batch_size {bs}: {nw} worker(s) x 1 thread: {wall:7.2f} s  {args.signals / wall:8.1f} "
                  f"signals/s  x{t_base / wall:4.2f}  task {out.metrics['avg_latency_ms']:.0f} ms, overhead "
                  f"{overhead_ms:.0f} ms/task  identical library: {same}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
