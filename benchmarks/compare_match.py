"""patternlab.match against stumpy.match, in one process, on the same series and query.

    python benchmarks/compare_match.py                 # n=100,000, m=100, random walk, all cores
    python benchmarks/compare_match.py --n 20000 --repeat 3

The query is a window of the walk with a little noise (so not an exact repeat). Both libraries
are compiled first (a small call each), then timed on warm calls with their default
``max_distance`` rule: the best of ``--repeat`` runs. Prints the machine, seconds, the ratio
(target: at least 5x) and checks that the occurrences agree (the same windows, distances within
1e-6).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

try:  # imported as part of the benchmarks package (asv, tests), or run as a script
    from benchmarks._machine import best_of, describe
except ImportError:  # pragma: no cover
    from _machine import best_of, describe  # type: ignore[no-redef]


def compare(n: int, m: int, repeat: int, seed: int) -> dict[str, float]:
    """Time both searches on a random walk of ``n`` samples; return the figures."""
    import numba
    import stumpy

    import patternlab as pl

    rng = np.random.default_rng(seed)
    T = np.cumsum(rng.standard_normal(n))
    at = n // 3
    Q = T[at:at + m] + rng.normal(0.0, 0.1, m)
    print(describe())
    print(f"random walk n={n:,}, m={m}, {numba.get_num_threads()} numba threads")

    small = T[: min(n, 4 * m + 100)]
    stumpy.match(Q, small)
    pl.match(Q, small)

    t_st, st = best_of(lambda: stumpy.match(Q, T), repeat)
    t_pl, ours = best_of(lambda: pl.match(Q, T), repeat)
    theirs = np.asarray(st, dtype=np.float64).reshape(-1, 2)
    mine = np.array([[o.distance, o.index] for o in ours], dtype=np.float64).reshape(-1, 2)
    same = mine.shape == theirs.shape and bool((mine[:, 1] == theirs[:, 1]).all())
    dd = float(np.max(np.abs(mine[:, 0] - theirs[:, 0]))) if same and len(mine) else 0.0
    print(f"{'':18s} {'seconds':>9s} {'vs stumpy':>10s}")
    print(f"{'stumpy.match':18s} {t_st:9.4f} {'':>10s}  {len(theirs)} occurrences")
    print(f"{'patternlab.match':18s} {t_pl:9.4f} {t_st / t_pl:9.1f}x  {len(mine)} occurrences, "
          f"max |d distance| {dd:.2e}")
    ok = same and dd <= 1e-6
    print("results agree" if ok else "RESULTS DISAGREE")
    return {"stumpy_s": t_st, "patternlab_s": t_pl, "ratio": t_st / t_pl, "ok": float(ok)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    res = compare(args.n, args.m, args.repeat, args.seed)
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
