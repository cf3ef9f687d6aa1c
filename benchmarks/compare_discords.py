"""Exact top-k discords without the full profile (pl.find_discords) against the full profile.

    python benchmarks/compare_discords.py                     # n = 1e6 and 1e7, k = 3, m = 100
    python benchmarks/compare_discords.py --n 1000000 --verify 100000 1000000
    python benchmarks/compare_discords.py --left --n 1000000 10000000   # left discords (DAMP)

The series (seeded): a quasi-periodic signal (``--series periodic``, a cycle of about ``m``
samples whose period drifts, plus noise: the setting of DRAG and MERLIN) or a random walk
(``--series walk``: the hard case, whose windows have few close neighbours), with planted
anomalies (a burst of a sine, a step, a spike), a NaN stretch and a constant stretch. For each
``--n``: the time of ``pl.find_discords``, its pruning rate (the share of the self-join's pair
distances it never computed), rounds, candidates and survivors; and the full profile's time at
that length, extrapolated from its cells/s measured here on ``--calibrate`` samples (n = 1e7 is
5e13 cells: hours on two cores, so it is not run); wall seconds, and the CPU seconds of
find_discords (all threads). ``--verify`` sizes are also run through the full profile, and the
discords must be identical (indices and distances; neighbours up to a genuine tie). Printed with
the CPU model, its vector extensions and the load. ``--left``: left discords (each window
against its past only, ``find_discords(..., left=True, start=n // 10)``: the first tenth is only
past), checked against ``matrix_profile(T, m).discords(k, left=True, start=n // 10)``.
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


def planted(n: int, m: int, seed: int, series: str = "periodic") -> np.ndarray:
    """A quasi-periodic signal (a cycle of about ``m`` samples whose period drifts, plus noise)
    or a random walk, with three planted anomalies, a NaN and a constant stretch."""
    rng = np.random.default_rng(seed)
    if series == "walk":
        T = np.cumsum(rng.standard_normal(n))
    else:
        period = m * (1 + 0.1 * np.sin(np.arange(n) * 2 * np.pi / (37 * m)))
        phase = np.cumsum(2 * np.pi / period)
        T = np.sin(phase) + 0.5 * np.sin(2 * phase + 1) + 0.1 * rng.standard_normal(n)
    a, b, c = int(n * 0.23), int(n * 0.61), int(n * 0.87)
    T[a:a + m] += 6 * np.sin(np.linspace(0, 4 * np.pi, m))  # a burst of a sine
    T[b:b + 3 * m] += 8.0  # a step up and back
    T[c] += 25.0  # a spike
    T[int(n * 0.4):int(n * 0.4) + 40] = np.nan
    T[int(n * 0.7):int(n * 0.7) + 3 * m] = T[int(n * 0.7)]
    return T


def _cells(n: int, m: int) -> float:
    ell = n - m + 1
    excl = int(np.ceil(m / 4))
    return (ell - excl - 1) * (ell - excl) / 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="*", default=[1_000_000, 10_000_000])
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--series", choices=["periodic", "walk"], default="periodic",
                    help="the background: a quasi-periodic signal, or a random walk (the hard case: "
                         "its windows have no close neighbours nearby in time)")
    ap.add_argument("--calibrate", type=int, default=100_000, help="length of the timed full profile")
    ap.add_argument("--verify", type=int, nargs="*", default=[100_000],
                    help="lengths also run through the full profile and compared")
    ap.add_argument("--left", action="store_true", help="left discords (the first tenth only past)")
    args = ap.parse_args(argv)

    def opts(n: int) -> dict[str, object]:
        return {"left": True, "start": n // 10} if args.left else {}

    import patternlab as pl

    m, k = args.m, args.k
    print(describe())
    for w in (20_000, 120_000):  # compile the serial and the parallel variants
        warm = planted(w, m, args.seed, args.series)
        pl.find_discords(warm, m, k, **opts(w))
    pl.matrix_profile(warm[:20_000], m)
    t0 = time.perf_counter()
    pl.matrix_profile(planted(args.calibrate, m, args.seed, args.series), m)
    rate = _cells(args.calibrate, m) / (time.perf_counter() - t0)
    left = ", left discords" if args.left else ""
    print(f"{args.series} series, m={m}, k={k}{left}; full profile: {rate:.3g} cells/s measured at "
          f"n={args.calibrate:,}")
    ok = True
    for n in sorted(set(args.verify)):
        T = planted(n, m, args.seed, args.series)
        t1 = time.perf_counter()
        found = pl.find_discords(T, m, k, **opts(n))
        t_found = time.perf_counter() - t1
        t1 = time.perf_counter()
        want = pl.matrix_profile(T, m).discords(k, **opts(n))
        t_full = time.perf_counter() - t1
        same = [d.index for d in found] == [d.index for d in want] and all(
            a.distance == b.distance for a, b in zip(found, want))
        ties = sum(a.neighbor != b.neighbor for a, b in zip(found, want))
        ok &= same and len(found) == len(want)
        print(f"verify n={n:,}: find_discords {t_found:.1f} s, full profile {t_full:.1f} s "
              f"({t_full / t_found:.0f}x); discords {'identical' if same else 'DIFFERENT'}"
              f"{f' ({ties} neighbour(s) differ: ties)' if ties else ''}: {list(found)}")
    print(f"{'n':>12s} {'seconds':>9s} {'cpu s':>8s} {'full (est.)':>12s} {'speed-up':>9s} {'pruned':>8s} "
          f"{'rounds':>6s} {'cands':>6s} {'surv':>5s}  discords")
    for n in args.n:
        T = planted(n, m, args.seed, args.series)
        t1, c1 = time.perf_counter(), time.process_time()
        found = pl.find_discords(T, m, k, **opts(n))
        t, cpu = time.perf_counter() - t1, time.process_time() - c1
        s = found.stats
        full = _cells(n, m) / rate
        print(f"{n:12,d} {t:9.1f} {cpu:8.1f} {full:11.0f}s {full / t:8.0f}x {s['pruning_rate']:8.5f} "
              f"{s['rounds']:6d} {s['candidates']:6d} {s['survivors']:5d}  "
              + ", ".join(f"{d.index}:{d.distance:.3f}" for d in found)
              + (" (full profile: pruning failed)" if s["fallback"] else ""))
    print(describe())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
