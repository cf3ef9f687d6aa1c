"""The Redis store's record format: one hash per pattern, its fields, their validation, the shard
of a pattern id, and records back to a library. Shared by the store and its zarr archive."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..config import EngineConfig
from ..errors import InvalidParameterError, StoreDataError
from ..kernels.matching import unit_normalize
from ..library import PatternLibrary, decode_signal_id, provenance_order
from ._redis_lua import FORMAT_VERSION

#: Shards per (domain, window) library; part of the key layout (changing it needs a new namespace).
SHARDS = 64
FIELDS = ("v", "id", "domain", "window", "acc", "support", "first_signal", "first_offset",
          "last_signal", "last_offset", "updated")


@dataclass
class Record:
    pid: str
    domain: str
    acc: NDArray[np.float64]
    support: int
    first: tuple[str, int]
    last: tuple[str, int]
    updated: float


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


def text_of(raw: Any, key: str, what: str) -> str:
    try:
        return raw.decode() if isinstance(raw, bytes) else str(raw)
    except UnicodeDecodeError:
        raise StoreDataError(f"{key}: {what} {bytes(raw[:40])!r}... is not UTF-8 text: the value was not "
                             "written by patternlab; delete that key or restore it from an archive") from None


def parse_record(key: str, pid: str, window: int, vals: list[Any]) -> Record:
    """One pattern hash, validated field by field; anything unexpected is refused."""
    def bad(fld: str, why: str) -> StoreDataError:
        return StoreDataError(f"pattern key {key!r}: field {fld!r} {why}; the value was not written by "
                              "patternlab (or is corrupt): delete that key or restore the pattern from "
                              "an archive")
    v, id_, win, acc, upd = vals[0], vals[1], vals[3], vals[4], vals[10]
    try:
        fields = {f: text_of(x, key, f"field {f!r}") for f, x in zip(FIELDS, vals)
                  if f != "acc" and x is not None}
        if fields.get("v") != str(FORMAT_VERSION):
            raise bad("v", f"is {v!r}, expected {FORMAT_VERSION!r} (format version)")
        if fields.get("id") != pid:
            raise bad("id", f"is {id_!r} but the index names {pid!r}")
        if fields.get("window") != str(window):
            raise bad("window", f"is {win!r}, expected {window}")
        ints = {}
        for f in ("support", "first_offset", "last_offset"):
            text = fields.get(f, "")
            if not (text.isascii() and text.lstrip("-").isdigit()):
                raise bad(f, f"is {vals[FIELDS.index(f)]!r}, not an integer")
            ints[f] = int(text)
        for f in ("first_signal", "last_signal"):
            text = fields.get(f, "")
            if not (text.startswith("s:") or (text.startswith("i:") and text[2:].lstrip("-").isdigit())):
                raise bad(f, f"is {vals[FIELDS.index(f)]!r}, not 'i:<int>' or 's:<text>'")
        try:
            updated = float(fields.get("updated", ""))
        except ValueError:
            raise bad("updated", f"is {upd!r}, not a number") from None
    except UnicodeDecodeError:  # pragma: no cover - _text raises StoreDataError first
        raise bad("?", "is not text") from None
    if not isinstance(acc, bytes) or len(acc) != 8 * window:
        size = len(acc) if isinstance(acc, bytes) else 0
        raise bad("acc", f"holds {size} bytes, expected {8 * window} ({window} little-endian float64)")
    vec = np.frombuffer(acc, dtype="<f8").astype(np.float64)
    if not np.isfinite(vec).all() or not vec.any():
        raise bad("acc", "holds NaN/inf or only zeros")
    if ints["support"] < 1:
        raise bad("support", f"is {ints['support']}, expected >= 1")
    return Record(pid, fields.get("domain", ""), vec, ints["support"],
                   (fields["first_signal"], ints["first_offset"]),
                   (fields["last_signal"], ints["last_offset"]), updated)


def records_to_library(records: Sequence[Record], domain: str, window: int,
                       config: EngineConfig | None) -> PatternLibrary:
    """A library of ``records`` ordered by first provenance then id (prototype = normalized acc)."""
    recs = sorted(records, key=lambda r: (prov_key(*r.first), r.pid))
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
