"""Peak memory of pl.matrix_profile by series length and thread count, each run in a fresh process.

    python benchmarks/profile_memory.py                       # full runs at n = 100,000 and 400,000,
                                                              # partial runs at 1,000,000 and 10,000,000
    python benchmarks/profile_memory.py --full 200000 --partial 1000000 --seconds 30 --threads 1 2

Memory must not grow with threads: each thread holds the maxima of one task of tiles (a few
hundred KiB), the rest is the input, the per-window statistics, the running maxima and the
output. Every run happens in a child process (random walk, m = 100), which reports its resident
set size (RSS) just before the call (the baseline: interpreter, libraries, compiled kernels and
the input series) and its peak RSS.

* ``--full``: whole in-memory profiles (``pl.matrix_profile(T, m)``); the peak includes the six
  output arrays (48 bytes a window).
* ``--partial``: profiles streamed to a zarr store (``out=``) of series too long to finish here
  (n = 1e7 is about 5e13 cells: hours on two cores). The child's RSS is sampled every 0.1 s for
  ``--seconds`` and the child is then stopped. Everything the run holds to its end is allocated
  in its first seconds (statistics, maxima, one task per thread); what comes after is tasks of
  the same size, then the resolution of the output a chunk (262,144 windows) at a time, a few
  MB more. The figure is therefore the run's peak up to that bound, not a projection.

Printed with the CPU model and the load: peak RSS, RSS above the baseline, and bytes per window.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

try:  # imported as part of the benchmarks package (asv, tests), or run as a script
    from benchmarks._machine import describe
except ImportError:  # pragma: no cover
    from _machine import describe  # type: ignore[no-redef]

_CHILD = """
import json, os, resource, sys, time
import numpy as np, psutil
import patternlab as pl
n, m, threads, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
T = np.cumsum(np.random.default_rng(0).standard_normal(n))
pl.matrix_profile(T[:20000], m, threads=threads)  # compile the paths the run takes
if out != "-":
    pl.matrix_profile(T[:20000], m, threads=threads, out=out + ".warm")
base = psutil.Process().memory_info().rss
print(json.dumps({"baseline": base}), flush=True)
t0 = time.perf_counter()
if out == "-":
    pl.matrix_profile(T, m, threads=threads)
else:
    pl.matrix_profile(T, m, threads=threads, out=out)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"peak": peak, "seconds": time.perf_counter() - t0}), flush=True)
"""


def _mb(x: float) -> str:
    return f"{x / 2**20:8.0f} MiB"


def run(n: int, m: int, threads: int, partial: bool, seconds: float) -> dict[str, float]:
    """One child process; returns baseline and peak RSS (bytes) and whether it finished."""
    import psutil

    with tempfile.TemporaryDirectory(prefix="profile-memory-") as tmp:
        out = os.path.join(tmp, "mp.zarr") if partial else "-"
        proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(n), str(m), str(threads), out],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        base = json.loads(proc.stdout.readline())["baseline"]
        if not partial:
            res = json.loads(proc.stdout.readline())
            proc.wait()
            return {"baseline": base, "peak": res["peak"], "seconds": res["seconds"], "finished": 1.0}
        ps = psutil.Process(proc.pid)
        peak, t0 = base, time.perf_counter()
        while time.perf_counter() - t0 < seconds and proc.poll() is None:
            try:
                peak = max(peak, ps.memory_info().rss)
            except psutil.Error:
                break
            time.sleep(0.1)
        finished = proc.poll() is not None
        if not finished:
            proc.kill()
        proc.wait()
        return {"baseline": base, "peak": peak, "seconds": time.perf_counter() - t0,
                "finished": float(finished)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", type=int, nargs="*", default=[100_000, 400_000])
    ap.add_argument("--partial", type=int, nargs="*", default=[1_000_000, 10_000_000])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60.0, help="how long a partial run is sampled")
    args = ap.parse_args(argv)
    print(describe())
    print(f"random walk, m={args.m}; RSS of a fresh process per run")
    print(f"{'n':>11s} {'threads':>7s} {'run':>9s} {'baseline':>12s} {'peak':>12s} {'above':>12s} "
          f"{'B/window':>9s} {'seconds':>8s}")
    flat = True
    for kind, sizes in (("full", args.full), ("partial", args.partial)):
        for n in sizes:
            above = []
            for th in args.threads:
                r = run(n, args.m, th, kind == "partial", args.seconds)
                extra = r["peak"] - r["baseline"]
                above.append(extra)
                label = kind if kind == "full" or not r["finished"] else "finished"
                print(f"{n:11,d} {th:7d} {label:>9s} {_mb(r['baseline']):>12s} {_mb(r['peak']):>12s} "
                      f"{_mb(extra):>12s} {extra / (n - args.m + 1):9.1f} {r['seconds']:8.1f}")
            # flat in threads: the figures of every thread count within 5% (and 32 MiB) of each other
            if max(above) - min(above) > 0.05 * max(above) + 32 * 2**20:
                flat = False
    print("memory flat in threads" if flat else "MEMORY GROWS WITH THREADS")
    print(describe())
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
