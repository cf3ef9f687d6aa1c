"""The Redis store's record format: one hash per pattern, its fields and their validation (the
record model itself, shared by every store, is in :mod:`._records`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import redis.exceptions as rex

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
from ._redis_conn import TRANSIENT
from ._redis_lua import FORMAT_VERSION

__all__ = ["FIELDS", "MAX_DIGITS", "MAX_SUPPORT", "SHARDS", "Record", "acc_problem", "bad_key", "bad_support",
           "check_library_key", "check_number", "parse_record", "prov_key", "records_to_library",
           "reraise_transient", "shard_of", "short_value", "text_of", "wrong_type"]

FIELDS = ("v", "id", "domain", "window", "acc", "support", "first_signal", "first_offset",
          "last_signal", "last_offset", "updated")


#: Integers of a pattern (support, offsets) beyond this are refused: they cannot be int64 counts.
MAX_SUPPORT = 2**62
MAX_DIGITS = 19


def short_value(raw: Any) -> str:
    """A stored value for messages: at most 40 bytes of it."""
    if isinstance(raw, (bytes, str)) and len(raw) > 40:
        return f"{raw[:40]!r}... ({len(raw)} bytes)"
    return repr(raw)


def acc_problem(vec: np.ndarray, support: int) -> str | None:
    """Why ``vec`` cannot be the ``acc`` of a pattern of ``support`` written by patternlab, or
    ``None``. ``acc`` is a sum of ``support`` zero-mean unit-norm prototypes (``dn * prototype``
    per update), so its norm is at most ``support`` and its mean is 0 up to rounding; and as
    the prototypes summed are all alike (a pattern absorbs only what correlates with it), its
    norm is not far below 1. Bytes of another kind of value (a pickle padded to the right
    length, text) give values of absurd magnitude and a nonzero mean."""
    scale = float(np.max(np.abs(vec)))
    norm = scale * float(np.linalg.norm(vec / scale))
    w = vec.shape[0]
    if not 1e-3 <= norm <= support * (1.0 + 1e-6) + 1e-9:
        return (f"has norm {norm:.3g}, impossible for a sum of {support} unit-norm prototypes "
                f"(expected 0.001 .. {support})")
    if abs(float(np.sum(vec / scale))) * scale > 1e-6 * norm * w:
        return "does not have zero mean (every prototype summed into it is z-normalized)"
    return None


def text_of(raw: Any, key: str, what: str) -> str:
    try:
        return raw.decode() if isinstance(raw, bytes) else str(raw)
    except UnicodeDecodeError:
        raise StoreDataError(f"{key}: {what} {short_value(bytes(raw))} is not UTF-8 text: the value was not "
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
            digits = text[1:] if text.startswith("-") else text
            if not (digits.isascii() and digits.isdigit()):
                raise bad(f, f"is {short_value(vals[FIELDS.index(f)])}, not an integer")
            if len(digits) > MAX_DIGITS:
                raise bad(f, f"is an integer of {len(digits)} digits, beyond the int64 range")
            ints[f] = int(text)
        for f in ("first_signal", "last_signal"):
            text = fields.get(f, "")
            digits = text[2:].removeprefix("-")
            if not (text.startswith("s:") or (text.startswith("i:") and digits.isascii() and digits.isdigit()
                                              and len(digits) <= 4300)):
                raise bad(f, f"is {short_value(vals[FIELDS.index(f)])}, not 'i:<int>' or 's:<text>'")
        try:
            updated = float(fields.get("updated", ""))
        except ValueError:
            raise bad("updated", f"is {short_value(upd)}, not a number") from None
        if not math.isfinite(updated):
            raise bad("updated", f"is {short_value(upd)}, not a finite time")
    except UnicodeDecodeError:  # pragma: no cover - _text raises StoreDataError first
        raise bad("?", "is not text") from None
    if not isinstance(acc, bytes) or len(acc) != 8 * window:
        size = len(acc) if isinstance(acc, bytes) else 0
        raise bad("acc", f"holds {size} bytes, expected {8 * window} ({window} little-endian float64)")
    vec = np.frombuffer(acc, dtype="<f8").astype(np.float64)
    if not np.isfinite(vec).all() or not vec.any():
        raise bad("acc", "holds NaN/inf or only zeros")
    if not 1 <= ints["support"] <= MAX_SUPPORT:
        raise bad("support", f"is {ints['support']}, expected 1 .. {MAX_SUPPORT}")
    for f in ("first_offset", "last_offset"):
        if not 0 <= ints[f] <= MAX_SUPPORT:
            raise bad(f, f"is {ints[f]}, expected an offset 0 .. {MAX_SUPPORT}")
    why = acc_problem(vec, ints["support"])
    if why is not None:
        raise bad("acc", why)
    return Record(pid, fields.get("domain", ""), vec, ints["support"],
                   (fields["first_signal"], ints["first_offset"]),
                   (fields["last_signal"], ints["last_offset"]), updated)


def bad_key(key: str, exc: Exception, expected: str) -> str:
    """The message for a key whose command failed (another Redis type: WRONGTYPE)."""
    text = str(exc)
    if "WRONGTYPE" in text:
        return (f"key {key!r} holds another kind of Redis value than {expected}: it was not written by "
                "patternlab; delete that key")
    return f"key {key!r} could not be read ({type(exc).__name__}: {text[:200]})"


def reraise_transient(results: Sequence[Any]) -> None:
    """Raise the first connection-type error of a pipeline's results (retried by the caller)."""
    for r in results:
        if isinstance(r, Exception) and not isinstance(r, rex.ResponseError):
            raise r
        if isinstance(r, TRANSIENT):
            raise r


def wrong_type(client: Any, keys: Sequence[str]) -> str:
    """The message for a publish script that met a key of another Redis type (``keys``: the
    shard's tokens, index and version keys, then its pattern keys): which key it is."""
    want = ["zset", "zset", "string"] + ["hash"] * (len(keys) - 3)
    for key, kind in zip(keys, want):
        got = client.type(key)
        got = got.decode() if isinstance(got, bytes) else str(got)
        if got not in ("none", kind):
            return (f"key {key!r} is a Redis {got}, not a {kind}: it was not written by patternlab; "
                    "delete that key and publish again (the update was not applied to its shard)")
    return (f"a key of shard {keys[0]!r} holds another kind of Redis value: delete the keys patternlab "
            "did not write")

def bad_support(client: Any, keys: Sequence[str], error: str) -> str:
    """The message for a script whose HINCRBY met a support that is not a (small) integer."""
    for key in keys[3:]:
        raw = client.hget(key, "support")
        text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw or "")
        small = text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS and int(text) < 2**63
        if raw is not None and not small:
            return (f"pattern key {key!r}: field 'support' holds {short_value(raw)}, not an integer "
                    "patternlab wrote; delete that key or restore the pattern from an archive (the "
                    "update was not applied to its shard)")
    return f"shard {keys[0]!r}: the update was refused ({error[:200]})"
