"""Pattern and PatternLibrary: the learned, shared vocabulary of recurring shapes."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _validation as v
from .config import EngineConfig
from .errors import InvalidParameterError, InvalidSignalError, PatternNotFoundError
from .kernels.matching import best_matches, gram, nearest_prototypes, unit_normalize
from .kernels.shape import complexity, lagged_correlations, nearest_corrected, shifted_units
from .kernels.stats import window_stats
from .store.zarr import StoredLibrary, read_library, save_library

__all__ = ["Pattern", "PatternLibrary", "decode_signal_id", "encode_signal_id", "library_and_config",
           "pattern_id", "provenance_order", "signal_key"]

SignalId = int | str
Meta = tuple[str, str, tuple[SignalId, int], tuple[SignalId, int]]

#: The learning counters of a library, in the order :meth:`PatternLibrary.to_arrays` stores them:
#: candidates seen, skipped as too simple (complexity below ``min_complexity``), pooled (founded
#: a pending entry), promoted (entries that became patterns), aged out (pending entries dropped
#: from the full pool), folded (patterns that became a shifted copy of another and were combined
#: with it) and retired (patterns whose prototype was averaged into a shape simpler than
#: ``min_complexity``, dropped).
COUNTERS = ("seen", "too_simple", "pooled", "promoted", "aged_out", "folded", "retired")


def signal_key(signal_id: Any) -> SignalId:
    """A signal id as stored: Python ``int`` for any integer (numpy's included), ``str`` as is."""
    if isinstance(signal_id, (bool, np.bool_)):
        raise InvalidParameterError(f"signal_id={signal_id!r}: pass an integer or a string")
    if isinstance(signal_id, (int, np.integer)):
        return int(signal_id)
    if isinstance(signal_id, str):
        return signal_id
    raise InvalidParameterError(f"signal_id={signal_id!r} ({type(signal_id).__name__}): pass an "
                                "integer (its index in a batch) or a string key")


def encode_signal_id(signal_id: SignalId) -> str:
    """A signal id as text, keeping its type: ``"i:7"`` for the integer 7, ``"s:key"`` for the
    string ``"key"`` (the one encoding of provenance in every store).

    Examples
    --------
    >>> from patternlab.library import decode_signal_id, encode_signal_id
    >>> encode_signal_id(7), encode_signal_id("7"), decode_signal_id("i:7"), decode_signal_id("s:7")
    ('i:7', 's:7', 7, '7')
    """
    return f"s:{signal_id}" if isinstance(signal_id, str) else f"i:{int(signal_id)}"


def decode_signal_id(text: str) -> SignalId:
    """The signal id of :func:`encode_signal_id`'s text."""
    return text[2:] if text.startswith("s:") else int(text[2:])


def pattern_id(domain: str, window: int, signal_id: SignalId, offset: int) -> str:
    """The stable id of a pattern first seen in ``signal_id`` at ``offset``: a digest of its
    provenance, never of time or of the worker that found it.

    Examples
    --------
    >>> from patternlab.library import pattern_id
    >>> pattern_id("audio", 64, 7, 1200)
    'audio-64-8dc863553b86'
    """
    sid = signal_key(signal_id)
    key = f"{domain}\x1f{int(window)}\x1f{type(sid).__name__}:{sid}\x1f{int(offset)}"
    return f"{domain}-{window}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


@dataclass(frozen=True, eq=False)
class Pattern:
    """One learned pattern.

    Attributes
    ----------
    id : str
        Stable id derived from the provenance (see :func:`pattern_id`).
    domain : str
        The domain tag of the signals it was learned from.
    window : int
        Its length.
    prototype : ndarray
        The z-normalized shape (zero mean, unit L2 norm; multiply by ``sqrt(window)`` for unit
        standard deviation). Read-only.
    support : int
        Number of instances absorbed, the founding one included.
    first_seen : tuple
        ``(signal id, offset)`` where it was founded.
    last_updated : tuple
        ``(signal id, offset)`` of the last instance absorbed.
    """

    id: str
    domain: str
    window: int
    prototype: NDArray[np.float64]
    support: int
    first_seen: tuple[SignalId, int]
    last_updated: tuple[SignalId, int]

    def __repr__(self) -> str:
        return (f"Pattern(id={self.id!r}, support={self.support}, first_seen={self.first_seen}, "
                f"last_updated={self.last_updated})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pattern):
            return NotImplemented
        return (self.id == other.id and self.domain == other.domain and self.window == other.window
                and self.support == other.support and self.first_seen == other.first_seen
                and self.last_updated == other.last_updated
                and np.array_equal(self.prototype, other.prototype))

    __hash__ = None  # type: ignore[assignment]


def _unit(x: ArrayLike, window: int, what: str) -> NDArray[np.float64]:
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape != (window,):
        raise InvalidSignalError(f"{what} has shape {arr.shape}; the library's window is {window}: "
                                 f"pass {window} samples")
    z: NDArray[np.float64] = unit_normalize(np.ascontiguousarray(arr))
    if not z.any() or not np.isfinite(z).all():
        raise InvalidSignalError(f"{what} is constant or holds NaN/inf: it has no shape to learn; "
                                 "pass a finite, non-constant window")
    return z


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


class PatternLibrary:
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
        idx, corr = nearest_prototypes(C, self._Z, len(self))
        valid = [bool(x) for x in np.atleast_1d(C.any(axis=1))]
        ids = [self._meta[k][0] if (k >= 0 and ok) else None for k, ok in zip(idx, valid)]
        return ids, np.where(np.array(valid, dtype=bool), corr, -np.inf)

    def learn(self, values: ArrayLike, *, signal_id: SignalId, offset: int,
              domain: str | None = None, config: EngineConfig | None = None) -> tuple[str, str | None]:
        """Absorb one instance (a window of ``window`` samples first seen at ``offset`` of the
        signal ``signal_id``).

        A window whose complexity estimate is below ``min_complexity`` is skipped. Otherwise it
        moves its most similar pattern towards it (by ``learning_rate``) when their
        (complexity-corrected) correlation reaches ``cluster_threshold``; else it reinforces the
        most similar pending candidate, which becomes a pattern once seen ``min_support`` times;
        else it waits in the pool as a new candidate (the least recently seen one ages out of a
        full pool). With ``min_support=1`` it founds a pattern at once.

        ``config`` (default: the library's) supplies the settings. Returns ``("updated" | "new" |
        "pooled" | "skipped", id)``: ``"new"`` when a pattern was founded or promoted, ``id`` the
        pattern's or the pending entry's (``None`` when skipped).

        Examples
        --------
        >>> import numpy as np, patternlab as pl
        >>> lib = pl.PatternLibrary(window=16)
        >>> x = np.sin(np.linspace(0, 6 * np.pi, 16))
        >>> lib.learn(x, signal_id=0, offset=0)[0], len(lib), len(lib.pending)
        ('pooled', 0, 1)
        >>> lib.learn(x + 0.01 * np.cos(np.arange(16)), signal_id=1, offset=5)[0], len(lib)
        ('new', 1)
        """
        cfg = self.config if config is None else config
        _unit(values, self.window, "the instance")
        arr = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
        return self._learn(arr, 0, int(offset), signal_key(signal_id),
                           self.domain if domain is None else domain, cfg)

    def learn_at(self, signal: ArrayLike, offset: int, *, signal_id: SignalId, domain: str | None = None,
                 config: EngineConfig | None = None) -> tuple[str, str | None]:
        """:meth:`learn` the window ``signal[offset:offset + window]``, trying it shifted by up to
        ``max_lag`` samples within ``signal`` against every pattern and pending candidate (the
        best shift is the instance learned, and its provenance).

        Examples
        --------
        >>> import numpy as np, patternlab as pl
        >>> lib = pl.PatternLibrary(window=16)
        >>> x = np.r_[np.zeros(8), np.sin(np.linspace(0, 6 * np.pi, 16)), np.zeros(8)]
        >>> lib.learn_at(x, 8, signal_id=0)[0]
        'pooled'
        >>> lib.learn_at(x, 10, signal_id=1)[0]  # cut two samples late: learned at offset 8
        'new'
        >>> lib[0].last_updated
        (1, 8)
        """
        cfg = self.config if config is None else config
        T = np.ascontiguousarray(np.asarray(signal, dtype=np.float64))
        off = int(offset)
        if T.ndim != 1 or not 0 <= off <= T.shape[0] - self.window:
            raise InvalidSignalError(f"offset={offset} does not start a window of {self.window} samples "
                                     f"in a signal of shape {T.shape}: pass 0 <= offset <= "
                                     f"{max(T.shape[0] - self.window, 0) if T.ndim == 1 else 'len - window'}")
        _unit(T[off:off + self.window], self.window, "the instance")
        return self._learn(T, off, off, signal_key(signal_id), self.domain if domain is None else domain, cfg)

    def _learn(self, T: NDArray[np.float64], at: int, offset: int, sid: SignalId, dom: str,
               cfg: EngineConfig) -> tuple[str, str | None]:
        """Learn the window ``T[at:at + window]`` (provenance ``(sid, offset)``); shifts of up to
        ``max_lag`` samples within ``T`` are tried against every pattern and pending entry."""
        w = self.window
        self._counts["seen"] += 1
        lag = max_lag_of(cfg, w)
        cid = cfg.min_complexity > 0.0
        if lag == 0 and not cid and cfg.min_support <= 1:
            return self._learn_plain(np.ascontiguousarray(T[at:at + w]), offset, sid, dom, cfg)
        C, dd = shifted_units(T, at, w, lag)
        cc = complexity(C, len(C))
        if cid and cc[0] < cfg.min_complexity:
            self._counts["too_simple"] += 1
            return "skipped", None
        # unusable shifted windows drop out, and so do those simpler than min_complexity
        keep = cc >= cfg.min_complexity if cid else C.any(axis=1)
        if not keep.all():
            C, cc, dd = C[keep], cc[keep], dd[keep]
        thr = cfg.cluster_threshold
        r, i = self._best(C, cc, self._Z, len(self), cid)
        if i >= 0 and r[1] >= thr:
            self._absorb(i, C[r[0]], (sid, offset + int(dd[r[0]])), cfg.learning_rate)
            return "updated", self._meta[i][0]
        pool = self._pool
        r, j = self._best(C, cc, pool.Z, len(pool), cid)
        if j >= 0 and r[1] >= thr:
            pid = pool.meta[j][0]
            pool.absorb(j, C[r[0]], (sid, offset + int(dd[r[0]])), cfg.learning_rate)
            if pool.support[j] < cfg.min_support:
                return "pooled", pid
            self._promote(j, cfg.max_patterns)
            return "new", pid
        k = 0
        pid = self._unique_id(pattern_id(dom, w, sid, offset))
        prov = (sid, offset)
        if cfg.min_support <= 1:
            self._counts["promoted"] += 1
            return "new", self._insert(C[k].copy(), pid, dom, 1, prov, prov, capacity=cfg.max_patterns)
        self._counts["pooled"] += 1
        self._counts["aged_out"] += pool.make_room(cfg.pool_size)
        pool.insert(C[k].copy(), (pid, dom, prov, prov), 1)
        return "pooled", pid

    @staticmethod
    def _best(C: NDArray[np.float64], cc: NDArray[np.float64], Z: NDArray[np.float64], n: int,
              cid: bool) -> tuple[tuple[int, float], int]:
        """The best (row of ``C``, its correlation) and the prototype index, over all rows."""
        if n == 0:
            return (0, -np.inf), -1
        if cid:
            idx, corr = nearest_corrected(C, cc, Z, complexity(Z, n), n)
        else:
            idx, corr = nearest_prototypes(C, Z, n)
        k = int(np.argmax(corr))  # the first best: the smallest shift on ties
        return (k, float(corr[k])), int(idx[k])

    def _absorb(self, i: int, z: NDArray[np.float64], prov: tuple[SignalId, int], lr: float) -> None:
        moved = unit_normalize((1.0 - lr) * self._Z[i] + lr * z)
        if moved.any():  # opposite shapes cannot cancel at threshold > 0, but stay safe
            self._Z[i] = moved
        self._support[i] += 1
        pid, dom, first, _ = self._meta[i]
        self._meta[i] = (pid, dom, first, prov)

    def _promote(self, j: int, capacity: int) -> str:
        """Move pending entry ``j`` into the library (archiving the weakest pattern when full)."""
        z, meta, support = self._pool.pop(j)
        self._counts["promoted"] += 1
        return self._insert(z, meta[0], meta[1], support, meta[2], meta[3], capacity=capacity)

    def settle(self, pids: Iterable[str],
               config: EngineConfig | None = None) -> tuple[dict[str, str], set[str]]:
        """After learning: fold each pattern of ``pids`` that has become a shifted copy of another
        into it, then drop those whose prototype has become simpler than ``min_complexity``.
        Returns ``({folded id: kept id}, {dropped ids})`` (both counted in :attr:`counters`).
        Patterns of :meth:`protect` are never the ones removed."""
        cfg = self.config if config is None else config
        ids = list(pids)
        folded = self._consolidate(ids, cfg)
        kept = [folded.get(p, p) for p in ids]
        return folded, set(self._retire_simple(kept, cfg))

    def protect(self, pids: Iterable[str]) -> None:
        """Never fold away or drop these patterns here (a batch partition protects its snapshot:
        a delta can reinforce the snapshot's patterns, not remove them)."""
        self._frozen = frozenset(pids)

    def add_pending(self, pattern: Pattern) -> None:
        """Put ``pattern`` into the pool of pending candidates as it is (its id must be new)."""
        if self._taken(pattern.id):
            raise InvalidParameterError(f"the library already holds {pattern.id!r}")
        self._pool.insert(np.array(pattern.prototype, dtype=np.float64),
                          (pattern.id, pattern.domain, pattern.first_seen, pattern.last_updated),
                          int(pattern.support))

    def is_pending(self, pid: str) -> bool:
        """Whether ``pid`` is a pending candidate (not yet a pattern)."""
        return pid in self._pool.index

    def promote_ready(self, pids: Iterable[str], config: EngineConfig | None = None) -> list[str]:
        """Promote the pending candidates of ``pids`` (in that order) whose support has reached
        ``min_support``; returns their ids."""
        cfg = self.config if config is None else config
        out = []
        for pid in pids:
            j = self._pool.index.get(pid)
            if j is not None and self._pool.support[j] >= cfg.min_support:
                self._promote(j, 1 << 62)
                out.append(pid)
        return out

    def set_counters(self, counters: Mapping[str, int]) -> None:
        """Replace the learning counters (keys of :data:`COUNTERS`)."""
        self._counts = {k: int(counters.get(k, 0)) for k in COUNTERS}

    def _consolidate(self, pids: list[str], cfg: EngineConfig) -> dict[str, str]:
        """Fold each pattern of ``pids`` that has become a shifted copy of another pattern
        (lag-aligned, complexity-corrected correlation ``>= cluster_threshold``) into it: the
        higher support is kept (the earlier pattern on ties; a pattern of :attr:`_frozen`, the
        snapshot of a batch partition, is never the one folded away). Returns folded -> kept."""
        lag, cid = max_lag_of(cfg, self.window), cfg.min_complexity > 0.0
        if not (lag or cid):
            return {}
        folded: dict[str, str] = {}
        for pid in dict.fromkeys(pids):
            n = len(self)
            if pid not in self._index or n < 2:
                continue
            i = self._index[pid]
            ce = complexity(self._Z, n)
            R, D = lagged_correlations(self._Z[i:i + 1], ce[i:i + 1], self._Z, ce, n, lag, cid)
            r = R[0]
            r[i] = -np.inf
            j = int(np.argmax(r))
            if r[j] < cfg.cluster_threshold:
                continue
            d = int(D[0, j])  # pattern i is like pattern j moved right by d
            si, sj = int(self._support[i]), int(self._support[j])
            keep_i = si > sj or (si == sj and i < j)
            fi, fj = self._meta[i][0] in self._frozen, self._meta[j][0] in self._frozen
            if fi and fj:
                continue
            if fi != fj:
                keep_i = fi
            keep, drop, shift = (i, j, d) if keep_i else (j, i, -d)
            _, _, first, last = self._meta[drop]
            self._Z[keep], self._support[keep], self._meta[keep] = _combined(
                self._Z[keep], int(self._support[keep]), self._meta[keep], self._Z[drop].copy(),
                int(self._support[drop]), first, last, shift)
            folded[self._meta[drop][0]] = self._meta[keep][0]
            self._drop(drop)
            self._counts["folded"] += 1
        return folded

    def _retire_simple(self, pids: list[str], cfg: EngineConfig) -> list[str]:
        """Drop (and count) the patterns of ``pids`` whose prototype has become simpler than
        ``min_complexity`` (a shape averaged into a trend); never one of :attr:`_frozen`."""
        if not cfg.min_complexity > 0.0:
            return []
        rows = [self._index[p] for p in dict.fromkeys(pids) if p in self._index and p not in self._frozen]
        if not rows:
            return []
        ce = complexity(np.ascontiguousarray(self._Z[rows]), len(rows))
        out = [self._meta[i][0] for i, c in zip(rows, ce) if c < cfg.min_complexity]
        for pid in out:
            self._drop(self._index[pid])
        self._counts["retired"] += len(out)
        return out

    def _drop(self, i: int) -> None:
        """Remove pattern ``i`` (folded into another: not archived)."""
        n = len(self)
        keep = np.ones(n, dtype=bool)
        keep[i] = False
        kept = np.flatnonzero(keep)
        self._Z[: len(kept)] = self._Z[kept]
        self._support[: len(kept)] = self._support[kept]
        self._meta = [self._meta[int(k)] for k in kept]
        self._index = {m[0]: k for k, m in enumerate(self._meta)}

    def _learn_plain(self, window: NDArray[np.float64], offset: int, sid: SignalId, dom: str,
                     cfg: EngineConfig) -> tuple[str, str | None]:
        """Learning without complexity, lag or pool (``min_complexity=0``, ``max_lag=0``,
        ``min_support=1``): every candidate updates its most correlated pattern or founds one."""
        z = unit_normalize(window)
        idx, corr = nearest_prototypes(z[None, :], self._Z, len(self))
        if idx[0] >= 0 and corr[0] >= cfg.cluster_threshold:
            i = int(idx[0])
            self._absorb(i, z, (sid, offset), cfg.learning_rate)
            return "updated", self._meta[i][0]
        pid = self._unique_id(pattern_id(dom, self.window, sid, offset))
        prov = (sid, offset)
        self._counts["promoted"] += 1
        return "new", self._insert(z, pid, dom, 1, prov, prov, capacity=cfg.max_patterns)

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
        return out

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
        idx0, corr0 = nearest_prototypes(np.ascontiguousarray(other._Z[: len(other)]), out._Z, n0)
        G = gram(other._Z, len(other)) if len(other) > 1 else None
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
        out.archived.extend(p for p in other.archived if p.id not in {q.id for q in out.archived})
        out._archive_weakest(len(out) - out.config.max_patterns)
        return out

    def _merge_aligned(self, other: PatternLibrary) -> PatternLibrary:
        """:meth:`merge` with complexity-corrected, lag-aligned comparisons and the pools."""
        out = self.copy()
        cfg = out.config
        w, thr, ms = self.window, cfg.cluster_threshold, cfg.min_support
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
        if len(E) and len(F):
            R0, D0 = lagged_correlations(E, ce_e, F, ce_f, len(F), lag, cid)
        else:
            R0, D0 = np.empty((len(E), 0)), np.zeros((len(E), 0), dtype=np.int64)
        added: list[int] = []  # entries of `other` the merge added, and their id in `out`
        added_id: list[str] = []
        for k in range(len(E)):
            pid, dom, first, last = meta_e[k]
            z, s = E[k], int(sup_e[k])
            tid, d = None, 0
            if pid in out._index or pid in out._pool.index:
                tid = pid
            else:
                r = R0[k]
                ids, lags = target, D0[k]
                if added:
                    rows = np.ascontiguousarray(E[added])
                    rg, dg = lagged_correlations(E[k:k + 1], ce_e[k:k + 1], rows, ce_e[added],
                                                 len(added), lag, cid)
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
            else:
                j = out._pool.index[tid]
                pool = out._pool
                pool.Z[j], pool.support[j], pool.meta[j] = _combined(
                    pool.Z[j], int(pool.support[j]), pool.meta[j], z, s, first, last, d)
                if pool.support[j] >= ms:
                    zp, meta, sp = pool.pop(j)
                    events["promoted"] += 1
                    out._insert(zp, meta[0], meta[1], sp, meta[2], meta[3], capacity=1 << 62)
        events["aged_out"] += out._pool.trim(cfg.pool_size)
        for key in COUNTERS:
            out._counts[key] += other._counts[key] + events[key]
        out._consolidate([m[0] for m in out._meta], cfg)
        out._retire_simple([m[0] for m in out._meta], cfg)
        out.archived.extend(p for p in other.archived if p.id not in {q.id for q in out.archived})
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
        save_library(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: Any, *, config: EngineConfig | None = None) -> PatternLibrary:
        """Read a library written by :meth:`save` (``config`` overrides the stored one)."""
        return cls.from_stored(read_library(path), config)

    @classmethod
    def from_stored(cls, stored: StoredLibrary, config: EngineConfig | None = None) -> PatternLibrary:
        """Rebuild a library, archive included, from its stored arrays and attributes
        (``config`` overrides the stored one)."""
        domain = str(stored.attrs["domain"])
        cfg = config if config is not None else EngineConfig(**stored.attrs["config"])
        big = cfg.replace(max_patterns=1 << 40)
        lib = cls.from_arrays(stored.arrays, domain=domain, config=big)
        lib.set_archive(cls.from_arrays(stored.archived, domain=domain, config=big))
        lib.config = cfg
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


def provenance_order(prov: tuple[SignalId, int]) -> tuple[int, Any, int]:
    """A total order on provenances: integer signal ids (numerically) before string ones."""
    sid, off = prov
    return (0, int(sid), off) if isinstance(sid, int) else (1, str(sid), off)


def _sparkline(z: NDArray[np.float64], width: int = 120, height: int = 24) -> str:
    """An inline SVG polyline of a prototype."""
    lo, hi = float(z.min()), float(z.max())
    span = hi - lo or 1.0
    xs = np.linspace(1, width - 1, z.shape[0])
    ys = height - 1 - (z - lo) / span * (height - 2)
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    return (f"<svg width='{width}' height='{height}' viewBox='0 0 {width} {height}'>"
            f"<polyline fill='none' stroke='#1f77b4' stroke-width='1.2' points='{pts}'/></svg>")


def max_lag_of(cfg: EngineConfig, window: int) -> int:
    """The lag bound in effect: ``cfg.max_lag``, or ``window // 8`` when it is ``None``."""
    return window // 4 if cfg.max_lag is None else min(int(cfg.max_lag), window // 2)


def _combined(z0: NDArray[np.float64], s0: int, meta: Meta, z: NDArray[np.float64], s: int,
              first: tuple[SignalId, int], last: tuple[SignalId, int],
              d: int) -> tuple[NDArray[np.float64], int, Meta]:
    """``z0`` (support ``s0``) combined with ``z`` (support ``s``) moved right by ``d`` samples
    (where ``z`` has no sample, ``z0``'s own stands in): the support-weighted mean, normalized."""
    if d:
        w = z0.shape[0]
        al = z0.copy()
        lo, hi = max(0, d), min(w, w + d)
        al[lo:hi] = z[lo - d:hi - d]
        z = al
    merged = unit_normalize((s0 * z0 + s * z) / (s0 + s))
    pid0, dom0, first0, last0 = meta
    keep_first = first0 if provenance_order(first0) <= provenance_order(first) else first
    keep_last = last0 if provenance_order(last0) >= provenance_order(last) else last
    return (merged if merged.any() else z0), s0 + s, (pid0, dom0, keep_first, keep_last)


class _Pool:
    """The pending candidates of a library: prototypes, supports and provenance, like the
    library's own patterns, but never searched in signals."""

    def __init__(self, window: int) -> None:
        self.Z = np.zeros((8, window))
        self.support = np.zeros(8, dtype=np.int64)
        self.meta: list[Meta] = []
        self.index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.meta)

    def copy(self) -> _Pool:
        out = _Pool(self.Z.shape[1])
        out.Z, out.support = self.Z.copy(), self.support.copy()
        out.meta, out.index = list(self.meta), dict(self.index)
        return out

    def pattern(self, i: int) -> Pattern:
        pid, dom, first, last = self.meta[i]
        z = self.Z[i].copy()
        z.setflags(write=False)
        return Pattern(pid, dom, self.Z.shape[1], z, int(self.support[i]), first, last)

    def insert(self, z: NDArray[np.float64], meta: Meta, support: int) -> None:
        n = len(self)
        if n == self.Z.shape[0]:
            self.Z = np.concatenate([self.Z, np.zeros_like(self.Z)])
            self.support = np.concatenate([self.support, np.zeros_like(self.support)])
        self.Z[n] = z
        self.support[n] = support
        self.meta.append(meta)
        self.index[meta[0]] = n

    def absorb(self, j: int, z: NDArray[np.float64], prov: tuple[SignalId, int], lr: float) -> None:
        moved = unit_normalize((1.0 - lr) * self.Z[j] + lr * z)
        if moved.any():
            self.Z[j] = moved
        pid, dom, first, last = self.meta[j]
        if last[0] != prov[0]:  # sightings count once per signal
            self.support[j] += 1
        self.meta[j] = (pid, dom, first, prov)

    def _remove(self, drop: NDArray[np.int64]) -> None:
        n = len(self)
        keep = np.ones(n, dtype=bool)
        keep[drop] = False
        kept = np.flatnonzero(keep)
        self.Z[: len(kept)] = self.Z[kept]
        self.support[: len(kept)] = self.support[kept]
        self.meta = [self.meta[int(i)] for i in kept]
        self.index = {m[0]: k for k, m in enumerate(self.meta)}

    def pop(self, j: int) -> tuple[NDArray[np.float64], Meta, int]:
        z, meta, s = self.Z[j].copy(), self.meta[j], int(self.support[j])
        self._remove(np.array([j], dtype=np.int64))
        return z, meta, s

    def by_age(self) -> list[int]:
        """Entry indices, the least recently seen first (by last sighting, then position)."""
        return sorted(range(len(self)), key=lambda i: (provenance_order(self.meta[i][3]), i))

    def trim(self, size: int) -> int:
        """Drop the least recently seen entries beyond ``size``; return how many."""
        extra = len(self) - size
        if extra <= 0:
            return 0
        self._remove(np.array(self.by_age()[:extra], dtype=np.int64))
        return extra

    def make_room(self, size: int) -> int:
        """Make room for one more entry within ``size``; return how many aged out."""
        return self.trim(size - 1)
