"""Exact matrix profiles, distance profiles, motifs and discords of one signal."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _validation as v
from .._extras import imported
from .._numba import dynamic, get_num_threads, numba_threads, parallel_for
from ..errors import InvalidParameterError, InvalidSignalError
from ..kernels import exact, topk
from ..kernels import matrix_profile as mpk
from ..kernels import neighbours as nbk
from . import _absolute, _neighbours, search
from ._prepare import FLOAT32_MIN_SPREAD_RATIO, TILES  # noqa: F401  (public knobs, also here)
from ._prepare import prepare as _prepare
from ._tiling import Progress, Windows, cluster_bands, index_dtype, triangle_in_threads, triangle_on_cluster
from .multi import MultiProfile, multi_matrix_profile

if TYPE_CHECKING:
    from . import _store
    from ._store import StoredProfile


def _stores() -> ModuleType:
    """The profile store (zarr), imported on first use: the profiles in memory need none of it."""
    return imported("patternlab.profiles._store", "a profile stored with out=")

__all__ = [
    "Discord",
    "MatrixProfile",
    "Motif",
    "discords",
    "distance_profile",
    "matrix_profile",
    "open_profile",
]


class Motif(NamedTuple):
    """A motif: the pair of windows ``a < b`` that are each other's near neighbours."""

    a: int
    b: int
    distance: float


class Discord(NamedTuple):
    """A discord: the window ``index`` whose nearest neighbour ``neighbor`` is far away."""

    index: int  # type: ignore[assignment]  # shadows tuple.index, as the name users expect
    distance: float
    neighbor: int


#: Matrix-profile cells per inner-loop step of :data:`patternlab._numba.PARALLEL_MIN_WORK`: the
#: profile runs in parallel from about 16,000 windows.
CELLS_PER_STEP = 16


def _triangle(A: Windows, B: Windows, m: int, kmin: int, dtype: type, client: Any = None,
              run: _Run | None = None, t: int = 0) -> tuple[NDArray[Any], ...]:
    """Row and column maxima of the cells ``j - i >= kmin`` of A x B: on ``client`` (recorded
    in ``run``'s store when given), on this process's threads, or serially for small inputs."""
    R, K = TILES[dtype]
    if client is not None:
        if run is None or run.writer is None:
            return triangle_on_cluster(client, A, B, m, kmin, (R, K), progress=run.progress if run else None)
        nrb, nbands = mpk.n_tiles(len(A.s), len(B.s), kmin, R, K)
        rec = _stores().StateRecorder(run.writer, t, len(A.s), len(B.s), A.s_d.dtype, kmin, (R, K),
                                   lambda: cluster_bands(client, nrb, nbands, R, K))
        return triangle_on_cluster(client, A, B, m, kmin, (R, K), rec.bands_per_task, recorder=rec,
                                   progress=run.progress)
    # a cell is a fraction of a step (the tile loop vectorizes); on a shared 2-core machine a
    # 10,000-sample profile ran 1.5x slower on two threads, a 100,000-sample one 1.2-1.35x faster
    if not parallel_for(len(A.s) * len(B.s) / 2 / CELLS_PER_STEP):
        index_like: NDArray[Any] = np.empty(0, dtype=index_dtype(len(A.s), len(B.s), A.s_d.dtype))
        serial: tuple[NDArray[Any], ...] = mpk.upper_triangle_serial(
            A.Tc, A.mu, A.df, A.dg, A.s_d, A.e_d, B.Tc, B.mu, B.df, B.dg, B.s_d, B.e_d, m, kmin,
            len(B.s), R, K, index_like)
        return serial
    return triangle_in_threads(A, B, m, kmin, (R, K), get_num_threads())


class _Run:
    """Where a profile goes: in memory (``writer`` None) or to a store; and its progress bar."""

    def __init__(self, writer: _store.ProfileWriter | None, progress: bool) -> None:
        self.writer = writer
        self.progress = Progress(progress)


