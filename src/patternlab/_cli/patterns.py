"""``patternlab patterns list|show|export``: the patterns of a run store, a library snapshot or a Redis
pattern store."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

import patternlab as pl

from .._text import plural
from ._io import (
    EXIT_OK,
    configured_redis,
    failures_exit_1,
    hide_password,
    is_redis,
    is_url,
    open_library,
    pattern_dict,
    pattern_rows,
    provenance,
    sparkline,
)

__all__ = ["register"]

DESCRIPTION = """\
Read the patterns of SOURCE: a run store (patternlab batch --store; its merged library), a library
(patternlab perceive --library, PatternLibrary.save) or a Redis pattern store (redis://,
rediss://, redis+cluster:// URL; the library of --domain and --window in --namespace).
"""

EPILOG = """\
examples:
  patternlab patterns list run.zarr                       # the 20 best-supported patterns
  patternlab patterns list run.zarr --top 0 --sort first-seen
  patternlab patterns show run.zarr default-64-8dc8       # one pattern (an id or a unique prefix)
  patternlab patterns export run.zarr -o patterns.csv     # also .json, .npz, or .zarr (a library)
  patternlab patterns list redis://:PASSWORD@localhost:6379/0                  # its libraries
  patternlab patterns list redis://localhost:6379/0 --domain ecg --window 128
  patternlab patterns export redis://localhost:6379/0 --domain ecg --window 128 -o ecg.zarr

SOURCE `redis` (when no file of that name exists) is the store of PATTERNLAB_REDIS_URL, which
keeps a password out of the command line:
  PATTERNLAB_REDIS_URL=redis://:PASSWORD@redis:6379/0 patternlab patterns list redis
"""

FORMATS = ("csv", "json", "npz", "zarr")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``patterns`` subcommand and its ``list``, ``show`` and ``export`` actions."""
    source = argparse.ArgumentParser(add_help=False)
    source.add_argument("source", metavar="SOURCE",
                        help="run store or library (zarr path or URL), or a Redis URL")
    redis = source.add_argument_group("Redis sources")
    redis.add_argument("--domain", "-d", help="the library's domain (default: the only one stored)")
    redis.add_argument("--window", "-m", type=int, metavar="M",
                       help="the library's window (default: the only one stored)")
    redis.add_argument("--namespace", default="patternlab",
                       help="key prefix of the store (default 'patternlab')")

    p = subparsers.add_parser(
        "patterns", help="list, show or export the patterns of a run store, a library or Redis",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    ls = actions.add_parser("list", parents=[source], help="a table of patterns: id, support, "
                            "provenance and shape", description=DESCRIPTION, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    ls.add_argument("--top", "-n", type=int, default=20, metavar="N",
                    help="how many to list (default 20; 0 for all)")
    ls.add_argument("--sort", choices=["support", "first-seen", "id"], default="support",
                    help="order: highest support first (default), as found, or by id")
    ls.add_argument("--archived", action="store_true",
                    help="list the archived patterns (evicted from a full library) instead")
    ls.add_argument("--json", action="store_true", help="print JSON for scripts")
    ls.set_defaults(func=_list)

    sh = actions.add_parser("show", parents=[source], help="one pattern: provenance, support, shape",
                            description=DESCRIPTION, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    sh.add_argument("id", metavar="ID", help="a pattern id, or a prefix that only one id starts with")
    sh.add_argument("--values", action="store_true", help="print the prototype's values too")
    sh.add_argument("--json", action="store_true", help="print JSON (with the prototype's values)")
    sh.set_defaults(func=_show)

    ex = actions.add_parser("export", parents=[source], help="write the patterns as CSV, JSON, NPZ or "
                            "a zarr library", description=DESCRIPTION, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    ex.add_argument("--output", "-o", required=True, metavar="FILE",
                    help="where to write; the format follows the extension (.csv, .json, .npz, .zarr)")
    ex.add_argument("--format", "-f", choices=FORMATS,
                    help="the format, when the extension does not tell")
    ex.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    ex.set_defaults(func=_export)


# -- sources -----------------------------------------------------------------------------------
def _redis_library(args: argparse.Namespace, allow_many: bool) -> tuple[pl.PatternLibrary | None, str]:
    """The library of a Redis store, or (None, table) when several match and ``allow_many``."""
    where = f"Redis {hide_password(args.source)} namespace {args.namespace!r}"
    with pl.RedisPatternStore(args.source, namespace=args.namespace) as store:
        domain, window = args.domain, args.window
        if domain is None or window is None:
            found = [(d, w) for d, w in store.libraries()
                     if (domain is None or d == domain) and (window is None or w == window)]
            if not found:
                raise pl.StoreError(f"{where} holds no library"
                                    + (f" of domain {domain!r}" if domain is not None else "")
                                    + (f" of window {window}" if window is not None else "")
                                    + ": publish one with batch_perceive(..., redis=URL) or "
                                    "patternlab batch --redis URL")
            if len(found) > 1:
                listing = "\n".join(f"  --domain {d} --window {w}  ({plural(store.count(d, w), 'pattern')})"
                                    for d, w in found)
                if allow_many:
                    return None, f"{where} holds {len(found)} libraries:\n{listing}"
                raise pl.InvalidParameterError(f"{where} holds {len(found)} libraries: pick one with\n"
                                               f"{listing}")
            domain, window = found[0]
        lib = store.load_library(domain, window, refresh=True, skip_damaged=True)
        for problem in store.damaged(domain, window):  # what could not be read is named, not hidden
            print(f"patternlab {args.command}: warning: skipped a damaged value: {problem}", file=sys.stderr)
    return lib, f"{where}, domain {domain!r}, window {window}"


def _source(args: argparse.Namespace, allow_many: bool = False) -> tuple[pl.PatternLibrary | None, str]:
    if args.source == "redis" and not Path(args.source).exists():
        args.source = configured_redis("SOURCE redis")
    if args.window is not None and args.window < 3:
        raise pl.InvalidParameterError(f"--window={args.window}: pass a window of at least 3")
    if is_redis(args.source):
        return _redis_library(args, allow_many)
    if args.domain is not None or args.window is not None:
        raise pl.InvalidParameterError("--domain and --window choose a library in a Redis store; a run "
                                       "store or a library holds one: drop them")
    return open_library(args.source)


def _sorted(patterns: list[pl.Pattern], how: str) -> list[pl.Pattern]:
    if how == "support":
        return sorted(patterns, key=lambda p: -p.support)  # stable: ties keep the library's order
    if how == "id":
        return sorted(patterns, key=lambda p: p.id)
    return list(patterns)


# -- actions -----------------------------------------------------------------------------------
@failures_exit_1
def _list(args: argparse.Namespace) -> int:
    if args.top < 0:
        raise pl.InvalidParameterError(f"--top={args.top}: pass 0 (all) or more")
    lib, where = _source(args, allow_many=True)
    if lib is None:  # several libraries in Redis: list them
        print(where)
        return EXIT_OK
    pool = list(lib.archived) if args.archived else list(lib)
    shown = _sorted(pool, args.sort)
    if args.top:
        shown = shown[:args.top]
    if args.json:
        print(json.dumps({"source": where, "domain": lib.domain, "window": lib.window,
                          "patterns": len(lib), "archived": len(lib.archived),
                          "listed": [pattern_dict(p) for p in shown]}, indent=2))
        return EXIT_OK
    kind = "archived patterns" if args.archived else "patterns"
    print(f"{where}: {plural(len(lib), 'pattern')}, {len(lib.archived)} archived (domain {lib.domain!r}, "
          f"window {lib.window})")
    if not pool:
        print(f"no {kind}")
        return EXIT_OK
    print(f"{len(shown)} {kind}" + (f" of {len(pool)}" if len(shown) < len(pool) else "")
          + f", by {args.sort}:")
    for row in pattern_rows(shown):
        print(row)
    return EXIT_OK


def _find(lib: pl.PatternLibrary, key: str) -> tuple[pl.Pattern, bool]:
    """The pattern with id ``key`` (or the only one whose id starts with it); whether archived."""
    pools = [(p, False) for p in lib] + [(p, True) for p in lib.archived]
    exact = [x for x in pools if x[0].id == key]
    if exact:
        return exact[0]
    hits = [x for x in pools if x[0].id.startswith(key)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise pl.PatternNotFoundError(f"no pattern with id {key!r} (or starting with it) among "
                                      f"{plural(len(lib), 'pattern')} and {len(lib.archived)} archived: "
                                      "`patternlab patterns list` shows the ids")
    sample = ", ".join(p.id for p, _ in hits[:5])
    raise pl.PatternNotFoundError(f"{len(hits)} pattern ids start with {key!r} ({sample}"
                                  f"{' ...' if len(hits) > 5 else ''}): give more of the id")


@failures_exit_1
def _show(args: argparse.Namespace) -> int:
    lib, where = _source(args)
    assert lib is not None
    p, archived = _find(lib, args.id)
    if args.json:
        print(json.dumps({**pattern_dict(p, values=True), "archived": archived, "source": where},
                         indent=2))
        return EXIT_OK
    rank = 1 + sum(q.support > p.support for q in lib) if not archived else None
    print(f"pattern {p.id}" + (" (archived)" if archived else "") + f"  from {where}")
    print(f"  domain        {p.domain}")
    print(f"  window        {p.window}")
    print(f"  support       {p.support}" + (f"  (rank {rank} of {len(lib)})" if rank else ""))
    print(f"  first seen    {provenance(p.first_seen)}")
    print(f"  last updated  {provenance(p.last_updated)}")
    print(f"  shape         {sparkline(p.prototype, 64)}")
    if args.values:
        z = np.asarray(p.prototype) * np.sqrt(p.window)
        print("  prototype (z-normalized: zero mean, unit standard deviation):")
        for k in range(0, z.size, 8):
            print("   " + " ".join(f"{x:8.4f}" for x in z[k:k + 8]))
    return EXIT_OK


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = Path(args.output).suffix.lstrip(".").lower()
    if suffix in FORMATS:
        return suffix
    raise pl.InvalidParameterError(f"--output {args.output}: cannot tell the format from "
                                   f"{'.' + suffix if suffix else 'no extension'}; use an extension "
                                   f"among .{', .'.join(FORMATS)} or pass --format")


@failures_exit_1
def _export(args: argparse.Namespace) -> int:
    fmt = _format(args)
    out = args.output
    if not is_url(out) and Path(out).exists() and not args.overwrite:
        raise pl.InvalidParameterError(f"{out} already exists: pass --overwrite to replace it")
    lib, where = _source(args)
    assert lib is not None
    if fmt == "zarr":
        lib.save(out, overwrite=args.overwrite)
    elif fmt == "npz":
        with open(out, "wb") as f:  # numpy.savez would append .npz to other names
            np.savez(f, **lib.to_arrays())  # type: ignore[arg-type]
    elif fmt == "json":
        doc = {"source": where, "domain": lib.domain, "window": lib.window,
               "patterns": [pattern_dict(p, values=True) for p in lib]}
        Path(out).write_text(json.dumps(doc, indent=1) + "\n")
    else:
        _write_csv(lib, out)
    print(f"wrote {plural(len(lib), 'pattern')} ({fmt}) from {where} to {out}")
    return EXIT_OK


def _write_csv(lib: pl.PatternLibrary, path: str) -> None:
    """One pattern a row: id, domain, support, provenance, then the prototype's values."""
    import csv

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "domain", "support", "first_signal", "first_offset", "last_signal",
                    "last_offset", *(f"v{k}" for k in range(lib.window))])
        for p in lib:
            row: list[Any] = [p.id, p.domain, p.support, p.first_seen[0], p.first_seen[1],
                              p.last_updated[0], p.last_updated[1]]
            w.writerow(row + [repr(float(x)) for x in np.asarray(p.prototype)])
