"""Dask plumbing of batch_perceive: choosing the client, the worker plugin, the task graph."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .errors import InvalidParameterError

#: Topic of the events a worker logs on the scheduler after each partition (``Worker.log_event``):
#: ``{"partition", "signals", "patterns_founded", "seconds", "domain", "run"}``.
PARTITION_EVENT = "patternlab-partition"
#: Topic of the event the client logs when a batch finishes: ``BatchResult.metrics`` (with
#: ``partitions_resumed``) plus ``"domain"`` and ``"top_patterns"`` (the merged library's
#: highest-support patterns: id, support, prototype values).
RUN_EVENT = "patternlab-run"


class PatternlabWorkerPlugin:
    """Prepares every worker: the kernels are loaded (from numba's on-disk cache, or compiled
    once) before any task, so that no task pays compilation; and glibc's allocator is told to
    keep reusing freed blocks (see :func:`tune_allocator`).

    Registered by :func:`batch_perceive` and :class:`~patternlab.Lab` with
    ``client.register_plugin``; idempotent.
    """

    name = "patternlab"

    def setup(self, worker: Any = None) -> None:
        tune_allocator()
        warm_up()

    def teardown(self, worker: Any = None) -> None:
        return None


#: glibc ``mallopt`` parameters and the value set on workers: allocations below 64 MiB come
#: from the heap, and up to 64 MiB of freed memory at its top is kept for reuse.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _ALLOCATOR_KEEP = -1, -3, 64 << 20


def tune_allocator() -> bool:
    """Let glibc reuse freed memory in this (worker) process; return whether it applied.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which makes glibc hand
    memory back to the kernel eagerly and, as a side effect, turns off its adaptive mmap
    threshold: every array above 128 KiB is then a fresh ``mmap`` whose pages fault in on first
    touch. A partition allocates such arrays for every signal (library copies, profiles), and
    measured with ``getrusage`` a worker took ~26,000 page faults for 400 signals against ~600
    with these settings, and ~8% more CPU time than the same work in a plain process. Memory
    above 64 MiB is still returned to the kernel. No effect on non-glibc platforms.
    """
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mmap_ok = bool(mallopt(_M_MMAP_THRESHOLD, _ALLOCATOR_KEEP))
    return bool(mallopt(_M_TRIM_THRESHOLD, _ALLOCATOR_KEEP)) and mmap_ok


def warm_up() -> None:
    """Load (or compile) the kernels a task uses, on a tiny input: perceive, and the merges of
    partition results (which search and compare prototype sets)."""
    import numpy as np

    from ._numba import numba_threads, parallel_guard
    from .config import EngineConfig
    from .engine import perceive
    from .library import PatternLibrary

    T = np.sin(np.linspace(0, 12 * np.pi, 300)) + np.linspace(0, 1, 300)
    cfg = EngineConfig(window=16)
    lib = PatternLibrary(16, config=cfg)
    other = PatternLibrary(16, config=cfg)
    with parallel_guard(), numba_threads(1):
        perceive(T, "warm-up", lib, cfg)
        perceive(T[::-1].copy(), "warm-up", lib, cfg, signal_id=1)
        perceive(np.cos(np.linspace(0, 9 * np.pi, 300)) * np.linspace(1, 2, 300), "warm-up", other,
                 cfg, signal_id=2)
        lib.merge(other)


def _register(client: Any) -> None:
    from distributed.diagnostics.plugin import WorkerPlugin

    class _Plugin(PatternlabWorkerPlugin, WorkerPlugin):
        pass

    client.register_plugin(_Plugin(), name="patternlab")


def resolve_client(client: Any) -> tuple[Any, Callable[[], None] | None]:
    """The Dask client to use and, when we started a cluster for this call, how to close it.

    ``False``: no Dask. A Lab: its client. A Client: itself. ``None``: the current Lab, else
    Dask's default client, else an embedded LocalCluster (closed afterwards).
    """
    if client is False:
        return None, None
    from distributed import Client

    if client is None:
        from .lab import Lab

        lab = Lab.current()
        if lab is not None:
            return lab.client, None
        try:
            from distributed import default_client

            return _prepared(default_client()), None
        except ValueError:
            pass
        from distributed import LocalCluster

        n = max(1, min(4, os.cpu_count() or 1))
        from .lab import dashboard_preload

        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=":0",
                               scheduler_kwargs={"preload": dashboard_preload()})
        c = Client(cluster)

        def close() -> None:
            c.close()
            cluster.close()

        return _prepared(c), close
    if hasattr(client, "client") and isinstance(client.client, Client):  # a Lab
        return client.client, None
    if isinstance(client, Client):
        return _prepared(client), None
    raise InvalidParameterError(f"client must be a distributed.Client, a patternlab.Lab, False (in "
                                f"this process) or None; got {type(client).__name__}")


def _prepared(client: Any) -> Any:
    if not getattr(client, "_patternlab_ready", False):
        _register(client)
        client._patternlab_ready = True
    return client


def partition_task(index: int, source: Any, start: int, stop: int, snapshot: dict[str, Any],
                   cfg: dict[str, Any], domain: str, run: str, store: Any = None) -> Any:
    """The task of one partition: :func:`~patternlab.batch.run_partition` on one thread, its
    checkpoint written into the run store (when given; the task is the only writer of its
    shards), then an event on the scheduler (:data:`PARTITION_EVENT`) for monitoring."""
    from .batch import run_partition

    delta = run_partition(index, source, start, stop, snapshot, cfg, domain, 1)
    if store is not None:
        store.write_partition(delta, start, stop)
    try:
        from distributed import get_worker

        get_worker().log_event(PARTITION_EVENT, {
            "partition": int(index), "signals": int(stop - start),
            "patterns_founded": len(delta.new["ids"]), "seconds": float(delta.seconds),
            "domain": domain, "run": run})
    except ValueError:  # not inside a worker
        pass
    return delta


def load_partition_task(store: Any, index: int, start: int, stop: int) -> Any:
    """The task of a partition finished by an earlier run: its delta, read from the run store."""
    return store.read_partition(index, start, stop)


def log_run(client: Any, metrics: dict[str, float], domain: str, library: Any = None,
            top: int = 8) -> None:
    """Log the :data:`RUN_EVENT` of a finished batch on the scheduler: the metrics, the domain
    and, given the merged ``library``, its ``top`` patterns by support as plain lists
    (``"top_patterns"``: ``[{"id", "support", "values"}, ...]``) for the dashboard page."""
    try:
        import numpy as np

        msg: dict[str, Any] = {**{k: float(v) for k, v in metrics.items()}, "domain": domain}
        if library is not None and len(library):
            ids, supports, protos = library.ids, library.supports, library.prototypes
            order = np.argsort(-np.asarray(supports), kind="stable")[:top]
            msg["top_patterns"] = [{"id": str(ids[i]), "support": int(supports[i]),
                                    "values": [float(v) for v in protos[i]]} for i in order]
        client.log_event(RUN_EVENT, msg)
    except Exception:  # monitoring must never fail a finished batch
        pass


def run_on_dask(client: Any, source: Any, bounds: list[tuple[int, int, int]], snapshot: dict[str, Any],
                cfg: dict[str, Any], domain: str, progress: bool, store: Any = None,
                done: Any = None) -> Any:
    """Submit one task per partition and the fixed-shape tree of merges; return the root delta.

    With a run store, partitions already done are read back (``load-partition-*``) instead of
    computed; the others write their checkpoint from the task itself, or, for a store only
    this process sees (``memory://``), from here as they finish.
    """
    import uuid

    from distributed import as_completed

    from ._progress import ProgressBar
    from .batch import merge_deltas
    from .signals import Slice

    run = uuid.uuid4().hex[:8]
    snap = client.scatter(snapshot, broadcast=True, hash=False) if snapshot["ids"].size else snapshot

    def part_source(s: int, e: int) -> Any:
        # a corpus (or a dask array) is read by the task itself; signals held in memory travel
        # with their own task only
        return Slice(source.read(s, e), s, len(source)) if _is_in_memory(source) else source

    shared = store is not None and store.shared
    parts = []
    for k, s, e in bounds:
        if store is not None and done[k]:
            if shared:
                parts.append(client.submit(load_partition_task, store, k, s, e,
                                           key=f"load-partition-{k}-{run}", pure=False))
            else:
                parts.append(client.scatter(store.read_partition(k, s, e), hash=False))
            continue
        parts.append(client.submit(partition_task, k, part_source(s, e), s, e, snap, cfg, domain, run,
                                   store if shared else None, key=f"perceive-partition-{k}-{run}",
                                   pure=False))
    sizes = {p.key: e - s for p, (_, s, e) in zip(parts, bounds)}
    where = {p.key: (s, e) for p, (_, s, e) in zip(parts, bounds)}
    level = list(parts)
    depth = 0
    while len(level) > 1:
        # merges run as soon as their two inputs exist (a higher priority than the partitions
        # still queued), so that they overlap with the partitions instead of forming a tail
        nxt = [client.submit(merge_deltas, level[k], level[k + 1], cfg, domain,
                             key=f"merge-deltas-{depth}-{k // 2}-{run}", pure=False, priority=10)
               for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        depth += 1
    root = level[0]
    with ProgressBar(len(parts), enabled=progress, total_signals=bounds[-1][2]) as bar:
        for fut in as_completed(parts):
            if store is not None and not shared and fut.key.startswith("perceive-partition-"):
                store.write_partition(fut.result(), *where[fut.key])
            bar.update(sizes[fut.key])
    result = root.result()
    del parts, level, root
    return result


def _is_in_memory(source: Any) -> bool:
    from .signals import InMemory

    return type(source) is InMemory  # a subclass may read differently (lazily, from elsewhere)
