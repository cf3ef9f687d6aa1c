"""STUMPY's surface beyond stump against patternlab, in one process, on the same random walk:
``stump(k=3)``, ``aamp``, ``mass``, ``match`` and ``motifs``.

    python benchmarks/compare_stumpy_surface.py                      # n=100,000, m=100, all cores
    python benchmarks/compare_stumpy_surface.py --n 20000 --only mass,match --repeat 3

Both libraries compile first (a small call each); each feature is then timed on warm calls (the
best of ``--repeat``; the two profiles once by default, they take tens of seconds in STUMPY).
Targets: at least 10x for the profiles (``stump k=3``, ``aamp``, ``mass``) and 5x for ``match``
and ``motifs``. ``motifs`` is timed given the matrix profile (``stumpy.motifs(T, P)`` against
``pl.motifs(T, m, profile=mp)``), with STUMPY's defaults except ``max_motifs=3`` and no
``cutoff`` (its default rule leaves no candidate on a random walk). Every row
checks that the results agree (distances within 1e-6 where both compute the same thing).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

try:  # imported as part of the benchmarks package (asv, tests), or run as a script
    from benchmarks._machine import best_of, describe
except ImportError:  # pragma: no cover
    from _machine import best_of, describe  # type: ignore[no-redef]

FEATURES = ("stump_k3", "aamp", "mass", "match", "motifs")
TARGETS = {"stump_k3": 10.0, "aamp": 10.0, "mass": 10.0, "match": 5.0, "motifs": 5.0}


def _same_profile(P: np.ndarray, P_st: np.ndarray) -> bool:
    inf = np.isinf(P)
    return bool((inf == np.isinf(P_st)).all() and np.allclose(P[~inf], P_st[~inf], rtol=0, atol=1e-6))


def _cases(T: np.ndarray, m: int, Q: np.ndarray) -> dict[str, tuple[Callable[[], Any], Callable[[], Any],
                                                                   Callable[[Any, Any], bool]]]:
    import stumpy

    import patternlab as pl

    k = 3
    mp = pl.matrix_profile(T, m)  # motifs: both start from the same profile values

    def check_k(st: Any, ours: Any) -> bool:
        return _same_profile(ours.P, st[:, :k].astype(np.float64))

    def check_aamp(st: Any, ours: Any) -> bool:
        return _same_profile(ours.P, st[:, 0].astype(np.float64))

    def check_mass(st: Any, ours: Any) -> bool:
        return _same_profile(ours, st)

    def check_match(st: Any, ours: Any) -> bool:
        theirs = np.asarray(st, dtype=np.float64).reshape(-1, 2)
        mine = np.asarray(ours, dtype=np.float64).reshape(-1, 2)
        return mine.shape == theirs.shape and bool((mine[:, 1] == theirs[:, 1]).all()) and \
            bool(np.allclose(mine[:, 0], theirs[:, 0], rtol=0, atol=1e-6))

    def check_motifs(st: Any, ours: Any) -> bool:
        # the first motif's window and its nearest occurrence agree (later ones differ by design:
        # ours never overlap)
        d, i = st
        return bool(len(ours)) and i.size > 0 and int(i[0, 0]) == int(ours[0].indices[0]) and \
            abs(float(d[0, 1]) - float(ours[0].distances[1])) <= 1e-6

    return {
        "stump_k3": (lambda: stumpy.stump(T, m, k=k), lambda: pl.matrix_profile(T, m, k=k), check_k),
        "aamp": (lambda: stumpy.aamp(T, m), lambda: pl.matrix_profile(T, m, normalize=False), check_aamp),
        "mass": (lambda: stumpy.mass(Q, T), lambda: pl.distance_profile(Q, T), check_mass),
        "match": (lambda: stumpy.match(Q, T), lambda: pl.match(Q, T), check_match),
        "motifs": (lambda: stumpy.motifs(T, mp.P, max_motifs=3, cutoff=np.inf),
                   lambda: pl.motifs(T, m, 3, max_matches=10, cutoff=np.inf, profile=mp), check_motifs),
    }


def compare(n: int, m: int, repeat: int, profile_repeat: int, seed: int,
            only: tuple[str, ...] = FEATURES) -> dict[str, dict[str, float]]:
    """Time every feature in ``only`` on a random walk of ``n`` samples; return the figures."""
    import numba

    rng = np.random.default_rng(seed)
    T = np.cumsum(rng.standard_normal(n))
    Q = T[n // 3:n // 3 + m] + rng.normal(0.0, 0.1, m)
    print(describe())
    print(f"random walk n={n:,}, m={m}, {numba.get_num_threads()} numba threads")
    # long enough for the threaded paths of the profiles (numba.set_num_threads > 1): they are
    # compiled here, not in the first timed call
    small = T[: min(n, max(8 * m + 200, 6000))]
    for name, (theirs, ours, _) in _cases(small, m, Q).items():  # compile both
        if name in only:
            theirs()
            ours()
    cases = _cases(T, m, Q)
    print(f"{'':10s} {'stumpy s':>10s} {'patternlab s':>13s} {'ratio':>7s} {'target':>7s}")
    out: dict[str, dict[str, float]] = {}
    for name in only:
        theirs, ours, check = cases[name]
        times = profile_repeat if name in ("stump_k3", "aamp") else repeat
        t_st, st = best_of(theirs, times)
        t_pl, mine = best_of(ours, times)
        ok = check(st, mine)
        ratio = t_st / t_pl
        print(f"{name:10s} {t_st:10.4f} {t_pl:13.4f} {ratio:6.1f}x {TARGETS[name]:6.0f}x  "
              f"{'agree' if ok else 'DISAGREE'}")
        out[name] = {"stumpy_s": t_st, "patternlab_s": t_pl, "ratio": ratio, "ok": float(ok)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile-repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default=",".join(FEATURES), help="comma-separated: " + ",".join(FEATURES))
    args = ap.parse_args(argv)
    only = tuple(x for x in args.only.split(",") if x)
    unknown = set(only) - set(FEATURES)
    if unknown:
        ap.error(f"unknown features {sorted(unknown)}: pick from {','.join(FEATURES)}")
    res = compare(args.n, args.m, args.repeat, args.profile_repeat, args.seed, only)
    return 0 if all(r["ok"] for r in res.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
