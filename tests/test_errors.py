"""Bad input raises a PatternlabError subclass that is also the expected builtin, with a message
that names the value received and says how to fix it; it never reaches a numba kernel."""

from __future__ import annotations

import re

import numba
import numpy as np
import pytest

import patternlab as pl
from patternlab.errors import (
    InvalidParameterError,
    InvalidSignalError,
    InvalidWindowError,
    PatternlabError,
    SignalTypeError,
)

T50 = np.random.default_rng(0).standard_normal(50)
TOO_MANY_THREADS = numba.config.NUMBA_NUM_THREADS + 1

#: words that introduce a fix in a message
FIX = re.compile(r"\b(pass|use|convert|drop|must be)\b")

# name: (call, error class, builtin, fragments that name the received value)
CASES = {
    # window length
    "m=2": (lambda: pl.matrix_profile(T50, 2), InvalidWindowError, ValueError, ["m=2", ">= 3"]),
    "m=0": (lambda: pl.matrix_profile(T50, 0), InvalidWindowError, ValueError, ["m=0"]),
    "m<0": (lambda: pl.matrix_profile(T50, -5), InvalidWindowError, ValueError, ["m=-5"]),
    "m>len": (
        lambda: pl.matrix_profile(T50, 51),
        InvalidWindowError,
        ValueError,
        ["m=51", "50 samples", "<= 50"],
    ),
    "m float": (lambda: pl.matrix_profile(T50, 3.5), InvalidWindowError, ValueError, ["3.5", "integer"]),
    "m nan": (lambda: pl.matrix_profile(T50, float("nan")), InvalidWindowError, ValueError, ["nan"]),
    "m str": (lambda: pl.matrix_profile(T50, "10"), InvalidWindowError, ValueError, ["'10'"]),
    "m None": (lambda: pl.matrix_profile(T50, None), InvalidWindowError, ValueError, ["None"]),
    "m bool": (lambda: pl.matrix_profile(T50, True), InvalidWindowError, ValueError, ["True"]),
    # shape and type of the signal
    "3-D": (  # a 2-D T is a multi-dimensional series (tests/test_multi_profile.py)
        lambda: pl.matrix_profile(T50.reshape(5, 5, 2), 3),
        InvalidSignalError,
        ValueError,
        ["(5, 5, 2)", "1-D", "2-D"],
    ),
    "column": (
        lambda: pl.matrix_profile(T50.reshape(50, 1), 3),
        InvalidSignalError,
        ValueError,
        ["(50, 1)", ".ravel()"],
    ),
    "scalar": (lambda: pl.matrix_profile(np.float64(3.0), 3), InvalidSignalError, ValueError, ["()"]),
    "ragged": (lambda: pl.matrix_profile([[1.0, 2.0], [3.0]], 3), InvalidSignalError, ValueError, ["1-D"]),
    "string": (lambda: pl.matrix_profile("1,2,3,4,5", 3), SignalTypeError, TypeError, ["'1,2,3,4,5'"]),
    "bytes": (lambda: pl.matrix_profile(b"12345", 3), SignalTypeError, TypeError, ["b'12345'"]),
    "str array": (
        lambda: pl.matrix_profile(np.array(["1", "2", "3", "4"]), 3),
        SignalTypeError,
        TypeError,
        ["<U1"],
    ),
    "objects": (
        lambda: pl.matrix_profile(np.array([1.0, "a", 3.0, None, 5.0], dtype=object), 3),
        SignalTypeError,
        TypeError,
        ["'a'", "object"],
    ),
    "dict": (lambda: pl.matrix_profile({"a": 1}, 3), SignalTypeError, TypeError, ["{'a': 1}"]),
    "complex": (lambda: pl.matrix_profile(T50 + 1j, 3), SignalTypeError, TypeError, ["complex128"]),
    "bool": (lambda: pl.matrix_profile(T50 > 0, 3), SignalTypeError, TypeError, ["boolean"]),
    "datetime": (
        lambda: pl.matrix_profile(np.arange(10).astype("datetime64[s]"), 3),
        SignalTypeError,
        TypeError,
        ["datetime64[s]"],
    ),
    "empty": (lambda: pl.matrix_profile([], 3), InvalidSignalError, ValueError, ["empty"]),
    "self-join m too large": (
        lambda: pl.matrix_profile(np.arange(10.0) ** 2, 8),
        InvalidWindowError,
        ValueError,
        ["m=8", "10 samples", "m <= 7"],
    ),
    "four samples": (
        lambda: pl.matrix_profile([0.1, 0.3, 0.5, 0.7], m=3),
        InvalidWindowError,
        ValueError,
        ["m=3", "4 samples", "at least 5"],
    ),
    # T_B
    "T_B shorter than m": (
        lambda: pl.matrix_profile(T50, 10, T_B=np.arange(5.0)),
        InvalidWindowError,
        ValueError,
        ["m=10", "T_B", "5 samples"],
    ),
    "T_B 2-D": (
        lambda: pl.matrix_profile(T50, 10, T_B=np.ones((3, 20))),
        InvalidSignalError,
        ValueError,
        ["T_B", "(3, 20)"],
    ),
    "T_B string": (
        lambda: pl.matrix_profile(T50, 5, T_B="abc"),
        SignalTypeError,
        TypeError,
        ["T_B", "'abc'"],
    ),
    # options
    "dtype float16": (
        lambda: pl.matrix_profile(T50, 5, dtype="float16"),
        InvalidParameterError,
        ValueError,
        ["float16"],
    ),
    "dtype int": (lambda: pl.matrix_profile(T50, 5, dtype=int), InvalidParameterError, ValueError, ["int64"]),
    "dtype junk": (
        lambda: pl.matrix_profile(T50, 5, dtype="banana"),
        InvalidParameterError,
        ValueError,
        ["'banana'"],
    ),
    "threads 0": (
        lambda: pl.matrix_profile(T50, 5, threads=0),
        InvalidParameterError,
        ValueError,
        ["threads=0"],
    ),
    "threads too many": (
        lambda: pl.matrix_profile(T50, 5, threads=TOO_MANY_THREADS),
        InvalidParameterError,
        ValueError,
        [f"threads={TOO_MANY_THREADS}"],
    ),
    "threads float": (
        lambda: pl.matrix_profile(T50, 5, threads=1.5),
        InvalidParameterError,
        ValueError,
        ["1.5"],
    ),
    "threads bool": (
        lambda: pl.matrix_profile(T50, 5, threads=True),
        InvalidParameterError,
        ValueError,
        ["True"],
    ),
    "k=0": (lambda: pl.motifs(T50, 5, k=0), InvalidParameterError, ValueError, ["k=0"]),
    "k<0": (lambda: pl.discords(T50, 5, k=-1), InvalidParameterError, ValueError, ["k=-1"]),
    "k float": (lambda: pl.matrix_profile(T50, 5).motifs(1.5), InvalidParameterError, ValueError, ["1.5"]),
    "k str": (lambda: pl.matrix_profile(T50, 5).discords("3"), InvalidParameterError, ValueError, ["'3'"]),
    "k bool": (lambda: pl.motifs(T50, 5, k=True), InvalidParameterError, ValueError, ["True"]),
    "motifs m": (lambda: pl.motifs(T50, 2), InvalidWindowError, ValueError, ["m=2"]),
    "discords dtype": (
        lambda: pl.discords(T50, 5, dtype="float16"),
        InvalidParameterError,
        ValueError,
        ["float16"],
    ),
    # distance_profile
    "Q longer than T": (
        lambda: pl.distance_profile(T50, T50[:10]),
        InvalidWindowError,
        ValueError,
        ["len(Q)=50", "10 samples"],
    ),
    "Q too short": (
        lambda: pl.distance_profile([1.0, 2.0], T50),
        InvalidWindowError,
        ValueError,
        ["len(Q)=2"],
    ),
    "Q 2-D": (
        lambda: pl.distance_profile(np.ones((2, 3)), T50),
        InvalidSignalError,
        ValueError,
        ["Q", "(2, 3)"],
    ),
    "Q complex": (
        lambda: pl.distance_profile(np.ones(3) * 1j, T50),
        SignalTypeError,
        TypeError,
        ["Q", "complex"],
    ),
    "DP T string": (
        lambda: pl.distance_profile([1.0, 2.0, 3.0], "abcdef"),
        SignalTypeError,
        TypeError,
        ["'abcdef'"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_raises_a_clear_error(name):
    call, cls, builtin, fragments = CASES[name]
    with pytest.raises(PatternlabError) as info:
        call()
    exc = info.value
    assert type(exc) is cls, f"{type(exc).__name__}: {exc}"
    assert isinstance(exc, builtin)
    message = str(exc)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert FIX.search(message), f"no fix suggested in {message!r}"
    # raised by our validation, not by numpy or numba further down
    assert "numba" not in message.lower()
    assert exc.__module__ == "patternlab.errors"


def test_errors_are_also_builtins():
    assert issubclass(InvalidSignalError, ValueError)
    assert issubclass(InvalidWindowError, ValueError)
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(SignalTypeError, TypeError)
    for cls in (InvalidSignalError, InvalidWindowError, InvalidParameterError, SignalTypeError):
        assert issubclass(cls, PatternlabError)
        assert getattr(pl, cls.__name__) is cls


def test_four_samples_raise_a_clear_error_never_a_numba_error():
    with pytest.raises(InvalidWindowError, match=r"at least 5 samples") as info:
        pl.matrix_profile([0.1, 0.3, 0.5, 0.7], m=3)
    assert not isinstance(info.value, numba.core.errors.NumbaError)
    # the suggested fix works
    mp = pl.matrix_profile([0.1, 0.3, 0.5, 0.7, 0.9], m=3)
    assert len(mp) == 3


@pytest.mark.parametrize("n", range(3, 41))
def test_every_window_length_either_works_or_raises_a_window_error(n):
    # for every m the self-join gives a profile or an InvalidWindowError whose suggested largest m
    # works while the next one does not
    T = np.random.default_rng(n).standard_normal(n)
    for m in range(1, n + 3):
        try:
            mp = pl.matrix_profile(T, m)
        except InvalidWindowError as exc:
            top = re.search(r"pass m <= (\d+)", str(exc))
            if top and m >= 3 and m <= n:
                k = int(top.group(1))
                assert k < m
                assert len(pl.matrix_profile(T, k)) == n - k + 1
                with pytest.raises(InvalidWindowError):
                    pl.matrix_profile(T, k + 1)
            continue
        assert 3 <= m <= n
        assert np.isfinite(mp.P).any()


def test_accepted_spellings():
    # integral floats and numpy integers are window lengths; numeric object arrays are signals
    T = np.random.default_rng(1).standard_normal(30)
    a = pl.matrix_profile(T, 5)
    for m in (5.0, np.int32(5), np.float64(5.0)):
        np.testing.assert_array_equal(pl.matrix_profile(T, m).P, a.P)
    np.testing.assert_array_equal(pl.matrix_profile(T.astype(object), 5).P, a.P)
    np.testing.assert_array_equal(pl.matrix_profile(list(T), 5).P, a.P)
    for dtype in ("float64", np.float64, "f8", np.dtype("float64")):
        np.testing.assert_array_equal(pl.matrix_profile(T, 5, dtype=dtype).P, a.P)
    for dtype in ("float32", np.float32, "f4"):
        assert pl.matrix_profile(T, 5, dtype=dtype).dtype == "float32"


# STUMPY's conventions: a series without a finite window, or a query holding NaN/inf, is answered
# (all distances inf, indices -1) with a warning, not refused
NO_FINITE = {
    "all NaN": (lambda: pl.matrix_profile([np.nan] * 10, 3), 8, "T has no window of m=3"),
    "all inf": (lambda: pl.matrix_profile([np.inf, -np.inf] * 5, 3), 8, "T has no window"),
    "no finite window": (
        lambda: pl.matrix_profile([1.0, 2, np.nan, 3, 4, np.nan, 5, 6, np.inf, 1, 2], 3), 9, "m=3"),
    "T_B all NaN": (lambda: pl.matrix_profile(T50, 10, T_B=[np.nan] * 30), 41, "T_B has no window"),
    "T_B no finite window": (
        lambda: pl.matrix_profile(T50, 5, T_B=[1.0, 2, np.nan, 3, 4, np.nan, 5, 6]), 46, "T_B"),
    "k, no finite window": (lambda: pl.matrix_profile([np.nan] * 10, 3, k=2), 8, "T has no"),
    "aamp, no finite window": (lambda: pl.matrix_profile([np.nan] * 10, 3, normalize=False), 8, "T"),
}


@pytest.mark.parametrize("name", list(NO_FINITE))
def test_no_finite_window_is_answered_with_inf_and_a_warning(name: str) -> None:
    call, windows, fragment = NO_FINITE[name]
    with pytest.warns(pl.NoFiniteWindowWarning, match=fragment):
        mp = call()
    assert len(mp) == windows and np.isinf(mp.P).all() and (mp.I == -1).all()
    assert np.isinf(mp.PL).all() and (mp.IL == -1).all() and np.isinf(mp.PR).all() and (mp.IR == -1).all()
    assert issubclass(pl.NoFiniteWindowWarning, pl.PatternlabWarning)
    assert issubclass(pl.PatternlabWarning, UserWarning)


def test_nonfinite_query_or_series_gives_inf_distances() -> None:
    with pytest.warns(pl.NoFiniteWindowWarning, match="Q has no window of m=4"):
        D = pl.distance_profile([1.0, 2.0, np.nan, 4.0], T50)
    assert D.shape == (47,) and np.isinf(D).all()
    with pytest.warns(pl.NoFiniteWindowWarning, match="T has no window of m=3"):
        D = pl.distance_profile([1.0, 2.0, 3.0], [1.0, np.nan, 2.0, 3.0, np.nan])
    assert D.shape == (3,) and np.isinf(D).all()
