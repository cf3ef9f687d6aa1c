"""Multi-dimensional matrix profiles (mSTAMP), their subspaces and an MDL choice of dimensions.

:func:`multi_matrix_profile` is what :func:`patternlab.matrix_profile` runs for a 2-D ``T`` of
shape ``(d, n)``: row ``k`` of ``P`` is, for every window, the smallest mean of the ``k + 1``
smallest per-dimension z-normalized distances to another window outside the exclusion zone
(STUMPY's ``mstump``). :func:`subspace` and :func:`mdl` say which dimensions a motif lives in
(STUMPY's ``subspace`` and ``mdl``).
"""

from __future__ import annotations

import functools
import numbers
import uuid
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _validation as v
from .._numba import dynamic, get_num_threads, numba_threads, parallel_for, pick
from ..errors import InvalidParameterError, InvalidSignalError
from ..kernels import mstump as mk
from ..kernels import stats
from ._tiling import MAX_COLUMNS, TASKS_PER_THREAD

__all__ = ["MDL", "MultiProfile", "mdl", "multi_matrix_profile", "subspace"]

#: Canonical tile shape (rows, diagonals) of the multi-dimensional search.
TILES: tuple[int, int] = (2048, 256)
#: Diagonal bands per Dask task when set (tests use small tasks); by default about
#: ``TASKS_PER_THREAD`` tasks per worker thread.
BANDS_PER_TASK: int | None = None


@dataclass(frozen=True, eq=False, repr=False)
class MultiProfile:
    """The multi-dimensional matrix profile of ``d`` series of equal length (mSTAMP).

    Unpacks as ``P, I = mp``, like STUMPY's ``mstump``.

    Attributes
    ----------
    P : ndarray of float64, shape (d, n - m + 1)
        ``P[k, i]``: the smallest mean of the ``k + 1`` smallest per-dimension distances (with
        ``include``, the included dimensions first; with ``discords``, the largest) between
        window ``i`` and any window outside its exclusion zone; ``inf`` where every such window
        has a NaN/inf window among those dimensions.
    I : ndarray of int64, shape (d, n - m + 1)
        The neighbour reaching it (``-1`` where ``P`` is inf).
    m : int
        Window length.
    exclusion_zone : int
        Neighbours with ``|i - j| <= exclusion_zone`` (``ceil(m / 4)``) are ignored.
    include : tuple of int
        The dimensions always counted first, in this order (empty: none).
    discords : bool
        Whether the largest per-dimension distances were taken first.
    """

    P: NDArray[np.float64]
    I: NDArray[np.int64]
    m: int
    exclusion_zone: int
    include: tuple[int, ...]
    discords: bool

    def __iter__(self) -> Any:
        return iter((self.P, self.I))

    def __len__(self) -> int:
        return int(self.P.shape[1])

    def __repr__(self) -> str:
        d, n = self.P.shape
        extra = (f", include={list(self.include)}" if self.include else "") + (
            ", discords" if self.discords else "")
        return f"<MultiProfile: {d} dimensions x {n} windows of m={self.m}{extra}>"


def as_multi_signal(T: ArrayLike, m: Any) -> tuple[NDArray[np.float64], int]:
    """``T`` as a C-contiguous ``(d, n)`` float64 array and a valid window, or a clear error."""
    arr = np.asarray(T) if not isinstance(T, (str, bytes)) else T
    if isinstance(arr, np.ndarray) and arr.ndim == 2 and arr.shape[0] == 0:
        raise InvalidSignalError("T has no dimension (shape (0, n)); pass an array of shape (d, n), d >= 1")
    rows = [v.as_signal(row, f"T[{r}]") for r, row in enumerate(arr)]  # type: ignore[arg-type]
    n = rows[0].shape[0]
    if isinstance(m, numbers.Integral) and not isinstance(m, bool) and m > n >= 1 and len(rows) >= m:
        column = " (or T.ravel() for one series)" if n == 1 else ""
        raise InvalidSignalError(
            f"T has shape {(len(rows), n)}: {n} sample(s) per dimension, shorter than m={m}; a "
            f"multi-dimensional T holds one dimension per row: pass T.T{column}")
    m = v.as_window(m, n)
    v.check_self_join(m, n)
    for r, row in enumerate(rows):
        v.check_has_finite_window(row, m, f"T[{r}]")
    return np.ascontiguousarray(np.stack(rows)), m


