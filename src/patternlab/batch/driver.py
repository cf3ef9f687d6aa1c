"""The driver of batch_perceive: perceive over a whole collection of signals, deterministically, on
Dask or in this process, checkpointed into a run store and published into a Redis store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .._text import plural
from ..config import EngineConfig
from ..errors import InvalidParameterError, StoreDataError
from ..library import PatternLibrary, library_and_config
from ..store.redis import RedisPatternStore, as_redis_store
from ..store.zarr import library_fingerprint
from ._progress import ProgressBar
from .checkpoint import RunStore, open_run
from .graph import log_run, run_on_dask
from .partition import Delta, apply_delta, merge_deltas, run_partition, tree_reduce, without_summaries
from .publish import batch_token, check_retry_seconds, publish_result, retry_budget
from .signals import SignalCollection, SignalsLike, as_collection

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["BatchResult", "Connect", "run_batch"]


@dataclass
class BatchResult:
    """The outcome of :func:`batch_perceive`.

    Attributes
    ----------
    library : PatternLibrary
        The merged library (the input library is left untouched).
    summaries : mapping of str to ndarray
        One entry per signal, in signal order: ``events``, ``matches``, ``new``, ``updated``
        (counts), ``motif_a``, ``motif_b``, ``motif_distance`` (the top motif), ``discord``,
        ``discord_distance`` (the top discord) and ``ok`` (False where the signal was skipped).
        On a cluster with a run store that every worker sees (a path or URL), the rows stay in
        the store and are read (checked against their digests) on first access: a run of
        millions of signals moves no per-signal rows through its merges or into this process.
    errors : dict of int to str
        Why each skipped signal was skipped (e.g. shorter than the window allows).
    metrics : dict of str to int or float
        Counts are ``int``, rates and durations ``float``: ``tasks_processed``, ``signals``,
        ``patterns_discovered``; ``avg_latency_ms`` (per partition task), ``throughput_per_sec``
        (signals per second of wall time), ``wall_seconds``; what the run's
        candidates became (:attr:`PatternLibrary.counters`): ``candidates_seen``,
        ``candidates_too_simple``, ``candidates_pooled``, ``candidates_promoted``,
        ``candidates_aged_out``, ``patterns_folded``, ``patterns_retired``, and ``pending``
        (candidates waiting in the merged library's pool); with a run store,
        ``partitions_resumed`` (read back, verified) and ``partitions_damaged`` (flagged done
        but missing or damaged data: recomputed).
    """

    library: PatternLibrary
    summaries: Mapping[str, NDArray[Any]]
    errors: dict[int, str]
    metrics: dict[str, int | float]

    def __repr__(self) -> str:
        m = self.metrics
        return (f"<BatchResult {plural(int(m['signals']), 'signal')} in "
                f"{plural(int(m['tasks_processed']), 'task')}: "
                f"{plural(len(self.library), 'pattern')} ({int(m['patterns_discovered']):,} new), "
                f"{plural(int(m.get('candidates_seen', 0)), 'candidate')} seen, "
                f"{int(m.get('candidates_promoted', 0)):,} promoted, "
                f"{int(m.get('candidates_aged_out', 0)):,} aged out, "
                f"{m['throughput_per_sec']:.1f} signals/s, {len(self.errors):,} skipped>")


# -- driver ------------------------------------------------------------------------------------
#: How a run gets its Dask client, asked only when some partition is left to compute: the client
#: (``None``: in this process) and, for a cluster started for this run, how to close it.
Connect = Callable[[], tuple["Client | None", "Callable[[], None] | None"]]


def run_batch(signals: SignalsLike, domain: str, library: PatternLibrary | None, config: EngineConfig | None,
              *, connect: Connect, batch_size: int = 64, progress: bool = True, store: Any = None,
              overwrite: bool = False, redis: str | RedisPatternStore | None = None,
              publish_token: str | None = None, publish_retry_seconds: float | None = None) -> BatchResult:
    """The driver of :func:`patternlab.batch_perceive`, which chooses the client (``connect``)
    and documents the arguments."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InvalidParameterError(f"batch_size={batch_size!r} must be a positive integer")
    if publish_token is not None and (not isinstance(publish_token, str) or not publish_token):
        raise InvalidParameterError(f"publish_token={publish_token!r}: pass a non-empty string, or None "
                                    "(a token derived from the signals, library and config)")
    if publish_retry_seconds is not None:
        check_retry_seconds(publish_retry_seconds)
    library, config = library_and_config(library, config, domain)
    rstore, close_redis = as_redis_store(redis)
    try:
        if rstore is not None and len(library):
            raise InvalidParameterError(
                "pass library= or redis=, not both: with redis= the run starts from the store's "
                "library; upload a local library first with "
                "pl.RedisPatternStore(url).publish(None, library, token=...)")
        return _batch(signals, domain, library, config, connect, int(batch_size), progress, store,
                      overwrite, rstore, (publish_token, publish_retry_seconds))
    finally:
        if close_redis and rstore is not None:
            rstore.close()


def _batch(signals: Any, domain: str, library: PatternLibrary, config: EngineConfig,
           connect: Connect, batch_size: int, progress: bool, store: Any, overwrite: bool,
           rstore: RedisPatternStore | None,
           publishing: tuple[str | None, float | None] = (None, None)) -> BatchResult:
    source = as_collection(signals)
    n = len(source)
    if n == 0:
        raise InvalidParameterError("no signals to perceive: pass at least one signal")
    bounds = [(k, s, min(s + batch_size, n)) for k, s in enumerate(range(0, n, batch_size))]
    cfg = config.to_dict()
    t0 = time.perf_counter()
    if rstore is not None:
        origin = f"redis:{rstore.namespace}/{domain}/{config.window}"
    else:
        origin = library_fingerprint(library.to_arrays())
    run = _open_store(store, overwrite, source, origin, cfg, domain, batch_size, n)
    if run is not None:
        library = _starting_library(run, library, config, domain, rstore)
    elif rstore is not None:
        library = rstore.load_library(domain, config.window, config, refresh=True)
    snapshot = library.to_arrays()
    damaged: dict[int, str] = {}
    read: dict[int, Delta] = {}
    if run is not None:  # complete: flagged, and every array of it present and verified
        done, damaged, read = run.verify(bounds, run.done())
    else:
        done = np.zeros(len(bounds), dtype=bool)
    dask_client, owned = connect() if not done.all() else (None, None)
    try:
        if dask_client is None:
            merged = _run_in_process(source, bounds, snapshot, cfg, domain, progress, run, done, read)
        else:
            read.clear()  # the tasks read their own partitions back (verified again)
            merged = run_on_dask(dask_client, source, bounds, snapshot, cfg, domain, progress,
                                 run, done)
        wall = time.perf_counter() - t0
        result_lib = apply_delta(library, merged)
        new_ids = set(result_lib.ids) - set(library.ids)
        metrics: dict[str, int | float] = {   # counts int, rates and durations float
            "tasks_processed": int(merged.tasks),
            "signals": int(n),
            "patterns_discovered": len(new_ids),
            "avg_latency_ms": 1000.0 * merged.seconds / max(merged.tasks, 1),
            "throughput_per_sec": n / wall if wall > 0 else float("inf"),
            "wall_seconds": wall,
            "partitions_resumed": int(done.sum()),
            "partitions_damaged": len(damaged),
        }
        before, after = library.counters, result_lib.counters  # what this run's candidates did
        metrics.update({f"candidates_{k}" if k not in ("folded", "retired") else f"patterns_{k}":
                        int(after[k] - before[k]) for k in after})
        metrics["pending"] = len(result_lib.pending)
        if run is not None and not run.complete:
            run.write_library(result_lib, metrics)
        elif run is not None and not run.library_ok():  # damaged: written again, with its record
            run.write_library(result_lib, dict(run.attrs.get("metrics", metrics)))
        summaries: Mapping[str, NDArray[Any]] = merged.summaries
        if merged.summaries_stored:
            assert run is not None  # only tasks that wrote into a shared run store leave them there
            summaries = StoredSummaries(run.url)
        result = BatchResult(result_lib, summaries, merged.errors, metrics)
        if rstore is not None:  # the same work publishes under the same token: never counted twice
            token = publishing[0] or batch_token(source.fingerprint(), origin, cfg, domain, batch_size)
            publish_result(rstore, library, result, token, retry_budget(wall, publishing[1]),
                           store if run is not None else None)
        if dask_client is not None:
            log_run(dask_client, metrics, domain, result_lib)
    finally:
        if owned is not None:
            owned()
    return result


class StoredSummaries(Mapping[str, NDArray[Any]]):
    """The per-signal summaries of a run, read from its run store on first access (then kept)."""

    def __init__(self, url: Any) -> None:
        self.url = url
        self._rows: dict[str, NDArray[Any]] | None = None

    def _load(self) -> dict[str, NDArray[Any]]:
        if self._rows is None:
            self._rows = open_run(self.url).summaries
        return self._rows

    def __getitem__(self, key: str) -> NDArray[Any]:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        state = "read" if self._rows is not None else "not read yet"
        return f"<StoredSummaries of the run at {self.url!r} ({state})>"


def _starting_library(run: RunStore, library: PatternLibrary, config: EngineConfig, domain: str,
                      rstore: RedisPatternStore | None) -> PatternLibrary:
    """The library every partition of the run starts from: the run's snapshot when it has one
    (a resumed run starts from the same library), else ``library`` or the Redis store's, which
    becomes the snapshot. A damaged snapshot of a run started from ``library=`` is written again
    from it (the run's fingerprint says it is the same); one that came from Redis cannot be."""
    if run.has_snapshot():
        try:
            return run.read_snapshot(config)
        except StoreDataError:
            if rstore is not None:
                raise
    elif rstore is not None:
        library = rstore.load_library(domain, config.window, config, refresh=True)
    run.write_snapshot(library)
    return library


def _open_store(store: Any, overwrite: bool, source: SignalCollection, origin: str,
                cfg: dict[str, Any], domain: str, batch_size: int, n: int) -> Any:
    if store is None:
        return None
    identity = {"config": cfg, "domain": domain, "window": int(cfg["window"]),
                "batch_size": batch_size, "n_signals": n,
                "fingerprint": f"signals:{source.fingerprint()} library:{origin}"}
    return RunStore.open(store, identity, overwrite=overwrite)


def _run_in_process(source: SignalCollection, bounds: list[tuple[int, int, int]],
                    snapshot: dict[str, Any], cfg: dict[str, Any], domain: str,
                    progress: bool, run: Any = None, done: Any = None,
                    read: dict[int, Delta] | None = None) -> Delta:
    """Every partition in this process: those done read back (``read``: already read and
    verified), the others computed and checkpointed. Deltas are merged as soon as their pair of
    the fixed tree is complete (the same merges as on Dask), so memory holds about ``log2`` of
    the partitions' deltas; with a run store other processes can read, the per-signal summaries
    stay in the store, as on a cluster."""
    read = read if read is not None else {}
    shared = run is not None and run.shared

    def deltas(bar: ProgressBar) -> Iterator[Delta]:
        for k, s, e in bounds:
            if run is not None and done[k]:
                delta = read.pop(k) if k in read else run.read_partition(k, s, e)
            else:
                delta = run_partition(k, source, s, e, snapshot, cfg, domain, threads=None)
                if run is not None:
                    run.write_partition(delta, s, e)
            bar.update(e - s)
            yield without_summaries(delta) if shared else delta

    with ProgressBar(len(bounds), enabled=progress, total_signals=bounds[-1][2]) as bar:
        return tree_reduce(deltas(bar), lambda a, b, depth, k: merge_deltas(a, b, cfg, domain))
