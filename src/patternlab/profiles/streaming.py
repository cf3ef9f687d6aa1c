"""The exact matrix profile of a stream: the profile math of :class:`patternlab.StreamingProfile`.

:class:`IncrementalProfile` holds the state of :mod:`patternlab.kernels.streaming` (numbers only,
see :meth:`IncrementalProfile.state`), feeds it samples and exposes the profile of the samples kept.
Persistence (zarr, Redis, the journal of samples) is :mod:`patternlab.stream`'s.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _validation as v
from ..errors import InvalidParameterError, InvalidSignalError, SignalTypeError
from ..kernels import exact
from ..kernels import streaming as sk
from .matrix import MatrixProfile

__all__ = ["IncrementalProfile"]

#: Records kept per window when old samples leave (egress): the next nearest left neighbours,
#: ready when the nearest one leaves. Random data has about ``ln(n)`` records per window; a window
#: with more is measured again when its stored ones are used up.
RECORDS = 16
#: Scaled magnitude from which the state is rebuilt at a smaller power-of-two scale (so that no
#: square or sum of samples can overflow); without z-normalization 2**32, so that every squared
#: distance stays far above the kernel's sentinels.
MAX_SCALED = 2.0**128
MAX_SCALED_RAW = 2.0**32
#: Window slots added beyond the kept windows, so that old slots are moved down only once per
#: that many samples (amortized O(1) per sample).
SPARE = 4096

_STATE_ARRAYS = ("F", "G", "B", "Sx", "SI", "recK", "recD", "meta", "fmeta")


def as_samples(values: ArrayLike, name: str = "values") -> NDArray[np.float64]:
    """New samples: a number or a 1-D array of numbers (NaN/inf allowed, none required finite)."""
    if isinstance(values, (str, bytes)):
        raise SignalTypeError(f"{name} must be numbers; got the string {values!r:.60}")
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise InvalidSignalError(f"{name} could not be read as numbers ({exc}); pass a 1-D array") from None
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise SignalTypeError(f"{name} has dtype {arr.dtype}; pass real numbers (float or int)")
    if arr.ndim > 1:
        raise InvalidSignalError(f"{name} must be a number or 1-D; got shape {arr.shape}: pass one "
                                 "stream's samples in time order")
    return np.ascontiguousarray(arr.reshape(-1), dtype=np.float64)


def _shift_for(values: NDArray[np.float64]) -> int:
    """The power of two that brings max |finite value| to about 1 (0 when there is none)."""
    finite = values[np.isfinite(values)]
    big = float(np.abs(finite).max()) if finite.size else 0.0
    return -int(np.frexp(big)[1]) if big > 0.0 else 0


class IncrementalProfile:
    """The exact self-join matrix profile of a stream, updated sample by sample.

    See :class:`patternlab.StreamingProfile`, which adds persistence; this class holds the
    profile math (:mod:`patternlab.kernels.streaming`).
    """

    #: Records kept per window with egress (see :data:`RECORDS`).
    records_kept: int = RECORDS

    def __init__(self, T: ArrayLike, m: int, *, egress: bool = True, normalize: bool = True) -> None:
        T = v.as_signal(T, "T")
        m = v.as_window(m, T.shape[0])
        v.check_self_join(m, T.shape[0])
        if not isinstance(egress, (bool, np.bool_)):
            raise InvalidParameterError(f"egress must be True or False; got {egress!r:.40}")
        if not isinstance(normalize, (bool, np.bool_)):
            raise InvalidParameterError(f"normalize must be True or False; got {normalize!r:.40}")
        self._normalize = bool(normalize)
        self._m = m
        self._excl = v.exclusion_zone(m)
        self._egress = bool(egress)
        self._limit = T.shape[0] if egress else 0
        self._new(T.shape[0] - m + 1 + (SPARE if egress else max(SPARE, T.shape[0])), _shift_for(T))
        self._feed(T)

    # -- state --------------------------------------------------------------------------------
    def _new(self, cap_w: int, shift: int) -> None:
        (self._F, self._G, self._B, self._Sx, self._SI, self._recK, self._recD, self._meta,
         self._fmeta) = sk.new_state(cap_w, self._m, self._excl, self._limit,
                                     self.records_kept if self._egress else 1, shift, self._normalize)
        self._scratch = sk.scratch(cap_w)

    def state(self) -> dict[str, Any]:
        """The whole state as plain arrays (the slots in use only) and numbers, from which
        :meth:`from_state` rebuilds this object exactly."""
        meta = self._meta
        nw = max(0, int(meta[sk.NSAMP]) - self._m + 1 - int(meta[sk.BASE]))
        ns = int(meta[sk.NSAMP]) - int(meta[sk.BASE])
        arrays = {
            "F": self._F[:, :nw], "G": self._G[:, :nw], "B": self._B[:, :nw],
            "Sx": self._Sx[:, :ns], "SI": self._SI[:, :ns + 1], "recK": self._recK[:nw],
            "recD": self._recD[:nw], "meta": meta, "fmeta": self._fmeta,
        }
        return {"arrays": {k: np.ascontiguousarray(a).copy() for k, a in arrays.items()},
                "m": self._m, "egress": self._egress, "limit": self._limit}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> IncrementalProfile:
        """The object whose :meth:`state` is ``state`` (the arrays are checked for consistency)."""
        self = cls.__new__(cls)
        self._init_from_state(state)
        return self

    def _init_from_state(self, state: dict[str, Any]) -> None:
        a = state["arrays"]
        m = int(state["m"])
        meta = np.asarray(a["meta"], dtype=np.int64)
        self._m = m
        self._excl = v.exclusion_zone(m)
        self._egress = bool(state["egress"])
        self._limit = int(state["limit"])
        _check_state(a, m, self._egress, self._limit)
        self._normalize = int(meta[sk.NORM]) == 1
        nw = a["F"].shape[1]
        cap_w = nw + max(SPARE, nw if not self._egress else 0)
        self.records_kept = int(meta[sk.KREC])
        self._new(cap_w, int(meta[sk.SHIFT]))
        self._F[:, :nw] = a["F"]
        self._G[:, :nw] = a["G"]
        self._B[:, :nw] = a["B"]
        ns = a["Sx"].shape[1]
        self._Sx[:, :ns] = a["Sx"]
        self._SI[:, :ns + 1] = a["SI"]
        self._recK[:nw] = a["recK"]
        self._recD[:nw] = a["recD"]
        self._meta[:] = meta
        self._fmeta[:] = a["fmeta"]

    # -- feeding --------------------------------------------------------------------------------
    def update(self, t: float) -> None:
        """Append one sample (NaN/inf allowed) and update the profile.

        Examples
        --------
        >>> import numpy as np, patternlab as pl
        >>> sp = pl.StreamingProfile(np.sin(np.arange(200) / 5), m=20)
        >>> sp.update(0.5); sp.n_seen
        201
        """
        x = as_samples(t, "t")
        if x.shape[0] != 1:
            raise InvalidParameterError(f"update takes one sample; got {x.shape[0]}: use extend(values)")
        self._feed(x)

    def extend(self, values: ArrayLike) -> None:
        """Append samples in order (NaN/inf allowed) and update the profile: the same result as
        calling :meth:`update` with each, faster.

        Examples
        --------
        >>> import numpy as np, patternlab as pl
        >>> sp = pl.StreamingProfile(np.sin(np.arange(200) / 5), m=20)
        >>> sp.extend(np.sin(np.arange(200, 300) / 5)); len(sp.P)
        181
        """
        self._feed(as_samples(values))

    def _feed(self, x: NDArray[np.float64]) -> None:
        if x.shape[0] == 0:
            return
        finite = x[np.isfinite(x)]
        top = MAX_SCALED if self._normalize else MAX_SCALED_RAW
        if finite.size and np.ldexp(float(np.abs(finite).max()), int(self._meta[sk.SHIFT])) > top:
            self._rescale(x)
            return
        done = 0
        while done < x.shape[0]:
            room = self._room()
            if room <= 0:
                self._make_room(x.shape[0] - done)
                continue
            part = x[done:done + room]
            sk.extend(part, self._F, self._G, self._B, self._Sx, self._SI, self._recK, self._recD,
                      self._meta, self._fmeta, *self._scratch)
            done += part.shape[0]

    def _room(self) -> int:
        """Samples that fit before the window slots are full."""
        return int(self._F.shape[1] + self._m - 1 - (self._meta[sk.NSAMP] - self._meta[sk.BASE]))

    def _make_room(self, wanted: int) -> None:
        if self._egress and sk.compact(self._F, self._G, self._B, self._Sx, self._SI, self._recK,
                                       self._recD, self._meta) > 0:
            return
        old = self.state()
        nw = old["arrays"]["F"].shape[1]
        cap_w = max(2 * self._F.shape[1], nw + wanted + SPARE)
        self._new(cap_w, int(self._meta[sk.SHIFT]))
        a = old["arrays"]
        self._F[:, :nw] = a["F"]
        self._G[:, :nw] = a["G"]
        self._B[:, :nw] = a["B"]
        ns = a["Sx"].shape[1]
        self._Sx[:, :ns] = a["Sx"]
        self._SI[:, :ns + 1] = a["SI"]
        self._recK[:nw] = a["recK"]
        self._recD[:nw] = a["recD"]
        self._meta[:] = a["meta"]
        self._fmeta[:] = a["fmeta"]

    def _rescale(self, x: NDArray[np.float64]) -> None:
        """Values far beyond the current scale: rebuild the state from the kept samples at the new
        scale (the profile depends only on the samples kept, not on the scale)."""
        kept = self.T
        seen = int(self._meta[sk.NSAMP])
        start = int(self._meta[sk.START])
        both = np.concatenate([kept, x])
        cap_w = self._F.shape[1]
        self._new(max(cap_w, both.shape[0] - self._m + 1 + SPARE), _shift_for(both))
        # the kept samples are replayed from absolute index `start`, as if the stream began there
        self._meta[sk.NSAMP] = start
        self._meta[sk.BASE] = start
        self._meta[sk.START] = start
        limit = self._limit
        self._meta[sk.LIMIT] = 0
        sk.extend(kept, self._F, self._G, self._B, self._Sx, self._SI, self._recK, self._recD,
                  self._meta, self._fmeta, *self._scratch)
        self._meta[sk.LIMIT] = limit
        assert int(self._meta[sk.NSAMP]) == seen
        IncrementalProfile._feed(self, x)  # not a subclass's (x is journaled already)

    # -- the profile ------------------------------------------------------------------------------
    def _span(self) -> tuple[int, int]:
        base = int(self._meta[sk.BASE])
        lo = int(self._meta[sk.START]) - base
        hi = int(self._meta[sk.NSAMP]) - self._m + 1 - base
        return lo, max(lo, hi)

    def _rel(self, idx: NDArray[np.int64]) -> NDArray[np.int64]:
        start = int(self._meta[sk.START])
        return np.where(idx >= 0, idx - start, -1).astype(np.int64)

    @property
    def m(self) -> int:
        """Window length."""
        return self._m

    @property
    def exclusion_zone(self) -> int:
        """Neighbours with ``|i - j| <= exclusion_zone`` are ignored (``ceil(m / 4)``)."""
        return self._excl

    def _unscaled(self, d: NDArray[np.float64]) -> NDArray[np.float64]:
        """Distances in the units of the samples (z-normalized ones have none; Euclidean ones
        were measured on the power-of-two scaled samples: exact)."""
        return d if self._normalize else np.ldexp(d, -int(self._meta[sk.SHIFT]))

    @property
    def normalize(self) -> bool:
        """Whether distances are z-normalized (True) or plain Euclidean."""
        return self._normalize

    @property
    def egress(self) -> bool:
        """Whether the oldest sample leaves as each new one arrives (a window of fixed length)."""
        return self._egress

    @property
    def n_seen(self) -> int:
        """Samples received since the stream began (the initial ``T`` included)."""
        return int(self._meta[sk.NSAMP])

    @property
    def offset(self) -> int:
        """Position in the stream of the first kept sample: window ``i`` of the profile is
        ``stream[offset + i : offset + i + m]``."""
        return int(self._meta[sk.START])

    @property
    def T(self) -> NDArray[np.float64]:
        """The samples kept (the series whose profile this is), as received."""
        base = int(self._meta[sk.BASE])
        lo = int(self._meta[sk.START]) - base
        return self._Sx[sk.RAW, lo:int(self._meta[sk.NSAMP]) - base].copy()

    @property
    def PL(self) -> NDArray[np.float64]:
        """Distance to the nearest left neighbour (``j < i``) of each kept window: the online
        anomaly score (``inf`` where there is none)."""
        lo, hi = self._span()
        return self._unscaled(self._F[sk.PL, lo:hi].copy())

    @property
    def IL(self) -> NDArray[np.int64]:
        """Index (in the kept series) of the nearest left neighbour, -1 where there is none."""
        lo, hi = self._span()
        return self._rel(self._G[sk.IL, lo:hi])

    @property
    def PR(self) -> NDArray[np.float64]:
        """Distance to the nearest right neighbour (``j > i``)."""
        lo, hi = self._span()
        return self._unscaled(self._F[sk.PR, lo:hi].copy())

    @property
    def IR(self) -> NDArray[np.int64]:
        """Index of the nearest right neighbour, -1 where there is none."""
        lo, hi = self._span()
        return self._rel(self._G[sk.IR, lo:hi])

    @property
    def P(self) -> NDArray[np.float64]:
        """Distance of each kept window to its nearest neighbour."""
        return self.profile().P

    @property
    def I(self) -> NDArray[np.int64]:  # noqa: E743  (the matrix-profile name)
        """Index of each kept window's nearest neighbour, -1 where there is none."""
        return self.profile().I

    def profile(self) -> MatrixProfile:
        """The profile of the kept samples as a :class:`~patternlab.MatrixProfile` (with
        ``motifs()`` and ``discords()``): the same as ``pl.matrix_profile(self.T, self.m)``.

        Examples
        --------
        >>> import numpy as np, patternlab as pl
        >>> T = np.random.default_rng(0).standard_normal(300)
        >>> sp = pl.StreamingProfile(T[:200], m=20, egress=False); sp.extend(T[200:])
        >>> mp = pl.matrix_profile(T, m=20)
        >>> bool((sp.P == mp.P).all() and (sp.I == mp.I).all())
        True
        """
        PL, IL, PR, IR = self.PL, self.IL, self.PR, self.IR
        P, I = exact.nearest_of(PL, IL, PR, IR)
        return MatrixProfile(P, I, PL, IL, PR, IR, self._m, self._excl, True, "float64")

    def __len__(self) -> int:
        lo, hi = self._span()
        return hi - lo

    def __repr__(self) -> str:
        kind = f"egress, {self._limit} samples kept" if self._egress else "growing"
        if not self._normalize:
            kind += ", not normalized"
        return (f"<{type(self).__name__} m={self._m}: {len(self)} windows, {self.n_seen} samples "
                f"seen ({kind})>")


