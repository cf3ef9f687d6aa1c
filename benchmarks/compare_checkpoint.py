"""Checkpoint overhead: batch_perceive with a zarr run store against the same run without one,
and the write throughput of library arrays against ``np.save`` of the same bytes.

    python benchmarks/compare_checkpoint.py                 # 4,000 signals of 1,000 samples
    python benchmarks/compare_checkpoint.py --signals 1000 --patterns 20000

Both batch runs are in one process on one thread (``client=False``), so the difference is the
store: per-partition summaries and deltas, flags, and the merged library. Target: at most 10%.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

try:  # imported as part of the benchmarks package (asv, tests), or run as a script
    from benchmarks._machine import describe
    from benchmarks.compare_batch import _signals
except ImportError:  # pragma: no cover
    from _machine import describe  # type: ignore[no-redef]
    from compare_batch import _signals  # type: ignore[no-redef]


def _library(n: int, window: int) -> object:
    import patternlab as pl

    rng = np.random.default_rng(1)
    lib = pl.PatternLibrary(window, config=pl.EngineConfig(window=window, max_patterns=n))
    Z = rng.standard_normal((n, window))
    Z -= Z.mean(axis=1, keepdims=True)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    arrays = {"window": np.int64(window), "domain": np.array("bench"),
              "ids": np.array([f"bench-{window}-{k:012x}" for k in range(n)]),
              "domains": np.array(["bench"] * n), "prototypes": Z,
              "supports": rng.integers(1, 100, n), "first_signal": np.array([f"i:{k}" for k in range(n)]),
              "first_offset": np.arange(n), "last_signal": np.array([f"i:{k}" for k in range(n)]),
              "last_offset": np.arange(n)}
    return pl.PatternLibrary.from_arrays(arrays, config=lib.config)


def main(argv: list[str] | None = None) -> int:
    import patternlab as pl
    from patternlab._numba import numba_threads

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--signals", type=int, default=4_000)
    ap.add_argument("--length", type=int, default=1_000)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--patterns", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    print(describe())
    cfg = pl.EngineConfig(window=64)
    signals = _signals(args.signals, args.length)
    tmp = Path(tempfile.mkdtemp(prefix="pl-ckpt-"))
    try:
        pl.batch_perceive(signals[:8], config=cfg, client=False, batch_size=4, progress=False,
                          store=tmp / "warm.zarr")
        plain, stored = [], []
        ok = True
        for r in range(args.repeat):
            with numba_threads(1):
                t0 = time.perf_counter()
                a = pl.batch_perceive(signals, config=cfg, client=False, batch_size=args.batch_size,
                                      progress=False)
                plain.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                b = pl.batch_perceive(signals, config=cfg, client=False, batch_size=args.batch_size,
                                      progress=False, store=tmp / f"run{r}.zarr")
                stored.append(time.perf_counter() - t0)
            ok &= a.library.ids == b.library.ids and np.array_equal(a.library.prototypes,
                                                                    b.library.prototypes)
        p, s = min(plain), min(stored)
        size = sum(f.stat().st_size for f in (tmp / "run0.zarr").rglob("*") if f.is_file())
        print(f"batch_perceive, {args.signals:,} signals x {args.length:,} samples, batch_size "
              f"{args.batch_size}, one process, one thread (best of {args.repeat}):")
        print(f"  without store {p:7.2f} s   with store {s:7.2f} s   overhead {100 * (s / p - 1):+5.1f}%   "
              f"(store {size / 1e6:.1f} MB; libraries identical: {ok})")

        lib = _library(args.patterns, 64)
        arrays = lib.to_arrays()  # type: ignore[attr-defined]
        nbytes = sum(np.asarray(v).nbytes for v in arrays.values())
        t_save, t_np, t_load = [], [], []
        for r in range(args.repeat):
            t0 = time.perf_counter()
            lib.save(tmp / f"lib{r}.zarr")  # type: ignore[attr-defined]
            t_save.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for k, v in arrays.items():
                np.save(tmp / f"np{r}-{k}.npy", np.asarray(v))
            t_np.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            back = pl.PatternLibrary.load(tmp / f"lib{r}.zarr")
            t_load.append(time.perf_counter() - t0)
            ok &= back.ids == lib.ids  # type: ignore[attr-defined]
        ts, tn = min(t_save), min(t_np)
        print(f"library of {args.patterns:,} patterns x 64 ({nbytes / 1e6:.1f} MB as arrays):")
        print(f"  library.save {ts:6.3f} s ({nbytes / ts / 1e6:7.1f} MB/s)   np.save {tn:6.3f} s "
              f"({nbytes / tn / 1e6:7.1f} MB/s)   ratio {tn / ts:.2f}   load {min(t_load):6.3f} s")
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