@dataclass(frozen=True, eq=False, repr=False)
class MatrixProfile:
    """The exact matrix profile of a series (self-join) or of series A against B (AB-join).

    Attributes
    ----------
    P : ndarray of float64
        ``P[i]`` is the z-normalized Euclidean distance (or, with ``normalize=False``, the p-norm
        distance) from window ``i`` (``T[i:i+m]``) to its nearest neighbour; ``inf`` when window
        ``i`` holds NaN/inf or has no admissible neighbour. With ``k``, shape ``(len, k)``: the
        distances to the ``k`` nearest neighbours, ascending (ties to the smaller index).
    I : ndarray of int64
        Index of that neighbour (``-1`` where ``P`` is inf); shape ``(len, k)`` with ``k``.
    PL, IL : ndarray
        Distance and index of the nearest neighbour to the left (``j < i``); self-joins only,
        ``inf``/``-1`` otherwise and for AB-joins (as in STUMPY).
    PR, IR : ndarray
        The same to the right (``j > i``).
    m : int
        Window length.
    exclusion_zone : int
        Self-joins ignore neighbours with ``|i - j| <= exclusion_zone`` (``ceil(m / 4)``); 0 for
        AB-joins.
    self_join : bool
        Whether this is the profile of a series against itself.
    dtype : str
        The precision the search really ran in (``"float64"`` or ``"float32"``): a float32
        search falls back to float64 when the series' window spreads are more than a factor
        ``1 / FLOAT32_MIN_SPREAD_RATIO`` (100) apart. Reported distances are always recomputed
        exactly in float64 for the neighbour found.
    k : int or None
        The number of nearest neighbours in ``P`` and ``I`` (None: the nearest only, 1-D).
    normalize : bool
        Whether distances are z-normalized (True) or p-norm distances of the raw windows.
    p : float
        The p-norm of a non-normalized profile (2.0 otherwise).
    """

    P: NDArray[np.float64]
    I: NDArray[np.int64]
    PL: NDArray[np.float64]
    IL: NDArray[np.int64]
    PR: NDArray[np.float64]
    IR: NDArray[np.int64]
    m: int
    exclusion_zone: int
    self_join: bool
    dtype: str
    k: int | None = None
    normalize: bool = True
    p: float = 2.0

    def __len__(self) -> int:
        return int(self.P.shape[0])

    def __repr__(self) -> str:
        kind = "self-join" if self.self_join else "AB-join"
        finite = self.P[np.isfinite(self.P)]
        rng = f", P in [{finite.min():.4g}, {finite.max():.4g}]" if finite.size else ""
        knn = f", k={self.k}" if self.k is not None else ""
        norm = "" if self.normalize else f", non-normalized p={self.p:g}"
        return f"<MatrixProfile {kind}: {len(self)} windows of m={self.m}{knn}{norm}{rng}, {self.dtype}>"

    def _nearest(self) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """``P``, ``I`` of the nearest neighbour (the first column of a ``k`` profile)."""
        if self.P.ndim == 1:
            return self.P, self.I
        return np.ascontiguousarray(self.P[:, 0]), np.ascontiguousarray(self.I[:, 0])

    def motifs(self, k: int = 3) -> list[Motif]:
        """The ``k`` best non-overlapping motif pairs of this profile.

        Windows are taken by increasing distance; a pair is kept when its two windows do not
        overlap each other (a window whose nearest neighbour lies inside it, as along a slow
        trend, is one stretch, not a shape seen twice) and neither overlaps a window
        (``|x - y| < m``) of a pair kept before. Windows holding NaN/inf are never motifs.

        Parameters
        ----------
        k : int
            Number of motifs wanted; fewer are returned when the profile has no more.

        Returns
        -------
        list of Motif
            ``(a, b, distance)`` with ``a < b``, best first.

        Examples
        --------
        >>> import numpy as np, patternlab as pl
        >>> T = np.tile(np.random.default_rng(0).random(60), 5)  # exact repeats
        >>> pl.matrix_profile(T, m=50).motifs(1)[0]
        Motif(a=0, b=60, distance=0.0)
        """
        k = v.as_count(k)
        a, b, d = topk.top_motifs(*self._nearest(), k, self.m)
        return [Motif(int(x), int(y), float(z)) for x, y, z in zip(a, b, d)]

    def discords(self, k: int = 3, *, left: bool = False, start: int = 0) -> list[Discord]:
        """The ``k`` windows farthest from their nearest neighbour, non-overlapping.

        Parameters
        ----------
        k : int
            Number of discords wanted; fewer are returned when the profile has no more.
        left : bool
            Rank by the left profile (``PL``, ``IL``: the nearest neighbour in the past) instead:
            the anomalies a stream flags as they arrive. Needs a self-join.
        start : int
            With ``left``: only windows from ``start`` on are ranked (the ones before it are the
            past the first ones are compared with: early windows, with little past, are far from
            everything they have seen).

        Returns
        -------
        list of Discord
            ``(index, distance, neighbor)``, the most anomalous first. Windows whose distance is
            infinite (NaN/inf data) are not ranked.

        Examples
        --------
        >>> import numpy as np, patternlab as pl
        >>> T = np.sin(np.linspace(0, 20 * np.pi, 1000)); T[500:510] += 2.0
        >>> 450 < pl.matrix_profile(T, m=50).discords(1)[0].index < 510
        True
        """
        k = v.as_count(k)
        if start and not left:
            raise InvalidParameterError(f"start={start!r} applies to left discords: pass left=True")
        if left:
            if not self.self_join:
                raise InvalidParameterError("left=True needs the left profile of a self-join: an "
                                            "AB-join has none (all inf); pass left=False")
            PL = np.array(self.PL if self.PL.ndim == 1 else self.PL[:, 0], dtype=np.float64)  # a copy
            IL = np.ascontiguousarray(self.IL if self.IL.ndim == 1 else self.IL[:, 0], dtype=np.int64)
            PL[:v.as_start(start, len(PL))] = np.inf
            i, d, nb = topk.top_discords(PL, IL, k, self.m)
        else:
            i, d, nb = topk.top_discords(*self._nearest(), k, self.m)
        return [Discord(int(x), float(y), int(z)) for x, y, z in zip(i, d, nb)]


