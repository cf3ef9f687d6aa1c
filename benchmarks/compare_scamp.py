"""patternlab.matrix_profile against SCAMP (pyscamp.selfjoin), in one process, on the same series.

    python benchmarks/compare_scamp.py                  # n=100,000, m=100, 1 and 2 threads
    python benchmarks/compare_scamp.py --threads 1 2 4 --repeat 3
    python benchmarks/compare_scamp.py --target avx2    # numba code compiled for AVX2 only

pyscamp is the Python binding of SCAMP (C++; ``FORCE_NO_CUDA=1 pip install pyscamp`` builds it
from source with cmake and a C++ compiler; ``pip install -e ".[bench]"``). On the CPU it computes
in double precision only (its ``precision="single"`` is not implemented there); it returns float32
distances and int32 indices. Our float64 and float32 searches are both compared with it.

Every figure is the best of ``--repeat`` warm calls (both libraries compiled first), in wall
seconds and in CPU seconds of the process (on a shared machine the CPU time of a one-thread run
is the steadier figure; wall time is what counts on a quiet one). Printed: the
CPU model, its vector extensions and the load average (every figure depends on them), the
vector extensions numba compiled our kernels for, seconds, cells/s and the ratio to pyscamp for
each thread count, and a check of the neighbours: SCAMP excludes neighbours closer than
``m // 4`` (``|i - j| < 25`` at m = 100), we exclude ``|i - j| <= ceil(m / 4)``; windows whose
SCAMP neighbour lies at exactly that boundary are left out of the check and counted, every other
window must have the same neighbour up to a genuine tie (exact distances within 1e-6).

``--target avx2`` runs the whole comparison again in a child process with
``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` set so that numba emits AVX2 code without AVX-512
(how the kernel runs on a CPU without AVX-512, such as AMD Zen 3), on any x86 machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any

import numpy as np

try:  # imported as part of the benchmarks package (asv, tests), or run as a script
    from benchmarks._machine import describe
except ImportError:  # pragma: no cover
    from _machine import describe  # type: ignore[no-redef]


def numba_target() -> str:
    """The CPU name and vector extensions numba compiles for in this process."""
    from numba.core.registry import cpu_target

    _, name, features = cpu_target.target_context.codegen().magic_tuple()
    on = {f[1:] for f in features.split(",") if f.startswith("+")}
    vec = [f for f in ("avx2", "fma", "avx512f", "avx512vl") if f in on]
    return f"numba target: {name} ({' '.join(vec) or 'no AVX2'})"


def avx2_env() -> dict[str, str]:
    """Environment for a child whose numba code uses AVX2 and FMA but no AVX-512."""
    from numba.core.registry import cpu_target

    _, name, features = cpu_target.target_context.codegen().magic_tuple()
    feats = ",".join(f.replace("+avx512", "-avx512") if f.startswith("+avx512") else f
                     for f in features.split(","))
    cpu = "znver3" if name.startswith("znver") else "haswell"
    return {**os.environ, "NUMBA_CPU_NAME": cpu, "NUMBA_CPU_FEATURES": feats}


def _neighbours_differ(T: np.ndarray, m: int, ours: np.ndarray, theirs: np.ndarray,
                       tol: float = 1e-6) -> tuple[int, int]:
    """(windows left out: SCAMP's neighbour inside our exclusion zone or none; windows whose
    neighbours are farther apart than ``tol``: 1e-6, a genuine tie, for float64; a float32 search
    may pick a neighbour within 1e-3 of the best)."""
    import patternlab as pl

    excl = int(np.ceil(m / 4))
    idx = np.arange(len(ours))
    skip = (theirs < 0) | (np.abs(theirs - idx) <= excl)
    bad = 0
    for i in np.flatnonzero((ours != theirs) & ~skip):
        if ours[i] < 0:
            bad += 1
            continue
        d = pl.distance_profile(T[i:i + m], T)
        if abs(d[ours[i]] - d[theirs[i]]) > tol:
            bad += 1
    return int(skip.sum()), bad


def _timed(fn: Any, repeat: int) -> tuple[float, float, Any]:
    """Best wall time and best CPU time (all threads of the process) of ``repeat`` calls, and the
    last result. On a loaded machine the CPU time of a one-thread run is the steadier figure."""
    wall, cpu, out = float("inf"), float("inf"), None
    for _ in range(max(1, repeat)):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu, out


def compare(n: int, m: int, threads: list[int], repeat: int, seed: int) -> dict[str, float]:
    """Time pyscamp and patternlab (float64, float32) on a random walk of ``n`` samples."""
    import numba
    import pyscamp

    import patternlab as pl

    T = np.cumsum(np.random.default_rng(seed).standard_normal(n))
    ell = n - m + 1
    excl = int(np.ceil(m / 4))
    cells = (ell - excl - 1) * (ell - excl) / 2
    print(describe())
    print(numba_target() + f"; pyscamp {getattr(pyscamp, '__version__', '4.x')} (its own runtime "
          "dispatch: AVX2 kernel where AVX2 is there)")
    print(f"random walk n={n:,}, m={m}, {cells:.3g} distinct cells, best of {repeat}")
    small = T[: min(n, 3000)]
    pyscamp.selfjoin(small, m, threads=1)
    for dt in ("float64", "float32"):  # compile the serial and the threaded paths
        pl.matrix_profile(small, m, dtype=dt)
        pl.matrix_profile(T[: min(n, 20_000)], m, dtype=dt, threads=max(threads))
    out: dict[str, float] = {"ok": 1.0}
    print(f"{'threads':>7s} {'':20s} {'seconds':>9s} {'cells/s':>10s} {'vs pyscamp':>11s} {'cpu s':>9s} "
          f"{'cpu vs pyscamp':>15s}")
    for th in threads:
        if th > numba.config.NUMBA_NUM_THREADS:  # type: ignore[attr-defined]
            print(f"{th:7d} skipped: numba has {numba.config.NUMBA_NUM_THREADS} threads")  # type: ignore[attr-defined]
            continue
        t_sc, c_sc, (P_sc, I_sc) = _timed(lambda th=th: pyscamp.selfjoin(T, m, threads=th), repeat)
        t_64, c_64, mp64 = _timed(lambda th=th: pl.matrix_profile(T, m, threads=th), repeat)
        t_32, c_32, mp32 = _timed(lambda th=th: pl.matrix_profile(T, m, threads=th, dtype="float32"), repeat)
        I_sc = np.asarray(I_sc, dtype=np.int64)
        P_sc = np.asarray(P_sc, dtype=np.float64)
        left, bad64 = _neighbours_differ(T, m, mp64.I, I_sc)
        _, bad32 = _neighbours_differ(T, m, mp32.I, I_sc, 1e-3)
        keep = (I_sc >= 0) & (np.abs(I_sc - np.arange(len(I_sc))) > excl)
        dP = float(np.max(np.abs(mp64.P[keep] - P_sc[keep]))) if keep.any() else 0.0
        rows = (("pyscamp (double)", t_sc, c_sc), ("patternlab float64", t_64, c_64),
                ("patternlab float32", t_32, c_32))
        for name, t, c in rows:
            print(f"{th:7d} {name:20s} {t:9.3f} {cells / t:10.3g} {t_sc / t:10.2f}x {c:9.3f} "
                  f"{c_sc / c:14.2f}x")
        print(f"{'':7s} neighbours: {bad64} (float64, beyond a tie of 1e-6) / {bad32} (float32, beyond "
              f"1e-3) windows differ; {left} left out (SCAMP's neighbour at |i - j| = {excl}, inside our "
              f"exclusion zone); max |P - P_scamp| {dP:.1e} (SCAMP's float32 output)")
        out.update({f"scamp_{th}": t_sc, f"f64_{th}": t_64, f"f32_{th}": t_32,
                    f"ratio64_{th}": t_sc / t_64, f"ratio32_{th}": t_sc / t_32,
                    f"cpu_ratio64_{th}": c_sc / c_64, f"cpu_ratio32_{th}": c_sc / c_32})
        if bad64 or bad32 or dP > 1e-3:
            out["ok"] = 0.0
    print("neighbours agree" if out["ok"] else "NEIGHBOURS DISAGREE")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--target", choices=["native", "avx2"], default="native",
                    help="avx2: compile our kernels for AVX2 without AVX-512 (in a child process)")
    args = ap.parse_args(argv)
    if args.target == "avx2" and "NUMBA_CPU_FEATURES" not in os.environ:
        rest = [a for a in (argv if argv is not None else sys.argv[1:]) if a not in ("--target", "avx2")]
        return subprocess.run([sys.executable, os.path.abspath(__file__), *rest], env=avx2_env()).returncode
    res = compare(args.n, args.m, args.threads, args.repeat, args.seed)
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
