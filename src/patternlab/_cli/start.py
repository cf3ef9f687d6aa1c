"""``patternlab start``: a LocalCluster with the patternlab dashboard that stays up until
interrupted (Ctrl-C, SIGTERM), so that notebooks and other processes can ``Lab.connect`` to it.

The number of workers and adaptive bounds come from the options, else from the configuration
(``PATTERNLAB_MIN_WORKERS``, ``PATTERNLAB_MAX_WORKERS``, Dask's ``patternlab`` section); TLS from
Dask's configuration (``distributed.comm.require-encryption``, ``distributed.comm.tls.*``).

While it runs, the scheduler's address is in a scheduler file (``--scheduler-file``, default
``$PATTERNLAB_SCHEDULER_FILE``, else ``~/.cache/patternlab/scheduler.json``), where ``patternlab
status`` finds it; the file is removed when the cluster stops.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any

import patternlab as pl

from .._text import plural
from ._address import default_scheduler_file, remove_scheduler_file, write_scheduler_file

__all__ = ["register"]


def _start(args: argparse.Namespace) -> int:
    cfg = pl.load_cluster_config(n_workers=args.workers, threads_per_worker=args.threads_per_worker,
                                 min_workers=args.min_workers, max_workers=args.max_workers,
                                 queue_depth_per_worker=args.queue_depth_per_worker)
    n_workers = cfg.n_workers
    if n_workers is None and cfg.adaptive:
        n_workers = max(1, cfg.min_workers or 0)
    kwargs: dict[str, Any] = {}
    if args.host is not None:
        kwargs["host"] = args.host
    if args.port is not None:
        kwargs["scheduler_port"] = args.port

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        lab = pl.Lab.local(n_workers, cfg.threads_per_worker, dashboard_address=args.dashboard_address,
                           **kwargs)
        address = ""
        scheduler_file = Path(args.scheduler_file) if args.scheduler_file else default_scheduler_file()
        try:
            if cfg.adaptive:
                lo = cfg.min_workers if cfg.min_workers is not None else 0
                hi = cfg.max_workers if cfg.max_workers is not None else max(lo, n_workers or 1)
                lab.adapt(lo, hi, queue_depth_per_worker=cfg.queue_depth_per_worker)
            address = lab.scheduler_address
            write_scheduler_file(scheduler_file, address, lab.dashboard_link)
            workers = len(lab.client.scheduler_info()["workers"])
            print(f"patternlab {pl.__version__}: Dask scheduler at {address}")
            print(f"  dashboard:        {lab.dashboard_link}")
            page = dict(lab.status()).get("patternlab_page")
            if page:
                print(f"  patternlab page:  {page}")
            print(f"  workers:          {workers} x {plural(cfg.threads_per_worker, 'thread')}"
                  + (f", adaptive {lo}-{hi}" if cfg.adaptive else ""))
            print(f"  connect:          pl.Lab.connect({address!r})")
            print(f"  status:           patternlab status   (the address is in {scheduler_file})")
            print("Press Ctrl-C to stop.", flush=True)
            cluster = lab.cluster
            assert cluster is not None  # started here
            while not stop.wait(0.25):
                if cluster.status.name not in ("running", "created"):
                    print("patternlab start: the cluster stopped", flush=True)
                    return 1
        finally:
            if address:
                remove_scheduler_file(scheduler_file, address)
            lab.close()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    print("patternlab start: stopped", flush=True)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``start`` subcommand."""
    p = subparsers.add_parser(
        "start", help="start a local Dask cluster with the patternlab dashboard; stays up until Ctrl-C",
        description="Start a LocalCluster (scheduler and worker processes) with the patternlab page on "
                    "its dashboard, print the scheduler address and dashboard link, and keep it up until "
                    "interrupted (Ctrl-C or SIGTERM). Connect from notebooks with "
                    "patternlab.Lab.connect(ADDRESS). TLS follows Dask's configuration "
                    "(distributed.comm.tls.*).")
    p.add_argument("--workers", "-n", type=int, default=None,
                   help="worker processes (default: patternlab.n-workers, else one per core, at most 4)")
    p.add_argument("--threads-per-worker", type=int, default=None, help="threads per worker (default 1)")
    p.add_argument("--min-workers", type=int, default=None,
                   help="adapt: fewest workers (default: $PATTERNLAB_MIN_WORKERS)")
    p.add_argument("--max-workers", type=int, default=None,
                   help="adapt: most workers (default: $PATTERNLAB_MAX_WORKERS)")
    p.add_argument("--queue-depth-per-worker", type=int, default=None,
                   help="adapt on queued tasks per worker instead of Dask's duration estimate")
    p.add_argument("--host", default=None,
                   help="interface of the scheduler (default: loopback only; use TLS to listen wider)")
    p.add_argument("--port", type=int, default=None, help="scheduler port (default: a free port)")
    p.add_argument("--dashboard-address", default=":0", help="dashboard [host]:port (default: a free port)")
    p.add_argument("--scheduler-file", default=None, metavar="PATH",
                   help="where to write the scheduler's address for `patternlab status` (and "
                        "distributed.Client(scheduler_file=PATH)); default: $PATTERNLAB_SCHEDULER_FILE, "
                        "else ~/.cache/patternlab/scheduler.json; removed on exit")
    p.set_defaults(func=_start)
