"""Pattern and PatternLibrary: the learned, shared vocabulary of recurring shapes."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._numba import pick
from .config import EngineConfig
from .errors import InvalidParameterError, InvalidSignalError, PatternNotFoundError
from .kernels import matching, pruning
from .kernels.matching import unit_normalize
from .store.zarr import StoredLibrary, read_library, save_library

__all__ = ["Pattern", "PatternLibrary", "decode_signal_id", "encode_signal_id", "library_and_config",
           "pattern_id", "provenance_order", "signal_key"]

SignalId = int | str

#: Candidates from which the nearest-pattern search bounds the prototypes first (the bounds cost
#: about one pass over them, repaid when several candidates share it).
_PRUNED_NEAREST_MIN = 8


def _nearest(C: NDArray[np.float64], Z: NDArray[np.float64], n: int) -> tuple[NDArray[np.int64],
                                                                             NDArray[np.float64]]:
    """The nearest of the first ``n`` prototypes to each unit candidate (exact; see
    :func:`~patternlab.kernels.matching.nearest_prototypes`), on threads when it is worth it."""
    work = len(C) * n * Z.shape[1]
    if len(C) >= _PRUNED_NEAREST_MIN:
        kernel = pick(pruning.nearest_prototypes_pruned, pruning.nearest_prototypes_pruned_serial,
                      work)
    else:
        kernel = pick(matching.nearest_prototypes, matching.nearest_prototypes_serial, work)
    return kernel(C, Z, n)  # type: ignore[no-any-return]


def _gram(Z: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """Correlations between the first ``n`` prototypes, on threads when it is worth it."""
    return pick(matching.gram, matching.gram_serial, n * n * Z.shape[1])(Z, n)  # type: ignore[no-any-return]


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
        return (f"<PatternLibrary domain={self.domain!r} window={self.window}: {len(self)} patterns, "
                f"{len(self.archived)} archived>")

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

    def _grow(self) -> None:
        if len(self) == self._Z.shape[0]:
            self._Z = np.concatenate([self._Z, np.zeros_like(self._Z)])
            self._support = np.concatenate([self._support, np.zeros_like(self._support)])

    # -- learning ------------------------------------------------------------------------------
    def _taken(self, pid: str) -> bool:
        if pid in self._index:
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

    def learn(self, values: ArrayLike, *, signal_id: SignalId, offset: int,
              domain: str | None = None, config: EngineConfig | None = None) -> tuple[str, str]:
        """Absorb one instance: move the most correlated pattern towards it when the correlation
        reaches ``cluster_threshold``, else found a new pattern.

        ``config`` (default: the library's) supplies ``cluster_threshold``, ``learning_rate`` and
        ``max_patterns``. Returns ``("updated" | "new", pattern id)``.
        """
        cfg = self.config if config is None else config
        z = _unit(values, self.window, "the instance")
        sid = signal_key(signal_id)
        idx, corr = _nearest(z[None, :], self._Z, len(self))
        if idx[0] >= 0 and corr[0] >= cfg.cluster_threshold:
            i = int(idx[0])
            lr = cfg.learning_rate
            moved = unit_normalize((1.0 - lr) * self._Z[i] + lr * z)
            if moved.any():  # opposite shapes cannot cancel at threshold > 0, but stay safe
                self._Z[i] = moved
            self._support[i] += 1
            pid, dom, first, _ = self._meta[i]
            self._meta[i] = (pid, dom, first, (sid, int(offset)))
            return "updated", pid
        dom = self.domain if domain is None else domain
        pid = self._unique_id(pattern_id(dom, self.window, sid, int(offset)))
        prov = (sid, int(offset))
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
        """Fold ``count`` absorbed instances into pattern ``pid``: its prototype becomes the
        normalized ``support * prototype + weighted_sum`` (the instances' moved prototypes,
        each weighted by the instances it absorbed), its support grows by ``count``, and its
        last provenance becomes the later of its own and ``last``."""
        i = self._index[pid]
        s0 = int(self._support[i])
        moved = unit_normalize(s0 * self._Z[i] + weighted_sum)
        if moved.any():
            self._Z[i] = moved
        self._support[i] = s0 + int(count)
        p, dom, first, prev = self._meta[i]
        self._meta[i] = (p, dom, first, max(prev, last, key=provenance_order))

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
        """
        if other.window != self.window:
            raise InvalidParameterError(f"cannot merge a library of window {other.window} into one "
                                        f"of window {self.window}")
        out = self.copy()
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
        out.archived.extend(p for p in other.archived if p.id not in {q.id for q in out.archived})
        out._archive_weakest(len(out) - out.config.max_patterns)
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
        provenance. :meth:`from_arrays` rebuilds the library exactly (archive excluded)."""
        first_sig = np.array([encode_signal_id(m[2][0]) for m in self._meta], dtype=str)
        first_off = np.array([m[2][1] for m in self._meta], dtype=np.int64)
        last_sig = np.array([encode_signal_id(m[3][0]) for m in self._meta], dtype=str)
        last_off = np.array([m[3][1] for m in self._meta], dtype=np.int64)
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
        lib._archive_weakest(n - lib.config.max_patterns)
        return lib

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
        return (f"<div><b>PatternLibrary</b> domain <code>{html.escape(self.domain)}</code>, "
                f"window {self.window}: {len(self)} patterns, {len(self.archived)} archived"
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
