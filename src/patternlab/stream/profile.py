""":class:`StreamingProfile`: the exact profile of a stream, checkpointed to zarr or Redis."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import InvalidParameterError, StoreError
from ..profiles.streaming import IncrementalProfile
from ._state import backend_for

if TYPE_CHECKING:
    from ._persist import Backend

__all__ = ["StreamingProfile"]

KIND = "streaming-profile"


def _check_every(every: Any) -> int:
    if isinstance(every, bool) or not isinstance(every, numbers.Integral) or int(every) < 1:
        raise InvalidParameterError(f"checkpoint_every={every!r:.40} must be a positive number of samples")
    return int(every)


class StreamingProfile(IncrementalProfile):
    """The exact matrix profile of a stream, updated as samples arrive, and kept safe.

    After every :meth:`update` / :meth:`extend`, ``P``, ``I``, ``PL``, ``IL`` (``PR``, ``IR``) are
    those of ``pl.matrix_profile`` of the samples kept: every sample so far, or with ``egress``
    the last ``len(T)`` samples (the window slides). Equal means identical indices and distances
    bit for bit (NaN/inf and constant windows as in ``matrix_profile``, exclusion zone
    ``ceil(m / 4)``, ties to the smallest index), but for one case: where two neighbours of a
    window are exactly as near (up to the last bit, or exact repeats), the stream measures both and
    keeps the nearer, while ``matrix_profile`` measures only the one its search found and can keep
    the other. Each new sample costs one pass over the kept windows (amortized ``O(n)``).

    Parameters
    ----------
    T : array_like
        The history to start from (1-D; NaN/inf allowed), ``len(T) >= m`` with an admissible
        window pair (as ``matrix_profile``).
    m : int
        Window length.
    egress : bool
        Keep only the last ``len(T)`` samples (default, as ``stumpy.stumpi``); ``False`` keeps
        every sample.
    normalize : bool
        z-normalized distances (default), or plain Euclidean ones (``False``, as STUMPY's
        ``aamp``/``aampi``: no constant-window rule; NaN/inf windows and the exclusion zone as
        above; distances in the units of the samples, those of ``matrix_profile(...,
        normalize=False)`` within rounding).
    store : str, path or RedisPatternStore, optional
        Keep the stream durable there: the state is checkpointed at once and every
        ``checkpoint_every`` samples, and the samples of every call are journaled before it
        returns, so that :meth:`load` after a crash (even SIGKILL) resumes with every sample of
        every call that returned. A zarr path or URL, or a Redis store / ``redis://`` URL with
        ``name=``.
    name : str, optional
        The stream's name in Redis.
    checkpoint_every : int
        Samples between checkpoints of a durable stream (the journal holds those in between).
    overwrite : bool
        Replace a stream already kept at ``store`` (otherwise that is an error: resume it with
        :meth:`load`).

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> T = np.cumsum(np.random.default_rng(0).standard_normal(1200))
    >>> sp = pl.StreamingProfile(T[:1000], m=50)          # egress: the last 1000 samples
    >>> for t in T[1000:]:
    ...     sp.update(t)
    >>> mp = pl.matrix_profile(T[200:], m=50)
    >>> bool((sp.P == mp.P).all() and (sp.I == mp.I).all() and (sp.IL == mp.IL).all())
    True
    """

    #: The kind of stream its checkpoints hold (a subclass with more state names its own).
    _kind = KIND

    def __init__(self, T: ArrayLike, m: int, *, egress: bool = True, normalize: bool = True,
                 store: Any = None, name: str | None = None, checkpoint_every: int = 10_000,
                 overwrite: bool = False) -> None:
        self._backend: Backend | None = None
        every = _check_every(checkpoint_every)
        backend = None
        if store is not None:
            backend = backend_for(store, self._kind, name=name, create=True)
            if backend.has_checkpoint():
                if not overwrite:
                    raise StoreError(f"a stream is already kept at {backend.where}: resume it with "
                                     f"pl.{type(self).__name__}.load(...), or pass overwrite=True to "
                                     "replace it")
                backend.clear()
        elif name is not None:
            raise InvalidParameterError("name= goes with store= (a Redis store)")
        super().__init__(T, m, egress=egress, normalize=normalize)
        self._every = every
        self._last_checkpoint = self.n_seen
        self._written = -1  # the sample count of the checkpoint last written by this object
        if backend is not None:
            self._backend = backend
            self.checkpoint()

    # -- persistence ------------------------------------------------------------------------------
    def _scalars(self, durable: bool) -> dict[str, Any]:
        st = self.state()
        return {"m": st["m"], "egress": st["egress"], "limit": st["limit"], "durable": durable,
                "checkpoint_every": self._every}

    def _arrays(self) -> dict[str, NDArray[Any]]:
        """The arrays of a checkpoint."""
        arrays: dict[str, NDArray[Any]] = self.state()["arrays"]
        return arrays

    def _restore(self, scalars: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> None:
        """What a subclass keeps beyond the profile, read back from a checkpoint (before the
        journaled samples are replayed)."""

    def checkpoint(self) -> None:
        """Write a checkpoint of a durable stream now (it also happens every ``checkpoint_every``
        samples)."""
        if self._backend is None:
            raise InvalidParameterError("this stream has no store: pass store= when creating it, or use "
                                        "save(path)")
        if self._written == self.n_seen:  # written already: a checkpoint is never rewritten in place
            return
        self._backend.write_checkpoint(self.n_seen, self._scalars(True), self._arrays())
        self._last_checkpoint = self._written = self.n_seen

    def save(self, target: Any, *, name: str | None = None) -> None:
        """Write the whole state to ``target`` (a zarr path or URL; or a Redis store or URL with
        ``name=``), replacing what a previous save left there. :meth:`load` reads it back: the
        same profile and the same continuation, bit for bit.

        Examples
        --------
        >>> import numpy as np, patternlab as pl, tempfile, os
        >>> sp = pl.StreamingProfile(np.sin(np.arange(300) / 7), m=30)
        >>> path = os.path.join(tempfile.mkdtemp(), "stream.zarr")
        >>> sp.save(path)
        >>> pl.StreamingProfile.load(path).n_seen
        300
        """
        backend = backend_for(target, self._kind, name=name, create=True)
        try:
            backend.clear()
            backend.write_checkpoint(self.n_seen, self._scalars(False), self._arrays())
        finally:
            backend.close()

    @classmethod
    def load(cls, target: Any, *, name: str | None = None) -> StreamingProfile:
        """The stream saved at ``target``: from its newest verified checkpoint, with the journaled
        samples after it replayed. A durable stream stays durable (it goes on journaling and
        checkpointing there).

        Raises
        ------
        StoreError
            Nothing is kept there.
        StoreDataError
            No checkpoint there verifies (damaged).
        """
        backend = backend_for(target, cls._kind, name=name, create=False)
        scalars, arrays, tail = backend.read()
        self = cls.__new__(cls)
        self._backend = None
        self._init_from_state({"arrays": arrays, "m": scalars["m"], "egress": scalars["egress"],
                               "limit": scalars["limit"]})
        self._every = _check_every(scalars.get("checkpoint_every", 10_000))
        self._last_checkpoint = self.n_seen
        self._written = self.n_seen
        self._restore(scalars, arrays)
        IncrementalProfile._feed(self, tail)  # already journaled
        if scalars.get("durable"):
            self._backend = backend
        else:
            backend.close()
        return self

    @property
    def durable(self) -> bool:
        """Whether every update is journaled to a store before it returns."""
        return self._backend is not None

    def close(self) -> None:
        """Write a last checkpoint of a durable stream and release its store."""
        if self._backend is not None:
            self.checkpoint()
            self._backend.close()
            self._backend = None

    def __enter__(self) -> StreamingProfile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _feed(self, x: NDArray[np.float64]) -> None:
        if self._backend is None or x.shape[0] == 0:
            super()._feed(x)
            return
        self._backend.append(self.n_seen, x)  # durable before it is used
        super()._feed(x)
        if self.n_seen - self._last_checkpoint >= self._every:
            self.checkpoint()
