"""The pieces a pattern library is made of: signal ids and their encoding, pattern ids, Pattern,
the pending pool, and the kernel choices of the nearest-pattern search."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._numba import pick
from .config import EngineConfig
from .errors import InvalidParameterError, InvalidSignalError
from .kernels import matching, pruning
from .kernels.matching import unit_normalize

__all__ = ["COUNTERS", "Meta", "Pattern", "SignalId", "decode_signal_id", "encode_signal_id",
           "fold_lag_of", "max_lag_of", "pattern_id", "provenance_order", "signal_key"]

SignalId = int | str
Meta = tuple[str, str, tuple[SignalId, int], tuple[SignalId, int]]

#: The learning counters of a library, in the order :meth:`PatternLibrary.to_arrays` stores them:
#: candidates seen, skipped as too simple (complexity below ``min_complexity``), pooled (founded
#: a pending entry), promoted (entries that became patterns), aged out (pending entries dropped
#: from the full pool), folded (patterns that became a shifted copy of another and were combined
#: with it) and retired (patterns whose prototype was averaged into a shape simpler than
#: ``min_complexity``, dropped).
COUNTERS = ("seen", "too_simple", "pooled", "promoted", "aged_out", "folded", "retired")

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
    """The lag bound in effect: ``cfg.max_lag`` (at most ``window // 2``), or ``window // 4`` when it
    is ``None``."""
    return window // 4 if cfg.max_lag is None else min(int(cfg.max_lag), window // 2)


def fold_lag_of(cfg: EngineConfig, window: int) -> int:
    """The lag within which two patterns are shifted copies of each other, folded into one when
    learning settles and when libraries merge: twice :func:`max_lag_of`, at most ``window // 2``
    (two sightings of a shape, each framed within ``max_lag`` of it, can lie twice that apart)."""
    return min(2 * max_lag_of(cfg, window), window // 2)


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