def _check_state(a: dict[str, Any], m: int, egress: bool, limit: int) -> None:
    """Shapes and scalars of a state that came from outside (a store): consistent, or an error."""
    want = {"F": (sk.FLOAT_ROWS, None), "G": (sk.INT_ROWS, None), "B": (sk.BOOL_ROWS, None),
            "Sx": (2, None), "SI": (2, None), "meta": (sk.META,), "fmeta": (sk.FMETA,)}
    for name, shape in want.items():
        arr = a.get(name)
        if not isinstance(arr, np.ndarray) or arr.ndim != len(shape) or arr.shape[0] != shape[0]:
            raise InvalidParameterError(f"stream state array {name!r} is missing or has the wrong shape")
    meta = a["meta"]
    nw = a["F"].shape[1]
    ns = a["Sx"].shape[1]
    ok = (int(meta[sk.M]) == m and int(meta[sk.LIMIT]) == limit
          and int(meta[sk.NSAMP]) - int(meta[sk.BASE]) == ns and a["SI"].shape[1] == ns + 1
          and max(0, ns - m + 1) == nw and a["G"].shape[1] == nw and a["B"].shape[1] == nw
          and a["recK"].shape[0] == nw and a["recD"].shape == a["recK"].shape
          and a["recK"].shape[1] == int(meta[sk.KREC]) >= 1
          and int(meta[sk.BASE]) <= int(meta[sk.START]) <= max(int(meta[sk.BASE]), int(meta[sk.NSAMP]))
          and math.isfinite(float(a["fmeta"][0])))
    if not ok:
        raise InvalidParameterError("stream state arrays do not agree with each other (window, sizes, "
                                    "positions): the state is not one this version wrote")
