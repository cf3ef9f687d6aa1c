"""``patternlab batch INPUT --store PATH``: batch_perceive over a collection on a Dask cluster,
checkpointed into a zarr run store, resumed when the store exists."""

from __future__ import annotations

import argparse
import inspect
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import patternlab as pl

from .._text import plural
from ._io import (
    EXIT_OK,
    absolute,
    configured_redis,
    engine_config,
    failures_exit_1,
    hide_password,
    is_url,
    library_settings,
    positive,
    read_signals,
)

__all__ = ["register"]

DESCRIPTION = """\
Perceive every signal of INPUT (patternlab.batch_perceive) on a Dask cluster and merge what was
learned into one library, deterministically: the same input and settings give the same library
whatever the number of workers.

Every finished partition (--batch-size signals, one task) is checkpointed into the zarr run store
--store. When the store exists, the run resumes: finished partitions are read back, the others
are computed, and the library is the one an uninterrupted run gives. A store that belongs to a
different run (other input, settings, domain or batch size) is refused unless --overwrite.

INPUT is a corpus written by patternlab.write_signals (read by the workers themselves, a partition
at a time), a 2-D .npy array (one signal a row) or a directory of .npy files (sorted by name; one
signal a file, or one a row of a 2-D file). Signal ids are their positions, from 0.
"""

EPILOG = """\
examples:
  patternlab batch corpus.zarr --store run.zarr                  # a local cluster, one worker a core
  patternlab batch corpus.zarr --store run.zarr                  # again: resumes, or reads it back
  patternlab batch signals.npy --store run.zarr --workers 4 --batch-size 32
  patternlab batch corpus.zarr --store run.zarr --cluster tcp://scheduler:8786
  patternlab batch corpus.zarr --store run.zarr --redis redis://localhost:6379/0
  PATTERNLAB_REDIS_URL=redis://:PASSWORD@redis:6379/0 patternlab batch corpus.zarr -s run.zarr --redis
  patternlab patterns list run.zarr                              # what the run learned

--cluster: `local` (a LocalCluster on this machine), `ssh` (patternlab.ssh.hosts in Dask's
configuration), `kube` (the Dask operator; the patternlab.kube section) or the address of a running
scheduler (`patternlab start` prints one). Default: PATTERNLAB_CLUSTER, else local. --no-cluster
runs in this process without Dask. The workers read a corpus and write the run store themselves:
on other machines, put both where every worker sees them (a shared file system, or s3:// with
s3fs); local paths are passed to them as absolute paths.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``batch`` subcommand."""
    p = subparsers.add_parser(
        "batch", help="learn one library from a whole collection on a Dask cluster, checkpointed "
        "and resumable", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT", help="signal corpus (zarr), 2-D .npy array, or a directory "
                   "of .npy files")
    p.add_argument("--store", "-s", required=True, metavar="PATH",
                   help="the run store (zarr; a path, file://, s3:// ...): checkpoint and result")
    p.add_argument("--redis", metavar="URL", nargs="?", const="",
                   help="start from the library in this Redis pattern store and publish what was "
                   "learned into it (redis://[:PASSWORD@]HOST:PORT/DB, rediss://, redis+cluster://); "
                   "without URL, PATTERNLAB_REDIS_URL's")
    p.add_argument("--cluster", metavar="local|ssh|kube|ADDRESS",
                   help="where to run (default: PATTERNLAB_CLUSTER, else local)")
    p.add_argument("--no-cluster", action="store_true", help="run in this process, without Dask")
    p.add_argument("--workers", "-w", type=int, metavar="N",
                   help="workers to start (local, ssh, kube; default: one per core, at most 4)")
    p.add_argument("--batch-size", "-b", type=int, default=64, metavar="N",
                   help="signals per partition (one task, one checkpoint; default 64)")
    p.add_argument("--window", "-m", type=int, metavar="M",
                   help="pattern length in samples (default: the configuration's, 64)")
    p.add_argument("--domain", "-d", default=None, help="domain tag of the signals (default 'default', "
                   "or the --library's)")
    p.add_argument("--library", "-l", metavar="PATH",
                   help="start from this library (zarr, as saved by perceive --library)")
    p.add_argument("--config", "-c", metavar="FILE", help="settings file (JSON or YAML)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a store that holds a different run instead of refusing it")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_batch)


def supports_redis() -> bool:
    """Whether this patternlab's :func:`~patternlab.batch_perceive` takes ``redis=``."""
    return "redis" in inspect.signature(pl.batch_perceive).parameters


