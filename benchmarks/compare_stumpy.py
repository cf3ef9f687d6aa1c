"""patternlab.matrix_profile against stumpy.stump, in one process, on the same series.

    python benchmarks/compare_stumpy.py                 # n=100,000, m=100, random walk, all cores
    python benchmarks/compare_stumpy.py --n 20000 --repeat 1

Both libraries are compiled first (a small call each), then timed on warm calls: the best of
``--repeat`` runs. Prints seconds, cells/s and the ratio, and checks that the results agree
(float64: distances within 1e-6 and identical neighbours except genuine ties; float32: distances
within 1e-3). Also measures patternlab's first-call compile time in fresh processes, without and
with numba's on-disk cache (``--compile``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

try:  # imported as part of the benchmarks package (asv, tests), or run as a script
    from benchmarks._machine import best_of, describe
except ImportError:  # pragma: no cover
    from _machine import best_of, describe  # type: ignore[no-redef]


def _ties_ok(T: np.ndarray, m: int, i_ours: np.ndarray, i_theirs: np.ndarray, P: np.ndarray) -> int:
    """Number of windows whose neighbours differ by more than a genuine tie."""
    import patternlab as pl

    bad = 0
    for i in np.flatnonzero(i_ours != i_theirs):
        if i_theirs[i] < 0 or i_ours[i] < 0:
            bad += 1
            continue
        d = pl.distance_profile(T[i:i + m], T)
        if abs(d[i_ours[i]] - d[i_theirs[i]]) > 1e-6:
            bad += 1
    return bad


def compare(n: int, m: int, repeat: int, seed: int) -> dict[str, float]:
    """Time both libraries on a random walk of ``n`` samples; return the figures."""
    import numba
    import stumpy

    import patternlab as pl

    T = np.cumsum(np.random.default_rng(seed).standard_normal(n))
    ell = n - m + 1
    excl = int(np.ceil(m / 4))
    cells = (ell - excl - 1) * (ell - excl) / 2  # distinct pairs outside the exclusion zone
    threads = numba.get_num_threads()
    print(describe())
    print(f"random walk n={n:,}, m={m}, {threads} numba threads, {cells:.3g} distinct cells")

    small = T[: min(n, 2000)]
    stumpy.stump(small, m)
    pl.matrix_profile(small, m)
    pl.matrix_profile(small, m, dtype="float32")

    t_st, st = best_of(lambda: stumpy.stump(T, m), repeat)
    P_st = st[:, 0].astype(np.float64)
    I_st = st[:, 1].astype(np.int64)
    t_64, mp64 = best_of(lambda: pl.matrix_profile(T, m), repeat)
    t_32, mp32 = best_of(lambda: pl.matrix_profile(T, m, dtype="float32"), repeat)

    d64 = float(np.max(np.abs(mp64.P - P_st)))
    d32 = float(np.max(np.abs(mp32.P - P_st)))
    bad = _ties_ok(T, m, mp64.I, I_st, mp64.P)
    rows = [
        ("stumpy.stump", t_st, ""),
        ("patternlab float64", t_64, f"max |dP| {d64:.2e}, neighbours differing beyond ties: {bad}"),
        ("patternlab float32", t_32, f"max |dP| {d32:.2e}"),
    ]
    print(f"{'':22s} {'seconds':>9s} {'cells/s':>10s} {'vs stumpy':>10s}")
    for name, t, note in rows:
        print(f"{name:22s} {t:9.3f} {cells / t:10.3g} {t_st / t:9.1f}x  {note}")
    ok = d64 <= 1e-6 and bad == 0 and d32 <= 1e-3
    print("results agree" if ok else "RESULTS DISAGREE")
    return {"stumpy_s": t_st, "float64_s": t_64, "float32_s": t_32, "ratio64": t_st / t_64,
            "ratio32": t_st / t_32, "ok": float(ok)}


_CHILD = """
import time, numpy as np
t0 = time.perf_counter()
import patternlab as pl
t1 = time.perf_counter()
pl.matrix_profile(np.cumsum(np.random.default_rng(0).standard_normal(1000)), 50)
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f}")
"""


def compile_times() -> None:
    """First-call time of a fresh process, with an empty numba cache and with a warm one."""
    cache = tempfile.mkdtemp(prefix="patternlab-numba-cache-")
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    try:
        for label in ("empty on-disk cache", "warm on-disk cache"):
            out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                                 text=True, check=True).stdout.split()
            print(f"fresh process, {label}: import {float(out[0]):.2f} s, first matrix_profile "
                  f"{float(out[1]):.2f} s")
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compile", action="store_true", help="also measure first-call compile times")
    args = ap.parse_args(argv)
    res = compare(args.n, args.m, args.repeat, args.seed)
    if args.compile:
        compile_times()
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