# a 2-D T gives a MultiProfile also without include= or discords=: type checkers cannot see shapes
@overload
def matrix_profile(T: ArrayLike, m: int, T_B: ArrayLike | None = None, *, dtype: Any = ...,
                   threads: int | None = ..., client: Any = ..., include: None = None,
                   discords: Literal[False] = False, k: int | None = ..., normalize: bool = ...,
                   p: float = ..., T_subseq_isconstant: Any = ..., T_B_subseq_isconstant: Any = ...,
                   out: None = None, out_dtype: Any = ...,
                   overwrite: bool = ..., progress: bool = ...) -> MatrixProfile: ...
@overload
def matrix_profile(T: ArrayLike, m: int, T_B: ArrayLike | None = None, *, dtype: Any = ...,
                   threads: int | None = ..., client: Any = ..., include: None = None,
                   discords: Literal[False] = False, k: None = None, normalize: Literal[True] = True,
                   p: float = ..., T_subseq_isconstant: Any = ..., T_B_subseq_isconstant: Any = ...,
                   out: str | os.PathLike[str],
                   out_dtype: Any = ..., overwrite: bool = ..., progress: bool = ...) -> StoredProfile: ...
@overload
def matrix_profile(T: ArrayLike, m: int, T_B: None = None, *, dtype: Any = "float64",
                   threads: int | None = None, client: Any = None, include: Any = None,
                   discords: bool = False) -> MultiProfile: ...


