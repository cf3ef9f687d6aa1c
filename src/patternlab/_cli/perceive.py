"""``patternlab perceive FILE``: events, motifs, discords and known patterns of the signals in a file,
learning a library that ``--library`` loads and saves."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import patternlab as pl

from .._text import plural
from ._io import (
    EXIT_OK,
    EXIT_USAGE,
    engine_config,
    failures_exit_1,
    is_url,
    library_settings,
    pattern_dict,
    positive,
    read_signals,
    sparkline,
)

__all__ = ["register"]

DESCRIPTION = """\
Perceive each signal of FILE in turn (patternlab.perceive): its events (sudden jumps), its top
motifs (pairs of windows that repeat) and discords (windows unlike any other), the occurrences of
the patterns the library already knows, and what it learned.

FILE is a .npy file (a 1-D signal, or a 2-D array of one signal a row), a .csv or .txt file (one
signal a column, or a single row; an optional header line names the columns), or a corpus written
by patternlab.write_signals. Signals are numbered from 0 in file order (their signal ids).
"""

EPILOG = """\
examples:
  patternlab perceive ecg.npy -m 128
  patternlab perceive sensors.csv --domain vibration --library patterns.zarr
        (learn into patterns.zarr: it is loaded when it exists and saved afterwards)
  patternlab perceive new.npy --library patterns.zarr --no-learn
        (only recognize what the library knows; the library is left unchanged)
  patternlab perceive corpus.zarr --json > found.json

