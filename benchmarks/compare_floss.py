"""patternlab.StreamingSegmentation against stumpy.floss, in one process, on the same stream.

    python benchmarks/compare_floss.py                     # window 5,000, m=100, 5,000 updates
    python benchmarks/compare_floss.py --updates 10000
    python benchmarks/compare_floss.py --history 400 --m 20 --updates 60 --no-stump   # smoke run

Both start from the same history (a sine, then a square wave from the middle of the updates, on a
random walk; egress on: the window of ``--history`` samples slides), are compiled first (a small
stream each, not timed) and then receive the same samples one ``update()`` at a time, the
corrected arc curve read after each (STUMPY computes it in every ``update``; ours when read).
Both get the same idealized arc curve (ours, the exact expectation: STUMPY's default fits a beta
density by drawing, timed apart). Prints the machine, the time per update and the ratio, then
checks the results: our curve equals the one computed from scratch (``pl.matrix_profile`` of the
kept samples), STUMPY's arcs equal ours except those to the window exactly ``ceil(m / 4)``
later (its ``floss`` excludes one window fewer than its ``stump`` and we do), and where those
lie only in the excluded right edge the two curves are equal. ``--no-stump`` starts STUMPY's
``floss`` from our profile of the history (it reads only the right neighbours from it) instead of
``stumpy.stump``, whose first call compiles for most of a minute.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import warnings
from typing import Any

import numpy as np

try:  # imported as part of the benchmarks package (asv, tests), or run as a script
    from benchmarks._machine import describe
except ImportError:  # pragma: no cover
    from _machine import describe  # type: ignore[no-redef]


def stream(history: int, updates: int, seed: int) -> np.ndarray:
    """A sine of period 50 until the middle of the updates, then a square wave of period 80,
    with noise on a random walk."""
    rng = np.random.default_rng(seed)
    n = history + updates
    t = np.arange(n)
    change = history + updates // 2
    S = np.where(t < change, np.sin(2 * np.pi * t / 50), np.sign(np.sin(2 * np.pi * t / 80)))
    return S + rng.normal(0, 0.2, n) + np.cumsum(rng.normal(0, 0.02, n))


def as_stumpy_mp(mp: Any) -> np.ndarray:
    """``stumpy.stump``'s output (an object array of P, I, IL, IR) from a ``MatrixProfile``."""
    out = np.empty((mp.P.shape[0], 4), dtype=object)
    out[:, 0] = mp.P
    for c, idx in enumerate((mp.I, mp.IL, mp.IR), start=1):
        out[:, c] = idx.tolist()
    return out


def compare(history: int, m: int, updates: int, seed: int, stump: bool = True) -> dict[str, float]:
    import numba
    import stumpy

    import patternlab as pl
    from patternlab.profiles.segments import _corrected, idealized_arc_curve

    sfloss = importlib.import_module("stumpy.floss")
    S = stream(history, updates, seed)
    L, excl_factor = m, 5
    print(describe())
    print(f"window {history:,} samples (egress), m={m}, L={L}, excl_factor={excl_factor}, {updates:,} "
          f"updates, change at {history + updates // 2:,}, {numba.get_num_threads()} numba threads")
    def start(T: np.ndarray) -> Any:
        return stumpy.stump(T, m) if stump else as_stumpy_mp(pl.matrix_profile(T, m))

    warm = S[:8 * m]
    w_iac = idealized_arc_curve(warm.shape[0] - m + 1, "right")
    s = stumpy.floss(start(warm), warm, m, L, excl_factor, custom_iac=w_iac.copy())
    s.update(1.0)
    p = pl.StreamingSegmentation(warm, m, L, excl_factor=excl_factor, iac=w_iac)
    p.update(1.0)
    _ = p.cac

    k = history - m + 1
    t0 = time.perf_counter()
    iac = idealized_arc_curve(k, "right")
    t_iac = time.perf_counter() - t0
    t0 = time.perf_counter()
    sfloss._iac(k, bidirectional=False)
    t_fit = time.perf_counter() - t0

    t0 = time.perf_counter()
    st = stumpy.floss(start(S[:history]), S[:history], m, L, excl_factor, custom_iac=iac.copy())
    init_st = time.perf_counter() - t0
    t0 = time.perf_counter()
    for x in S[history:]:
        st.update(x)
        _ = st.cac_1d_
    t_st = (time.perf_counter() - t0) / updates

    t0 = time.perf_counter()
    ours = pl.StreamingSegmentation(S[:history], m, L, excl_factor=excl_factor, iac=iac)
    init_pl = time.perf_counter() - t0
    t0 = time.perf_counter()
    for x in S[history:]:
        ours.update(x)
        _ = ours.cac
    t_pl = (time.perf_counter() - t0) / updates

    print(f"idealized arc curve of {k:,} windows: exact {1e3 * t_iac:.2f} ms; STUMPY's beta fit "
          f"(_iac, its default) {t_fit:.2f} s")
    print(f"{'':28s} {'init s':>8s} {'us/update':>10s} {'vs floss':>9s}")
    print(f"{'stumpy.floss' + ('' if stump else ' (our init)'):28s} {init_st:8.2f} {1e6 * t_st:10.1f}")
    print(f"{'pl.StreamingSegmentation':28s} {init_pl:8.2f} {1e6 * t_pl:10.1f} {t_st / t_pl:8.1f}x")

    mp = pl.matrix_profile(ours.T, m)
    scratch = bool(np.array_equal(ours.cac, _corrected(mp.IR, L, excl_factor, iac)))
    I = st.I_ - updates
    I[st.I_ < 0] = -1
    differ = np.flatnonzero(I != ours.IR)
    excl = int(np.ceil(m / 4))
    arcs = bool((I[differ] - differ == excl).all())
    edge = bool((differ >= k - L * excl_factor).all())
    same = bool(np.array_equal(ours.cac, st.cac_1d_))
    both = bool(np.array_equal(ours.T, st.T_))
    b_pl = ours.offset + ours.regime_boundary
    b_st = ours.offset + int(np.argmin(st.cac_1d_))
    print(f"lowest point (stream position): ours {b_pl:,} (cac {ours.cac.min():.3f}), STUMPY's {b_st:,} "
          f"(cac {st.cac_1d_.min():.3f})")
    ok = scratch and arcs and both and (same or not edge)
    print(f"{len(differ)} of {k:,} arcs differ, all to the window ceil(m/4) later: {arcs}; "
          f"final curves equal: {same}" + ("" if edge else " (STUMPY's extra arcs lie inside)"))
    print("curves agree (ours = from scratch; STUMPY's differs only by its exclusion zone)" if ok
          else "CURVES DIFFER")
    return {"floss_us": 1e6 * t_st, "patternlab_us": 1e6 * t_pl, "ratio": t_st / t_pl, "ok": float(ok)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history", type=int, default=5_000)
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--updates", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-stump", action="store_true",
                    help="start STUMPY's floss from our profile, not stumpy.stump (no compile of stump)")
    args = ap.parse_args(argv)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'where' used without 'out'", UserWarning)  # STUMPY's own
        res = compare(args.history, args.m, args.updates, args.seed, stump=not args.no_stump)
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
