"""The Dask task graph of batch_perceive: one task per partition and a fixed-shape tree of merges."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from distributed import as_completed, get_worker

from .._events import PARTITION_EVENT, RUN_EVENT
from ._progress import ProgressBar
from .partition import Delta, merge_deltas, run_partition, tree_reduce, without_summaries
from .signals import InMemory, SignalCollection, Slice

__all__ = ["log_run", "run_on_dask"]


def partition_task(index: int, source: SignalCollection, start: int, stop: int,
                   snapshot: dict[str, Any], cfg: dict[str, Any], domain: str, run: str,
                   store: Any = None) -> Delta:
    """The task of one partition: :func:`~patternlab.batch.partition.run_partition` on one thread, its
    checkpoint written into the run store (when given; the task is the only writer of its
    shards), then an event on the scheduler (:data:`PARTITION_EVENT`) for monitoring."""
    delta = run_partition(index, source, start, stop, snapshot, cfg, domain, 1)
    if store is not None:
        store.write_partition(delta, start, stop)
    out = delta if store is None else without_summaries(delta)
    try:
        get_worker().log_event(PARTITION_EVENT, {
            "partition": int(index), "signals": int(stop - start),
            "patterns_founded": len(delta.new["ids"]), "seconds": float(delta.seconds),
            "domain": domain, "run": run})
    except ValueError:  # not inside a worker
        pass
    return out


def load_partition_task(store: Any, index: int, start: int, stop: int) -> Any:
    """The task of a partition finished by an earlier run: its delta, read from the run store
    (its summaries stay there, as those of the partitions computed now)."""
    return without_summaries(store.read_partition(index, start, stop))


def log_run(client: Any, metrics: dict[str, int | float], domain: str, library: Any = None,
            top: int = 8) -> None:
    """Log the :data:`RUN_EVENT` of a finished batch on the scheduler: the metrics, the domain
    and, given the merged ``library``, its ``top`` patterns by support as plain lists
    (``"top_patterns"``: ``[{"id", "support", "values"}, ...]``) for the dashboard page."""
    try:
        msg: dict[str, Any] = {**{k: v if isinstance(v, int) else float(v) for k, v in metrics.items()},
                               "domain": domain}
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
    # merges run as soon as their two inputs exist (a higher priority than the partitions still
    # queued), so that they overlap with the partitions instead of forming a tail
    root = tree_reduce(parts, lambda a, b, depth, k: client.submit(
        merge_deltas, a, b, cfg, domain, key=f"merge-deltas-{depth}-{k}-{run}", pure=False,
        priority=10))
    with ProgressBar(len(parts), enabled=progress, total_signals=bounds[-1][2]) as bar:
        for fut in as_completed(parts):
            if store is not None and not shared and fut.key.startswith("perceive-partition-"):
                store.write_partition(fut.result(), *where[fut.key])
            bar.update(sizes[fut.key])
    result = root.result()
    del parts, root
    return result


def _is_in_memory(source: Any) -> bool:
    return type(source) is InMemory  # a subclass may read differently (lazily, from elsewhere)
