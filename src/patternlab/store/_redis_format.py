"""The Redis store's record format: one hash per pattern, its fields and their validation (the
record model itself, shared by every store, is in :mod:`._records`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import StoreDataError
from ._records import (
    SHARDS,
    Record,
    check_library_key,
    check_number,
    prov_key,
    records_to_library,
    shard_of,
)
from ._redis_lua import FORMAT_VERSION

__all__ = ["FIELDS", "SHARDS", "Record", "check_library_key", "check_number", "parse_record", "prov_key",
           "records_to_library", "shard_of", "text_of"]

FIELDS = ("v", "id", "domain", "window", "acc", "support", "first_signal", "first_offset",
          "last_signal", "last_offset", "updated")


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
