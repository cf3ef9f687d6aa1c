"""What travels over HTTP: request bodies read into signals (JSON arrays, ``.npy``), request
parameters checked, and results written as plain JSON (no NaN, no infinity: JSON has neither).

Every mistake in a request is a :class:`~patternlab.PatternlabError` naming the value and the fix,
answered 4xx by the server; :class:`TooLargeError` (an :class:`~patternlab.InvalidParameterError`)
is answered 413.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import _validation as v
from ..engine import Perception
from ..errors import InvalidParameterError, InvalidSignalError
from ..library import Pattern, encode_signal_id

__all__ = [
    "DOMAIN_PATTERN",
    "NPY_TYPES",
    "TooLargeError",
    "check_domain",
    "json_dumps",
    "parse_bool",
    "parse_int",
    "pattern_json",
    "perception_json",
    "read_signal",
]

#: Content types of a ``.npy`` body (anything else is read as JSON).
NPY_TYPES = ("application/x-npy", "application/octet-stream", "application/npy")
#: What a domain may hold over HTTP: it becomes part of Redis keys and URL paths.
DOMAIN_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


class TooLargeError(InvalidParameterError):
    """A request over one of the gateway's limits (answered 413)."""


def check_domain(domain: Any) -> str:
    """``domain`` if it is a usable domain name, else an :class:`InvalidParameterError`.

    Examples
    --------
    >>> check_domain("ecg.lead-II")
    'ecg.lead-II'
    """
    if not isinstance(domain, str) or not DOMAIN_PATTERN.match(domain):
        raise InvalidParameterError(
            f"domain={str(domain)[:80]!r}: pass 1 to 128 letters, digits, '.', '_', ':' or '-', "
            "starting with a letter or digit")
    return domain


def parse_bool(name: str, value: str | None, default: bool) -> bool:
    """A boolean query parameter: ``true``/``false``, ``1``/``0``, ``yes``/``no``, ``on``/``off``.

    Examples
    --------
    >>> parse_bool("learn", "off", True), parse_bool("learn", None, True)
    (False, True)
    """
    if value is None:
        return default
    low = value.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise InvalidParameterError(f"{name}={value[:40]!r}: pass true or false")


def parse_int(name: str, value: str | None, default: int | None, low: int, high: int) -> int | None:
    """An integer query parameter in ``low .. high``.

    Examples
    --------
    >>> parse_int("window", "64", None, 3, 2 ** 24)
    64
    >>> parse_int("window", "2", None, 3, 2 ** 24)
    Traceback (most recent call last):
    ...
    patternlab.errors.InvalidParameterError: window=2: pass 3 .. 16777216
    """
    if value is None or value == "":
        return default
    try:
        out = int(value.strip(), 10)
    except ValueError:
        raise InvalidParameterError(f"{name}={value[:40]!r}: pass an integer") from None
    if not low <= out <= high:
        raise InvalidParameterError(f"{name}={out}: pass {low} .. {high}")
    return out