def _include(include: Any, d: int) -> tuple[int, ...]:
    if include is None:
        return ()
    arr = np.atleast_1d(np.asarray(include))
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise InvalidParameterError(f"include must be a list of dimension indices; got {include!r:.60}")
    items = [int(x) for x in arr.tolist()]
    bad = [x for x in items if not 0 <= x < d]
    if bad:
        raise InvalidParameterError(
            f"include={items} names dimension(s) {bad} of a T with {d} dimension(s): pass indices "
            f"in 0 .. {d - 1}")
    if len(set(items)) != len(items):
        raise InvalidParameterError(f"include={items} repeats a dimension: name each once")
    return tuple(items)


def _network(d: int, ninc: int) -> NDArray[np.int64]:
    return mk.sorting_network(d - ninc)


class _Multi(NamedTuple):
    Tc: NDArray[np.float64]  # (d, n) sanitized, scaled samples, dimensions in search order
    mu: NDArray[np.float64]
    s: NDArray[np.float64]
    e: NDArray[np.float64]
    df: NDArray[np.float64]
    dg: NDArray[np.float64]


def _prepare_multi(T: NDArray[np.float64], m: int, order: list[int]) -> _Multi:
    """The float64 kernel inputs of each dimension (those of :func:`patternlab.matrix_profile`,
    each dimension scaled by its own power of two), stacked in ``order``."""
    window_stats = pick(stats.window_stats, stats.window_stats_serial, T.shape[1] * m)
    parts = []
    for r in order:
        Tc, mu, sig2, valid, constant = window_stats(v.unit_scaled(T[r]), m)
        s, e = stats.correlation_terms(mu, sig2, valid, constant)
        df, dg = stats.diagonal_terms(Tc, mu, m)
        parts.append((Tc, mu, s, e, df, dg))
    return _Multi(*(np.ascontiguousarray(np.stack(col)) for col in zip(*parts)))


def _search_in_process(X: _Multi, m: int, kmin: int, ninc: int, desc: bool,
                       threads: int | None) -> tuple[NDArray[Any], ...]:
    R, K = TILES
    d, ell = X.s.shape
    net = _network(d, ninc)
    with numba_threads(threads):
        if parallel_for(ell * ell / 2 * d):
            out: tuple[NDArray[Any], ...] = dynamic(mk.upper_triangle)(
                X.Tc, X.mu, X.df, X.dg, X.s, X.e, X.Tc, X.mu, X.df, X.dg, X.s, X.e, m, kmin, ell,
                R, K, ninc, net, desc, get_num_threads())
            return out
        serial: tuple[NDArray[Any], ...] = mk.upper_triangle_serial(
            X.Tc, X.mu, X.df, X.dg, X.s, X.e, X.Tc, X.mu, X.df, X.dg, X.s, X.e, m, kmin, ell, R, K,
            ninc, net, desc)
        return serial


def _slice_task(A: _Multi, B: _Multi, m: int, kmax: int, ninc: int, desc: bool) -> tuple[NDArray[Any], ...]:
    """One task's tiles on local slices (diagonals ``0 <= k < kmax``), on the worker's thread."""
    R, K = TILES
    net = _network(A.s.shape[0], ninc)
    out: tuple[NDArray[Any], ...] = mk.upper_triangle_serial(
        A.Tc, A.mu, A.df, A.dg, A.s, A.e, B.Tc, B.mu, B.df, B.dg, B.s, B.e, m, 0, kmax, R, K, ninc,
        net, desc)
    return out


def _cut(X: _Multi, lo: int, hi: int, m: int) -> _Multi:
    return _Multi(X.Tc[:, lo:hi + m - 1].copy(), *(a[:, lo:hi].copy() for a in X[1:]))


