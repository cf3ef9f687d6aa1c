"""patternlab.approximate_profile against stumpy.scrump: quality against time at 1 %, 5 % and
20 % of the diagonals, in one process, on the same series.

    python benchmarks/compare_scrump.py                  # random walk n=20,000, m=100
    python benchmarks/compare_scrump.py --n 5000 --percentages 0.01 0.05 0.2 1.0

For each percentage both start afresh with their pre-scan (``prescrump=True``; ours:
``prescan=True``) and fold that share of the diagonals (STUMPY's random order from
``np.random.seed``, ours from ``seed=``). Quality is the share of windows whose neighbour is the
exact one (``pl.matrix_profile``'s, or one at the same distance within 1e-9) and the mean excess
of ``P`` over the exact profile. Both are compiled first (a small call each, not timed).
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


def quality(P: np.ndarray, I: np.ndarray, exact_P: np.ndarray, exact_I: np.ndarray) -> tuple[float, float]:
    fin = np.isfinite(exact_P)
    same = (I == exact_I) | (np.abs(P - exact_P) <= 1e-9)
    excess = np.where(fin & np.isfinite(P), P - exact_P, np.nan)
    return float(same[fin].mean()), float(np.nanmean(excess[fin]))


def compare(n: int, m: int, percentages: list[float], seed: int) -> dict[str, float]:
    import numba
    import stumpy

    import patternlab as pl

    T = np.cumsum(np.random.default_rng(seed).standard_normal(n))
    print(describe())
    print(f"random walk n={n:,}, m={m}, {numba.get_num_threads()} numba threads")
    small = T[:10 * m]
    stumpy.scrump(small, m, percentage=0.1, pre_scrump=True).update()
    pl.approximate_profile(small, m, percentage=0.1)
    exact = pl.matrix_profile(T, m)
    print(f"{'share':>6s} {'':22s} {'seconds':>8s} {'exact NN':>9s} {'mean P excess':>14s}")
    out: dict[str, float] = {"ok": 1.0}
    for p in percentages:
        np.random.seed(seed)  # noqa: NPY002  (STUMPY draws its diagonal order from the legacy global state)
        t0 = time.perf_counter()
        sc = stumpy.scrump(T, m, percentage=p, pre_scrump=True)
        sc.update()
        t_st = time.perf_counter() - t0
        q_st = quality(sc.P_, sc.I_, exact.P, exact.I)
        t0 = time.perf_counter()
        ap = pl.approximate_profile(T, m, percentage=p, seed=seed)
        t_pl = time.perf_counter() - t0
        q_pl = quality(ap.P, ap.I, exact.P, exact.I)
        print(f"{100 * p:5.0f}% {'stumpy.scrump':22s} {t_st:8.2f} {100 * q_st[0]:8.1f}% {q_st[1]:14.4f}")
        print(f"{'':6s} {'pl.approximate_profile':22s} {t_pl:8.2f} {100 * q_pl[0]:8.1f}% {q_pl[1]:14.4f}")
        out[f"share_{p}"] = q_pl[0]
        if p >= 1.0 and q_pl[0] < 1.0:
            out["ok"] = 0.0
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--percentages", type=float, nargs="+", default=[0.01, 0.05, 0.2])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    res = compare(args.n, args.m, args.percentages, args.seed)
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
