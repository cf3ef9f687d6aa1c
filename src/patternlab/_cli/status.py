"""``patternlab status``: workers, tasks processed, patterns discovered, throughput, queue depth,
health and the dashboard link of a Dask scheduler running patternlab.

Exit codes: 0 healthy, 3 scheduler unreachable, 4 unhealthy (``/health`` not ``ok`` or fewer
than ``--min-workers`` workers), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os

from ..dashboard import status

__all__ = ["register"]


def _status(args: argparse.Namespace) -> int:
    address = args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if not address:
        raise ValueError("no scheduler given: pass --scheduler tcp://HOST:8786 "
                         "(or set DASK_SCHEDULER_ADDRESS)")
    st = status(address, timeout=args.timeout, min_workers=args.min_workers)
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
                   help="scheduler address, e.g. tcp://127.0.0.1:8786 (default: $DASK_SCHEDULER_ADDRESS)")
    p.add_argument("--json", action="store_true", help="print JSON for scripts and monitoring systems")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for answers (default 5)")
    p.add_argument("--min-workers", type=int, default=1,
                   help="fewer workers than this is unhealthy (default 1; 0 for clusters that "
                        "scale to zero)")
    p.set_defaults(func=_status)