def _previous(store: str) -> tuple[int, int] | None:
    """``(done, total)`` partitions of an existing run store; None when there is none yet."""
    if not is_url(store) and not Path(store).exists():
        return None
    try:
        return pl.open_run(store).progress
    except pl.StoreError:
        return None  # nothing there, or not a run: batch_perceive tells which


@failures_exit_1
def _batch(args: argparse.Namespace) -> int:
    positive("--workers", args.workers)
    positive("--batch-size", args.batch_size)
    positive("--window", args.window)
    if args.no_cluster and (args.cluster or args.workers):
        raise pl.InvalidParameterError("--no-cluster runs in this process: drop --cluster/--workers")
    if args.redis == "":
        args.redis = configured_redis("--redis")
    if args.redis and not supports_redis():
        raise pl.InvalidParameterError("--redis: this version of patternlab.batch_perceive cannot use a "
                                       "Redis store; upgrade patternlab, or drop --redis")
    signals = read_signals(args.input, batch=True)
    library = None
    if args.library:
        library = pl.PatternLibrary.load(args.library)
        config, domain = library_settings(library, args)
    else:
        config = engine_config(args.config, window=args.window)
        domain = args.domain or "default"
    previous = _previous(args.store)
    print(signals.description)
    print(f"window {config.window}, domain {domain!r}, batch size {args.batch_size}, "
          f"{plural(-(-len(signals) // args.batch_size), 'partition')}; store {args.store}"
          + (f" (found, {previous[0]} of {previous[1]} partitions done)" if previous else ""))
    kwargs: dict[str, Any] = {"store": absolute(args.store), "overwrite": args.overwrite}
    if args.redis:
        kwargs["redis"] = args.redis
    finished = previous is not None and previous[0] == previous[1]  # read back: no cluster needed
    cm: Any = nullcontext(False) if args.no_cluster or finished else _lab(args)
    with cm as lab:
        if lab is not False:
            workers = len(lab.client.scheduler_info()["workers"])
            print(f"cluster: {lab.kind}, {workers} worker(s), scheduler {lab.scheduler_address}, "
                  f"dashboard {lab.dashboard_link}", flush=True)
        try:
            out = pl.batch_perceive(signals.data, domain, library, config, client=lab,
                                    batch_size=args.batch_size, progress=not args.no_progress, **kwargs)
        except pl.RunMismatchError as exc:
            raise pl.RunMismatchError(f"{exc} (on the command line: --overwrite)") from None
        except pl.StoreConnectionError as exc:
            if not hasattr(exc, "result"):
                raise
            raise pl.StoreConnectionError(  # the run is complete in --store: only the publish is left
                f"the run finished and is saved in {args.store}, but publishing it to Redis failed: "
                f"{exc}. On the command line: run the same `patternlab batch` command again once Redis "
                "is reachable: it reads the finished run back and publishes it under the same token "
                "(nothing is counted twice)") from None
    _report(out, args, signals.names)
    return EXIT_OK


def _lab(args: argparse.Namespace) -> pl.Lab:
    return pl.Lab.from_config(args.cluster, n_workers=args.workers)


def _report(out: pl.BatchResult, args: argparse.Namespace, names: list[str] | None) -> None:
    m = out.metrics
    resumed = int(m.get("partitions_resumed", 0))
    tasks = int(m["tasks_processed"])
    total = resumed + tasks
    if resumed:
        print(f"resumed {resumed:,} of {plural(total, 'partition')} from {args.store}; computed {tasks:,}")
    else:
        print(f"computed {plural(tasks, 'partition')}")
    print(f"{plural(int(m['signals']), 'signal')}, {len(out.errors):,} skipped: "
          f"{plural(len(out.library), 'pattern')} ({int(m['patterns_discovered']):,} new) in "
          f"{m.get('wall_seconds', 0.0):.1f} s, {m['throughput_per_sec']:.1f} signals/s")
    for sid, why in sorted(out.errors.items())[:5]:
        label = names[sid] if names else f"signal {sid}"
        print(f"  skipped {label}: {why}", file=sys.stderr)
    if len(out.errors) > 5:
        print(f"  ... {len(out.errors) - 5} more skipped", file=sys.stderr)
    print(f"saved to {args.store}; list the patterns: patternlab patterns list {args.store}")
    if args.redis:
        print(f"published to {hide_password(args.redis)}")
