""":class:`StreamingSegmentation`: regime changes of a stream as they arrive (FLOSS)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _validation as v
from ..errors import InvalidParameterError, StoreDataError
from ..profiles.segments import Segmentation, _corrected, _positive_int, _regimes, idealized_arc_curve
from .profile import StreamingProfile

__all__ = ["StreamingSegmentation"]

KIND = "streaming-segmentation"
DIRECTIONS = ("right", "left")


def _direction(direction: Any) -> str:
    if not isinstance(direction, str) or direction not in DIRECTIONS:
        raise InvalidParameterError(f"direction must be 'right' (arcs to later windows, FLOSS) or 'left' "
                                    f"(arcs to earlier windows); got {direction!r:.40}")
    return direction


def _custom_iac(iac: Any, k: int) -> NDArray[np.float64]:
    try:
        ideal = np.array(iac, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"iac must be {k} numbers, one per window; got {iac!r:.60}") from None
    if ideal.shape != (k,) or not np.isfinite(ideal).all() or (ideal < 0).any():
        raise InvalidParameterError(f"iac must be {k} finite numbers >= 0, one per window of the kept series "
                                    f"(len(T) - m + 1); got shape {ideal.shape}")
    return ideal


class StreamingSegmentation(StreamingProfile):
    """Regime changes of a stream as samples arrive: FLOSS (Gharghabi et al., "Matrix Profile
    VIII", ICDM 2017; "Domain agnostic online semantic segmentation for multi-dimensional time
    series", DMKD 2019), as STUMPY's ``floss``.

    A :class:`StreamingProfile` (egress: the last ``len(T)`` samples are kept) whose windows each
    send one arc to their nearest neighbour in one direction of time only: by default
    ``"right"``, among the later windows (``IR``; the paper's temporal constraint, as STUMPY's
    ``floss``: an arc never points at a window that has left). The count of arcs over each
    position, divided by the count expected of random neighbours in that direction (the
    one-directional idealized arc curve, an exact expectation: see
    :func:`~patternlab.profiles.segments.idealized_arc_curve`), clipped to [0, 1], with the
    first and last ``excl_factor * L`` positions set to 1, is the corrected arc curve
    :attr:`cac`; its lowest point is the :attr:`regime_boundary`. Every neighbour is exact (the
    profile is that of ``pl.matrix_profile`` of the kept samples), so the curve after each
    :meth:`update` is the curve of the kept samples computed from scratch.

    Parameters
    ----------
    T : array_like
        The history to start from (1-D; NaN/inf allowed; windows holding one have no arc).
    m : int
        Window length.
    L : int, optional
        The scale of a regime's edge, about one period (default ``m``): positions within
        ``excl_factor * L`` of either end are never boundaries.
    n_regimes : int
        Regimes for :attr:`regimes`: the ``n_regimes - 1`` lowest points of the curve, each
        excluding ``excl_factor * L`` positions around it.
    excl_factor : int
        See ``L`` (STUMPY's default 5; 0 turns the edge rule off).
    direction : {"right", "left"}
        Arcs to the nearest later window (``IR``, FLOSS) or to the nearest earlier one (``IL``).
    iac : array_like, optional
        The idealized arc curve, ``len(T) - m + 1`` numbers (needs ``egress``): for instance
        STUMPY's ``_iac(k, bidirectional=False)`` to reproduce its curve. Default the exact
        expectation for ``direction``, recomputed as the kept series grows without ``egress``.
    egress, normalize, store, name, checkpoint_every, overwrite
        As :class:`StreamingProfile` (a durable or saved segmentation keeps ``L``,
        ``n_regimes``, ``excl_factor``, ``direction`` and ``iac`` with the stream).

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(4000)
    >>> T = np.where(t < 3000, np.sin(t / 8), np.sign(np.sin(t / 15))) + rng.normal(0, 0.1, 4000)
    >>> fs = pl.StreamingSegmentation(T[:2000], m=100)   # keeps the last 2000 samples
    >>> fs.extend(T[2000:3600])                          # the change at 3000 arrives
    >>> b = fs.offset + fs.regime_boundary                # position in the stream
    >>> bool(2900 < b < 3100), bool(fs.cac[fs.regime_boundary] < 0.5)
    (True, True)
    """

    _kind = KIND

    def __init__(self, T: ArrayLike, m: int, L: int | None = None, *, n_regimes: int = 2,
                 excl_factor: int = 5, direction: str = "right", iac: ArrayLike | None = None,
                 egress: bool = True, normalize: bool = True, store: Any = None, name: str | None = None,
                 checkpoint_every: int = 10_000, overwrite: bool = False) -> None:
        T = v.as_signal(T, "T")
        m = v.as_window(m, T.shape[0])
        self._L = m if L is None else _positive_int(L, "L")
        self._n_regimes = _positive_int(n_regimes, "n_regimes")
        self._excl_factor = _positive_int(excl_factor, "excl_factor", low=0)
        self._direction = _direction(direction)
        self._iac: NDArray[np.float64] | None = None
        if iac is not None:
            if not (isinstance(egress, (bool, np.bool_)) and egress):
                raise InvalidParameterError("iac= needs egress=True (a fixed number of windows); without "
                                            "egress leave iac out (the exact curve follows the growing "
                                            "series)")
            self._iac = _custom_iac(iac, T.shape[0] - m + 1)
        self._cache: tuple[int, NDArray[np.float64]] | None = None
        self._ideal_cache: tuple[int, NDArray[np.float64]] | None = None
        super().__init__(T, m, egress=egress, normalize=normalize, store=store, name=name,
                         checkpoint_every=checkpoint_every, overwrite=overwrite)

    # -- persistence ------------------------------------------------------------------------------
    def _scalars(self, durable: bool) -> dict[str, Any]:
        out = super()._scalars(durable)
        out.update({"L": self._L, "n_regimes": self._n_regimes, "excl_factor": self._excl_factor,
                    "direction": self._direction, "custom_iac": self._iac is not None})
        return out

    def _arrays(self) -> dict[str, NDArray[Any]]:
        arrays = super()._arrays()
        if self._iac is not None:
            arrays["iac"] = self._iac.copy()
        return arrays

    def _restore(self, scalars: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> None:
        try:
            self._L = _positive_int(scalars["L"], "L")
            self._n_regimes = _positive_int(scalars["n_regimes"], "n_regimes")
            self._excl_factor = _positive_int(scalars["excl_factor"], "excl_factor", low=0)
            self._direction = _direction(scalars["direction"])
            self._iac = _custom_iac(arrays["iac"], len(self)) if scalars["custom_iac"] else None
        except (KeyError, InvalidParameterError) as exc:
            raise StoreDataError(f"the segmentation's parameters in this checkpoint are missing or wrong "
                                 f"({exc}): it is not one patternlab wrote") from None
        self._cache = self._ideal_cache = None

    @classmethod
    def load(cls, target: Any, *, name: str | None = None) -> StreamingSegmentation:
        """The segmentation saved at ``target`` (see :meth:`StreamingProfile.load`), with its
        parameters: the same curve and the same continuation, bit for bit.

        Examples
        --------
        >>> import numpy as np, patternlab as pl, tempfile, os
        >>> fs = pl.StreamingSegmentation(np.sin(np.arange(600) / 7), m=40, L=20)
        >>> path = os.path.join(tempfile.mkdtemp(), "floss.zarr")
        >>> fs.save(path)
        >>> back = pl.StreamingSegmentation.load(path)
        >>> back.L, bool((back.cac == fs.cac).all())
        (20, True)
        """
        out = super().load(target, name=name)
        assert isinstance(out, StreamingSegmentation)
        return out

    # -- the segmentation -------------------------------------------------------------------------
    @property
    def L(self) -> int:
        """The scale of a regime's edge (see the class parameters)."""
        return self._L

    @property
    def n_regimes(self) -> int:
        """Regimes sought by :attr:`regimes`."""
        return self._n_regimes

    @property
    def excl_factor(self) -> int:
        """Positions within ``excl_factor * L`` of an end (or of a boundary found) are excluded."""
        return self._excl_factor

    @property
    def direction(self) -> str:
        """``"right"``: arcs to the nearest later window (FLOSS); ``"left"``: to the nearest
        earlier one."""
        return self._direction

    @property
    def iac(self) -> NDArray[np.float64]:
        """The idealized arc curve the arcs are divided by, one value per kept window."""
        return self._ideal().copy()

    def _ideal(self) -> NDArray[np.float64]:
        if self._iac is not None:
            return self._iac
        k = len(self)
        if self._ideal_cache is None or self._ideal_cache[0] != k:  # once with egress (k is fixed)
            self._ideal_cache = (k, idealized_arc_curve(k, self._direction))
        return self._ideal_cache[1]

    @property
    def arcs(self) -> NDArray[np.int64]:
        """The neighbour each kept window's arc goes to (``IR`` or ``IL``; -1: none)."""
        return self.IR if self._direction == "right" else self.IL

    def _curve(self) -> NDArray[np.float64]:
        if self._cache is None or self._cache[0] != self.n_seen:
            cac = _corrected(self.arcs, self._L, self._excl_factor, self._ideal())
            self._cache = (self.n_seen, cac)
        return self._cache[1]

    @property
    def cac(self) -> NDArray[np.float64]:
        """The one-directional corrected arc curve of the kept series, one value in [0, 1] per
        window (computed when first read after an update; low values are regime changes)."""
        return self._curve().copy()

    @property
    def regimes(self) -> NDArray[np.int64]:
        """The ``n_regimes - 1`` boundaries (lowest points of :attr:`cac`, lowest first), as
        positions in the kept series (add :attr:`offset` for positions in the stream)."""
        return _regimes(self._curve(), self._n_regimes, self._L, self._excl_factor)

    @property
    def regime_boundary(self) -> int:
        """Where the curve is lowest (the first such position), in the kept series: the most
        likely regime change; ``cac[regime_boundary]`` says how likely (1.0: no evidence)."""
        return int(np.argmin(self._curve()))

    def segmentation(self) -> Segmentation:
        """``Segmentation(cac, regimes)`` of the kept series, as :func:`patternlab.segments`
        returns for a whole series.

        Examples
        --------
        >>> import numpy as np, patternlab as pl
        >>> fs = pl.StreamingSegmentation(np.sin(np.arange(500) / 6), m=30, n_regimes=3)
        >>> cac, regimes = fs.segmentation()
        >>> cac.shape, regimes.shape
        ((471,), (2,))
        """
        cac = self.cac
        return Segmentation(cac, _regimes(cac, self._n_regimes, self._L, self._excl_factor))

    def __repr__(self) -> str:
        return (f"{super().__repr__()[:-1]}; L={self._L}, excl_factor={self._excl_factor}, "
                f"arcs {self._direction}>")
