"""What every pattern store stores and how a publish changes it, once for all backends.

A stored pattern is a :class:`Record`: its support, the support-weighted sum ``acc`` of the
prototypes it absorbed (its prototype is ``unit_normalize(acc)``), its first and last provenance
(signal ids encoded ``i:<int>`` / ``s:<text>``) and the time it was last written. A publish is a
list of changes (:func:`diff`), cut into groups by shard (:func:`groups`), each group applied
atomically with its own token. :func:`apply_change` is the reference of what the Redis store's
server-side script does to one pattern; the in-process stores run it as it is.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..config import EngineConfig
from ..errors import InvalidParameterError
from ..kernels.matching import unit_normalize
from ..library import PatternLibrary, decode_signal_id, encode_signal_id, provenance_order

#: Shards per (domain, window) library; part of the Redis key layout (changing it needs a new
#: namespace) and of the grouping of every store's update tokens.
SHARDS = 64
#: Patterns per atomic group of a publish (a shard's larger updates are applied in chunks, each
#: with its own derived token ``token#k``).
CHUNK = 1000


@dataclass
class Record:
    """One stored pattern (see the module docstring)."""

    pid: str
    domain: str
    acc: NDArray[np.float64]
    support: int
    first: tuple[str, int]
    last: tuple[str, int]
    updated: float


class Change(NamedTuple):
    """What one publish adds to one pattern: ``dn`` instances whose prototypes sum to ``vec``
    (``dn * prototype`` as little-endian float64 bytes), and the provenance they bring."""

    pid: str
    domain: str
    dn: int
    vec: bytes
    first_signal: str
    first_offset: int
    last_signal: str
    last_offset: int


def prov_key(sig: str, off: int) -> tuple[int, Any, int]:
    """The order of an encoded provenance (``"i:7"``, offset), as :func:`provenance_order`."""
    return provenance_order((decode_signal_id(sig), off))


def shard_of(pid: str) -> int:
    """The shard of a pattern id (stable across processes and versions)."""
    return int.from_bytes(hashlib.sha1(pid.encode()).digest()[:4], "little") % SHARDS


def check_number(name: str, value: Any, low: float, integer: bool = False) -> None:
    ok = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.number))
    if isinstance(value, bool) or not ok or not (value >= low) or not math.isfinite(float(value)):
        kind = "an integer" if integer else "a number"
        raise InvalidParameterError(f"{name}={value!r}: pass {kind} >= {low}")


def check_library_key(domain: Any, window: Any) -> None:
    if not isinstance(domain, str) or not domain:
        raise InvalidParameterError(f"domain={domain!r}: pass a non-empty string")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise InvalidParameterError(f"window={window!r}: pass a positive integer")


def check_config(config: Any) -> None:
    if config is not None and not isinstance(config, EngineConfig):
        raise InvalidParameterError(f"config={config!r}: pass an EngineConfig or None")


def check_publish(before: Any, after: Any, token: Any) -> None:
    """The arguments of ``publish`` (two libraries of one ``(domain, window)``, a token)."""
    if not isinstance(after, PatternLibrary) or not isinstance(before, (PatternLibrary, type(None))):
        raise InvalidParameterError(f"publish(before, after): got {type(before).__name__}, "
                                    f"{type(after).__name__}; pass PatternLibrary objects")
    if not isinstance(token, str) or not token:
        raise InvalidParameterError(f"token={token!r}: pass a non-empty string naming this update, "
                                    "e.g. 'run-id/partition-7'")
    if before is not None and (before.window != after.window or before.domain != after.domain):
        raise InvalidParameterError(
            f"before is {before.domain!r}/{before.window} but after is {after.domain!r}/{after.window}: "
            "publish a library against the one it was learned from")


def check_ids(ids: Any) -> list[str] | None:
    """The ``ids`` of ``restore``: ``None`` (all) or a collection of pattern ids (any iterable of
    strings but a string itself)."""
    if ids is None:
        return None
    items = None if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable) else list(ids)
    if items is None or not all(isinstance(x, str) for x in items):
        raise InvalidParameterError(f"ids={ids!r}: pass a list of pattern ids (strings), or None for "
                                    "every archived pattern")
    return items


def diff(before: PatternLibrary | None, after: PatternLibrary) -> list[Change]:
    """A :class:`Change` for every pattern ``after`` created or reinforced relative to ``before``
    (support grown by ``dn``: adds ``dn * prototype_after``)."""
    a = after.to_arrays()
    old: dict[str, int] = {}
    if before is not None:
        b = before.to_arrays()
        old = {str(p): int(s) for p, s in zip(b["ids"], b["supports"])}
    out = []
    for k, pid in enumerate(a["ids"].tolist()):
        dn = int(a["supports"][k]) - old.get(pid, 0)
        if dn <= 0:
            continue
        vec = (float(dn) * a["prototypes"][k]).astype("<f8").tobytes()
        out.append(Change(pid, str(a["domains"][k]), dn, vec, str(a["first_signal"][k]),
                          int(a["first_offset"][k]), str(a["last_signal"][k]), int(a["last_offset"][k])))
    return out


def restore_change(pid: str, domain: str, support: int, prototype: NDArray[np.float64],
                   first: tuple[Any, int], last: tuple[Any, int]) -> Change:
    """The change that brings an archived pattern back (its whole support, its prototype)."""
    vec = (float(support) * np.asarray(prototype, dtype=np.float64)).astype("<f8").tobytes()
    return Change(pid, domain, int(support), vec, encode_signal_id(first[0]), int(first[1]),
                  encode_signal_id(last[0]), int(last[1]))


def groups(changes: Sequence[Change], token: str,
           per_change_tokens: Sequence[str] | None = None) -> list[tuple[str, int, list[Change]]]:
    """``(token, shard, changes)`` for each atomic group of an update: per shard (in order) and
    chunk of :data:`CHUNK` (``token#k`` for the k-th chunk of a larger shard), or one group per
    change with its own token from ``per_change_tokens``."""
    if per_change_tokens is not None:
        return [(tok, shard_of(ch.pid), [ch]) for tok, ch in zip(per_change_tokens, changes)]
    by_shard: dict[int, list[Change]] = {}
    for ch in changes:
        by_shard.setdefault(shard_of(ch.pid), []).append(ch)
    out = []
    for s in sorted(by_shard):
        items = by_shard[s]
        for c0 in range(0, len(items), CHUNK):
            tok = token if len(items) <= CHUNK else f"{token}#{c0 // CHUNK}"
            out.append((tok, s, items[c0: c0 + CHUNK]))
    return out


def apply_change(rec: Record | None, ch: Change, window: int, now: float) -> Record:
    """The pattern after ``ch``: created with ``acc = vec`` and ``support = dn``, or ``vec`` added
    to its ``acc`` (IEEE doubles, element by element), ``dn`` to its support, the earlier first
    provenance and the later last provenance kept."""
    vec = np.frombuffer(ch.vec, dtype="<f8").astype(np.float64)
    if vec.shape != (window,):
        raise InvalidParameterError(f"an update of {ch.pid!r} carries {vec.size} values; the library's "
                                    f"window is {window}")
    first, last = (ch.first_signal, ch.first_offset), (ch.last_signal, ch.last_offset)
    if rec is None:
        return Record(ch.pid, ch.domain, vec, ch.dn, first, last, now)
    keep_first = first if prov_key(*first) < prov_key(*rec.first) else rec.first
    keep_last = last if prov_key(*rec.last) < prov_key(*last) else rec.last
    return Record(rec.pid, rec.domain, rec.acc + vec, rec.support + ch.dn, keep_first, keep_last, now)


def records_to_library(records: Sequence[Record], domain: str, window: int,
                       config: EngineConfig | None) -> PatternLibrary:
    """A library of ``records`` ordered by first provenance then id (prototype = normalized acc)."""
    recs = sorted(records, key=record_order)
    Z = np.zeros((len(recs), window))
    for k, r in enumerate(recs):
        Z[k] = unit_normalize(np.ascontiguousarray(r.acc))
    arrays = {
        "window": np.array(window, dtype=np.int64),
        "domain": np.array(domain, dtype=str),
        "ids": np.array([r.pid for r in recs], dtype=str),
        "domains": np.array([r.domain or domain for r in recs], dtype=str),
        "prototypes": Z,
        "supports": np.array([r.support for r in recs], dtype=np.int64),
        "first_signal": np.array([r.first[0] for r in recs], dtype=str),
        "first_offset": np.array([r.first[1] for r in recs], dtype=np.int64),
        "last_signal": np.array([r.last[0] for r in recs], dtype=str),
        "last_offset": np.array([r.last[1] for r in recs], dtype=np.int64),
    }
    base = config if config is not None else EngineConfig()
    cfg = base.replace(window=window) if base.window != window else base
    if config is None and len(recs) > cfg.max_patterns:
        cfg = cfg.replace(max_patterns=len(recs))
    return PatternLibrary.from_arrays(arrays, domain=domain, config=cfg)


def record_order(r: Record) -> tuple[Any, ...]:
    """The order of a loaded library: first provenance, then id."""
    return (prov_key(*r.first), r.pid)