def read_signal(body: bytes, content_type: str, max_length: int) -> NDArray[np.float64]:
    """The signal of a perceive request: a JSON array of numbers, or a ``.npy`` file holding a 1-D
    numeric array (``content_type`` one of :data:`NPY_TYPES`). Never unpickles anything.

    Raises
    ------
    InvalidSignalError, SignalTypeError
        The body is not a 1-D array of numbers.
    TooLargeError
        It holds more than ``max_length`` samples.

    Examples
    --------
    >>> read_signal(b"[1, 2.5, 3]", "application/json", 10)
    array([1. , 2.5, 3. ])
    """
    if not body:
        raise InvalidSignalError("the request body is empty: send the signal as a JSON array of numbers "
                                 "or as a .npy file (Content-Type: application/x-npy)")
    if content_type.split(";")[0].strip().lower() in NPY_TYPES:
        arr: Any = _read_npy(body, max_length)
    else:
        try:
            arr = json.loads(body, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:   # UnicodeDecodeError is a ValueError
            raise InvalidSignalError(f"the body is not valid JSON ({str(exc)[:120]}): send a JSON array "
                                     "of numbers, e.g. [0.1, 0.5, 0.2]") from None
        if not isinstance(arr, list):
            raise InvalidSignalError(f"the JSON body is a {type(arr).__name__}, not an array: send the "
                                     "signal as a JSON array of numbers")
        if len(arr) > max_length:
            raise TooLargeError(f"the signal has {len(arr)} samples; this gateway accepts at most "
                                f"{max_length}: split it or perceive it as a batch")
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in arr):
            bad = next(x for x in arr if not isinstance(x, (int, float)) or isinstance(x, bool))
            raise InvalidSignalError(f"the JSON array holds {json.dumps(bad)[:40]}, not a number: send "
                                     "numbers only (no strings, booleans, nulls or nested arrays)")
        try:
            arr = np.asarray(arr, dtype=np.float64)
        except OverflowError:
            raise InvalidSignalError("the JSON array holds an integer too large for a float") from None
    T = v.as_signal(arr, "signal")
    if T.shape[0] > max_length:
        raise TooLargeError(f"the signal has {T.shape[0]} samples; this gateway accepts at most "
                            f"{max_length}: split it or perceive it as a batch")
    return T


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _read_npy(body: bytes, max_length: int) -> NDArray[Any]:
    buf = io.BytesIO(body)
    try:
        version = np.lib.format.read_magic(buf)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"format version {version} (np.save writes 1.0)")
        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, _fortran, dtype = reader(buf, max_header_size=10_000)
    except (ValueError, TypeError, OSError, EOFError, SyntaxError) as exc:
        raise InvalidSignalError(f"the body is not a .npy file ({str(exc)[:120]}): send np.save's output "
                                 "of a 1-D array, or a JSON array") from None
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "iuf":
        raise InvalidSignalError(f"the .npy body holds {dtype} values: send a 1-D array of numbers")
    if len(shape) != 1:
        raise InvalidSignalError(f"the .npy body holds an array of shape {shape}: send one 1-D signal")
    if shape[0] > max_length:
        raise TooLargeError(f"the signal has {shape[0]} samples; this gateway accepts at most "
                            f"{max_length}: split it or perceive it as a batch")
    data = body[buf.tell():]
    if len(data) != shape[0] * dtype.itemsize:
        raise InvalidSignalError(f"the .npy body says {shape[0]} values of {dtype} but carries "
                                 f"{len(data)} bytes of data: send the whole file")
    return np.frombuffer(data, dtype=dtype)


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def pattern_json(p: Pattern, prototype: bool = True, digits: int | None = None) -> dict[str, Any]:
    """A pattern as JSON: id, domain, window, support, provenance and (optionally) prototype.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> lib = pl.PatternLibrary(window=8, domain="audio")
    >>> p = lib.add(np.sin(np.arange(8.0)), signal_id=3, offset=40)
    >>> out = pattern_json(p, digits=2)
    >>> out["support"], out["first_seen"], len(out["prototype"])
    (1, {'signal': 'i:3', 'offset': 40}, 8)
    """
    out: dict[str, Any] = {
        "id": p.id, "domain": p.domain, "window": int(p.window), "support": int(p.support),
        "first_seen": {"signal": encode_signal_id(p.first_seen[0]), "offset": int(p.first_seen[1])},
        "last_updated": {"signal": encode_signal_id(p.last_updated[0]), "offset": int(p.last_updated[1])},
    }
    if prototype:
        proto = np.asarray(p.prototype, dtype=np.float64)
        out["prototype"] = [_num(x) for x in (proto.round(digits) if digits is not None else proto).tolist()]
    return out


def perception_json(res: Perception) -> dict[str, Any]:
    """A :class:`~patternlab.Perception` as JSON (its matrix profile left out).

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> res = pl.perceive(np.sin(np.arange(200) / 3.0), config=pl.EngineConfig(window=16), learn=False)
    >>> sorted(perception_json(res))[:4]
    ['discords', 'domain', 'events', 'matches']
    """
    by_id = {p.id: p for p in res.patterns}
    return {
        "signal_id": encode_signal_id(res.signal_id),
        "domain": res.domain,
        "window": int(res.window),
        "events": [int(e) for e in res.events.tolist()],
        "motifs": [{"a": int(m.a), "b": int(m.b), "distance": _num(m.distance)} for m in res.motifs],
        "discords": [{"index": int(d.index), "distance": _num(d.distance), "neighbor": int(d.neighbor)}
                     for d in res.discords],
        "matches": [{"pattern_id": m.pattern_id, "offset": int(m.offset), "correlation": _num(m.correlation)}
                    for m in res.matches],
        "new_patterns": [pattern_json(by_id[pid]) for pid in res.new_patterns if pid in by_id],
        "updated_patterns": [pattern_json(by_id[pid]) for pid in res.updated_patterns if pid in by_id],
    }


def json_dumps(obj: Mapping[str, Any] | list[Any]) -> str:
    """Strict JSON (``NaN``/``Infinity`` are refused: encode them as ``null`` first).

    Examples
    --------
    >>> json_dumps({"a": [1, None]})
    '{"a":[1,null]}'
    """
    return json.dumps(obj, allow_nan=False, separators=(",", ":"))
