"""``patternlab bench``: batch_perceive throughput in this process and on a LocalCluster, on generated
signals, with the ratio and a check that both learned the same library."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numba
import numpy as np

import patternlab as pl
from patternlab.datasets.synthetic import planted_signal

from .._text import plural
from ._io import EXIT_FAILURE, EXIT_OK, positive

__all__ = ["register"]

DESCRIPTION = """\
Measure patternlab.batch_perceive on this machine: the same generated signals (noisy oscillations
with planted shapes and an anomaly, patternlab.datasets.synthetic.planted_signal) perceived in this process
without Dask on --threads numba threads (default 1: one core), then on a LocalCluster of --workers
processes x 1 thread. Prints signals/s for each, the ratio, and whether both learned the same
library (they must: batch_perceive is deterministic). Kernels are compiled (or loaded from numba's
cache) before timing. Other processes competing for the cores lower both figures: measure on a
quiet machine.
"""

EPILOG = """\
examples:
  patternlab bench                                   # 1,000 signals, one worker a core (at most 4)
  patternlab bench --signals 5000 --workers 4 --batch-size 50
  patternlab bench --json > bench.json

Exit codes: 0 measured, 1 the two runs learned different libraries, 2 bad options. For the asv
suite and the comparisons with STUMPY, see benchmarks/README.md in the source tree.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``bench`` subcommand."""
    p = subparsers.add_parser(
        "bench", help="batch_perceive signals/s in process vs on a LocalCluster, on generated signals",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--signals", "-n", type=int, default=1000, metavar="N",
                   help="how many signals (default 1000)")
    p.add_argument("--workers", "-w", type=int, metavar="N",
                   help="LocalCluster worker processes, 1 thread each (default: one per core, at most 4)")
    p.add_argument("--length", type=int, default=1000, metavar="L",
                   help="samples per signal (default 1000)")
    p.add_argument("--window", "-m", type=int, default=64, metavar="M",
                   help="pattern length (default 64)")
    p.add_argument("--batch-size", "-b", type=int, default=100, metavar="N",
                   help="signals per partition task (default 100)")
    p.add_argument("--threads", "-t", type=int, default=1, metavar="N",
                   help="numba threads of the in-process run (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated signals (default 0)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_bench)


def signals(n: int, length: int, window: int, seed: int) -> list[np.ndarray]:
    """``n`` generated signals: each with 3 shapes planted twice and one anomaly."""
    try:
        return [planted_signal(length, window, occurrences=2, anomalies=1, seed=seed + k).signal
                for k in range(n)]
    except pl.InvalidParameterError as exc:
        raise pl.InvalidParameterError(f"--length={length} with --window={window}: {exc}") from None


def _same(a: pl.BatchResult, b: pl.BatchResult) -> bool:
    x, y = a.library.to_arrays(), b.library.to_arrays()
    return x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)


def _label_in(threads: int) -> str:
    return f"in process, {threads} numba thread{'s' if threads > 1 else ''}:"


def _bench(args: argparse.Namespace) -> int:
    for name in ("signals", "workers", "length", "window", "batch_size", "threads"):
        positive(f"--{name.replace('_', '-')}", getattr(args, name))
    workers = args.workers or max(1, min(4, os.cpu_count() or 1))
    data = signals(args.signals, args.length, args.window, args.seed)
    cfg = pl.EngineConfig(window=args.window)
    warm = data[:min(4, len(data))]

    def timed(client: Any) -> tuple[pl.BatchResult, float]:
        pl.batch_perceive(warm, config=cfg, client=client, batch_size=2, progress=False)
        t0 = time.perf_counter()
        out = pl.batch_perceive(data, config=cfg, client=client, batch_size=args.batch_size,
                                progress=False)
        return out, time.perf_counter() - t0

    threads = min(args.threads, int(numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    if not args.json:
        print(f"patternlab {pl.__version__} bench: {args.signals:,} signals of {args.length:,} samples, "
              f"window {args.window}, batch size {args.batch_size} "
              f"({plural(-(-args.signals // args.batch_size), 'task')})", flush=True)
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        base, t_base = timed(False)
    finally:
        numba.set_num_threads(before)
    if not args.json:
        print(f"  {_label_in(threads):<38}{t_base:8.2f} s  {args.signals / t_base:9.1f} signals/s",
              flush=True)
    with pl.Lab.local(n_workers=workers, threads_per_worker=1) as lab:
        out, t_lab = timed(lab)
    same = _same(base, out)
    figures = {
        "signals": args.signals, "length": args.length, "window": args.window,
        "batch_size": args.batch_size, "tasks": int(out.metrics["tasks_processed"]),
        "in_process": {"seconds": t_base, "signals_per_sec": args.signals / t_base,
                       "numba_threads": threads},
        "local_cluster": {"workers": workers, "threads_per_worker": 1, "seconds": t_lab,
                          "signals_per_sec": args.signals / t_lab,
                          "avg_task_ms": out.metrics["avg_latency_ms"]},
        "ratio": t_base / t_lab, "identical_library": same, "patterns": len(out.library),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        label = f"LocalCluster, {workers} worker{'s' if workers > 1 else ''} x 1 thread:"
        print(f"  {label:<38}{t_lab:8.2f} s  {args.signals / t_lab:9.1f} signals/s  "
              f"x{t_base / t_lab:.2f} vs in process  (task {out.metrics['avg_latency_ms']:.0f} ms)")
        print(f"  {len(out.library)} patterns learned; identical library in process and on the "
              f"cluster: {'yes' if same else 'NO'}")
    return EXIT_OK if same else EXIT_FAILURE
