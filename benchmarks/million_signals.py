"""A million signals: batch_perceive over an on-disk corpus on Lab.local(2 workers) with a run store.

    python benchmarks/million_signals.py                        # 1,000,000 signals (an hour on 2 cores)
    python benchmarks/million_signals.py --signals 10000 50000  # smaller runs, to see the trend

For each size a fresh process writes the corpus with ``pl.write_signals`` (streamed: signals of
1,000 samples, random walks carrying two noisy copies of one of four planted shapes, generated a
block at a time), then learns it with ``batch_perceive`` on ``Lab.local(2)`` (2 worker processes x
1 thread) with a run store, under ``distributed.get_task_stream``. Printed per size: the time to
write and to learn, signals/s over the first and the last 10% of the partitions to finish (target:
the end within 20% of the start), the client's and the workers' peak resident memory, the number of
Dask tasks and their mean duration, and the library learned (size, and the counters of its
candidates). The last lines project the rate to 100 workers from the measured per-task time and
the merge tree's depth.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

try:  # imported as part of the benchmarks package (asv, tests), or run as a script
    from benchmarks._machine import describe
except ImportError:  # pragma: no cover
    from _machine import describe  # type: ignore[no-redef]

_CHILD = r"""
import json, resource, sys, time
import numpy as np
import patternlab as pl
from distributed import get_task_stream
from patternlab.datasets.synthetic import planted_corpus

def signals(n, length, block=1000):
    for b in range(0, n, block):
        c = planted_corpus(min(block, n - b), "walk", min_length=length, max_length=length, seed=b)
        yield from c.signals

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

if __name__ == "__main__":
    n, length, tmp, batch = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    t0 = time.perf_counter()
    corpus = pl.write_signals(f"{tmp}/corpus.zarr", signals(n, length), chunk_values=1 << 20)
    t_write = time.perf_counter() - t0
    with pl.Lab.local(2, preload_dashboard=False) as lab:
        with get_task_stream(lab.client) as ts:
            t0 = time.perf_counter()
            out = lab.batch_perceive(corpus, config=pl.EngineConfig(window=64), batch_size=batch,
                                     store=f"{tmp}/run.zarr", progress=False)
            wall = time.perf_counter() - t0
        workers = lab.client.run(rss_mb)
    spans = [t["startstops"][-1] for t in ts.data if "perceive-partition" in str(t["key"])]
    parts = sorted((p["stop"], p["stop"] - p["start"]) for p in spans)
    t_first = min(p["start"] for p in spans)
    k = max(1, len(parts) // 10)
    start_rate = k * batch / (parts[k - 1][0] - t_first)  # from the first task's start
    end_rate = k * batch / (parts[-1][0] - parts[-k - 1][0]) if len(parts) > k else float("nan")
    c = out.library.counters
    print(json.dumps({"signals": n, "write_s": t_write, "learn_s": wall, "signals_per_s": n / wall,
                      "start_rate": start_rate, "end_rate": end_rate,
                      "client_peak_mb": rss_mb(), "worker_peak_mb": max(workers.values()),
                      "tasks": len(ts.data), "partition_tasks": len(parts),
                      "mean_partition_s": float(np.mean([d for _, d in parts])) if parts else 0.0,
                      "patterns": len(out.library), "pending": len(out.library.pending),
                      "archived": len(out.library.archived), "counters": c}))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--signals", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--length", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args(argv)
    print(describe())
    print(f"signals of {args.length:,} samples, window 64, default EngineConfig, Lab.local(2 workers x "
          f"1 thread), partitions of {args.batch_size} signals, with a run store")
    rows = []
    for n in args.signals:
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(args.length), tmp,
                                  str(args.batch_size)], capture_output=True, text=True)
        if out.returncode:
            print(out.stderr[-3000:])
            return 1
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(r)
        drift = r["end_rate"] / r["start_rate"] - 1.0
        print(f"{n:>10,} signals: write {r['write_s']:7.1f} s, learn {r['learn_s']:8.1f} s "
              f"({r['signals_per_s']:6.1f}/s; first 10% {r['start_rate']:6.1f}/s, last 10% "
              f"{r['end_rate']:6.1f}/s, {100 * drift:+.0f}%), peak RSS client {r['client_peak_mb']:.0f} MB"
              f" worker {r['worker_peak_mb']:.0f} MB, {r['tasks']:,} tasks ({r['partition_tasks']:,} "
              f"partitions of {r['mean_partition_s'] * 1e3:.0f} ms), library {r['patterns']} patterns "
              f"({r['pending']} pending, {r['archived']} archived)", flush=True)
    r = rows[-1]
    per_signal = r["mean_partition_s"] / args.batch_size
    depth = max(1, (1_000_000 // args.batch_size - 1).bit_length())
    print(f"projection: {per_signal * 1e3:.2f} ms of worker time a signal; 100 workers would learn "
          f"{100 / per_signal:,.0f} signals/s if the scheduler keeps up (about "
          f"{100 / r['mean_partition_s']:,.0f} partition tasks/s at this batch size: Dask's "
          f"scheduler handles a few thousand a second) and 1,000,000 signals in about "
          f"{1_000_000 * per_signal / 100 / 60:.1f} min, plus a merge tree of depth "
          f"log2({1_000_000 // args.batch_size:,}) = {depth}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
