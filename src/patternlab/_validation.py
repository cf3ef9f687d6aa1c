"""Input validation shared by the public API: bad input never reaches a numba kernel."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._extras import imported
from .errors import (
    InvalidParameterError,
    InvalidSignalError,
    InvalidWindowError,
    NoFiniteWindowWarning,
    SignalTypeError,
)


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


def _from_frame_library(T: Any) -> Any:
    """A pandas or polars Series (or another object of those libraries) as a NumPy array: missing
    values (``pd.NA``, polars nulls) become NaN; anything else is returned unchanged."""
    module = type(T).__module__.split(".")[0]
    if module == "pandas" and hasattr(T, "to_numpy"):
        kind = getattr(getattr(T, "dtype", None), "kind", "O")
        if kind in "iuf":  # numeric, including the nullable Int64 / Float64 dtypes
            return T.to_numpy(dtype=np.float64, na_value=np.nan)
        return T.to_numpy()
    if module == "polars" and hasattr(T, "to_numpy"):
        return T.to_numpy()  # numeric nulls become NaN (integers with nulls become float64)
    return T


def as_signal(T: ArrayLike, name: str = "T", *, require_finite: bool = True) -> NDArray[np.float64]:
    """Return ``T`` as a contiguous 1-D float64 array, or raise a clear error.

    NaN and infinity are allowed (windows holding them are skipped); strings, objects that are not
    numbers, complex values, booleans, empty and multi-dimensional input are not. pandas and
    polars Series are read as their values (missing values as NaN); integer and float32 input is
    converted to float64. With ``require_finite=False`` a signal without any finite value is
    returned as it is (the profiles answer it with inf distances), else it is refused.
    """
    if isinstance(T, (str, bytes)):
        raise SignalTypeError(f"{name} must be a 1-D array of numbers; got the string {T!r:.60}")
    try:
        arr = np.asarray(_from_frame_library(T))
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
    with np.errstate(invalid="ignore"):  # a signalling NaN (e.g. float32 0x7f800001) stays NaN
        out = np.ascontiguousarray(arr, dtype=np.float64)
    if require_finite and not np.isfinite(out).any():
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


def has_finite_window(T: NDArray[np.float64], m: int) -> bool:
    """Whether some window of length ``m`` of ``T`` is entirely finite."""
    bad = np.concatenate(([0], np.cumsum(~np.isfinite(T))))
    return bool(np.any(bad[m:] - bad[:-m] == 0))


def check_has_finite_window(T: NDArray[np.float64], m: int, name: str = "T") -> None:
    """Raise if no window of length ``m`` of ``T`` is entirely finite (for callers that learn
    nothing from such a signal, such as :func:`patternlab.perceive`; the profiles answer it with
    inf distances and a :class:`~patternlab.errors.NoFiniteWindowWarning`)."""
    if not has_finite_window(T, m):
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


def as_start(start: Any, n: int) -> int:
    """``start`` as the first of ``n`` windows ranked: an integer ``0 <= start <= n``."""
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or not 0 <= start <= n:
        raise InvalidParameterError(f"start={start!r} must be an integer window index from 0 to {n} "
                                    f"(the first window ranked): pass e.g. start={n // 2}")
    return int(start)


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
    Client = imported("distributed", "client=", "dask").Client

    if not isinstance(client, Client):
        raise InvalidParameterError(
            f"client must be a distributed.Client or None; got {type(client).__name__}: pass "
            "client=distributed.Client(...) or leave it out to compute in this process"
        )
    if client.status not in ("running", "connecting", "newly-created"):
        raise InvalidParameterError(f"client is {client.status}: pass a running client")
    return client


def warn_no_finite_window(name: str, m: int, *, stacklevel: int = 3) -> None:
    """Warn that ``name`` has no finite window of ``m`` samples (its distances are all inf)."""
    warnings.warn(
        f"{name} has no window of m={m} finite samples in a row: every distance is inf and every "
        "index -1 (pass a signal with a finite stretch of at least m samples, or a smaller m)",
        NoFiniteWindowWarning,
        stacklevel=stacklevel,
    )


def as_neighbours(k: Any) -> int | None:
    """``None`` (the nearest neighbour only, 1-D profiles) or the number of nearest neighbours."""
    if k is None:
        return None
    return as_count(k, "k")


#: The largest p-norm exponent: a difference of scaled samples is at most 2, so ``2**p`` stays far
#: inside float64's range.
MAX_P = 100.0


def as_p(p: Any) -> float:
    """The exponent of a p-norm, a real number ``1 <= p <= MAX_P``."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real) \
            or not 1.0 <= float(p) <= MAX_P:
        raise InvalidParameterError(
            f"p must be a real number with 1 <= p <= {MAX_P:g}; got {p!r:.40}: pass p=2.0 "
            "(Euclidean, the default) or p=1.0 (Manhattan)"
        )
    return float(p)


def as_flag(value: Any, name: str) -> bool:
    """A bool option."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name} must be True or False; got {value!r:.40}")
    return bool(value)


def check_isconstant_normalized(normalize: bool, flags: dict[str, Any], what: str) -> None:
    """User constant-window flags (``{name: value}``) are for z-normalized ``what`` only."""
    if not normalize and any(f is not None for f in flags.values()):
        raise InvalidParameterError(
            f"{' / '.join(flags)} apply to z-normalized {what} only: drop them, or pass normalize=True")


def as_isconstant(spec: Any, T: NDArray[np.float64], m: int, name: str) -> NDArray[np.bool_] | None:
    """The user's constant-window flags for the ``len(T) - m + 1`` windows of ``T``: ``None``
    (the default rule), a boolean array of that length, or a callable ``f(T, m)`` returning one
    (called with a float64 copy of ``T``, NaN/inf kept)."""
    if spec is None:
        return None
    ell = T.shape[0] - m + 1
    what = name
    if isinstance(spec, (bool, np.bool_)):  # one flag for every window (a query's one window)
        return np.full(ell, bool(spec))
    if callable(spec):
        try:
            spec = spec(T.copy(), m)
        except Exception as exc:  # the user's function: say which call failed
            raise InvalidParameterError(
                f"{name}(T, m) raised {type(exc).__name__}: {exc}; the function must take a 1-D "
                "float64 array and the window length and return one bool per window"
            ) from exc
        what = f"{name}(T, m)"
    arr = np.asarray(spec)
    if arr.dtype != np.bool_:
        raise InvalidParameterError(
            f"{what} must be a boolean array (one flag per window); got dtype {arr.dtype}: pass "
            "e.g. np.asarray(flags, dtype=bool)"
        )
    if arr.shape != (ell,):
        raise InvalidParameterError(
            f"{what} must have one flag per window, shape ({ell},) for m={m}; got shape {arr.shape}"
        )
    return np.ascontiguousarray(arr)

