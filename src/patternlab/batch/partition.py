"""The partition algebra of batch_perceive: what one partition learns (a delta), how deltas combine.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from .._numba import numba_threads, parallel_guard
from ..config import EngineConfig
from ..engine import perceive
from ..errors import PatternlabError
from ..library import PatternLibrary, SignalId, provenance_order
from .signals import SignalCollection

__all__ = ["SUMMARY_FIELDS", "Delta", "apply_delta", "merge_deltas", "run_partition", "tree_reduce",
           "without_summaries"]

T = TypeVar("T")

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
    new: dict[str, Any]  # to_arrays() of the patterns and pending candidates founded, and counters
    summaries: dict[str, NDArray[Any]]
    errors: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0
    tasks: int = 1
    archived: dict[str, Any] | None = None  # to_arrays() of founded patterns archived on the way
    #: the summaries were left in the run store (empty here): a run with a store every worker
    #: sees moves no per-signal rows through the merges, and the result reads them from the store
    summaries_stored: bool = False


def without_summaries(delta: Delta) -> Delta:
    """``delta`` with its summaries left to the run store it was written to (no rows)."""
    return replace(delta, summaries={k: np.asarray(v)[:0] for k, v in delta.summaries.items()},
                   summaries_stored=True)


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
    base_pending = {p.id: p.support for p in lib.pending}
    base_support.update(base_pending)
    base_counts = lib.counters
    lib.protect(base_support)  # the delta reinforces the snapshot, it cannot remove from it
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
    # the snapshot's patterns and pending candidates it reinforced, and what it founded
    for group, found in ((list(lib), fresh.insert), (lib.pending, fresh.add_pending)):
        for p in group:
            if p.id not in base_support:
                found(p)
                continue
            dn = p.support - base_support[p.id]
            if dn > 0:
                upd_ids.append(p.id)
                upd_rows.append(dn * np.asarray(p.prototype))
                upd_n.append(dn)
                upd_last.append(p.last_updated)
    # the delta's counters: what this partition did, except what became of the snapshot's pending
    # candidates (promoted, aged out), which is decided once, when the merged delta is applied
    counts = lib.counters
    counts = {k: counts[k] - base_counts[k] for k in counts}
    counts["promoted"] -= sum(1 for pid in base_pending if pid in lib)
    counts["aged_out"] -= sum(1 for pid in base_pending if pid not in lib and not lib.is_pending(pid))
    fresh.set_counters(counts)
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
            lasts[j] = max(lasts[j], b.upd_last[k], key=provenance_order)
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
    archived = _archive_arrays([a.archived, b.archived], new)
    window = a.upd_sum.shape[1] if a.upd_sum.ndim == 2 else b.upd_sum.shape[1]
    return Delta(a.first, b.last, ids, np.array(rows).reshape(len(ids), window),
                 np.array(ns, dtype=np.int64), lasts, new.to_arrays(),
                 {k: np.concatenate([a.summaries[k], b.summaries[k]]) for k in a.summaries},
                 {**a.errors, **b.errors}, a.seconds + b.seconds, a.tasks + b.tasks, archived,
                 a.summaries_stored and b.summaries_stored)


def _archive_arrays(parts: list[dict[str, Any] | None], lib: PatternLibrary) -> dict[str, Any] | None:
    """The archived patterns of earlier deltas followed by those ``lib`` archived, as arrays
    (concatenated as they are: archives are only carried, never searched, on the way up)."""
    chunks = [a for a in parts if a is not None]
    if lib.archived:
        chunks.append(lib.archive_arrays())
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
        out.reinforce(pid, delta.upd_sum[k], int(delta.upd_n[k]), delta.upd_last[k])
    # the snapshot's pending candidates that the partitions saw again, in the order of the delta
    out.promote_ready([pid for pid in delta.upd_ids if out.is_pending(pid)], cfg)
    out = out.merge(PatternLibrary.from_arrays(delta.new, domain=snapshot.domain, config=out.config))
    if delta.archived is not None:
        out.archived.extend(PatternLibrary.from_arrays(delta.archived, domain=snapshot.domain,
                                                       config=out.config))
    out.config = cfg
    out.settle([pid for pid in delta.upd_ids if pid in out], cfg)
    out.enforce_capacity()
    return out


def tree_reduce(items: Iterable[T], combine: Callable[[T, T, int, int], T]) -> T:
    """Reduce pairwise by position: ``((0, 1), (2, 3)), ...``; an odd item out moves up a level
    as it is. The shape depends only on the number of items, never on when they are ready, so
    a reduction in process and one submitted to Dask combine the same pairs in the same order.
    ``combine(a, b, depth, k)`` gets the level and the pair's index within it (a task key).

    Items are combined as soon as their pair is complete, as they arrive from ``items`` (an
    iterator is read once): at most one unpaired node per level is held, so reducing ``n``
    partition deltas one after the other keeps ``log2(n)`` of them in memory, not ``n``.

    Examples
    --------
    >>> from patternlab.batch.partition import tree_reduce
    >>> tree_reduce("abcde", lambda a, b, depth, k: f"({a}{b})")
    '(((ab)(cd))e)'
    """
    stack: list[tuple[int, int, T]] = []  # (level, index within the level, node): levels decrease
    n = 0
    for item in items:
        level, index, node = 0, n, item
        n += 1
        while stack and stack[-1][0] == level:  # a complete pair: combine it now
            _, left, first = stack.pop()
            node = combine(first, node, level, left // 2)
            level, index = level + 1, left // 2
        stack.append((level, index, node))
    if not n:
        raise PatternlabError("internal: nothing to reduce")
    # what is left: at most one node per level (the binary digits of n); from the lowest level up,
    # a node carried from below pairs with the unpaired node of its level, as the level-by-level
    # reduction pairs the last two nodes of a level
    carry: T | None = None
    found = False
    for level, index, node in reversed(stack):
        if not found:
            carry, found = node, True
        else:
            carry = combine(node, carry, level, index // 2)  # type: ignore[arg-type]
    return carry  # type: ignore[return-value]
