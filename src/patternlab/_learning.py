"""How a library learns: candidates that update a pattern, wait in the pending pool, or found a
pattern; shifted copies folded together; patterns that became too simple retired. A mixin of
:class:`~patternlab.PatternLibrary`, which holds the state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._bounds import Features, PrototypeBounds
from ._patterns import (
    COUNTERS,
    Meta,
    Pattern,
    SignalId,
    _combined,
    _nearest,
    _Pool,
    _unit,
    fold_lag_of,
    max_lag_of,
    pattern_id,
    signal_key,
)
from .config import EngineConfig
from .errors import InvalidParameterError, InvalidSignalError
from .kernels.matching import unit_normalize
from .kernels.shape import (
    complexity,
    lagged_correlations_kept,
    nearest_corrected,
    nearest_corrected_kept,
    nearest_corrected_pruned,
    shifted_units,
)

#: Library size from which a candidate's nearest pattern is searched with the bounds of
#: :func:`~patternlab.kernels.shape.nearest_corrected_pruned` (the same decisions).
PRUNE_NEAREST_FROM = 256

__all__ = ["LearningMixin"]


def _framed(T: NDArray[np.float64], at: int, w: int, rounds: int = 8) -> int:
    """The shift of the window ``T[at:at + w]`` that frames its activity: the window moved (at
    most ``rounds`` times, by at most ``w`` samples in all, within ``T``) until the centroid of
    its squared first differences is its centre, a mean shift to the nearest mode of the
    signal's activity.

    The centroid does not change when the signal is scaled or offset, and a background of even
    activity (noise, a random walk's steps) pulls it to the centre only: the sightings of a shape
    are framed alike wherever they were cut near it, around the shape's activity (a decaying
    oscillation around its first cycles, not where it starts). The squared differences are
    clipped at their 97th percentile over the windows in reach, so that a single jump (a shape
    riding on a level shift) does not outweigh the shape and frame the window around itself.
    ``0`` when a non-finite sample is near the window or the window is constant.
    """
    n = T.shape[0]
    lo, hi = max(0, at - w), min(n - w, at + w)
    with np.errstate(over="ignore", invalid="ignore"):
        D = np.diff(T[lo:hi + w])
        top = float(np.abs(D).max()) if D.size else 0.0
        if not (np.isfinite(D).all() and 0.0 < top < np.inf):
            return 0
    D = np.square(D / top)  # no overflow
    D = np.minimum(D, np.quantile(D, 0.97))  # a jump weighs like the shape's active samples
    pos = np.arange(w - 1, dtype=np.float64)
    a = at
    for _ in range(rounds):
        e = D[a - lo:a - lo + w - 1]
        tot = float(e.sum())
        if not tot > 0.0:
            break
        b = min(hi, max(lo, a + int(np.rint(float(e @ pos) / tot - (w - 2) / 2))))
        if b == a:
            break
        a = b
    return a - at


class LearningMixin:
    """The learning methods of :class:`~patternlab.PatternLibrary` (see there)."""

    # the state they work on, set by PatternLibrary.__init__
    config: EngineConfig
    window: int
    domain: str
    archived: list[Pattern]
    _Z: NDArray[np.float64]
    _support: NDArray[np.int64]
    _meta: list[Meta]
    _index: dict[str, int]
    _archived_ids: set[str]
    _pool: _Pool
    _counts: dict[str, int]
    _frozen: frozenset[str]
    _bounds: PrototypeBounds

    def __len__(self) -> int:
        return len(self._meta)

    def _kept_features(self) -> Features:  # pragma: no cover - PatternLibrary's
        raise NotImplementedError

    def _taken(self, pid: str) -> bool:  # pragma: no cover - PatternLibrary's
        raise NotImplementedError

    def _unique_id(self, pid: str) -> str:  # pragma: no cover - PatternLibrary's
        raise NotImplementedError

    def _insert(self, z: NDArray[np.float64], pid: str, domain: str, support: int,
                first: tuple[SignalId, int], last: tuple[SignalId, int],
                capacity: int | None = None) -> str:  # pragma: no cover - PatternLibrary's
        raise NotImplementedError

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
        """:meth:`learn` the window ``signal[offset:offset + window]``: framed around its activity
        first (moved, by at most a window, until the centroid of its squared first differences is
        its centre; not with ``max_lag=0``), then tried shifted by up to ``max_lag`` samples
        within ``signal`` against every pattern and pending candidate (the best shift is the
        instance learned, and its provenance).

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
               cfg: EngineConfig, *, frame: bool = True) -> tuple[str, str | None]:
        """Learn the window ``T[at:at + window]`` (provenance ``(sid, offset)``), framed around
        its activity first (unless ``frame=False``: the caller framed it); shifts of up to
        ``max_lag`` samples within ``T`` are tried against every pattern and pending entry."""
        w = self.window
        self._counts["seen"] += 1
        lag = max_lag_of(cfg, w)
        cid = cfg.min_complexity > 0.0
        if lag == 0 and not cid and cfg.min_support <= 1:
            return self._learn_plain(np.ascontiguousarray(T[at:at + w]), offset, sid, dom, cfg)
        if frame and lag and T.shape[0] > w:  # a window of a signal: framed by its content
            d0 = _framed(T, at, w)
            at, offset = at + d0, offset + d0
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
        r, i = self._best(C, cc, self._Z, len(self), cid, thr, self._kept_features)
        if i >= 0 and r[1] >= thr:
            self._absorb(i, C[r[0]], (sid, offset + int(dd[r[0]])), cfg.learning_rate)
            return "updated", self._meta[i][0]
        pool = self._pool
        r, j = self._best(C, cc, pool.Z, len(pool), cid, thr)
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
              cid: bool, thr: float,
              kept: Callable[[], Features] | None = None) -> tuple[tuple[int, float], int]:
        """The best (row of ``C``, its correlation) and the prototype index, over all rows;
        exact whenever the correlation reaches ``thr`` (below it, no decision depends on it).
        ``kept``: the features kept for ``Z`` (the library's, not the pool's)."""
        if n == 0:
            return (0, -np.inf), -1
        if cid and n >= PRUNE_NEAREST_FROM and kept is not None:
            f = kept()
            idx, corr = nearest_corrected_kept(C, cc, Z, f.ce, f.P1, f.q, n, thr)
        elif cid and n >= PRUNE_NEAREST_FROM:
            idx, corr = nearest_corrected_pruned(C, cc, Z, complexity(Z, n), n, thr)
        elif cid:
            idx, corr = nearest_corrected(C, cc, Z, complexity(Z, n), n)
        else:
            idx, corr = _nearest(C, Z, n)
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
        lag, cid = fold_lag_of(cfg, self.window), cfg.min_complexity > 0.0
        if not (lag or cid):
            return {}
        folded: dict[str, str] = {}
        for pid in dict.fromkeys(pids):
            n = len(self)
            if pid not in self._index or n < 2:
                continue
            i = self._index[pid]
            f = self._kept_features()
            R, D = lagged_correlations_kept(self._Z[i:i + 1], f.ce[i:i + 1], self._Z, f.ce, n, lag, cid,
                                            cfg.cluster_threshold, f.PS, f.QS)
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
        self._Z[i:n - 1] = self._Z[i + 1:n]
        self._support[i:n - 1] = self._support[i + 1:n]
        del self._index[self._meta[i][0]]
        del self._meta[i]
        index = self._index
        for k in range(i, n - 1):  # the patterns after it move up one row
            index[self._meta[k][0]] = k

    def _learn_plain(self, window: NDArray[np.float64], offset: int, sid: SignalId, dom: str,
                     cfg: EngineConfig) -> tuple[str, str | None]:
        """Learning without complexity, lag or pool (``min_complexity=0``, ``max_lag=0``,
        ``min_support=1``): every candidate updates its most correlated pattern or founds one."""
        z = unit_normalize(window)
        idx, corr = _nearest(z[None, :], self._Z, len(self))
        if idx[0] >= 0 and corr[0] >= cfg.cluster_threshold:
            i = int(idx[0])
            self._absorb(i, z, (sid, offset), cfg.learning_rate)
            return "updated", self._meta[i][0]
        pid = self._unique_id(pattern_id(dom, self.window, sid, offset))
        prov = (sid, offset)
        self._counts["promoted"] += 1
        return "new", self._insert(z, pid, dom, 1, prov, prov, capacity=cfg.max_patterns)

