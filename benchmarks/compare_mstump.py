"""patternlab's multi-dimensional matrix profile against stumpy.mstump (and the consensus motif
against stumpy.ostinato), in one process, on the same series.

    python benchmarks/compare_mstump.py                       # d = 3, 5, 10; n = 5,000; m = 100
    python benchmarks/compare_mstump.py --d 3 --n 50000 --no-stumpy   # patternlab alone
    python benchmarks/compare_mstump.py --ostinato            # also 20 series of 2,000 samples

The dimensions are independent random walks. Both libraries are compiled first (a small call
each), then timed on warm calls, the best of ``--repeat``. Prints the machine, seconds, the
ratio (target: at least 10x) and checks that the profiles agree (distances within 1e-6, the
same neighbours except genuine ties).
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np

try:  # imported as part of the benchmarks package (asv, tests), or run as a script
    from benchmarks._machine import best_of, describe
except ImportError:  # pragma: no cover
    from _machine import best_of, describe  # type: ignore[no-redef]


def _agree(P: np.ndarray, I: np.ndarray, sP: np.ndarray, sI: np.ndarray) -> tuple[float, float, bool]:
    """Largest distance difference, share of differing neighbours, and whether every differing
    neighbour is a tie (its distance equal to STUMPY's within 1e-6)."""
    fin = np.isfinite(P) & np.isfinite(sP)
    dd = float(np.max(np.abs(P[fin] - sP[fin]))) if fin.any() else 0.0
    differ = I != sI
    ties = bool(np.all(np.abs(P[differ] - sP[differ]) <= 1e-6))
    return dd, float(differ.mean()), ties and bool(np.array_equal(np.isfinite(P), np.isfinite(sP)))


def compare(d: int, n: int, m: int, repeat: int, seed: int, with_stumpy: bool) -> dict[str, float]:
    """Time both on ``d`` random walks of ``n`` samples; return the figures."""
    import stumpy

    import patternlab as pl

    T = np.cumsum(np.random.default_rng(seed).standard_normal((d, n)), axis=1)
    small = T[:, : min(n, 4 * m + 100)]
    pl.matrix_profile(small, m)
    t_pl, mp = best_of(lambda: pl.matrix_profile(T, m), repeat)
    ell = n - m + 1
    out = {"d": d, "patternlab_s": t_pl, "cells_per_s": ell * ell * d / 2 / t_pl, "ok": 1.0}
    line = f"d={d:2d} n={n:,} m={m}: patternlab {t_pl:8.3f} s ({out['cells_per_s']:.2e} dimension-cells/s)"
    if with_stumpy:
        with warnings.catch_warnings():  # STUMPY's own numpy warnings
            warnings.simplefilter("ignore")
            stumpy.mstump(small, m)
            t_st, st = best_of(lambda: stumpy.mstump(T, m), 1)
        sP, sI = np.asarray(st[0]), np.asarray(st[1])
        dd, share, ok = _agree(mp.P, mp.I, sP, sI)
        out.update(stumpy_s=t_st, ratio=t_st / t_pl, ok=float(ok and dd <= 1e-6))
        line += (f", stumpy.mstump {t_st:8.2f} s: {t_st / t_pl:6.1f}x; max |dP| {dd:.1e}, "
                 f"{share:.2%} neighbours differ ({'ties' if ok else 'NOT ties'})")
    print(line, flush=True)
    return out


def compare_ostinato(k: int, n: int, m: int, seed: int) -> dict[str, float]:
    """Time both consensus-motif searches on ``k`` noisy series sharing one shape."""
    import stumpy

    import patternlab as pl

    rng = np.random.default_rng(seed)
    shape = np.sin(np.linspace(0, 3 * np.pi, m)) * 3
    Ts = [np.cumsum(rng.standard_normal(n)) * 0.3 for _ in range(k)]
    for T in Ts:
        at = int(rng.integers(0, n - m))
        T[at:at + m] += shape
    pl.consensus_motif([x[: 3 * m] for x in Ts[:3]], m)
    t_pl, ours = best_of(lambda: pl.consensus_motif(Ts, m), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stumpy.ostinato([x[: 3 * m] for x in Ts[:3]], m)
        t_st, theirs = best_of(lambda: stumpy.ostinato(Ts, m), 1)
    ok = ours.series == theirs[1] and ours.index == theirs[2] and abs(ours.radius - theirs[0]) <= 1e-6
    print(f"consensus motif of {k} series of {n:,} samples, m={m}: patternlab {t_pl:.2f} s, "
          f"stumpy.ostinato {t_st:.2f} s: {t_st / t_pl:.1f}x; {'same motif' if ok else 'DIFFERENT MOTIFS'}")
    return {"patternlab_s": t_pl, "stumpy_s": t_st, "ratio": t_st / t_pl, "ok": float(ok)}


def main(argv: list[str] | None = None) -> int:
    import numba

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, nargs="+", default=[3, 5, 10])
    ap.add_argument("--n", type=int, default=5_000)
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-stumpy", action="store_true", help="time patternlab alone")
    ap.add_argument("--ostinato", action="store_true", help="also the consensus motif")
    args = ap.parse_args(argv)
    print(describe())
    print(f"{numba.get_num_threads()} numba threads")
    ok = True
    for d in args.d:
        ok &= bool(compare(d, args.n, args.m, args.repeat, args.seed, not args.no_stumpy)["ok"])
    if args.ostinato:
        ok &= bool(compare_ostinato(20, 2_000, args.m, args.seed)["ok"])
    print("results agree" if ok else "RESULTS DISAGREE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
