"""Pattern and PatternLibrary: the learned, shared vocabulary of recurring shapes."""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _validation as v
from ._bounds import Features, PrototypeBounds
from ._extras import imported
from ._learning import LearningMixin
from ._patterns import (
    COUNTERS,
    Pattern,
    SignalId,
    _combined,
    _gram,
    _nearest,
    _Pool,
    _sparkline,
    _unit,
    decode_signal_id,
    encode_signal_id,
    max_lag_of,
    pattern_id,
    provenance_order,
    signal_key,
)
from .config import EngineConfig
from .errors import (
    InvalidParameterError,
    InvalidSignalError,
    PatternlabError,
    PatternNotFoundError,
    StoreDataError,
)
from .kernels.matching import best_matches, unit_normalize
from .kernels.shape import complexity, lagged_correlations_pruned
from .kernels.stats import window_stats

if TYPE_CHECKING:
    from .store.zarr import StoredLibrary

__all__ = ["Pattern", "PatternLibrary", "decode_signal_id", "encode_signal_id", "library_and_config",
           "max_lag_of", "pattern_id", "provenance_order", "signal_key"]


def library_and_config(library: PatternLibrary | None, config: EngineConfig | None,
                       domain: str) -> tuple[PatternLibrary, EngineConfig]:
    """The library and config a call works with: ``config`` defaults to the library's (else
    :class:`EngineConfig` defaults), ``library`` to a fresh one of ``config.window`` in
    ``domain``; a library whose window differs from ``config.window`` is refused."""
    if config is None:
        config = library.config if library is not None else EngineConfig()
    if not isinstance(config, EngineConfig):
        raise InvalidParameterError(f"config must be an EngineConfig; got {type(config).__name__}")
    if not isinstance(domain, str) or not domain:
        raise InvalidParameterError(f"domain={domain!r} must be a non-empty string")
    if library is None:
        return PatternLibrary(config.window, domain, config=config), config
    if not isinstance(library, PatternLibrary):
        raise InvalidParameterError(f"library must be a pl.PatternLibrary; got {type(library).__name__}")
    if library.window != config.window:
        raise InvalidParameterError(f"the library's window ({library.window}) differs from "
                                    f"config.window ({config.window}): pass the same window")
    return library, config


def _extend_archive(archive: list[Pattern], more: Iterable[Pattern]) -> None:
    """Append the patterns of ``more`` whose id ``archive`` does not hold yet (in order)."""
    have = {p.id for p in archive}
    for p in more:
        if p.id not in have:
            archive.append(p)
            have.add(p.id)


