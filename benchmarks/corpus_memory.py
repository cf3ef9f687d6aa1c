"""Client memory of batch_perceive over an on-disk corpus does not grow with the input.

    python benchmarks/corpus_memory.py                      # 20,000 then 200,000 signals

For each size, a fresh process writes a zarr corpus of short signals (streamed: the writer holds one
chunk) and runs batch_perceive over it on a LocalCluster (2 workers x 1 thread). The workers read
their own partitions from the store; the client holds the task graph, the progress bookkeeping and
the result (the merged library and one summary row per signal, about 65 bytes a signal). Prints the
client's peak resident memory against the corpus size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, os, resource, sys, time
import numpy as np
import patternlab as pl
from distributed import Client, LocalCluster

def signals(n, length):
    rng = np.random.default_rng(0)
    for _ in range(n):
        yield np.cumsum(rng.standard_normal(length))

if __name__ == "__main__":
    n, length, path, batch = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    corpus = pl.write_signals(path, signals(n, length), chunk_values=1 << 18)
    after_write = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cfg = pl.EngineConfig(window=16, top_k=1, exploration_rate=0.0, max_patterns=200)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cl, Client(cl) as c:
        t0 = time.perf_counter()
        out = pl.batch_perceive(corpus, config=cfg, client=c, batch_size=batch, progress=False)
        wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    corpus_mb = n * length * 8 / 2**20
    print(json.dumps({"signals": n, "corpus_mb": corpus_mb, "peak_mb": peak / 1024,
                      "after_write_mb": after_write / 1024, "seconds": wall,
                      "signals_per_sec": n / wall, "patterns": len(out.library)}))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    ap.add_argument("--length", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=2_000)
    args = ap.parse_args(argv)
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(args.length),
                                  f"{tmp}/corpus.zarr", str(args.batch_size)],
                                 capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{row['signals']:>8,} signals ({row['corpus_mb']:7.1f} MB corpus): client peak "
              f"{row['peak_mb']:6.1f} MB, {row['signals_per_sec']:8.0f} signals/s, "
              f"{row['patterns']} patterns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
