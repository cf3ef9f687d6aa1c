""":func:`approximate_profile`: the anytime matrix profile, checkpointable and resumable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import StoreDataError
from ..profiles.anytime import AnytimeProfile, as_percentage, as_seed
from ._state import backend_for

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["ApproximateProfile", "approximate_profile"]

KIND = "approximate-profile"


class ApproximateProfile(AnytimeProfile):
    """An anytime matrix profile: ``P``, ``I``, ``PL``, ``IL``, ``PR``, ``IR`` after a pre-scan and
    a share of the diagonals; :meth:`update` refines it; :meth:`save` / :meth:`load` checkpoint it
    (see :func:`approximate_profile`)."""

    def save(self, target: Any, *, name: str | None = None) -> None:
        """Write the profile so far (the series, the left and right profiles, the seed and how many
        diagonals are done) to a zarr path or URL, or to Redis with ``name=``; :meth:`load` resumes
        it: the same diagonals next, the same result bit for bit.

        Examples
        --------
        >>> import numpy as np, patternlab as pl, tempfile, os
        >>> T = np.random.default_rng(0).standard_normal(600)
        >>> ap = pl.approximate_profile(T, m=30, percentage=0.1, seed=2)
        >>> path = os.path.join(tempfile.mkdtemp(), "ap.zarr")
        >>> ap.save(path)
        >>> back = pl.ApproximateProfile.load(path)
        >>> back.diagonals_done == ap.diagonals_done, bool((back.P == ap.P).all())
        (True, True)
        """
        backend = backend_for(target, KIND, name=name, create=True)
        scalars = {"m": self._m, "seed": self._seed, "percentage": self._percentage,
                   "prescan": self._prescan, "done": self._done}
        arrays = {"T": self._T, "PL": self._PL, "IL": self._IL, "PR": self._PR, "IR": self._IR}
        try:
            backend.clear()
            backend.write_checkpoint(self._done, scalars, arrays)
        finally:
            backend.close()

    @classmethod
    def load(cls, target: Any, *, name: str | None = None) -> ApproximateProfile:
        """The profile saved at ``target`` (its newest verified checkpoint)."""
        backend = backend_for(target, KIND, name=name, create=False)
        try:
            scalars, arrays, _ = backend.read()
        finally:
            backend.close()
        self = cls.__new__(cls)
        try:
            self._T = np.ascontiguousarray(arrays["T"], dtype=np.float64)
            self._m = int(scalars["m"])
            self._seed = as_seed(int(scalars["seed"]))
            self._percentage = as_percentage(float(scalars["percentage"]))
            self._prescan = bool(scalars["prescan"])
            self._prepare()
            n = self._n
            self._PL = np.ascontiguousarray(arrays["PL"], dtype=np.float64)
            self._PR = np.ascontiguousarray(arrays["PR"], dtype=np.float64)
            self._IL = np.ascontiguousarray(arrays["IL"], dtype=np.int64)
            self._IR = np.ascontiguousarray(arrays["IR"], dtype=np.int64)
            self._done = int(scalars["done"])
            if not (all(a.shape == (n,) for a in (self._PL, self._PR, self._IL, self._IR))
                    and 0 <= self._done <= self._order.shape[0]):
                raise ValueError("sizes do not agree")
        except (KeyError, ValueError, TypeError) as exc:
            raise StoreDataError(f"the approximate profile at {backend.where} is not one patternlab "
                                 f"wrote ({exc}): save it again") from None
        return self


def approximate_profile(T: ArrayLike, m: int, *, percentage: float = 0.01, seed: int = 0,
                        prescan: bool = True, client: Client | None = None) -> ApproximateProfile:
    """An anytime matrix profile (SCRIMP++ style) that refines towards the exact one.

    A pre-scan (optional) measures every ``ceil(m / 4)``-th window against all the others (FFT
    correlations propose, exact distances decide) and the cells around each one's best pair;
    then the diagonals of the distance matrix are folded in a random order drawn from ``seed``
    alone, ``percentage`` of them per call. Every distance kept is exact, so the profile only
    improves, and once every diagonal is done (``progress == 1.0``) it is the exact profile,
    the same as ``pl.matrix_profile`` (indices and distances bit for bit, near ties named by
    the exact distance as in :class:`StreamingProfile`). The same ``T``, ``m``, ``seed`` and
    calls give the same result bit for bit, in process, on any number of threads or on Dask.

    Parameters
    ----------
    T : array_like
        The series (1-D; NaN/inf allowed).
    m : int
        Window length.
    percentage : float
        Share of the diagonals done now and by each :meth:`~ApproximateProfile.update`, in (0, 1].
    seed : int
        Fixes the order of the diagonals and of the pre-scan's rows.
    prescan : bool
        Run the pre-scan first (better early profiles; costs about one FFT per ``ceil(m / 4)``
        windows).
    client : distributed.Client, optional
        Fold this call's diagonals as Dask tasks (blocks of diagonals) on the cluster; the
        pre-scan runs in this process. ``update(client=...)`` does the same later.

    Returns
    -------
    ApproximateProfile
        ``P``, ``I``, ``PL``, ``IL``, ``PR``, ``IR``, ``progress``, ``exact``, ``update()``,
        ``profile()``, ``save()`` / ``ApproximateProfile.load()``.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> T = np.cumsum(np.random.default_rng(0).standard_normal(2000))
    >>> ap = pl.approximate_profile(T, m=50, percentage=0.05, seed=0)
    >>> round(ap.progress, 2)
    0.05
    >>> while not ap.exact:
    ...     _ = ap.update()
    >>> bool((ap.I == pl.matrix_profile(T, m=50).I).all())
    True
    """
    return ApproximateProfile(T, m, percentage=percentage, seed=seed, prescan=prescan, client=client)