def matrix_profile(
    T: ArrayLike,
    m: int,
    T_B: ArrayLike | None = None,
    *,
    dtype: Any = "float64",
    threads: int | None = None,
    client: Any = None,
    include: Any = None,
    discords: bool = False,
    k: int | None = None,
    normalize: bool = True,
    p: float = 2.0,
    T_subseq_isconstant: Any = None,
    T_B_subseq_isconstant: Any = None,
    out: str | os.PathLike[str] | None = None,
    out_dtype: Any = "float64",
    overwrite: bool = False,
    progress: bool = False,
) -> MatrixProfile | MultiProfile | StoredProfile:
    """Compute the exact matrix profile of ``T`` (or of ``T`` against ``T_B``).

    For every window ``T[i:i+m]`` the z-normalized Euclidean distance to its nearest neighbour:
    in ``T`` itself outside the exclusion zone ``|i - j| <= ceil(m / 4)`` (self-join), or in
    ``T_B`` (AB-join). Runs on all numba threads; the result does not depend on their number.

    Conventions: a window holding NaN or inf has distance inf and index -1 and is never a
    neighbour; two constant windows are at distance 0, a constant and a non-constant window at
    ``sqrt(m)`` (as STUMPY). Windows whose spread is at the rounding floor of their values count
    as constant. A series without any window of finite samples gets an all-inf profile with -1
    indices and a :class:`~patternlab.errors.NoFiniteWindowWarning` (as STUMPY answers it).

    Parameters
    ----------
    T : array_like or zarr.Array
        The series, 1-D, numeric (a NumPy array, list, pandas or polars Series, a zarr array;
        integer and float32 values are converted to float64); NaN and inf allowed.
    m : int
        Window length, ``3 <= m <= len(T)``.
    T_B : array_like or zarr.Array, optional
        A second series for an AB-join.
    dtype : {"float64", "float32"}
        Precision of the search. ``float32`` is faster; it may pick a neighbour whose distance is
        within about 1e-3 of the best one. Reported distances are exact in both modes. Series
        whose window spreads are more than a factor 100 apart, and non-normalized profiles, are
        searched in float64 anyway (``MatrixProfile.dtype`` says which ran).
    threads : int, optional
        The most threads to use (default: all numba threads), when computing in this process. A
        series too short to gain from threads runs on one whatever this says. Memory does not
        grow with threads: each holds the maxima of one task of tiles.
    client : distributed.Client, optional
        Tile the distance matrix over this Dask cluster instead: each task reads only the slices
        of the series it needs and returns bounded maxima, folded as tasks finish. The result
        is identical, bit for bit, to the in-process one. With ``out=``, every finished task is
        recorded in the store, and a run started again with the same arguments (after a crash
        of this process, say) computes only the tasks missing there.
    include, discords
        Multi-dimensional ``T`` only (see below).
    k : int, optional
        The number of nearest neighbours: ``P`` and ``I`` then have shape ``(len, k)``, each row
        ascending by distance (the smaller index on ties; inf / -1 where a window has fewer
        admissible neighbours). ``PL``/``IL`` and ``PR``/``IR`` stay the nearest left and right
        neighbour. Default: the nearest only, 1-D ``P`` and ``I``.
    normalize : bool
        False: distances between the raw windows instead of z-normalized ones, the p-norm
        ``sum(|a - b|**p)**(1/p)`` (STUMPY's ``aamp``; same exclusion zone and NaN/inf rule, no
        constant-window rule).
    p : float
        The p-norm of a non-normalized profile, ``1 <= p <= 100`` (2: Euclidean).
    T_subseq_isconstant, T_B_subseq_isconstant : array_like of bool or callable, optional
        Which windows of ``T`` (of ``T_B``) count as constant, instead of the rounding-floor
        rule: one bool per window, or a function ``f(T, m)`` returning them (as STUMPY). A
        window whose samples are all equal is constant whatever this says; windows holding
        NaN/inf are never neighbours whatever this says. z-normalized profiles only.
    out : str or os.PathLike, optional
        Write the profile to this zarr store instead of returning it in memory: ``P``, ``I``,
        ``PL``, ``IL``, ``PR``, ``IR`` are resolved and written a chunk at a time, so the
        output is never held whole. Returns a :class:`StoredProfile` (see
        :func:`open_profile`). A complete profile of the same input found there is returned
        as it is. 1-D ``T`` only.
    out_dtype : {"float64", "float32"}
        dtype of the stored distances (with ``out=``); indices are int64.
    overwrite : bool
        Replace a store at ``out`` that holds another profile (default: refuse).
    progress : bool
        Show a progress bar in tiles with the rate in cells/s (runs with ``client=``).

    Returns
    -------
    MatrixProfile or StoredProfile
        ``P``, ``I``, ``PL``, ``IL``, ``PR``, ``IR`` as typed arrays, with ``motifs()`` and
        ``discords()``; a :class:`StoredProfile` with ``out=``.
    MultiProfile
        For a 2-D ``T`` of shape ``(d, n)`` (one dimension per row, a self-join in float64):
        the multi-dimensional profile (mSTAMP, as STUMPY's ``mstump``), ``P`` and ``I`` of shape
        ``(d, n - m + 1)``; row ``k`` is the best match over ``k + 1`` dimensions (the smallest
        mean of the ``k + 1`` smallest per-dimension distances). ``include`` (dimension indices)
        are always counted first; ``discords=True`` takes the largest distances first. See
        :func:`patternlab.profiles.multi.multi_matrix_profile`.

    Raises
    ------
    InvalidSignalError, SignalTypeError, InvalidWindowError, InvalidParameterError
        For input that is not a 1-D numeric signal, a window out of range, or bad options.
    StoreError
        With ``out=``, if the store holds another profile and ``overwrite`` is false.

    Warns
    -----
    NoFiniteWindowWarning
        When ``T`` or ``T_B`` has no window of ``m`` finite samples (the profile is all inf).

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> T = np.random.default_rng(0).standard_normal(1000)
    >>> mp = pl.matrix_profile(T, m=50)
    >>> mp.P.shape, mp.I.dtype
    ((951,), dtype('int64'))
    >>> pl.matrix_profile(T, m=50, k=3).P.shape
    (951, 3)
    >>> round(float(pl.matrix_profile([0.0, 1, 2, 9, 9, 0, 1, 2], 3, normalize=False, p=1.0).P[0]), 6)
    0.0
    """
    ndim = _ndim(T)
    if ndim > 2:
        raise InvalidSignalError(
            f"T must be 1-D (a series) or 2-D (d, n) (one dimension a row); got an array of shape "
            f"{np.shape(T)}: pass one signal, or stack the dimensions as rows")
    if ndim == 2:
        if T_B is not None or np.dtype(v.as_dtype(dtype)) != np.float64 or out is not None:
            raise InvalidParameterError(
                "a multi-dimensional T (shape (d, n)) has a float64 self-join profile only, in "
                "memory: leave out T_B, dtype and out")
        if k is not None or normalize is not True or T_subseq_isconstant is not None \
                or T_B_subseq_isconstant is not None:
            raise InvalidParameterError(
                "k=, normalize=, p= and T_subseq_isconstant= apply to a 1-D T: a multi-dimensional "
                "T (shape (d, n)) has the z-normalized nearest-neighbour profile only")
        return multi_matrix_profile(T, m, include=include, discords=discords, threads=threads,
                                    client=client)
    if include is not None or discords:
        raise InvalidParameterError(
            "include= and discords= apply to a multi-dimensional T of shape (d, n); T is 1-D")
    T = v.as_signal(_read_series(T), "T", require_finite=False)
    m = v.as_window(m, T.shape[0])
    dt = v.as_dtype(dtype)
    threads = v.as_threads(threads)
    client = v.as_client(client)
    nn = v.as_neighbours(k)
    normalize = v.as_flag(normalize, "normalize")
    p = v.as_p(p)
    odt = v.as_dtype(out_dtype)
    if not isinstance(overwrite, (bool, np.bool_)) or not isinstance(progress, (bool, np.bool_)):
        raise InvalidParameterError(f"overwrite={overwrite!r} and progress={progress!r}: both must be "
                                    "True or False")
    if out is not None and not isinstance(out, (str, os.PathLike)):
        raise InvalidParameterError(f"out must be a path (str or os.PathLike) to a zarr store; got "
                                    f"{type(out).__name__}: pass e.g. out='mp.zarr'")
    if out is not None and (nn is not None or not normalize):
        raise InvalidParameterError("out= stores the z-normalized nearest-neighbour profile: leave out "
                                    "k= and normalize=False, or out=")
    B = None if T_B is None else v.as_signal(_read_series(T_B), "T_B", require_finite=False)
    if B is None:
        v.check_self_join(m, T.shape[0])
        if T_B_subseq_isconstant is not None:
            raise InvalidParameterError(
                "T_B_subseq_isconstant was given without T_B: pass T_subseq_isconstant for a "
                "self-join, or T_B for an AB-join"
            )
    else:
        v.as_window(m, B.shape[0], signal="T_B")
    v.check_isconstant_normalized(normalize, {"T_subseq_isconstant": T_subseq_isconstant,
                                              "T_B_subseq_isconstant": T_B_subseq_isconstant}, "profiles")
    cA = v.as_isconstant(T_subseq_isconstant, T, m, "T_subseq_isconstant")
    cB = None if B is None else v.as_isconstant(T_B_subseq_isconstant, B, m, "T_B_subseq_isconstant")
    if out is not None:
        v.check_has_finite_window(T, m, "T")
        if B is not None:
            v.check_has_finite_window(B, m, "T_B")
    empty = [name for name, S in (("T", T), ("T_B", B)) if S is not None and not v.has_finite_window(S, m)]
    for name in empty:
        v.warn_no_finite_window(name, m)
    if empty:
        return _no_neighbours(T.shape[0] - m + 1, m, B is None, nn, normalize, p)
    if not normalize:
        return _absolute_profile(T, B, m, nn, p, threads, client)
    if nn is not None and (nn > 1 or np.dtype(dt) != np.float64):
        return _knn_profile(T, B, m, dt, nn, threads, client, cA, cB)
    series = [T] if B is None else [T, B]
    windows, dt = _prepare(series, m, dt, [cA] if B is None else [cA, cB])
    writer = None
    if out is not None:
        excl = v.exclusion_zone(m) if B is None else 0
        attrs = {"m": m, "n_windows": len(windows[0].s), "exclusion_zone": excl, "self_join": B is None,
                 "dtype": np.dtype(dt).name, "out_dtype": np.dtype(odt).name,
                 "series": _stores().series_digest(*series)}
        writer = _stores().ProfileWriter(out, attrs, overwrite=bool(overwrite), resume=True)
        if writer.group.attrs.get("complete") is True:
            return open_profile(writer.path)
    run = _Run(writer, bool(progress))
    try:
        if B is None:
            mp = _self_join_of(windows[0], m, dt, threads, client, run)
        else:
            mp = _ab_join_of(windows[0], windows[1], m, dt, threads, client, run)
    finally:
        run.progress.close()
    if nn == 1 and isinstance(mp, MatrixProfile):  # out= is refused with k=
        # the k shapes from the nearest-neighbour kernel: the neighbour lists' values, faster
        return replace(mp, P=mp.P[:, None].copy(), I=mp.I[:, None].copy(), k=1)
    return mp


