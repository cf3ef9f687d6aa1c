"""patternlab.StreamingProfile against stumpy.stumpi, in one process, on the same stream.

    python benchmarks/compare_stumpi.py                       # history 20,000, m=100, 2,000 updates
    python benchmarks/compare_stumpi.py --updates 100000      # the full target run (slow for stumpi)

Both start from the same random-walk history (egress on: the window of ``--history`` samples
slides), are compiled first (a small stream each, not timed) and then receive the same samples
one ``update()`` at a time. Prints the machine, the time per update, the ratio (target: at least
10x) and the time both would take for 100,000 updates at that rate (an extrapolation when fewer
were run). Checks that our profile equals ``pl.matrix_profile`` of the kept samples at the end
(stumpy's egress keeps a neighbour after it has left the window, so its profile is not compared).
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


def compare(history: int, m: int, updates: int, seed: int) -> dict[str, float]:
    import numba
    import stumpy

    import patternlab as pl

    rng = np.random.default_rng(seed)
    S = np.cumsum(rng.standard_normal(history + updates))
    print(describe())
    print(f"random walk history={history:,}, m={m}, {updates:,} updates, egress, "
          f"{numba.get_num_threads()} numba threads")
    warm = S[:4 * m]
    s = stumpy.stumpi(warm, m, egress=True)
    s.update(1.0)
    p = pl.StreamingProfile(warm, m)
    p.update(1.0)

    t0 = time.perf_counter()
    st = stumpy.stumpi(S[:history], m, egress=True)
    init_st = time.perf_counter() - t0
    t0 = time.perf_counter()
    for x in S[history:]:
        st.update(x)
    t_st = (time.perf_counter() - t0) / updates

    t0 = time.perf_counter()
    ours = pl.StreamingProfile(S[:history], m)
    init_pl = time.perf_counter() - t0
    t0 = time.perf_counter()
    for x in S[history:]:
        ours.update(x)
    t_pl = (time.perf_counter() - t0) / updates

    mp = pl.matrix_profile(S[-history:], m)
    near = np.abs(ours.P - mp.P) <= 1e-12 * np.maximum(1.0, mp.P)
    ok = bool(near.all() and ((ours.I == mp.I) | (ours.P < mp.P) | (ours.I < mp.I)).all())
    extrap = "" if updates >= 100_000 else " (extrapolated)"
    print(f"{'':22s} {'init s':>8s} {'us/update':>10s} {'vs stumpi':>10s} {'100k updates':>13s}")
    print(f"{'stumpy.stumpi':22s} {init_st:8.2f} {1e6 * t_st:10.1f} {'':>10s} {1e5 * t_st:11.1f} s{extrap}")
    print(f"{'pl.StreamingProfile':22s} {init_pl:8.2f} {1e6 * t_pl:10.1f} {t_st / t_pl:9.1f}x "
          f"{1e5 * t_pl:11.1f} s{extrap}")
    print("profile equals pl.matrix_profile of the kept samples" if ok else "PROFILE DIFFERS")
    return {"stumpi_us": 1e6 * t_st, "patternlab_us": 1e6 * t_pl, "ratio": t_st / t_pl, "ok": float(ok)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history", type=int, default=20_000)
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--updates", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    res = compare(args.history, args.m, args.updates, args.seed)
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
