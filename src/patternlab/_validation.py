"""Input validation shared by the public API: bad input never reaches a numba kernel."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import InvalidParameterError, InvalidSignalError, InvalidWindowError, SignalTypeError


def unit_scaled(T: NDArray[np.float64]) -> NDArray[np.float64]:
    """``T`` times the power of two that brings max |finite value| to about 1.

    Exact (a power of two rounds nothing, and z-normalization is scale-free), and afterwards no
    difference, sum or square of samples can overflow or underflow. Non-finite values stay.
    """
    finite = np.isfinite(T)
    big = float(np.abs(T[finite]).max()) if finite.any() else 0.0
    return np.ldexp(T, -int(np.frexp(big)[1])) if big > 0.0 else T.copy()


def exclusion_zone(m: int) -> int:
    """Half-width of the trivial-match exclusion zone: neighbours with ``|i - j| <= ceil(m / 4)``
    are ignored in a self-join (STUMPY's convention)."""
    return math.ceil(m / 4)


def as_signal(T: ArrayLike, name: str = "T") -> NDArray[np.float64]:
    """Return ``T`` as a contiguous 1-D float64 array, or raise a clear error.

    NaN and infinity are allowed (windows holding them are skipped); strings, objects that are not
    numbers, complex values, booleans, empty and multi-dimensional input are not.
    """
    if isinstance(T, (str, bytes)):
        raise SignalTypeError(f"{name} must be a 1-D array of numbers; got the string {T!r:.60}")
    try:
        arr = np.asarray(T)
    except (ValueError, TypeError) as exc:  # ragged nested lists and the like
        raise InvalidSignalError(
            f"{name} could not be read as a 1-D array of numbers ({exc}); pass a 1-D numpy array"
        ) from None
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError):
            raise SignalTypeError(
                f"{name} holds non-numeric objects (dtype=object, e.g. {_first(arr)!r:.40}); "
                "pass an array of numbers"
            ) from None
    kind = arr.dtype.kind
    if kind in "USV":
        raise SignalTypeError(
            f"{name} holds {arr.dtype} values, not numbers; convert it first, e.g. "
            f"np.asarray({name}, dtype=float)"
        )
    if kind == "c":
        raise SignalTypeError(f"{name} is complex ({arr.dtype}); pass its real part or magnitude")
    if kind == "b":
        raise SignalTypeError(f"{name} is boolean; pass numbers, e.g. {name}.astype(float)")
    if kind not in "iuf":
        raise SignalTypeError(f"{name} has unsupported dtype {arr.dtype}; pass an array of numbers")
    if arr.ndim != 1:
        one_row = arr.ndim == 2 and 1 in arr.shape
        hint = " (a 2-D array with one row or column: use .ravel())" if one_row else ""
        raise InvalidSignalError(
            f"{name} must be 1-D; got an array of shape {arr.shape}{hint}; pass one signal at a time"
        )
    if arr.shape[0] == 0:
        raise InvalidSignalError(f"{name} is empty; pass a signal with at least 3 samples")
    out = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(out).any():
        raise InvalidSignalError(
            f"{name} holds no finite value (all {out.shape[0]} samples are NaN or inf); "
            "pass a signal with real measurements"
        )
    return out


def _first(arr: NDArray[Any]) -> Any:
    for x in arr.flat:
        if not isinstance(x, numbers.Number):
            return x
    return arr.flat[0]


def as_window(m: Any, n: int, name: str = "m", signal: str = "T") -> int:
    """Validate a window length ``m`` for a signal of ``n`` samples."""
    if isinstance(m, (bool, np.bool_)) or not isinstance(m, (numbers.Integral, float, np.floating)):
        raise InvalidWindowError(f"{name} must be an integer window length; got {m!r:.40}")
    if isinstance(m, (float, np.floating)):
        if not float(m).is_integer():
            raise InvalidWindowError(f"{name} must be an integer window length; got {m!r}")
    m = int(m)
    if m < 3:
        raise InvalidWindowError(f"{name}={m} is too short: pass {name} >= 3")
    if m > n:
        raise InvalidWindowError(
            f"{name}={m} is longer than {signal} ({n} samples): pass {name} <= {n}"
        )
    return m


def max_self_join_window(n: int) -> int:
    """The largest ``m`` for which a self-join of ``n`` samples has a window pair outside the
    exclusion zone (``n - m + 1 >= ceil(m / 4) + 2``)."""
    lo, hi = 2, n  # the condition holds at lo (or nowhere) and shrinks as m grows
    if n - 3 + 1 < exclusion_zone(3) + 2:
        return 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if n - mid + 1 >= exclusion_zone(mid) + 2:
            lo = mid
        else:
            hi = mid - 1
    return lo


def check_self_join(m: int, n: int, signal: str = "T") -> None:
    """Raise if a self-join of ``n`` samples with window ``m`` has no admissible pair."""
    if n - m + 1 < exclusion_zone(m) + 2:
        top = max_self_join_window(n)
        fix = f"pass m <= {top}" if top >= 3 else f"pass a longer {signal} (at least 5 samples)"
        raise InvalidWindowError(
            f"m={m} leaves {n - m + 1} windows in {signal} ({n} samples), none of them outside "
            f"another's exclusion zone (|i - j| <= {exclusion_zone(m)}): {fix}"
        )


def check_has_finite_window(T: NDArray[np.float64], m: int, name: str = "T") -> None:
    """Raise if no window of length ``m`` of ``T`` is entirely finite."""
    bad = np.concatenate(([0], np.cumsum(~np.isfinite(T))))
    if not np.any(bad[m:] - bad[:-m] == 0):
        raise InvalidSignalError(
            f"{name} has no window of m={m} finite samples in a row (NaN or inf everywhere); "
            "pass a smaller m or a signal with a finite stretch of at least m samples"
        )


def as_dtype(dtype: Any) -> type[np.floating[Any]]:
    """float64 (default) or float32 (the opt-in fast mode)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise InvalidParameterError(f"dtype={dtype!r} is not a dtype; pass 'float64' or 'float32'") from None
    if dt == np.float64:
        return np.float64
    if dt == np.float32:
        return np.float32
    raise InvalidParameterError(f"dtype={dt} is not supported; pass 'float64' (default) or 'float32'")


def as_count(k: Any, name: str = "k") -> int:
    """A positive integer count."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise InvalidParameterError(f"{name} must be a positive integer; got {k!r:.40}")
    if int(k) < 1:
        raise InvalidParameterError(f"{name}={int(k)} must be at least 1")
    return int(k)


def as_threads(threads: Any) -> int | None:
    """``None`` (all numba threads) or a positive thread count within numba's limit."""
    if threads is None:
        return None
    import numba

    if isinstance(threads, (bool, np.bool_)) or not isinstance(threads, numbers.Integral):
        raise InvalidParameterError(f"threads must be a positive integer or None; got {threads!r:.40}")
    top = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    if not 1 <= int(threads) <= top:
        raise InvalidParameterError(f"threads={int(threads)} is out of range: pass 1 <= threads <= {top}")
    return int(threads)


def as_client(client: Any) -> Any:
    """``None`` or a ``distributed.Client``."""
    if client is None:
        return None
    from distributed import Client

    if not isinstance(client, Client):
        raise InvalidParameterError(
            f"client must be a distributed.Client or None; got {type(client).__name__}: pass "
            "client=distributed.Client(...) or leave it out to compute in this process"
        )
    if client.status not in ("running", "connecting", "newly-created"):
        raise InvalidParameterError(f"client is {client.status}: pass a running client")
    return client