def _read_series(T: Any) -> Any:
    """A zarr array is read whole (the profile needs every sample); anything else as it is."""
    zarr = sys.modules.get("zarr")  # (not imported: T cannot be one of its arrays)
    if zarr is not None and isinstance(T, zarr.Array):
        return np.asarray(T[...])
    return T


def open_profile(path: str | os.PathLike[str]) -> StoredProfile:
    """Open a matrix profile written by ``pl.matrix_profile(..., out=path)``.

    The group's attributes are checked against their digest when it is opened; every chunk
    read through :meth:`StoredProfile.read` or :meth:`StoredProfile.load` is checked against
    the digest recorded when it was written (a missing chunk, which zarr would read as fill
    values, a truncated or flipped one is a :class:`~patternlab.StoreDataError`).

    Parameters
    ----------
    path : str or os.PathLike
        The zarr store.

    Returns
    -------
    StoredProfile
        ``read(name, start, stop)`` reads a range of one array, ``load()`` the whole profile
        as a :class:`MatrixProfile`.

    Raises
    ------
    StoreError
        If there is no profile at ``path``.
    StoreDataError
        If its metadata is damaged.

    Examples
    --------
    >>> import numpy as np, os, tempfile, patternlab as pl
    >>> T = np.random.default_rng(0).standard_normal(500)
    >>> path = os.path.join(tempfile.mkdtemp(), "mp.zarr")
    >>> _ = pl.matrix_profile(T, m=20, out=path, out_dtype="float32")
    >>> stored = pl.open_profile(path)
    >>> stored.out_dtype, len(stored), str(stored.read("I", 0, 3).dtype)
    ('float32', 481, 'int64')
    >>> bool((stored.load().I == pl.matrix_profile(T, m=20).I).all())
    True
    """
    stored: StoredProfile = _stores().open_stored(path, MatrixProfile)
    return stored


