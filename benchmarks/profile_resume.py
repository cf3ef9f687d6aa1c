"""A distributed matrix profile whose client is killed halfway, then resumed from its store.

    python benchmarks/profile_resume.py                      # n = 2,000,000, m = 100, LocalCluster(2)
    python benchmarks/profile_resume.py --n 200000 --verify  # quick, checked against the in-process run

A LocalCluster of ``--workers`` worker processes (one thread each) is started here. A child process
connects to it and runs ``pl.matrix_profile(T, m, client=..., out=store)``; once the tasks recorded
in the store hold ``--kill-at`` of the cells, the child gets SIGKILL (no cleanup of any kind). The same call
is then made again here with ``progress=True``: it loads the recorded maxima and submits only the
tasks missing from the store. Printed with the CPU model and the load: tasks and seconds before
the kill, tasks recomputed and seconds after it, the rate in cells/s of both parts, and the time
an uninterrupted run would have taken at the measured rate. ``--verify`` also computes the
profile in this process and checks that the resumed one is identical, bit for bit (as long again
as the run itself).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

try:  # imported as part of the benchmarks package (asv, tests), or run as a script
    from benchmarks._machine import describe
except ImportError:  # pragma: no cover
    from _machine import describe  # type: ignore[no-redef]

_CHILD = """
import sys
import numpy as np
from distributed import Client
import patternlab as pl
address, path, n, m, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
T = np.cumsum(np.random.default_rng(seed).standard_normal(n))
with Client(address) as client:
    pl.matrix_profile(T, m, client=client, out=path)
print("finished")
"""


def _done(path: str, sizes: dict[str, np.ndarray]) -> tuple[int, int, float]:
    """Tasks recorded in the store, tasks planned, and the fraction of the cells recorded."""
    import zarr

    from patternlab.profiles import _tiling

    try:
        g = zarr.open_group(path, mode="r")["state/0"]
        flags = np.asarray(g["done"][:]).astype(bool)
        if "cells" not in sizes:  # the cells of each task of the run's plan, once
            p = g.attrs["plan"]
            tasks = _tiling.plan(p["lA"], p["lB"], p["kmin"], p["R"], p["K"], p["bands_per_task"])
            sizes["cells"] = np.array([_tiling.cells(t, p["lB"], p["kmin"], p["K"]) for t in tasks], float)
    except Exception:  # not created yet
        return 0, 0, 0.0
    c = sizes["cells"]
    return int(flags.sum()), len(flags), float(c[flags].sum() / c.sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2_000_000)
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kill-at", type=float, default=0.5, help="fraction of tasks recorded at the kill")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verify", action="store_true", help="compare with the in-process profile")
    args = ap.parse_args(argv)

    from distributed import Client, LocalCluster

    import patternlab as pl

    print(describe())
    n, m = args.n, args.m
    ell = n - m + 1
    excl = int(np.ceil(m / 4))
    cells = (ell - excl - 1) * (ell - excl) / 2
    print(f"random walk n={n:,}, m={m}, {cells:.3g} cells; LocalCluster({args.workers}) x 1 thread")
    T = np.cumsum(np.random.default_rng(args.seed).standard_normal(n))
    tmp = tempfile.mkdtemp(prefix="profile-resume-")
    path = os.path.join(tmp, "mp.zarr")
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        pl.matrix_profile(T[:20000], m, client=client)  # workers compile the kernel once
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", _CHILD, cluster.scheduler_address, path, str(n),
                                 str(m), str(args.seed)])
        sizes: dict[str, np.ndarray] = {}
        t_start = None
        while proc.poll() is None:
            done, total, frac = _done(path, sizes)
            if total and t_start is None:
                t_start = time.perf_counter()  # the store is there: the child has started its run
            if total and frac >= args.kill_at:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        t_kill = time.perf_counter() - (t_start or t0)
        done, total, frac = _done(path, sizes)
        print(f"client killed (SIGKILL, return code {proc.returncode}) {t_kill:.1f} s into its run: "
              f"{done} of {total} tasks recorded, {frac:.0%} of the cells")
        t1 = time.perf_counter()
        stored = pl.matrix_profile(T, m, client=client, out=path, progress=True)
        t_resume = time.perf_counter() - t1
    rate_before = frac * cells / t_kill
    rate_after = (1 - frac) * cells / t_resume
    print(f"resumed: {total - done} tasks computed in {t_resume:.1f} s (of which the output's "
          f"resolution and writing); cells/s before the kill {rate_before:.3g}, after {rate_after:.3g}")
    print(f"killed + resumed: {t_kill + t_resume:.1f} s; uninterrupted at the rate before the kill: "
          f"{cells / rate_before:.1f} s")
    ok = True
    if args.verify:
        t2 = time.perf_counter()
        mem = pl.matrix_profile(T, m)
        back = stored.load()
        ok = all(np.array_equal(getattr(mem, f), getattr(back, f))
                 for f in ("P", "I", "PL", "IL", "PR", "IR"))
        print(f"in-process profile in {time.perf_counter() - t2:.1f} s: the resumed one is "
              f"{'identical, bit for bit' if ok else 'DIFFERENT'}")
    print(describe())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
