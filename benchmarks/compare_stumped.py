"""pl.matrix_profile(client=...) against stumpy.stumped on the same LocalCluster, in one run.

    python benchmarks/compare_stumped.py                  # n=200,000, m=100, 2 workers x 1 thread
    python benchmarks/compare_stumped.py --n 50000 --workers 2

Both are warmed up on the cluster first (compilation excluded). Prints seconds, cells/s, the
ratio, and checks that the distributed profile equals the in-process one bit for bit and agrees
with STUMPY's (distances within 1e-6).
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


def main(argv: list[str] | None = None) -> int:
    import stumpy
    from distributed import Client, LocalCluster

    import patternlab as pl

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="threads per worker")
    args = ap.parse_args(argv)
    T = np.cumsum(np.random.default_rng(0).standard_normal(args.n))
    ell = args.n - args.m + 1
    excl = int(np.ceil(args.m / 4))
    cells = (ell - excl - 1) * (ell - excl) / 2
    with LocalCluster(n_workers=args.workers, threads_per_worker=args.threads, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        small = T[:3000]
        stumpy.stumped(client, small, args.m)
        pl.matrix_profile(small, args.m, client=client)
        t0 = time.perf_counter()
        st = stumpy.stumped(client, T, args.m)
        t_st = time.perf_counter() - t0
        t0 = time.perf_counter()
        ours = pl.matrix_profile(T, args.m, client=client)
        t_pl = time.perf_counter() - t0
    local = pl.matrix_profile(T, args.m)
    identical = all(np.array_equal(getattr(local, k), getattr(ours, k)) for k in ("P", "I", "PL", "IL"))
    dmax = float(np.max(np.abs(ours.P - st[:, 0].astype(float))))
    print(describe())
    print(f"random walk n={args.n:,}, m={args.m}, LocalCluster {args.workers} workers x {args.threads} "
          f"thread(s), {cells:.3g} cells")
    print(f"stumpy.stumped            {t_st:8.2f} s  {cells / t_st:10.3g} cells/s")
    print(f"patternlab (client=...)   {t_pl:8.2f} s  {cells / t_pl:10.3g} cells/s  x{t_st / t_pl:.1f}")
    print(f"identical to in-process: {identical}; max |P - P_stumpy| = {dmax:.2e}")
    return 0 if identical and dmax <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