def _ndim(T: Any) -> int:
    """The number of dimensions of ``T`` as an array; 0 for what cannot be one (strings, ragged
    lists: :func:`patternlab._validation.as_signal` says why)."""
    if isinstance(T, (str, bytes)):
        return 0
    try:
        return int(np.ndim(T))
    except (ValueError, TypeError):
        return 0


def self_join(T: NDArray[np.float64], m: int, *, threads: int | None = None) -> MatrixProfile:
    """The float64 self-join profile of a series its caller has validated already (a contiguous
    1-D float64 array with a finite window and an admissible pair, as :func:`matrix_profile`
    checks): :func:`patternlab.perceive` validates and scales its signal once and hands it here.
    A power-of-two scaled ``T`` (``_validation.unit_scaled``) gives the same profile bit for bit."""
    (A,), dt = _prepare([T], m, np.float64)
    out = _self_join_of(A, m, dt, threads, None, _Run(None, False))
    assert isinstance(out, MatrixProfile)
    return out


def _resolvers(work: int) -> tuple[Any, Any]:
    """The row and column resolution kernels for about ``work`` steps (parallel or serial)."""
    if parallel_for(work):
        return dynamic(exact.resolve_rows), dynamic(exact.resolve_columns)
    return exact.resolve_rows_serial, exact.resolve_columns_serial


def _resolved(A: Windows, B: Windows, m: int, kmin_rows: int, kmin_cols: int, maxima: tuple[Any, ...],
              chunk: int) -> Iterator[tuple[int, dict[str, NDArray[Any]]]]:
    """Exact distances and indices of the neighbours found, ``chunk`` windows at a time: right
    (rows of A against B, ``j >= i + kmin_rows``) and left (columns of A against the rows of B,
    ``i <= j - kmin_cols``), and the nearer of the two."""
    rowP, rowI, colP, colI = maxima
    validB = exact.valid_prefix(B.e)
    n = len(A.s)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        rows, cols = _resolvers((hi - lo) * m)
        PR, IR = rows(A.Tc, A.mu, A.s, A.e, B.Tc, B.mu, B.s, B.e, m, kmin_rows, rowP, rowI, validB, lo, hi)
        PL, IL = cols(B.Tc, B.mu, B.s, B.e, A.Tc, A.mu, A.s, A.e, m, kmin_cols, colP, colI, validB, lo, hi)
        P, I = exact.nearest_of(PL, IL, PR, IR)
        yield lo, {"P": P, "I": I, "PL": PL, "IL": IL, "PR": PR, "IR": IR}


def _finish(A: Windows, B: Windows, m: int, kmins: tuple[int, int], maxima: tuple[Any, ...],
            excl: int, self_join_: bool, dt: type, run: _Run) -> MatrixProfile | StoredProfile:
    """The profile from the maxima: in memory, or written to ``run``'s store a chunk at a time."""
    if run.writer is not None:
        chunks = _resolved(A, B, m, kmins[0], kmins[1], maxima, _stores().CHUNK)
        if not self_join_:  # AB-joins have no left and right profiles (as STUMPY)
            chunks = (_no_sides(lo, c) for lo, c in chunks)
        run.writer.write_output(chunks)
        return open_profile(run.writer.path)
    (_, c), = list(_resolved(A, B, m, kmins[0], kmins[1], maxima, max(1, len(A.s))))
    if not self_join_:
        c = _no_sides(0, c)[1]
    return MatrixProfile(c["P"], c["I"], c["PL"], c["IL"], c["PR"], c["IR"], m, excl, self_join_,
                         np.dtype(dt).name)