def _search_on_cluster(client: Any, X: _Multi, m: int, kmin: int, ninc: int,
                       desc: bool) -> tuple[NDArray[Any], ...]:
    """The tiles as Dask tasks of one row block by a run of bands; each task receives only the
    slices it reads, the client folds the returned minima (ties to the smaller index)."""
    from distributed import as_completed

    R, K = TILES
    d, ell = X.s.shape
    nrb, nbands = mk.n_tiles(ell, ell, kmin, R, K)
    per = BANDS_PER_TASK
    if per is None:
        threads = max(1, sum(client.nthreads().values()))
        groups = max(1, -(-TASKS_PER_THREAD * threads // max(nrb, 1)))
        per = max(1, min(-(-nbands // groups), (MAX_COLUMNS - R) // K))
    rowP, rowI, colP, colI = mk._empty(d, ell, ell)
    run = uuid.uuid4().hex[:8]
    futures = {}
    for a in range(nrb):
        r0, r1 = a * R, min(a * R + R, ell)
        for g0 in range(0, nbands, per):
            k0, k1 = kmin + g0 * K, kmin + min(g0 + per, nbands) * K
            lo, hi = r0 + k0, min(ell, r1 + k1)
            if lo >= ell:
                continue
            fut = client.submit(_slice_task, _cut(X, r0, r1, m), _cut(X, lo, hi, m), m, k1 - k0,
                                ninc, desc, key=f"multi-profile-tile-{a}-{g0}-{run}", pure=False)
            futures[fut] = (r0, lo)
    for fut in as_completed(list(futures)):
        r0, lo = futures.pop(fut)
        tP, tI, cP, cI = fut.result()
        fut.release()
        rows = slice(r0, r0 + tP.shape[1])
        cols = slice(lo, lo + cP.shape[1])
        mk.merge_min(rowP[:, rows], rowI[:, rows], tP, np.where(tI >= 0, tI + lo, -1))
        mk.merge_min(colP[:, cols], colI[:, cols], cP, np.where(cI >= 0, cI + r0, -1))
    return rowP, rowI, colP, colI


def multi_matrix_profile(T: ArrayLike, m: int, *, include: Any = None, discords: bool = False,
                         threads: int | None = None, client: Any = None) -> MultiProfile:
    """The multi-dimensional matrix profile of ``T`` (shape ``(d, n)``), as STUMPY's ``mstump``.

    :func:`patternlab.matrix_profile` calls this for 2-D input; see there for the parameters.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> T = np.array([[584., -11., 23., 79., 1001., 0., -19.], [1., 2., 4., 8., 16., 0., 32.]])
    >>> P, I = pl.matrix_profile(T, m=3)
    >>> P.round(4)
    array([[0.    , 1.4395, 0.    , 2.6941, 0.1163],
           [0.7779, 2.3618, 1.5   , 2.9225, 0.7779]])
    >>> I
    array([[2, 4, 0, 1, 0],
           [4, 4, 0, 1, 0]])
    """
    Ta, m = as_multi_signal(T, m)
    d = Ta.shape[0]
    inc = _include(include, d)
    if not isinstance(discords, (bool, np.bool_)):
        raise InvalidParameterError(f"discords must be True or False; got {discords!r:.40}")
    threads = v.as_threads(threads)
    inner = getattr(client, "client", None)
    client = v.as_client(inner if client is not None and inner is not None else client)
    order = list(inc) + [r for r in range(d) if r not in inc]
    X = _prepare_multi(Ta, m, order)
    excl = v.exclusion_zone(m)
    ninc, desc = len(inc), bool(discords)
    if client is not None:
        rowP, rowI, colP, colI = _search_on_cluster(client, X, m, excl + 1, ninc, desc)
    else:
        rowP, rowI, colP, colI = _search_in_process(X, m, excl + 1, ninc, desc, threads)
    ell = X.s.shape[1]
    with numba_threads(threads):
        resolve = dynamic(mk.resolve) if parallel_for(ell * d * d * m) else mk.resolve_serial
        P, I, suspect = resolve(X.Tc, X.mu, X.s, X.e, m, ninc, desc, rowP, rowI, colP, colI)
    rows = np.flatnonzero(suspect)
    if rows.size:
        mk.rescan(X.Tc, X.mu, X.s, X.e, m, excl, ninc, desc, rows, P, I)
    return MultiProfile(P, I, m, excl, inc, desc)


# ------------------------------------------------------------------------------ subspace, MDL


@functools.lru_cache(maxsize=8)
def _bins(n_bit: int) -> NDArray[np.float64]:
    """The ``2**n_bit - 1`` bin edges of equal probability under a standard normal."""
    q = 1 << n_bit
    nd = NormalDist()
    return np.array([nd.inv_cdf(k / q) for k in range(1, q)])


def _n_bit(n_bit: Any) -> int:
    if isinstance(n_bit, (bool, np.bool_)) or not isinstance(n_bit, numbers.Integral) \
            or not 1 <= int(n_bit) <= 16:
        raise InvalidParameterError(f"n_bit must be an integer in 1 .. 16; got {n_bit!r:.40}")
    return int(n_bit)


def _index(x: Any, ell: int, name: str) -> int:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
        raise InvalidParameterError(f"{name} must be a window index (an integer); got {x!r:.40}")
    if not 0 <= int(x) < ell:
        raise InvalidParameterError(f"{name}={int(x)} is not a window of T: pass 0 <= {name} < {ell}")
    return int(x)


def _discretized(T: NDArray[np.float64], i: int, m: int, bins: NDArray[np.float64]
                 ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Each dimension's window ``i`` z-normalized (constant windows: zeros) and discretized into
    the bins of ``bins`` (``searchsorted``, left); and whether each is finite."""
    W = T[:, i:i + m]
    finite = np.asarray(np.isfinite(W).all(axis=1))
    Z = np.zeros_like(W)
    eps = np.finfo(np.float64).eps
    for r in np.flatnonzero(finite):
        w = W[r]
        dev = w - w.mean()
        floor = m * (4 * eps * np.abs(w).max()) ** 2  # the constant-window rule of the profiles
        if not (np.all(w == w[0]) or dev @ dev <= floor or dev @ dev < np.finfo(np.float64).tiny):
            Z[r] = dev / w.std()
    return np.searchsorted(bins, Z).astype(np.int64), finite


def _ranked(D: NDArray[np.float64], inc: tuple[int, ...], discords: bool) -> NDArray[np.int64]:
    """Dimensions by increasing (``discords``: decreasing) distance, ties to the smaller
    dimension; with ``include``, the included dimensions first (in that same order)."""
    order = np.argsort(-D if discords else D, kind="stable")
    if inc:
        mask = np.isin(order, inc)
        order = np.concatenate([order[mask], order[~mask]])
    return order.astype(np.int64)


def _pair(T: NDArray[np.float64], m: int, i: int, j: int, n_bit: int) -> tuple[Any, ...]:
    bins = _bins(n_bit)
    a, fa = _discretized(T, i, m, bins)
    b, fb = _discretized(T, j, m, bins)
    D = np.sqrt(((a - b).astype(np.float64) ** 2).sum(axis=1))
    D[~(fa & fb)] = np.inf
    return a, b, D


def subspace(T: ArrayLike, m: int, subseq_idx: int, nn_idx: int, k: int, *, include: Any = None,
             discords: bool = False, n_bit: int = 8) -> NDArray[np.int64]:
    """The ``k + 1`` dimensions in which window ``subseq_idx`` and its neighbour ``nn_idx`` are
    closest (STUMPY's ``subspace``).

    Each dimension's two windows are z-normalized (a constant window: zeros), discretized into
    ``2**n_bit`` bins of equal probability under a standard normal, and compared by Euclidean
    distance; the dimensions are ranked by it (ties to the smaller dimension), the included ones
    first. A window holding NaN/inf puts its dimension last.

    Parameters
    ----------
    T : array_like, shape (d, n)
        The series, one dimension per row.
    m : int
        Window length.
    subseq_idx, nn_idx : int
        The window and its neighbour (e.g. ``i`` and ``mp.I[k, i]``).
    k : int
        The subspace has ``k + 1`` dimensions, ``0 <= k < d``.
    include : sequence of int, optional
        Dimensions always in the subspace (listed first).
    discords : bool
        Rank by decreasing distance (the dimensions where the windows differ most). STUMPY's
        own ``subspace`` ranks a reversed copy of the distances here, which orders dimensions
        differently; this is the ranking its documentation describes.
    n_bit : int
        Bits of the discretization.

    Returns
    -------
    ndarray of int64
        ``k + 1`` dimension indices.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> T = np.array([[584., -11., 23., 79., 1001., 0., -19.], [1., 2., 4., 8., 16., 0., 32.]])
    >>> pl.subspace(T, m=3, subseq_idx=0, nn_idx=2, k=1)
    array([1, 0])
    """
    Ta, m = as_multi_signal(T, m)
    d, ell = Ta.shape[0], Ta.shape[1] - m + 1
    i, j = _index(subseq_idx, ell, "subseq_idx"), _index(nn_idx, ell, "nn_idx")
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral) or not 0 <= int(k) < d:
        raise InvalidParameterError(f"k={k!r:.20} must be an integer in 0 .. {d - 1} (k + 1 dimensions)")
    _, _, D = _pair(Ta, m, i, j, _n_bit(n_bit))
    return _ranked(D, _include(include, d), bool(discords))[:int(k) + 1]


class MDL(NamedTuple):
    """The bits to describe a window and its neighbour with each number of dimensions (smaller is
    better) and the subspace of each: ``bits[k]`` and ``subspaces[k]`` (``k + 1`` dimensions)."""

    bits: NDArray[np.float64]
    subspaces: list[NDArray[np.int64]]

    @property
    def best(self) -> NDArray[np.int64]:
        """The subspace of the fewest bits (the smaller one on ties)."""
        return self.subspaces[int(np.argmin(self.bits))]


def mdl(T: ArrayLike, m: int, subseq_idx: ArrayLike, nn_idx: ArrayLike, *, include: Any = None,
        discords: bool = False, n_bit: int = 8) -> MDL:
    """How many dimensions a motif really spans, by minimum description length (STUMPY's
    ``mdl``).

    For each ``k``, the pair ``subseq_idx[k]``, ``nn_idx[k]`` (usually a profile's best window
    with ``k + 1`` dimensions and its neighbour) is discretized as in :func:`subspace`; the
    ``k + 1`` dimensions of its subspace are described by their differences from the neighbour,
    the others in full: ``n_bit * (2 d m - (k + 1) m) + (k + 1) m log2(u) + u n_bit`` bits, ``u``
    the number of distinct differences. The number of dimensions with the fewest bits is the
    MDL choice (:attr:`MDL.best`).

    Parameters
    ----------
    T : array_like, shape (d, n)
        The series, one dimension per row.
    m : int
        Window length.
    subseq_idx, nn_idx : array_like of int, length d
        A window and its neighbour for each number of dimensions.
    include, discords, n_bit
        As in :func:`subspace`.

    Returns
    -------
    MDL
        ``(bits, subspaces)``, unpackable like STUMPY's result, with ``.best``.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> T = np.array([[584., -11., 23., 79., 1001., 0., -19.], [1., 2., 4., 8., 16., 0., 32.]])
    >>> P, I = pl.matrix_profile(T, m=3)
    >>> best = P.argmin(axis=1)
    >>> bits, S = pl.mdl(T, 3, best, I[np.arange(2), best])
    >>> bits.round(3).tolist(), [s.tolist() for s in S]
    ([80.0, 111.51], [[1], [0, 1]])
    """
    Ta, m = as_multi_signal(T, m)
    d, ell = Ta.shape[0], Ta.shape[1] - m + 1
    si = np.atleast_1d(np.asarray(subseq_idx))
    ni = np.atleast_1d(np.asarray(nn_idx))
    if si.shape != (d,) or ni.shape != (d,):
        raise InvalidParameterError(
            f"subseq_idx and nn_idx must hold one window per dimension count ({d}); got shapes "
            f"{si.shape} and {ni.shape}")
    nb = _n_bit(n_bit)
    inc = _include(include, d)
    bits = np.empty(d)
    S = []
    for k in range(d):
        i = _index(si[k].item(), ell, f"subseq_idx[{k}]")
        j = _index(ni[k].item(), ell, f"nn_idx[{k}]")
        a, b, D = _pair(Ta, m, i, j, nb)
        sub = _ranked(D, inc, bool(discords))[:k + 1]
        n_val = len(np.unique(a[sub] - b[sub]))
        bits[k] = nb * (2 * d * m - (k + 1) * m) + (k + 1) * m * np.log2(n_val) + n_val * nb
        S.append(sub)
    return MDL(bits, S)
