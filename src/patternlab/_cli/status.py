"""``patternlab status``: workers, tasks processed, patterns discovered, throughput, queue depth,
health and the dashboard link of a Dask scheduler running patternlab.

The scheduler: ``--scheduler``, else ``--scheduler-file``, else ``$DASK_SCHEDULER_ADDRESS``, else
the scheduler file ``patternlab start`` writes (``$PATTERNLAB_SCHEDULER_FILE``, else
``~/.cache/patternlab/scheduler.json``).

Exit codes: 0 healthy, 3 scheduler unreachable, 4 unhealthy (``/health`` not ``ok`` or fewer
than ``--min-workers`` workers), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ..dashboard import status
from ._address import default_scheduler_file, read_scheduler_file

__all__ = ["register"]


def _address(args: argparse.Namespace) -> tuple[str, Path | None]:
    """The scheduler's address and the scheduler file it was read from (None: not from a file)."""
    if args.scheduler:
        return args.scheduler, None
    if not args.scheduler_file and os.environ.get("DASK_SCHEDULER_ADDRESS"):
        return os.environ["DASK_SCHEDULER_ADDRESS"], None
    path = Path(args.scheduler_file) if args.scheduler_file else default_scheduler_file()
    info = read_scheduler_file(path)
    if info is None:
        raise ValueError(f"no scheduler given and no scheduler file at {path} (`patternlab start` writes "
                         "one while its cluster runs): pass --scheduler tcp://HOST:8786, "
                         "--scheduler-file PATH, or set DASK_SCHEDULER_ADDRESS")
    return str(info["address"]), path


def _status(args: argparse.Namespace) -> int:
    address, source = _address(args)
    st = status(address, timeout=args.timeout, min_workers=args.min_workers)
    if source is not None:
        st["scheduler_file"] = str(source)
        if not st["reachable"]:
            st["problems"].append(f"the address was read from {source}: is the `patternlab start` that "
                                  "wrote it still running?")
    if args.json:
        print(json.dumps({**st, "exit_code": st.exit_code}, indent=2, sort_keys=True))
    else:
        print(st.to_text())
    return st.exit_code


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``status`` subcommand."""
    p = subparsers.add_parser(
        "status", help="workers, tasks, patterns, throughput, queue and health of a scheduler",
        description="Report what a Dask scheduler is doing for patternlab. Exit codes: 0 healthy, "
                    "3 scheduler unreachable, 4 unhealthy (/health not ok, or fewer than "
                    "--min-workers workers), 2 bad arguments.")
    p.add_argument("--scheduler", "-s", metavar="ADDRESS",
                   help="scheduler address, e.g. tcp://127.0.0.1:8786 (default: $DASK_SCHEDULER_ADDRESS, "
                        "else the scheduler file of `patternlab start`)")
    p.add_argument("--scheduler-file", metavar="PATH",
                   help="read the address from this scheduler file (default: $PATTERNLAB_SCHEDULER_FILE, "
                        "else ~/.cache/patternlab/scheduler.json, written by `patternlab start`)")
    p.add_argument("--json", action="store_true", help="print JSON for scripts and monitoring systems")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for answers (default 5)")
    p.add_argument("--min-workers", type=int, default=1,
                   help="fewer workers than this is unhealthy (default 1; 0 for clusters that "
                        "scale to zero)")
    p.set_defaults(func=_status)