def _no_sides(lo: int, c: dict[str, NDArray[Any]]) -> tuple[int, dict[str, NDArray[Any]]]:
    n = len(c["P"])
    none_d, none_i = np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    return lo, {**c, "PL": none_d, "IL": none_i, "PR": none_d.copy(), "IR": none_i.copy()}


def _self_join_of(A: Windows, m: int, dt: type, threads: int | None, client: Any,
                  run: _Run) -> MatrixProfile | StoredProfile:
    excl = v.exclusion_zone(m)
    with numba_threads(threads):
        maxima = _triangle(A, A, m, excl + 1, dt, client, run, 0)
        return _finish(A, A, m, (excl + 1, excl + 1), maxima, excl, True, dt, run)


def _ab_join_of(A: Windows, B: Windows, m: int, dt: type, threads: int | None, client: Any,
                run: _Run) -> MatrixProfile | StoredProfile:
    with numba_threads(threads):
        # cells j >= i: rows of A, columns of B; cells j < i: rows of B, columns of A
        rowP, rowI, _, _ = _triangle(A, B, m, 0, dt, client, run, 0)
        _, _, colP, colI = _triangle(B, A, m, 1, dt, client, run, 1)
        return _finish(A, B, m, (0, 1), (rowP, rowI, colP, colI), 0, False, dt, run)


def _ab_profile(P: NDArray[np.float64], I: NDArray[np.int64], m: int, dtype: str,
                nn: int | None = None, normalize: bool = True, p: float = 2.0) -> MatrixProfile:
    """An AB-join's profile: no left and right profiles (inf / -1, as STUMPY)."""
    n = P.shape[0]
    none_d = np.full(n, np.inf)
    none_i = np.full(n, -1, dtype=np.int64)
    return MatrixProfile(P, I, none_d, none_i, none_d.copy(), none_i.copy(), m, 0, False, dtype,
                         nn, normalize, p)


def _no_neighbours(ell: int, m: int, self_join: bool, nn: int | None, normalize: bool,
                   p: float) -> MatrixProfile:
    """The profile of a series without a finite window (or against one): all inf, indices -1."""
    shape: tuple[int, ...] = (ell,) if nn is None else (ell, nn)
    P, I = np.full(shape, np.inf), np.full(shape, -1, dtype=np.int64)
    if not self_join:
        return _ab_profile(P, I, m, "float64", nn, normalize, p)
    none_d = np.full(ell, np.inf)
    none_i = np.full(ell, -1, dtype=np.int64)
    return MatrixProfile(P, I, none_d, none_i, none_d.copy(), none_i.copy(), m,
                         v.exclusion_zone(m), True, "float64", nn, normalize, p)


def _from_sides(sides: tuple[NDArray[Any], ...], m: int, self_join: bool, dtype: str,
                nn: int | None, normalize: bool, p: float) -> MatrixProfile:
    """A profile from each window's left and right lists (``k`` = None: their first columns)."""
    DL, IL, DR, IR = sides
    P, I = nbk.merge_sides(DL, IL, DR, IR)
    if nn is None:
        P, I = np.ascontiguousarray(P[:, 0]), np.ascontiguousarray(I[:, 0])
    if not self_join:
        return _ab_profile(P, I, m, dtype, nn, normalize, p)
    left = (np.ascontiguousarray(DL[:, 0]), np.ascontiguousarray(IL[:, 0]))
    right = (np.ascontiguousarray(DR[:, 0]), np.ascontiguousarray(IR[:, 0]))
    return MatrixProfile(P, I, *left, *right, m, v.exclusion_zone(m), True, dtype, nn, normalize, p)


def _knn_profile(T: NDArray[np.float64], B: NDArray[np.float64] | None, m: int, dt: type, nn: int,
                 threads: int | None, client: Any, cA: NDArray[np.bool_] | None,
                 cB: NDArray[np.bool_] | None) -> MatrixProfile:
    if B is None:
        (A,), dt = _prepare([T], m, dt, [cA])
        sides = _neighbours.self_join(A, m, v.exclusion_zone(m), dt, nn, threads, client)
    else:
        (A, W), dt = _prepare([T, B], m, dt, [cA, cB])
        sides = _neighbours.ab_join(A, W, m, dt, nn, threads, client)
    return _from_sides(sides, m, B is None, np.dtype(dt).name, nn, True, 2.0)