The window, thresholds and seed come from --config FILE (JSON or YAML), PATTERNLAB_* environment
variables and Dask's `patternlab` section (see patternlab.load_config), then from the options. A
library loaded with --library brings its own settings.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``perceive`` subcommand."""
    p = subparsers.add_parser(
        "perceive", help="events, motifs, discords and known patterns of the signals in a file",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE", help=".npy, .csv or .txt file, or a signal corpus (zarr)")
    p.add_argument("--window", "-m", type=int, metavar="M",
                   help="pattern length in samples (default: the configuration's, 64)")
    p.add_argument("--domain", "-d", help="domain tag of the signals (default: the library's, or "
                   "'default')")
    p.add_argument("--library", "-l", metavar="PATH",
                   help="a library (zarr) to start from when it exists, saved with what was learned")
    p.add_argument("--no-learn", action="store_true",
                   help="recognize known patterns only; do not change the library")
    p.add_argument("--config", "-c", metavar="FILE", help="settings file (JSON or YAML)")
    p.add_argument("--show", type=int, default=5, metavar="N",
                   help="how many motifs, discords and matches to list per signal (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON for scripts instead of text")
    p.set_defaults(func=_perceive)


def _library(args: argparse.Namespace) -> tuple[pl.PatternLibrary, pl.EngineConfig, str, bool]:
    """The library to use, its config, the domain, and whether it was loaded."""
    lib = None
    if args.library:
        try:
            lib = pl.PatternLibrary.load(args.library)
        except pl.StoreError:
            if not is_url(args.library) and Path(args.library).exists():
                raise  # something else is stored there: never overwrite it
    if lib is not None:
        lib.config, domain = library_settings(lib, args)
        return lib, lib.config, domain, True
    cfg = engine_config(args.config, window=args.window)
    domain = args.domain or "default"
    return pl.PatternLibrary(cfg.window, domain, config=cfg), cfg, domain, False


@failures_exit_1
def _perceive(args: argparse.Namespace) -> int:
    positive("--window", args.window)
    if args.show < 0:
        raise pl.InvalidParameterError(f"--show={args.show}: pass 0 or more")
    signals = read_signals(args.file, batch=False)
    lib, cfg, domain, loaded = _library(args)
    before = len(lib)
    results: list[dict[str, Any]] = []
    if not args.json:
        print(signals.description)
        where = f"{len(lib)} patterns from {args.library}" if loaded else "a new library"
        print(f"window {cfg.window}, domain {domain!r}, {where}"
              f"{'' if not args.no_learn else ' (not learning)'}")
    skipped = 0
    for i, T in enumerate(signals):
        try:
            res = pl.perceive(T, domain, lib, cfg, signal_id=i, learn=not args.no_learn)
        except pl.PatternlabError as exc:
            if isinstance(exc, pl.InvalidWindowError):  # the fix, as typed on the command line
                exc = pl.InvalidWindowError(re.sub(r"config=pl\.EngineConfig\(window=(\d+)\)", r"-m \1",
                                                   str(exc)))
            if len(signals) == 1:
                raise exc from None
            skipped += 1  # in a collection, one bad signal is reported, not fatal (as in batch)
            results.append({"signal": i, "name": signals.name(i), "error": str(exc)})
            if not args.json:
                print(f"\n{signals.name(i)}: skipped: {exc}")
            continue
        results.append(_as_dict(i, signals.name(i), T.shape[0], res))
        if not args.json:
            _print(signals.name(i), T.shape[0], res, args.show)
    saved = False
    if args.library and not args.no_learn:
        lib.save(args.library, overwrite=loaded)
        saved = True
    if args.json:
        print(json.dumps({"input": args.file, "window": cfg.window, "domain": domain,
                          "library": {"path": args.library, "patterns_before": before,
                                      "patterns": len(lib), "saved": saved},
                          "signals": results}, indent=2))
    else:
        print(f"\nlibrary: {plural(len(lib), 'pattern')} ({len(lib) - before:+d})"
              + (f", saved to {args.library}" if saved else "")
              + (f"; {plural(skipped, 'signal')} skipped" if skipped else ""))
    if skipped == len(signals):
        print(f"patternlab perceive: error: none of the {skipped} signals could be perceived",
              file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _print(name: str, n: int, res: pl.Perception, show: int) -> None:
    print(f"\n{name}: {n:,} samples: {plural(len(res.events), 'event')}, {plural(len(res.motifs), 'motif')}, "
          f"{plural(len(res.discords), 'discord')}, {plural(len(res.matches), 'match', 'matches')}; "
          f"{len(res.new_patterns)} new and {len(res.updated_patterns)} updated "
          f"{'pattern' if len(res.new_patterns) + len(res.updated_patterns) == 1 else 'patterns'}")
    if len(res.events) and show:
        ev = ", ".join(str(int(e)) for e in res.events[:show * 2])
        more = f" ... ({len(res.events) - show * 2} more)" if len(res.events) > show * 2 else ""
        print(f"  events at {ev}{more}")
    for r, mo in enumerate(res.motifs[:show], 1):
        print(f"  motif   #{r}  windows {mo.a:>7,} and {mo.b:>7,}  distance {mo.distance:7.3f}")
    for r, d in enumerate(res.discords[:show], 1):
        print(f"  discord #{r}  window  {d.index:>7,}              distance {d.distance:7.3f}")
    by_pattern: dict[str, list[pl.Match]] = {}
    for m in res.matches:
        by_pattern.setdefault(m.pattern_id, []).append(m)
    ranked = sorted(by_pattern.items(), key=lambda kv: -len(kv[1]))  # stable: library order on ties
    for pid, ms in ranked[:show]:
        best = max(ms, key=lambda m: m.correlation)
        print(f"  match   {pid}  {len(ms):>3} time{'s' if len(ms) > 1 else ' '}  best at "
              f"{best.offset:,} (correlation {best.correlation:.3f})")
    if len(ranked) > show:
        print(f"  ... {len(ranked) - show} more patterns matched")
    by_id = {p.id: p for p in res.patterns}
    for pid in res.new_patterns[:show]:
        p = by_id.get(pid)
        print(f"  new     {pid}" + (f"  {sparkline(p.prototype, 24)}" if p is not None else ""))


def _as_dict(i: int, name: str, n: int, res: pl.Perception) -> dict[str, Any]:
    return {"signal": i, "name": name, "samples": n,
            "events": [int(e) for e in res.events],
            "motifs": [{"a": int(m.a), "b": int(m.b), "distance": float(m.distance)}
                       for m in res.motifs],
            "discords": [{"index": int(d.index), "distance": float(d.distance),
                          "neighbor": int(d.neighbor)} for d in res.discords],
            "matches": [{"pattern": m.pattern_id, "offset": int(m.offset),
                         "correlation": float(m.correlation)} for m in res.matches],
            "new_patterns": list(res.new_patterns), "updated_patterns": list(res.updated_patterns),
            "patterns": [pattern_dict(p) for p in res.patterns]}
