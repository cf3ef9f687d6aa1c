"""batch_perceive: perceive over a whole collection of signals, deterministically, on Dask.

Signals are cut into partitions of ``batch_size`` consecutive signals, one task each. Every
partition starts from the same snapshot of the library and learns locally; it returns a *delta*
(the snapshot patterns it reinforced, with the sum of their moved prototypes weighted by the
instances absorbed, and the patterns it founded). Deltas are combined by a tree reduction whose
shape is fixed by partition index, then applied to the snapshot. Nothing depends on which worker
ran a partition, when it finished, or whether it ran twice: the merged library is identical in
process, on one worker or on many, and after a worker dies mid-run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._numba import numba_threads, parallel_guard
from .config import EngineConfig
from .engine import perceive
from .errors import InvalidParameterError, PatternlabError
from .kernels.matching import unit_normalize
from .library import PatternLibrary, SignalId, _order
from .signals import SignalCollection, as_collection

__all__ = ["BatchResult", "batch_perceive"]

SUMMARY_FIELDS = ("events", "matches", "new", "updated", "motif_a", "motif_b", "motif_distance",
                  "discord", "discord_distance", "ok")


@dataclass
class Delta:
    """What one partition (or a merged range of partitions) learned from the snapshot."""

    first: int  # partition range [first, last]
    last: int
    upd_ids: list[str]
    upd_sum: NDArray[np.float64]  # (u, window): sum of n_k * moved prototype
    upd_n: NDArray[np.int64]
    upd_last: list[tuple[SignalId, int]]
    new: dict[str, Any]  # PatternLibrary.to_arrays() of the patterns founded
    summaries: dict[str, NDArray[Any]]
    errors: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0
    tasks: int = 1
    archived: dict[str, Any] | None = None  # to_arrays() of founded patterns archived on the way


@dataclass
class BatchResult:
    """The outcome of :func:`batch_perceive`.

    Attributes
    ----------
    library : PatternLibrary
        The merged library (the input library is left untouched).
    summaries : dict of str to ndarray
        One entry per signal, in signal order: ``events``, ``matches``, ``new``, ``updated``
        (counts), ``motif_a``, ``motif_b``, ``motif_distance`` (the top motif), ``discord``,
        ``discord_distance`` (the top discord) and ``ok`` (False where the signal was skipped).
    errors : dict of int to str
        Why each skipped signal was skipped (e.g. shorter than the window allows).
    metrics : dict of str to float
        ``tasks_processed``, ``signals``, ``patterns_discovered``, ``avg_latency_ms`` (per
        partition task), ``throughput_per_sec`` (signals per second of wall time).
    """

    library: PatternLibrary
    summaries: dict[str, NDArray[Any]]
    errors: dict[int, str]
    metrics: dict[str, float]

    def __repr__(self) -> str:
        m = self.metrics
        return (f"<BatchResult {int(m['signals'])} signals in {int(m['tasks_processed'])} tasks: "
                f"{len(self.library)} patterns ({int(m['patterns_discovered'])} new), "
                f"{m['throughput_per_sec']:.1f} signals/s, {len(self.errors)} skipped>")


# -- one partition -----------------------------------------------------------------------------
def run_partition(index: int, source: SignalCollection, start: int, stop: int,
                  snapshot: dict[str, Any], config: dict[str, Any], domain: str,
                  threads: int | None = 1) -> Delta:
    """Perceive signals ``start .. stop - 1`` from the snapshot library; return the delta."""
    t0 = time.perf_counter()
    cfg = EngineConfig(**config)
    # no eviction inside a partition: capacity is applied once, after the merge
    local_cfg = cfg.replace(max_patterns=max(cfg.max_patterns, 1) + 10 * (stop - start) * (cfg.top_k * 3 + 3))
    lib = PatternLibrary.from_arrays(snapshot, domain=domain, config=local_cfg)
    base_support = dict(zip(lib.ids, lib.supports.tolist()))
    n = stop - start
    summ = {k: np.zeros(n, dtype=np.float64 if k.endswith("distance") else np.int64) for k in SUMMARY_FIELDS}
    summ["ok"] = np.zeros(n, dtype=bool)
    errors: dict[int, str] = {}
    with parallel_guard(), numba_threads(threads):
        for k, T in enumerate(source.read(start, stop)):
            sid = start + k
            try:
                res = perceive(T, domain, lib, local_cfg, signal_id=sid)
            except PatternlabError as exc:
                errors[sid] = str(exc)
                summ["motif_a"][k] = summ["motif_b"][k] = summ["discord"][k] = -1
                summ["motif_distance"][k] = summ["discord_distance"][k] = np.inf
                continue
            summ["events"][k] = len(res.events)
            summ["matches"][k] = len(res.matches)
            summ["new"][k] = len(res.new_patterns)
            summ["updated"][k] = len(res.updated_patterns)
            mo = res.motifs[0] if res.motifs else None
            di = res.discords[0] if res.discords else None
            summ["motif_a"][k], summ["motif_b"][k] = (mo.a, mo.b) if mo else (-1, -1)
            summ["motif_distance"][k] = mo.distance if mo else np.inf
            summ["discord"][k] = di.index if di else -1
            summ["discord_distance"][k] = di.distance if di else np.inf
            summ["ok"][k] = True
    w = lib.window
    upd_ids, upd_rows, upd_n, upd_last = [], [], [], []
    fresh = PatternLibrary(w, domain, config=local_cfg)
    for p in lib:
        if p.id in base_support:
            dn = p.support - base_support[p.id]
            if dn > 0:
                upd_ids.append(p.id)
                upd_rows.append(dn * np.asarray(p.prototype))
                upd_n.append(dn)
                upd_last.append(p.last_updated)
        else:
            fresh._insert(np.asarray(p.prototype).copy(), p.id, p.domain, p.support, p.first_seen,
                          p.last_updated)
    return Delta(index, index, upd_ids,
                 np.array(upd_rows).reshape(len(upd_ids), w), np.array(upd_n, dtype=np.int64),
                 upd_last, fresh.to_arrays(), summ, errors, time.perf_counter() - t0)


# -- combining ---------------------------------------------------------------------------------
def merge_deltas(a: Delta, b: Delta, config: dict[str, Any], domain: str) -> Delta:
    """Combine the deltas of consecutive partition ranges, ``a`` before ``b``."""
    if a.last + 1 != b.first:
        raise PatternlabError(f"internal: deltas {a.first}-{a.last} and {b.first}-{b.last} are not "
                              "consecutive")
    ids = list(a.upd_ids)
    rows = [r for r in a.upd_sum]
    ns = list(a.upd_n)
    lasts = list(a.upd_last)
    where = {pid: k for k, pid in enumerate(ids)}
    for k, pid in enumerate(b.upd_ids):
        if pid in where:
            j = where[pid]
            rows[j] = rows[j] + b.upd_sum[k]
            ns[j] += b.upd_n[k]
            lasts[j] = max(lasts[j], b.upd_last[k], key=_order)
        else:
            where[pid] = len(ids)
            ids.append(pid)
            rows.append(b.upd_sum[k])
            ns.append(b.upd_n[k])
            lasts.append(b.upd_last[k])
    cfg = EngineConfig(**config)
    # the founded patterns of a range of partitions never exceed the capacity: the weakest go to
    # the delta's archive (kept, and restorable from the final library), which bounds the cost
    # of every merge whatever the number of signals
    with parallel_guard(), numba_threads(1):
        new = PatternLibrary.from_arrays(a.new, domain=domain, config=cfg).merge(
            PatternLibrary.from_arrays(b.new, domain=domain, config=cfg))
    archived = _archive_arrays([a.archived, b.archived], new, domain, cfg)
    window = a.upd_sum.shape[1] if a.upd_sum.ndim == 2 else b.upd_sum.shape[1]
    return Delta(a.first, b.last, ids, np.array(rows).reshape(len(ids), window),
                 np.array(ns, dtype=np.int64), lasts, new.to_arrays(),
                 {k: np.concatenate([a.summaries[k], b.summaries[k]]) for k in a.summaries},
                 {**a.errors, **b.errors}, a.seconds + b.seconds, a.tasks + b.tasks, archived)


def _archive_arrays(parts: list[dict[str, Any] | None], lib: PatternLibrary, domain: str,
                    cfg: EngineConfig) -> dict[str, Any] | None:
    """The archived patterns of earlier deltas followed by those ``lib`` archived, as arrays
    (concatenated as they are: archives are only carried, never searched, on the way up)."""
    chunks = [a for a in parts if a is not None]
    if lib.archived:
        big = cfg.replace(max_patterns=1 << 40)
        holder = PatternLibrary(cfg.window, domain, config=big)
        for p in lib.archived:
            holder._insert(np.asarray(p.prototype).copy(), p.id, p.domain, p.support, p.first_seen,
                           p.last_updated)
        chunks.append(holder.to_arrays())
    if not chunks:
        return None
    out = dict(chunks[0])
    for key in out:
        if np.ndim(out[key]) >= 1:
            out[key] = np.concatenate([c[key] for c in chunks])
    return out


def apply_delta(snapshot: PatternLibrary, delta: Delta) -> PatternLibrary:
    """The snapshot with a (merged) delta applied: each reinforced pattern becomes the support-
    weighted mean of its snapshot prototype and its moved versions; founded patterns are merged
    in; then the capacity is enforced (archiving the weakest)."""
    cfg = snapshot.config
    out = snapshot.copy()
    out.config = cfg.replace(max_patterns=1 << 40)
    for k, pid in enumerate(delta.upd_ids):
        i = out._index[pid]
        s0 = int(out._support[i])
        moved = unit_normalize(s0 * out._Z[i] + delta.upd_sum[k])
        if moved.any():
            out._Z[i] = moved
        out._support[i] = s0 + int(delta.upd_n[k])
        p, dom, first, last = out._meta[i]
        out._meta[i] = (p, dom, first, max(last, delta.upd_last[k], key=_order))
    out = out.merge(PatternLibrary.from_arrays(delta.new, domain=snapshot.domain, config=out.config))
    if delta.archived is not None:
        out.archived.extend(PatternLibrary.from_arrays(delta.archived, domain=snapshot.domain,
                                                       config=out.config))
    out.config = cfg
    out._archive_weakest(len(out) - cfg.max_patterns)
    return out


def _tree(deltas: list[Any], combine: Any) -> Any:
    """Reduce pairwise by index: ((0, 1), (2, 3)), ... -- the shape depends only on the count."""
    level = list(deltas)
    while len(level) > 1:
        nxt = [combine(level[k], level[k + 1]) for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


# -- driver ------------------------------------------------------------------------------------
def batch_perceive(
    signals: Any,
    domain: str = "default",
    library: PatternLibrary | None = None,
    config: EngineConfig | None = None,
    *,
    client: Any = None,
    batch_size: int = 64,
    progress: bool = True,
    store: Any = None,
    overwrite: bool = False,
    redis: Any = None,
) -> BatchResult:
    """Run :func:`perceive` over a collection of signals on Dask and merge what was learned.

    Parameters
    ----------
    signals : list of arrays, 2-D array, 2-D dask array, ZarrCorpus or corpus path
        The collection; signal ``i`` gets ``signal_id=i``. A corpus is read by the tasks
        themselves, a partition at a time.
    domain : str
        Domain tag of the signals.
    library : PatternLibrary, optional
        The snapshot every partition starts from (left untouched; the merged library is in the
        result). A fresh library when omitted.
    config : EngineConfig, optional
        Defaults to the library's config.
    client : distributed.Client, Lab, False or None
        Where to run: the given client (or :class:`~patternlab.Lab`); ``None``: the current
        Lab or default Dask client if there is one, else an embedded ``LocalCluster`` that is
        closed afterwards; ``False``: in this process, without Dask.
    batch_size : int
        Signals per partition (one task each).
    progress : bool
        Show a progress bar (in Jupyter a widget when ipywidgets is installed).
    store : str, path or zarr store, optional
        Checkpoint the run into this zarr v3 store (a local path, ``file://``, ``memory://``,
        ``s3://`` with s3fs): every partition's summaries and library delta, then the merged
        library (layout in :mod:`patternlab.store.zarr`; read back with
        :func:`patternlab.open_run`). A rerun with the same store skips the partitions already
        done and gives the same library as an uninterrupted run.
    overwrite : bool
        Replace a store that holds a different run (other input, config, domain or batch size)
        instead of refusing it.
    redis : str or RedisPatternStore, optional
        Start from the library of ``(domain, config.window)`` in this Redis pattern store
        (instead of ``library``) and publish what the run learned into it when it ends (under a
        token naming the run, so a resumed run never publishes twice).

    Returns
    -------
    BatchResult
        The merged library, per-signal summaries, skipped signals and metrics. Identical,
        bit for bit, however many workers ran it and whatever failed and was retried.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> signals = [np.cumsum(np.random.default_rng(i).standard_normal(400)) for i in range(6)]
    >>> out = pl.batch_perceive(signals, config=pl.EngineConfig(window=32), client=False,
    ...                         batch_size=2, progress=False)
    >>> int(out.metrics["tasks_processed"]), len(out.summaries["ok"])
    (3, 6)
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InvalidParameterError(f"batch_size={batch_size!r} must be a positive integer")
    if config is None:
        config = library.config if library is not None else EngineConfig()
    rstore, close_redis = _redis_store(redis)
    try:
        if rstore is not None and library is not None and len(library):
            raise InvalidParameterError(
                "pass library= or redis=, not both: with redis= the run starts from the store's "
                "library; upload a local library first with "
                "pl.RedisPatternStore(url).publish(None, library, token=...)")
        return _batch(signals, domain, library, config, client, int(batch_size), progress, store,
                      overwrite, rstore)
    finally:
        if close_redis:
            rstore.close()


def _redis_store(redis: Any) -> tuple[Any, bool]:
    """The RedisPatternStore to use and whether this call opened it (and closes it)."""
    if redis is None:
        return None, False
    from .store.redis import RedisPatternStore

    if isinstance(redis, RedisPatternStore):
        return redis, False
    if isinstance(redis, str):
        return RedisPatternStore(redis), True
    raise InvalidParameterError(f"redis must be a URL such as 'redis://localhost:6379/0' or a "
                                f"pl.RedisPatternStore; got {type(redis).__name__}")


def _batch(signals: Any, domain: str, library: PatternLibrary | None, config: EngineConfig,
           client: Any, batch_size: int, progress: bool, store: Any, overwrite: bool,
           rstore: Any) -> BatchResult:
    if library is None:
        library = PatternLibrary(config.window, domain, config=config)
    elif library.window != config.window:
        raise InvalidParameterError(f"the library's window ({library.window}) differs from "
                                    f"config.window ({config.window}): pass the same window")
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
        from .store.zarr import library_fingerprint

        origin = library_fingerprint(library.to_arrays())
    run = _open_store(store, overwrite, source, origin, cfg, domain, batch_size, n)
    if run is not None and run.has_snapshot():
        library = run.read_snapshot(config)  # a resumed run starts from the same library
    elif rstore is not None:
        library = rstore.load_library(domain, config.window, config, refresh=True)
    if run is not None and not run.has_snapshot():
        run.write_snapshot(library)
    snapshot = library.to_arrays()
    done = run.done() if run is not None else np.zeros(len(bounds), dtype=bool)
    from ._dask import log_run, resolve_client, run_on_dask

    dask_client, owned = resolve_client(client) if not done.all() else (None, None)
    try:
        if dask_client is None:
            merged = _run_in_process(source, bounds, snapshot, cfg, domain, progress, run, done)
        else:
            merged = run_on_dask(dask_client, source, bounds, snapshot, cfg, domain, progress,
                                 run, done)
        wall = time.perf_counter() - t0
        result_lib = apply_delta(library, merged)
        new_ids = set(result_lib.ids) - set(library.ids)
        metrics = {
            "tasks_processed": float(merged.tasks),
            "signals": float(n),
            "patterns_discovered": float(len(new_ids)),
            "avg_latency_ms": 1000.0 * merged.seconds / max(merged.tasks, 1),
            "throughput_per_sec": n / wall if wall > 0 else float("inf"),
            "wall_seconds": wall,
            "partitions_resumed": float(done.sum()),
        }
        if run is not None and not run.attrs.get("complete", False):
            run.write_library(result_lib, metrics)  # a rerun of a complete run keeps its record
        if rstore is not None:
            import uuid

            token = f"run:{run.attrs['run_id']}" if run is not None else f"batch:{uuid.uuid4().hex}"
            rstore.publish(library, result_lib, token=token)
        if dask_client is not None:
            log_run(dask_client, metrics, domain, result_lib)
    finally:
        if owned is not None:
            owned()
    return BatchResult(result_lib, merged.summaries, merged.errors, metrics)


def _open_store(store: Any, overwrite: bool, source: SignalCollection, origin: str,
                cfg: dict[str, Any], domain: str, batch_size: int, n: int) -> Any:
    if store is None:
        return None
    from .store.zarr import RunStore

    identity = {"config": cfg, "domain": domain, "window": int(cfg["window"]),
                "batch_size": batch_size, "n_signals": n,
                "fingerprint": f"signals:{source.fingerprint()} library:{origin}"}
    return RunStore.open(store, identity, overwrite=overwrite)


def _run_in_process(source: SignalCollection, bounds: list[tuple[int, int, int]],
                    snapshot: dict[str, Any], cfg: dict[str, Any], domain: str,
                    progress: bool, run: Any = None, done: Any = None) -> Delta:
    from ._progress import ProgressBar

    deltas = []
    with ProgressBar(len(bounds), enabled=progress, total_signals=bounds[-1][2]) as bar:
        for k, s, e in bounds:
            if run is not None and done[k]:
                deltas.append(run.read_partition(k, s, e))
            else:
                deltas.append(run_partition(k, source, s, e, snapshot, cfg, domain, threads=None))
                if run is not None:
                    run.write_partition(deltas[-1], s, e)
            bar.update(e - s)
    return _tree(deltas, lambda a, b: merge_deltas(a, b, cfg, domain))