class PatternLibrary(LearningMixin):
    """The patterns of one window length (and usually one domain).

    Prototypes live in one ``(n, window)`` array, so that searching a candidate against every
    pattern, or every pattern in a signal, is one numba kernel call.

    Parameters
    ----------
    window : int, optional
        Pattern length (default: ``config.window``).
    domain : str, optional
        Default domain of new patterns.
    config : EngineConfig, optional
        Supplies ``cluster_threshold``, ``learning_rate`` and ``max_patterns``.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> lib = pl.PatternLibrary(window=8)
    >>> p = lib.add(np.arange(8.0), signal_id=0, offset=0)
    >>> ids, corr = lib.nearest(np.arange(8.0) * 2 + 5)
    >>> len(lib), ids == [p.id], round(float(corr[0]), 12)
    (1, True, 1.0)
    """

    def __init__(self, window: int | None = None, domain: str = "default", *,
                 config: EngineConfig | None = None) -> None:
        cfg = config if config is not None else EngineConfig()
        if window is None:
            window = cfg.window
        if window != cfg.window:
            cfg = cfg.replace(window=window)
        self.config = cfg
        self.window = cfg.window
        if not isinstance(domain, str) or not domain:
            raise InvalidParameterError(f"domain={domain!r} must be a non-empty string")
        self.domain = domain
        self._Z: NDArray[np.float64] = np.zeros((8, self.window))
        self._support: NDArray[np.int64] = np.zeros(8, dtype=np.int64)
        self._meta: list[tuple[str, str, tuple[SignalId, int], tuple[SignalId, int]]] = []
        self._index: dict[str, int] = {}
        self.archived: list[Pattern] = []
        self._archived_ids: set[str] = set()
        self._pool = _Pool(self.window)
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._frozen: frozenset[str] = frozenset()  # ids a batch partition must not fold away
        self._bounds = PrototypeBounds()  # what the pruned kernels need of the prototypes

    # -- container protocol -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._meta)

    def __iter__(self) -> Iterator[Pattern]:
        return (self._pattern(i) for i in range(len(self)))

    def __contains__(self, pid: object) -> bool:
        return pid in self._index

    def __getitem__(self, key: str | int) -> Pattern:
        if isinstance(key, str):
            if key not in self._index:
                raise PatternNotFoundError(f"no pattern {key!r} in this library ({len(self)} patterns)")
            return self._pattern(self._index[key])
        n = len(self)
        if not -n <= key < n:
            raise PatternNotFoundError(f"pattern index {key} out of range for {n} patterns")
        return self._pattern(key % n)

    def __repr__(self) -> str:
        c = self._counts
        return (f"<PatternLibrary domain={self.domain!r} window={self.window}: {len(self)} patterns, "
                f"{len(self.archived)} archived, {len(self._pool)} pending; candidates: {c['seen']} "
                f"seen, {c['too_simple']} too simple, {c['pooled']} pooled, {c['promoted']} "
                f"promoted, {c['aged_out']} aged out; patterns folded {c['folded']}, retired "
                f"{c['retired']}>")

    def _pattern(self, i: int) -> Pattern:
        pid, domain, first, last = self._meta[i]
        z = self._Z[i].copy()
        z.setflags(write=False)
        return Pattern(pid, domain, self.window, z, int(self._support[i]), first, last)

    def _patterns_of(self, pids: list[str]) -> list[Pattern]:
        """The patterns ``pids`` (all in the library), their prototypes read-only rows of one
        copy (a signal can involve thousands of patterns: one copy, not one each)."""
        rows = [self._index[p] for p in pids]
        Z = self._Z[rows]
        Z.setflags(write=False)
        sup = self._support[rows].tolist()
        w = self.window
        out = []
        for k, i in enumerate(rows):
            pid, domain, first, last = self._meta[i]
            out.append(Pattern(pid, domain, w, Z[k], sup[k], first, last))
        return out

    # -- arrays -------------------------------------------------------------------------------
    @property
    def ids(self) -> list[str]:
        """Pattern ids, in library order."""
        return [m[0] for m in self._meta]

    @property
    def prototypes(self) -> NDArray[np.float64]:
        """A copy of the ``(n, window)`` prototype array."""
        return np.array(self._Z[: len(self)], dtype=np.float64)

    @property
    def supports(self) -> NDArray[np.int64]:
        """A copy of the supports."""
        return np.array(self._support[: len(self)], dtype=np.int64)

    @property
    def pending(self) -> list[Pattern]:
        """The candidates waiting in the pool for a recurrence (``min_support``), least recently
        seen first: not patterns yet, never matched, never features."""
        return [self._pool.pattern(i) for i in self._pool.by_age()]

    @property
    def counters(self) -> dict[str, int]:
        """How many candidates this library has seen, skipped as too simple, pooled, promoted to
        patterns and aged out of the pool (summed over merged libraries)."""
        return dict(self._counts)

    def _grow(self) -> None:
        if len(self) == self._Z.shape[0]:
            self._Z = np.concatenate([self._Z, np.zeros_like(self._Z)])
            self._support = np.concatenate([self._support, np.zeros_like(self._support)])

    # -- learning ------------------------------------------------------------------------------
    def _taken(self, pid: str) -> bool:
        if pid in self._index or pid in self._pool.index:
            return True
        if len(self._archived_ids) != len(self.archived):
            self._archived_ids = {p.id for p in self.archived}
        return pid in self._archived_ids

    def _unique_id(self, pid: str) -> str:
        if not self._taken(pid):
            return pid
        k = 1
        while self._taken(f"{pid}-{k}"):
            k += 1
        return f"{pid}-{k}"

    def _insert(self, z: NDArray[np.float64], pid: str, domain: str, support: int,
                first: tuple[SignalId, int], last: tuple[SignalId, int],
                capacity: int | None = None) -> str:
        while len(self) >= (self.config.max_patterns if capacity is None else capacity):
            self._archive_weakest()
        self._grow()
        i = len(self)
        self._Z[i] = z
        self._support[i] = support
        self._meta.append((pid, domain, first, last))
        self._index[pid] = i
        return pid

    def _archive_weakest(self, count: int = 1) -> None:
        """Move the ``count`` lowest-support patterns (the oldest first on ties) to
        :attr:`archived`, weakest first -- the same as archiving the weakest ``count`` times."""
        n = len(self)
        count = min(count, n)
        if count <= 0:
            return
        order = np.argsort(self._support[:n], kind="stable")[:count]
        self.archived.extend(self._pattern(int(i)) for i in order)
        keep = np.ones(n, dtype=bool)
        keep[order] = False
        kept = np.flatnonzero(keep)
        self._Z[: len(kept)] = self._Z[kept]
        self._support[: len(kept)] = self._support[kept]
        self._meta = [self._meta[int(i)] for i in kept]
        self._index = {m[0]: k for k, m in enumerate(self._meta)}

    def add(self, values: ArrayLike, *, signal_id: SignalId, offset: int, domain: str | None = None,
            support: int = 1) -> Pattern:
        """Found a new pattern from ``values`` (a window of the signal ``signal_id`` at ``offset``).

        When the library is full, the lowest-support pattern is archived first (kept in
        :attr:`archived`, restorable with :meth:`restore`).
        """
        z = _unit(values, self.window, "the new pattern")
        dom = self.domain if domain is None else domain
        sid = signal_key(signal_id)
        pid = self._unique_id(pattern_id(dom, self.window, sid, int(offset)))
        prov = (sid, int(offset))
        return self[self._insert(z, pid, dom, int(support), prov, prov)]

    def nearest(self, windows: ArrayLike) -> tuple[list[str | None], NDArray[np.float64]]:
        """The most correlated pattern of each window (rows of ``windows``, or one window).

        Returns ``(ids, correlations)``; ``None`` and ``-inf`` where the library is empty or the
        window is constant or not finite.
        """
        arr = np.asarray(windows, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.window:
            raise InvalidSignalError(f"windows of shape {arr.shape} do not match the library's window "
                                     f"{self.window}: pass (k, {self.window}) or ({self.window},)")
        C = np.stack([unit_normalize(np.ascontiguousarray(r)) for r in arr]) if len(arr) else arr
        idx, corr = _nearest(C, self._Z, len(self))
        valid = [bool(x) for x in np.atleast_1d(C.any(axis=1))]
        ids = [self._meta[k][0] if (k >= 0 and ok) else None for k, ok in zip(idx, valid)]
        return ids, np.where(np.array(valid, dtype=bool), corr, -np.inf)

    def restore(self, pid: str) -> Pattern:
        """Bring an archived pattern back into the library."""
        for k, p in enumerate(self.archived):
            if p.id == pid:
                del self.archived[k]
                self.insert(p)
                return self[pid]
        raise PatternNotFoundError(f"no archived pattern {pid!r} ({len(self.archived)} archived)")

    # -- whole patterns, as the batch machinery and the stores move them ------------------------
    def insert(self, pattern: Pattern, *, capacity: int | None = None) -> str:
        """Put ``pattern`` into the library as it is (id, prototype, support, provenance), archiving
        the weakest first while the library holds ``capacity`` (default ``max_patterns``)
        patterns. Returns its id. The id must be new to the library."""
        if pattern.id in self._index:
            raise InvalidParameterError(f"the library already holds a pattern {pattern.id!r}")
        return self._insert(np.array(pattern.prototype, dtype=np.float64), pattern.id, pattern.domain,
                            int(pattern.support), pattern.first_seen, pattern.last_updated,
                            capacity=capacity)

    @classmethod
    def from_patterns(cls, patterns: Iterable[Pattern], window: int, domain: str = "default", *,
                      config: EngineConfig | None = None) -> PatternLibrary:
        """A library holding ``patterns`` as they are, in order, none archived whatever their
        number (its config is ``config`` with an unbounded ``max_patterns``)."""
        cfg = (config if config is not None else EngineConfig(window=window)).replace(
            window=window, max_patterns=1 << 40)
        out = cls(window, domain, config=cfg)
        for p in patterns:
            out.insert(p)
        return out

    def archive_arrays(self) -> dict[str, NDArray[Any]]:
        """:meth:`to_arrays` of the archived patterns (in archive order)."""
        return PatternLibrary.from_patterns(self.archived, self.window, self.domain,
                                            config=self.config).to_arrays()

    def set_archive(self, patterns: Iterable[Pattern]) -> None:
        """Replace the archive by ``patterns``."""
        self.archived = list(patterns)
        self._archived_ids = {p.id for p in self.archived}

    def reinforce(self, pid: str, weighted_sum: NDArray[np.float64], count: int,
                  last: tuple[SignalId, int]) -> None:
        """Fold ``count`` absorbed instances into pattern (or pending candidate) ``pid``: its
        prototype becomes the normalized ``support * prototype + weighted_sum`` (the instances'
        moved prototypes, each weighted by the instances it absorbed), its support grows by
        ``count``, and its last provenance becomes the later of its own and ``last``. A pending
        candidate stays pending (see :meth:`promote_ready`)."""
        if pid in self._index:
            Z, support, meta, i = self._Z, self._support, self._meta, self._index[pid]
        else:
            pool = self._pool
            Z, support, meta, i = pool.Z, pool.support, pool.meta, pool.index[pid]
        s0 = int(support[i])
        moved = unit_normalize(s0 * Z[i] + weighted_sum)
        if moved.any():
            Z[i] = moved
        support[i] = s0 + int(count)
        p, dom, first, prev = meta[i]
        meta[i] = (p, dom, first, max(prev, last, key=provenance_order))

    def enforce_capacity(self, max_patterns: int | None = None) -> None:
        """Archive the weakest patterns until at most ``max_patterns`` (default the config's)
        remain."""
        cap = self.config.max_patterns if max_patterns is None else max_patterns
        self._archive_weakest(len(self) - cap)

    def assign(self, other: PatternLibrary) -> None:
        """Take over ``other``'s patterns and archive (used to commit a tentative update)."""
        self._Z, self._support = other._Z, other._support
        self._meta, self._index, self.archived = other._meta, other._index, other.archived
        self._archived_ids = other._archived_ids
        self._pool, self._counts = other._pool, other._counts
        self._bounds = other._bounds

    # -- merging ------------------------------------------------------------------------------
    def copy(self) -> PatternLibrary:
        """An independent copy."""
        out = PatternLibrary(self.window, self.domain, config=self.config)
        out._Z = self._Z.copy()
        out._support = self._support.copy()
        out._meta = list(self._meta)
        out._index = dict(self._index)
        out.archived = list(self.archived)
        out._archived_ids = set(self._archived_ids)
        out._pool = self._pool.copy()
        out._counts = dict(self._counts)
        out._frozen = self._frozen
        out._bounds = self._bounds  # shared: each refreshes what differs (see PrototypeBounds)
        return out

    def _kept_features(self) -> Features:
        """The features the pruned kernels need of the prototypes, kept between calls."""
        self._bounds = self._bounds.for_thread()
        return self._bounds.features(self._Z, len(self))

    def merge(self, other: PatternLibrary) -> PatternLibrary:
        """A new library: this one with the patterns of ``other`` folded in, in ``other``'s order.

        A pattern of ``other`` with the same id as one here, or whose prototype correlates
        ``>= cluster_threshold`` with its nearest pattern here (as this library was before the
        merge; else with the nearest of ``other``'s patterns that the merge added before it, as
        they are in ``other``), is combined with it: prototypes
        averaged weighted by support (then normalized), supports added, the earlier provenance
        and this library's id kept. Otherwise it is added. The result depends only on the two
        libraries and the order of the fold: merge a list of libraries with
        :meth:`merge_all`, which fixes that order.

        With ``min_complexity > 0`` or ``max_lag > 0`` (the defaults), or pending candidates on
        either side, prototypes are compared as in learning: complexity-corrected, and shifted
        by up to ``max_lag`` samples (a shifted copy is combined into the pattern it copies,
        aligned). Then ``other``'s pending candidates are folded in after its patterns: one that
        is like a pattern here reinforces it; one like a pending candidate here adds its support
        (and is promoted at ``min_support``); the others join the pool, whose least recently
        seen entries age out beyond ``pool_size``. The counters are added.
        """
        if other.window != self.window:
            raise InvalidParameterError(f"cannot merge a library of window {other.window} into one "
                                        f"of window {self.window}")
        cfg = self.config
        if max_lag_of(cfg, self.window) or cfg.min_complexity > 0.0 or len(self._pool) or len(other._pool):
            return self._merge_aligned(other)
        out = self.copy()
        for key in COUNTERS:
            out._counts[key] += other._counts[key]
        thr = out.config.cluster_threshold
        n0 = len(out)
        # one kernel call for every pattern of `other` against this library's patterns as they
        # were before the merge; patterns added by the merge are searched as they come
        idx0, corr0 = _nearest(np.ascontiguousarray(other._Z[: len(other)]), out._Z, n0)
        G = _gram(other._Z, len(other)) if len(other) > 1 else None
        added = np.empty(len(other), dtype=np.int64)  # patterns of `other` the merge added ...
        n_added = 0
        where: dict[int, int] = {}  # ... and their index in `out`
        for k in range(len(other)):
            pid, dom, first, last = other._meta[k]
            z = other._Z[k]
            s = int(other._support[k])
            if pid in out._index:
                i = out._index[pid]
            elif idx0[k] >= 0 and corr0[k] >= thr:
                i = int(idx0[k])
            else:
                i = -1
                if n_added and G is not None:
                    row = G[k, added[:n_added]]
                    best = int(np.argmax(row))
                    if row[best] >= thr:
                        i = where[int(added[best])]
            if i < 0:
                where[k] = len(out)
                added[n_added] = k
                n_added += 1
                # capacity is enforced once at the end: indices must not move during the merge
                out._insert(z.copy(), out._unique_id(pid), dom, s, first, last, capacity=1 << 62)
                continue
            s0 = int(out._support[i])
            merged = unit_normalize((s0 * out._Z[i] + s * z) / (s0 + s))
            if merged.any():
                out._Z[i] = merged
            out._support[i] = s0 + s
            pid0, dom0, first0, last0 = out._meta[i]
            keep_first = first0 if provenance_order(first0) <= provenance_order(first) else first
            keep_last = last0 if provenance_order(last0) >= provenance_order(last) else last
            out._meta[i] = (pid0, dom0, keep_first, keep_last)
        _extend_archive(out.archived, other.archived)
        out._archive_weakest(len(out) - out.config.max_patterns)
        return out

    def _merge_aligned(self, other: PatternLibrary) -> PatternLibrary:
        """:meth:`merge` with complexity-corrected, lag-aligned comparisons and the pools."""
        out = self.copy()
        cfg = out.config
        w, thr, ms = self.window, cfg.cluster_threshold, cfg.min_support
        # an entry of `other` is aligned within max_lag, as learning aligns a candidate; the
        # patterns it changed are then folded within the fold lag, as learning settles them
        lag, cid = max_lag_of(cfg, w), cfg.min_complexity > 0.0
        events = dict.fromkeys(COUNTERS, 0)
        n1, n2 = len(other), len(other._pool)
        E = np.concatenate([other._Z[:n1], other._pool.Z[:n2]])
        meta_e = other._meta + other._pool.meta
        sup_e = np.concatenate([other._support[:n1], other._pool.support[:n2]])
        m1, m2 = len(out), len(out._pool)
        F = np.concatenate([out._Z[:m1], out._pool.Z[:m2]])
        target = [m[0] for m in out._meta] + [m[0] for m in out._pool.meta]
        ce_e = complexity(E, len(E))
        ce_f = complexity(F, len(F))
        # entries `out` already holds (a partition's reinforced snapshot) combine by id: only the
        # others are compared with every pattern and pending entry
        fresh = [k for k in range(len(E)) if meta_e[k][0] not in out._index
                 and meta_e[k][0] not in out._pool.index]
        row_of = {k: r for r, k in enumerate(fresh)}
        if fresh and len(F):
            Ef = np.ascontiguousarray(E[fresh])
            R0, D0 = lagged_correlations_pruned(Ef, ce_e[fresh], F, ce_f, len(F), lag, cid, thr)
        else:
            R0, D0 = np.empty((len(fresh), 0)), np.zeros((len(fresh), 0), dtype=np.int64)
        added: list[int] = []  # entries of `other` the merge added, and their id in `out`
        added_id: list[str] = []
        touched: set[str] = set()  # patterns of `out` the merge added or changed
        for k in range(len(E)):
            pid, dom, first, last = meta_e[k]
            z, s = E[k], int(sup_e[k])
            tid, d = None, 0
            if pid in out._index or pid in out._pool.index:
                tid = pid
            else:
                r = R0[row_of[k]]
                ids, lags = target, D0[row_of[k]]
                if added:
                    rows = np.ascontiguousarray(E[added])
                    rg, dg = lagged_correlations_pruned(E[k:k + 1], ce_e[k:k + 1], rows, ce_e[added],
                                                        len(added), lag, cid, thr)
                    r = np.concatenate([r, rg[0]])
                    ids = target + added_id
                    lags = np.concatenate([lags, dg[0]])
                ok = r >= thr
                if ok.any():
                    is_pat = np.array([t in out._index for t in ids], dtype=bool)
                    pick = ok & is_pat if (ok & is_pat).any() else ok
                    j = int(np.argmax(np.where(pick, r, -np.inf)))
                    tid, d = ids[j], -int(lags[j])  # `z` moved right by d is like the target
            if tid is None:
                if k < n1 or s >= ms:
                    if k >= n1:
                        events["promoted"] += 1
                    nid = out._insert(z.copy(), out._unique_id(pid), dom, s, first, last,
                                      capacity=1 << 62)
                    touched.add(nid)
                else:
                    nid = out._unique_id(pid)
                    out._pool.insert(z.copy(), (nid, dom, first, last), s)
                added.append(k)
                added_id.append(nid)
                continue
            if tid in out._index:
                i = out._index[tid]
                out._Z[i], out._support[i], out._meta[i] = _combined(
                    out._Z[i], int(out._support[i]), out._meta[i], z, s, first, last, d)
                touched.add(tid)
            else:
                j = out._pool.index[tid]
                pool = out._pool
                pool.Z[j], pool.support[j], pool.meta[j] = _combined(
                    pool.Z[j], int(pool.support[j]), pool.meta[j], z, s, first, last, d)
                if pool.support[j] >= ms:
                    zp, meta, sp = pool.pop(j)
                    events["promoted"] += 1
                    touched.add(out._insert(zp, meta[0], meta[1], sp, meta[2], meta[3],
                                            capacity=1 << 62))
        events["aged_out"] += out._pool.trim(cfg.pool_size)
        for key in COUNTERS:
            out._counts[key] += other._counts[key] + events[key]
        # only what the merge changed can have become a shifted copy of another pattern (or a
        # trend): those are checked, in library order, not every pattern against every other
        changed = [m[0] for m in out._meta if m[0] in touched]
        folded = out._consolidate(changed, cfg)
        out._retire_simple([folded.get(p, p) for p in changed], cfg)
        _extend_archive(out.archived, other.archived)
        out._archive_weakest(len(out) - cfg.max_patterns)
        return out

    @staticmethod
    def merge_all(libraries: Iterable[PatternLibrary],
                  key: Any = None) -> PatternLibrary:
        """Merge libraries in a defined order: sorted by ``key`` (e.g. partition index) when
        given, else in the order given. Same libraries and key: same result, whatever order
        they arrived in."""
        libs = list(libraries)
        if not libs:
            raise InvalidParameterError("merge_all needs at least one library")
        if key is not None:
            libs = sorted(libs, key=key)
        out = libs[0].copy()
        for lib in libs[1:]:
            out = out.merge(lib)
        return out

    # -- export -------------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """Plain arrays (no pickle, no objects): ids, domains, prototypes, supports and
        provenance; the pending candidates (``pool_*``, the same columns) and the counters
        (in the order of :data:`COUNTERS`). :meth:`from_arrays` rebuilds the library exactly
        (archive excluded)."""
        first_sig = np.array([encode_signal_id(m[2][0]) for m in self._meta], dtype=str)
        first_off = np.array([m[2][1] for m in self._meta], dtype=np.int64)
        last_sig = np.array([encode_signal_id(m[3][0]) for m in self._meta], dtype=str)
        last_off = np.array([m[3][1] for m in self._meta], dtype=np.int64)
        pool = self._pool
        pm = pool.meta
        pending = {
            "pool_ids": np.array([m[0] for m in pm], dtype=str),
            "pool_domains": np.array([m[1] for m in pm], dtype=str),
            "pool_prototypes": pool.Z[: len(pool)].copy(),
            "pool_supports": pool.support[: len(pool)].copy(),
            "pool_first_signal": np.array([encode_signal_id(m[2][0]) for m in pm], dtype=str),
            "pool_first_offset": np.array([m[2][1] for m in pm], dtype=np.int64),
            "pool_last_signal": np.array([encode_signal_id(m[3][0]) for m in pm], dtype=str),
            "pool_last_offset": np.array([m[3][1] for m in pm], dtype=np.int64),
            "counters": np.array([self._counts[k] for k in COUNTERS], dtype=np.int64),
        }
        return {
            "window": np.array(self.window, dtype=np.int64),
            "domain": np.array(self.domain, dtype=str),
            "ids": np.array(self.ids, dtype=str),
            "domains": np.array([m[1] for m in self._meta], dtype=str),
            "prototypes": self.prototypes,
            "supports": self.supports,
            "first_signal": first_sig,
            "first_offset": first_off,
            "last_signal": last_sig,
            "last_offset": last_off,
            **pending,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, ArrayLike], *, domain: str | None = None,
                    config: EngineConfig | None = None) -> PatternLibrary:
        """Rebuild a library from :meth:`to_arrays` output."""
        window = int(np.asarray(arrays["window"]))
        ids = [str(x) for x in np.asarray(arrays["ids"])]
        domains = [str(x) for x in np.asarray(arrays["domains"])]
        Z = np.asarray(arrays["prototypes"], dtype=np.float64).reshape(len(ids), window)
        stored = str(np.asarray(arrays["domain"])) if "domain" in arrays else None
        lib = cls(window, domain or stored or (domains[0] if domains else "default"), config=config)

        n = len(ids)
        first = zip(np.asarray(arrays["first_signal"]).tolist(), np.asarray(arrays["first_offset"]).tolist())
        last = zip(np.asarray(arrays["last_signal"]).tolist(), np.asarray(arrays["last_offset"]).tolist())
        lib._Z = np.zeros((max(8, n), window))
        lib._Z[:n] = Z
        lib._support = np.zeros(max(8, n), dtype=np.int64)
        lib._support[:n] = np.asarray(arrays["supports"], dtype=np.int64)
        lib._meta = [(pid, dom, (decode_signal_id(fs), int(fo)), (decode_signal_id(ls), int(lo)))
                     for pid, dom, (fs, fo), (ls, lo) in zip(ids, domains, first, last)]
        lib._index = {pid: k for k, pid in enumerate(ids)}
        if "pool_ids" in arrays:
            pids = [str(x) for x in np.asarray(arrays["pool_ids"])]
            pdoms = [str(x) for x in np.asarray(arrays["pool_domains"])]
            PZ = np.asarray(arrays["pool_prototypes"], dtype=np.float64).reshape(len(pids), window)
            psup = np.asarray(arrays["pool_supports"], dtype=np.int64)
            pf = zip(np.asarray(arrays["pool_first_signal"]).tolist(),
                     np.asarray(arrays["pool_first_offset"]).tolist())
            pl_ = zip(np.asarray(arrays["pool_last_signal"]).tolist(),
                      np.asarray(arrays["pool_last_offset"]).tolist())
            for k, (pid, dom, (fs, fo), (ls, lo)) in enumerate(zip(pids, pdoms, pf, pl_)):
                meta = (pid, dom, (decode_signal_id(fs), int(fo)), (decode_signal_id(ls), int(lo)))
                lib._pool.insert(PZ[k].copy(), meta,
                                 int(psup[k]))
        if "counters" in arrays:  # an array in the order of COUNTERS, or a mapping by name
            c = arrays["counters"]
            lib.set_counters(c if isinstance(c, Mapping) else dict(zip(COUNTERS, np.asarray(c).tolist())))
        lib._archive_weakest(n - lib.config.max_patterns)
        lib._counts["aged_out"] += lib._pool.trim(lib.config.pool_size)
        return lib

    # -- features -----------------------------------------------------------------------------
    def transform(self, signals: Iterable[ArrayLike], *, counts: bool = False,
                  positions: bool = False) -> NDArray[np.float64]:
        """The library's patterns as features of each signal, in this process.

        For each signal (rows) and pattern (columns, library order): the best z-normalized
        Euclidean distance between the pattern and a window of the signal,
        ``sqrt(2 * window * (1 - r))`` for the best Pearson correlation ``r`` (0: an exact
        occurrence; ``2 * sqrt(window)``: the opposite shape). With ``counts``, then the number
        of matches (non-overlapping windows correlating ``>= cluster_threshold``, as
        :func:`perceive` reports them); with ``positions``, then the offset of the best window.
        A signal shorter than the window, empty, or without a finite non-constant window, gets NaN
        distances, 0 matches and position -1 instead of failing the whole collection (a signal
        that is not numbers at all raises :class:`SignalTypeError`).
        :class:`patternlab.PatternFeatures` does the same in a scikit-learn pipeline, and on Dask.

        Parameters
        ----------
        signals : iterable of 1-D arrays, or a 2-D array (one signal per row)
        counts, positions : bool
            Add the match counts, the best positions (as float columns).

        Returns
        -------
        ndarray of float64, shape ``(n_signals, n_patterns * (1 + counts + positions))``

        Examples
        --------
        >>> import numpy as np, patternlab as pl
        >>> lib = pl.PatternLibrary(window=8)
        >>> p = lib.add(np.sin(np.arange(8.0)), signal_id=0, offset=0)
        >>> F = lib.transform([np.sin(np.arange(40.0)), np.ones(5)], positions=True)
        >>> F.shape, round(float(F[0, 0]), 6), float(F[0, 1]), bool(np.isnan(F[1, 0])), float(F[1, 1])
        ((2, 2), 0.0, 0.0, True, -1.0)
        """
        rows = [self._features(x, counts, positions) for x in signals]
        width = len(self) * (1 + int(counts) + int(positions))
        return np.vstack(rows) if rows else np.empty((0, width))

    def _features(self, x: ArrayLike, counts: bool, positions: bool) -> NDArray[np.float64]:
        """One signal's row of :meth:`transform`."""
        n, w = len(self), self.window
        dist = np.full(n, np.nan)
        cnt = np.zeros(n)
        pos = np.full(n, -1.0)
        try:
            T = v.as_signal(x, "signal")
        except InvalidSignalError:  # empty, or nothing finite: no window to match (not a type error)
            T = np.empty(0)
        if T.shape[0] >= w and n:
            S = v.unit_scaled(T)
            finite = np.isfinite(S)
            if finite.any():
                S = S - S[finite].mean()
                Tm, _, sig2, valid, constant = window_stats(S, w)
                usable = valid & ~constant
                if usable.any():
                    sc = np.where(usable, 1.0 / np.sqrt(np.where(usable, sig2, 1.0)), 0.0)
                    r, at, c = best_matches(np.ascontiguousarray(self._Z[:n]), np.ascontiguousarray(Tm),
                                            sc, usable, self.config.cluster_threshold)
                    dist = np.sqrt(np.maximum(2.0 * w * (1.0 - r), 0.0))
                    cnt, pos = c.astype(np.float64), at.astype(np.float64)
        parts = [dist] + ([cnt] if counts else []) + ([pos] if positions else [])
        return np.concatenate(parts)

    # -- storage ------------------------------------------------------------------------------
    def save(self, path: Any, *, overwrite: bool = False) -> None:
        """Write the library and its archive as a zarr v3 group (a path, a URL such as
        ``memory://lib`` or ``s3://bucket/lib`` with s3fs, or a zarr store).

        The format is the one of run stores and of the Redis archive; :meth:`load` reads it back
        exactly (ids, prototypes bit for bit, supports, provenance, config, archive). Strings are
        stored as UTF-8 bytes, numbers as plain arrays: no pickle.

        Examples
        --------
        >>> import numpy as np, patternlab as pl
        >>> lib = pl.PatternLibrary(window=8)
        >>> _ = lib.add(np.sin(np.arange(8.0)), signal_id=0, offset=0)
        >>> lib.save("memory://doc-lib", overwrite=True)
        >>> pl.PatternLibrary.load("memory://doc-lib").ids == lib.ids
        True
        """
        stores = imported("patternlab.store.zarr", "PatternLibrary.save")
        stores.save_library(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: Any, *, config: EngineConfig | None = None) -> PatternLibrary:
        """Read a library written by :meth:`save` (``config`` overrides the stored one).

        Every array is verified against the checksums written with it, and the library against
        what a library is (supports >= 1, finite unit-norm prototypes, consistent lengths).

        Raises
        ------
        StoreError
            Nothing (or something other than a library) is at ``path``.
        StoreDataError
            The store is damaged (unreadable metadata, a chunk missing or failing its checksum,
            contents that are no library); the message names the array, and the chunk where
            known. Libraries saved before checksums existed (schema version 1) are read with
            the content checks only.
        """
        stores = imported("patternlab.store.zarr", "PatternLibrary.load")
        return cls.from_stored(stores.read_library(path), config)

    @classmethod
    def from_stored(cls, stored: StoredLibrary, config: EngineConfig | None = None) -> PatternLibrary:
        """Rebuild a library, archive included, from its stored arrays and attributes
        (``config`` overrides the stored one)."""
        domain = str(stored.attrs["domain"])
        where = stored.where or "the stored library"
        if config is None:
            try:
                config = EngineConfig(**stored.attrs["config"])
            except (PatternlabError, TypeError, KeyError) as exc:
                raise StoreDataError(f"{where}: its stored config cannot be used ({exc}): restore the "
                                     "library from a copy, or load it with config=...") from None
        big = config.replace(max_patterns=1 << 40)
        try:
            lib = cls.from_arrays(stored.arrays, domain=domain, config=big)
            lib.set_archive(cls.from_arrays(stored.archived, domain=domain, config=big))
        except PatternlabError as exc:
            raise StoreDataError(f"{where} does not hold a consistent library ({exc}): restore it "
                                 "from a copy") from None
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise StoreDataError(f"{where} does not hold a consistent library ({type(exc).__name__}: "
                                 f"{exc}): restore it from a copy") from None
        lib.config = config
        return lib

    # -- Jupyter ------------------------------------------------------------------------------
    def _repr_html_(self, max_rows: int = 50) -> str:
        rows = []
        for i in range(min(len(self), max_rows)):
            pid, dom, first, _ = self._meta[i]
            rows.append(
                f"<tr><td><code>{html.escape(pid)}</code></td><td>{html.escape(dom)}</td>"
                f"<td style='text-align:right'>{int(self._support[i])}</td>"
                f"<td>{html.escape(str(first))}</td><td>{_sparkline(self._Z[i])}</td></tr>")
        more = (f"<tr><td colspan=5>... {len(self) - max_rows} more</td></tr>"
                if len(self) > max_rows else "")
        c = self._counts
        learning = (f"<br>candidates: {c['seen']} seen, {c['too_simple']} too simple, {c['pooled']} "
                    f"pooled, {c['promoted']} promoted, {c['aged_out']} aged out; {len(self._pool)} "
                    f"pending; patterns folded {c['folded']}, retired {c['retired']}")
        return (f"<div><b>PatternLibrary</b> domain <code>{html.escape(self.domain)}</code>, "
                f"window {self.window}: {len(self)} patterns, {len(self.archived)} archived{learning}"
                "<table><thead><tr><th>id</th><th>domain</th><th>support</th><th>first seen</th>"
                f"<th>prototype</th></tr></thead><tbody>{''.join(rows)}{more}</tbody></table></div>")


