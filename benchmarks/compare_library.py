"""What the learned library holds on planted corpora: recall, precision, duplicates, junk.

    python benchmarks/compare_library.py                      # 3,000 signals per background
    python benchmarks/compare_library.py --signals 1000 --mode loop --backgrounds walk

Each corpus (``patternlab.datasets.synthetic.planted_corpus``) holds signals of 600 to 1,400
samples, each carrying two noisy copies (random amplitude, offset and noise) of one of four
planted shapes, on a background of random walks, of white noise, or the quasi-periodic one of
``planted_signal``. The library is learned with ``pl.perceive`` in a loop and with
``pl.batch_perceive(..., client=False)`` (partitions of 64 signals), with the default
``EngineConfig`` (window 64) and, for comparison, with the settings that learn as patternlab did
before the pool (``min_complexity=0, min_support=1, max_lag=0``).

Figures (``PlantedCorpus.score``, a pattern *is* a shape when it correlates >= 0.9 with it shifted
by up to ``--lag`` samples, default window // 2, the fold lag of the default settings: a
shape framed around its activity counts, and so does every shifted copy of it): recall (shapes
found), precision (share of the 4 highest-support patterns that are shapes), duplicates
(patterns per shape), junk (share of patterns with support 1), the library's size along the
way, and ms per signal. Targets: recall
1.0, precision >= 0.9, one pattern per shape, junk < 10%. The exit status is 1 when a target is
missed by the default settings.
"""

from __future__ import annotations

import argparse
import sys
import time

try:  # imported as part of the benchmarks package (asv, tests), or run as a script
    from benchmarks._machine import describe
except ImportError:  # pragma: no cover
    from _machine import describe  # type: ignore[no-redef]


def main(argv: list[str] | None = None) -> int:
    import patternlab as pl
    from patternlab._numba import numba_threads
    from patternlab.datasets.synthetic import BACKGROUNDS, planted_corpus

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--signals", type=int, default=3000)
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--backgrounds", nargs="+", default=list(BACKGROUNDS), choices=BACKGROUNDS)
    ap.add_argument("--mode", choices=("loop", "batch", "both"), default="both")
    ap.add_argument("--lag", type=int, default=None)
    ap.add_argument("--old", action="store_true", help="also run the settings of before the pool")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    lag = args.window // 2 if args.lag is None else args.lag
    print(describe())
    print(f"{args.signals:,} signals per background, window {args.window}, shapes matched within "
          f"{lag} samples")
    settings = {"default": pl.EngineConfig(window=args.window)}
    if args.old:
        settings["before the pool"] = pl.EngineConfig(window=args.window, min_complexity=0.0,
                                                      min_support=1, max_lag=0)
    modes = ("loop", "batch") if args.mode == "both" else (args.mode,)
    ok = True
    for background in args.backgrounds:
        corpus = planted_corpus(args.signals, background, window=args.window, seed=args.seed)
        for name, cfg in settings.items():
            for mode in modes:
                sizes: list[int] = []
                t0 = time.perf_counter()
                with numba_threads(1):
                    if mode == "loop":
                        lib = pl.PatternLibrary(window=args.window, config=cfg)
                        step = max(1, args.signals // 6)
                        for i, x in enumerate(corpus.signals):
                            pl.perceive(x, "planted", lib, signal_id=i)
                            if (i + 1) % step == 0:
                                sizes.append(len(lib))
                    else:
                        lib = pl.batch_perceive(corpus.signals, "planted", config=cfg, client=False,
                                                batch_size=64, progress=False).library
                ms = 1000 * (time.perf_counter() - t0) / args.signals
                s = corpus.score(lib, max_lag=lag)
                dups = list(s["duplicates"].values())
                hit = (s["recall"] == 1.0 and s["precision"] >= 0.9 and dups == [1] * len(dups)
                       and s["junk"] < 0.1)
                if name == "default":
                    ok &= hit
                grow = f"  size {' '.join(map(str, sizes))}" if sizes else ""
                c = lib.counters
                print(f"{background:8s} {mode:5s} {name:15s} patterns {s['patterns']:4d}  recall "
                      f"{s['recall']:.2f}  precision {s['precision']:.2f}  duplicates "
                      f"{' '.join(map(str, dups))}  junk {100 * s['junk']:4.1f}%  {ms:6.1f} ms/signal"
                      f"{grow}  [seen {c['seen']} simple {c['too_simple']} pooled {c['pooled']} "
                      f"promoted {c['promoted']} aged {c['aged_out']}]  {'ok' if hit else 'MISSED'}",
                      flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