def _absolute_profile(T: NDArray[np.float64], B: NDArray[np.float64] | None, m: int,
                      nn: int | None, p: float, threads: int | None, client: Any) -> MatrixProfile:
    if B is None:
        sides = _absolute.self_join(T, m, v.exclusion_zone(m), nn or 1, p, threads, client)
    else:
        sides = _absolute.ab_join(T, B, m, nn or 1, p, threads, client)
    return _from_sides(sides, m, B is None, "float64", nn, False, p)


def distance_profile(
    Q: ArrayLike,
    T: ArrayLike,
    *,
    normalize: bool = True,
    p: float = 2.0,
    T_subseq_isconstant: Any = None,
    Q_subseq_isconstant: Any = None,
) -> NDArray[np.float64]:
    """z-normalized Euclidean distance from the query ``Q`` to every window of ``T`` (STUMPY's
    ``mass``), or with ``normalize=False`` the p-norm distance (``mass_absolute``).

    Parameters
    ----------
    Q : array_like
        The query, 1-D, ``3 <= len(Q) <= len(T)``. A query holding NaN/inf is at distance inf
        from every window (with a :class:`~patternlab.errors.NoFiniteWindowWarning`).
    T : array_like
        The series searched; NaN/inf allowed (windows holding them are at distance inf).
    normalize : bool
        False: p-norm distances between the raw query and windows.
    p : float
        The p-norm when ``normalize=False``, ``1 <= p <= 100``.
    T_subseq_isconstant, Q_subseq_isconstant : array_like of bool or callable, optional
        Which windows of ``T`` (whether ``Q``) count as constant, instead of the rounding-floor
        rule (see :func:`matrix_profile`); a bool is taken for ``Q``'s one window.

    Returns
    -------
    ndarray of float64
        ``len(T) - len(Q) + 1`` distances, computed directly in float64. A constant query is at
        distance 0 from constant windows and ``sqrt(m)`` from the others.

    Warns
    -----
    NoFiniteWindowWarning
        When ``Q`` holds NaN/inf or ``T`` has no window of finite samples (all distances inf).

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> T = np.sin(np.linspace(0, 10 * np.pi, 500))
    >>> int(np.argmin(pl.distance_profile(T[100:150], T)))
    100
    >>> pl.distance_profile([1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0], normalize=False).tolist()
    [1.7320508075688772, 0.0]
    """
    T = v.as_signal(T, "T", require_finite=False)
    Q = v.as_signal(Q, "Q", require_finite=False)
    m = v.as_window(Q.shape[0], T.shape[0], name="len(Q)")
    normalize = v.as_flag(normalize, "normalize")
    p = v.as_p(p)
    v.check_isconstant_normalized(normalize, {"T_subseq_isconstant": T_subseq_isconstant,
                                              "Q_subseq_isconstant": Q_subseq_isconstant}, "distances")
    cT = v.as_isconstant(T_subseq_isconstant, T, m, "T_subseq_isconstant")
    cQ = v.as_isconstant(Q_subseq_isconstant, Q, m, "Q_subseq_isconstant")
    for name, S in (("Q", Q), ("T", T)):
        if not v.has_finite_window(S, m):
            v.warn_no_finite_window(name, m)
            return np.full(T.shape[0] - m + 1, np.inf)
    if not normalize:
        return _absolute.distance_profile(Q, T, p)
    # the kernel and statistics of pl.match (the query's z-normalized samples once, the
    # windows' statistics in O(n)): the same distances
    d: NDArray[np.float64] = search._profile(search._query_windows(Q, m, cQ), search._windows(T, m, cT), m)
    return d


def discords(T: ArrayLike, m: int, k: int = 3, *, dtype: Any = "float64", normalize: bool = True,
             p: float = 2.0, T_subseq_isconstant: Any = None) -> list[Discord]:
    """The ``k`` most anomalous non-overlapping windows of ``T`` (see
    :meth:`MatrixProfile.discords`).

    Parameters
    ----------
    T : array_like
        The series.
    m : int
        Window length.
    k : int
        Number of discords wanted.
    dtype : {"float64", "float32"}
        Precision of the profile search.
    normalize, p, T_subseq_isconstant
        As in :func:`matrix_profile`.

    Returns
    -------
    list of Discord

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> T = np.sin(np.linspace(0, 40 * np.pi, 2000)); T[1000] = 3.0
    >>> 950 < pl.discords(T, m=50, k=1)[0].index <= 1000
    True
    """
    k = v.as_count(k)
    return matrix_profile(T, m, dtype=dtype, normalize=normalize, p=p,
                          T_subseq_isconstant=T_subseq_isconstant).discords(k)
