"""Search: every non-overlapping occurrence of a query in a series or a collection of series.

:func:`match` follows STUMPY's ``match``: the z-normalized distance profile of the query, the
windows within ``max_distance`` taken by increasing distance, an exclusion zone of
``ceil(m / 4)`` windows on each side of every occurrence kept. The distance profiles are those of
:func:`patternlab.distance_profile`, bit for bit; with ``client=`` they are computed on Dask in
blocks of windows, each window by the same kernel, so the result is identical too.
"""

from __future__ import annotations

import math
import numbers
import uuid
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _validation as v
from ..errors import InvalidParameterError
from ..kernels import absolute as ak
from ..kernels import search as sk
from ..kernels import stats
from . import _absolute
from ._prepare import stats_of

__all__ = ["Occurrence", "SeriesOccurrence", "match"]


class Occurrence(NamedTuple):
    """An occurrence of the query: the window ``T[index:index+m]`` at ``distance``."""

    distance: float
    index: int  # type: ignore[assignment]  # shadows tuple.index, as the name users expect


class SeriesOccurrence(NamedTuple):
    """An occurrence of the query in a collection: window ``index`` of series ``series``."""

    distance: float
    series: int
    index: int  # type: ignore[assignment]  # shadows tuple.index, as the name users expect


#: Windows per Dask task when set (tests use small blocks); by default a task gets about
#: ``1 / TASKS_PER_THREAD`` of a worker thread's share of all windows, at least
#: :data:`MIN_BLOCK` of them (smaller tasks cost more to ship than to compute).
BLOCK_WINDOWS: int | None = None
TASKS_PER_THREAD = 4
MIN_BLOCK = 1 << 15


class _Series(NamedTuple):
    Tc: NDArray[np.float64]
    mu: NDArray[np.float64]
    s: NDArray[np.float64]
    e: NDArray[np.float64]


def _windows(T: NDArray[np.float64], m: int, flags: NDArray[np.bool_] | None = None) -> _Series:
    """The kernel inputs of :func:`patternlab.distance_profile` for one series (float64, not
    shifted: the same arrays, so the same distances); ``flags``: the user's constant windows."""
    Tc, mu, sig2, valid, constant = stats_of(T, m, flags, prefix_sums=True)
    s, e = stats.correlation_terms(mu, sig2, valid, constant)
    return _Series(Tc, mu, s, e)


class _Raw(NamedTuple):
    """A series (or a slice of its windows) for non-normalized distances, with the query's
    samples at its scale (:mod:`._absolute`: the same arrays as ``distance_profile``)."""

    Qc: NDArray[np.float64]
    Tc: NDArray[np.float64]
    e: NDArray[np.float64]
    shift: int


def _raw(Q: NDArray[np.float64], T: NDArray[np.float64], m: int) -> _Raw:
    shift = _absolute.shift_of(Q, T)
    t = _absolute.raw(T, m, shift)
    return _Raw(_absolute.raw(Q, m, shift).Tc, t.Tc, t.e, shift)


class _Query(NamedTuple):
    qn: NDArray[np.float64]  # z-normalized samples, as the distance kernel scales them
    e: float  # correlation term: < 0 holds NaN/inf (never: such queries match nothing), > 0 constant


def _query_windows(Q: NDArray[np.float64], m: int, flags: NDArray[np.bool_] | None = None) -> _Query:
    q = _windows(Q, m, flags)
    return _Query(sk.normalized_query(q.Tc, q.mu, q.s, m), float(q.e[0]))


#: Windows closer than ``CLOSE * sqrt(m)`` to the query are measured again with directly measured
#: statistics (:func:`patternlab.kernels.search.refine_close`): an exact repeat at distance 0.
CLOSE = 1e-6


#: The query of non-normalized profiles (its samples travel with each series, at its scale).
RAW_QUERY = _Query(np.empty(0), 0.0)


def _profile(q: _Query, t: _Series | _Raw, m: int, p: float = 2.0) -> NDArray[np.float64]:
    D: NDArray[np.float64]
    if isinstance(t, _Raw):
        D = ak.distance_profile_serial(t.Qc, q.e, t.Tc, t.e, m, p, _absolute.mode(p), t.shift)
        return D
    D = sk.query_profile_serial(q.qn, q.e, t.Tc, t.mu, t.s, t.e, m)  # no parallel twin
    sk.refine_close(D, q.qn, q.e, t.Tc, t.e, m, CLOSE * np.sqrt(m))
    return D


def _slice(t: _Series | _Raw, lo: int, hi: int, m: int) -> _Series | _Raw:
    if isinstance(t, _Raw):
        return _Raw(t.Qc, t.Tc[lo:hi + m - 1], t.e[lo:hi], t.shift)
    return _Series(t.Tc[lo:hi + m - 1], t.mu[lo:hi], t.s[lo:hi], t.e[lo:hi])


def _block_task(q: _Query, m: int, pieces: list[_Series | _Raw],
                p: float = 2.0) -> list[NDArray[np.float64]]:
    """The distance profiles of one task's slices of windows, on the worker's calling thread
    (every window's distance depends only on its own samples and statistics)."""
    return [_profile(q, t, m, p) for t in pieces]


def _profiles_on_cluster(client: Any, q: _Query, series: Sequence[_Series | _Raw], m: int,
                         p: float = 2.0) -> list[NDArray[np.float64]]:
    """The distance profile of every series, computed on ``client`` in blocks of windows: each
    task receives only the samples and statistics of its windows."""
    total = sum(len(t.e) for t in series)
    block = BLOCK_WINDOWS
    if block is None:
        threads = max(1, sum(client.nthreads().values()))
        block = max(MIN_BLOCK, -(-total // (TASKS_PER_THREAD * threads)))
    out = [np.empty(len(t.e)) for t in series]
    [q_future] = client.scatter([q], broadcast=True, hash=False)  # one object, on every worker
    run = uuid.uuid4().hex[:8]
    tasks: list[tuple[Any, list[tuple[int, int]]]] = []
    pieces: list[_Series | _Raw] = []
    where: list[tuple[int, int]] = []
    size = 0

    def flush() -> None:
        nonlocal pieces, where, size
        if pieces:
            fut = client.submit(_block_task, q_future, m, pieces, p, pure=False,
                                key=f"distance-profile-block-{len(tasks)}-{run}")
            tasks.append((fut, where))
        pieces, where, size = [], [], 0

    for k, t in enumerate(series):
        for lo in range(0, len(t.e), block):
            hi = min(len(t.e), lo + block)
            if size + hi - lo > block:
                flush()
            pieces.append(_slice(t, lo, hi, m))
            where.append((k, lo))
            size += hi - lo
    flush()
    for fut, spots in tasks:
        for (k, lo), D in zip(spots, fut.result()):
            out[k][lo:lo + len(D)] = D
        fut.release()
    q_future.release()
    return out


def _is_collection(T: Any) -> bool:
    if isinstance(T, np.ndarray):
        return T.ndim == 2
    if isinstance(T, (list, tuple)):
        return len(T) > 0 and np.ndim(T[0]) >= 1
    return False


def _client(client: Any) -> Any:
    """A ``distributed.Client``, the client of a :class:`patternlab.Lab`, or None."""
    inner = getattr(client, "client", None)
    return v.as_client(inner if client is not None and inner is not None else client)


def _default_threshold(D: NDArray[np.float64]) -> float:
    """STUMPY's default: ``max(nanmean(D) - 2 * nanstd(D), nanmin(D))`` over the finite
    distances (inf counts as missing)."""
    mean, std, low, _ = sk.finite_mean_std(D)
    return float(max(mean - 2.0 * std, low))


def _threshold(D: NDArray[np.float64], max_distance: Any) -> float:
    if max_distance is None:
        return _default_threshold(D)
    value = max_distance(D.copy()) if callable(max_distance) else max_distance
    what = "max_distance(D)" if callable(max_distance) else "max_distance"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or math.isnan(float(value)):
        raise InvalidParameterError(
            f"{what} must be a real number (or None for the default); got {value!r:.40}: pass "
            "a distance such as 2.5, np.inf for every occurrence, or a function of the profile D"
        )
    return float(value)


def _max_matches(max_matches: Any) -> int:
    if max_matches is None:
        return np.iinfo(np.int64).max
    return v.as_count(max_matches, "max_matches")


def _atol(atol: Any) -> float:
    if isinstance(atol, (bool, np.bool_)) or not isinstance(atol, numbers.Real) \
            or not float(atol) >= 0:
        raise InvalidParameterError(f"atol must be a real number >= 0; got {atol!r:.40}")
    return float(atol)


def _series(T: Any, m: int) -> tuple[list[str], list[NDArray[np.float64]]]:
    names = [f"T[{k}]" for k in range(len(T))] if _is_collection(T) else ["T"]
    items: Sequence[Any] = list(T) if _is_collection(T) else [T]
    out = []
    for name, item in zip(names, items):
        arr = v.as_signal(item, name, require_finite=False)
        v.as_window(m, arr.shape[0], name="len(Q)", signal=name)
        out.append(arr)
    return names, out


def _flags(spec: Any, names: list[str], series: list[NDArray[np.float64]], m: int,
           collection: bool) -> list[NDArray[np.bool_] | None]:
    """The user's constant-window flags of each series: one spec for a single series; for a
    collection a callable (applied to each series) or a sequence of one spec per series."""
    if spec is None or callable(spec) or not collection:
        return [v.as_isconstant(spec, t, m, f"T_subseq_isconstant for {name}")
                for name, t in zip(names, series)]
    specs = list(spec)
    if len(specs) != len(series):
        raise InvalidParameterError(
            f"T_subseq_isconstant holds {len(specs)} entries for {len(series)} series: pass one "
            "boolean array per series, or a function f(T, m)"
        )
    return [v.as_isconstant(x, t, m, f"T_subseq_isconstant[{k}]")
            for k, (x, t) in enumerate(zip(specs, series))]


def match(
    Q: ArrayLike,
    T: Any,
    max_distance: float | Callable[[NDArray[np.float64]], float] | None = None,
    max_matches: int | None = None,
    *,
    atol: float = 1e-8,
    client: Any = None,
    normalize: bool = True,
    p: float = 2.0,
    T_subseq_isconstant: Any = None,
    Q_subseq_isconstant: Any = None,
) -> list[Occurrence] | list[SeriesOccurrence]:
    """Every non-overlapping occurrence of the query ``Q`` in ``T``, sorted by distance.

    As STUMPY's ``match``: the z-normalized distance profile ``D`` of ``Q`` against every window
    of ``T`` (:func:`patternlab.distance_profile`); then, repeatedly, the window with the smallest
    distance (the smallest index on ties) is kept if ``D <= max_distance + atol`` and is finite,
    and the windows within the exclusion zone ``|i - j| <= ceil(len(Q) / 4)`` around it are
    excluded from the search. Windows holding NaN/inf are never occurrences; a query holding
    NaN/inf, or a series without a window of finite samples, has all distances inf (so no
    occurrence) and gets a :class:`~patternlab.errors.NoFiniteWindowWarning`.

    Parameters
    ----------
    Q : array_like
        The query, 1-D, ``3 <= len(Q) <= len(T)``.
    T : array_like or sequence of array_like
        The series searched (NaN/inf allowed), or a collection of series: a list or tuple of
        1-D arrays (ragged allowed) or a 2-D array, one series a row.
    max_distance : float or callable, optional
        The largest distance of an occurrence. A callable receives the distance profile ``D``
        (for a collection, the profiles of all series concatenated in order) and returns it.
        Default (STUMPY's rule): ``max(nanmean(D) - 2 * nanstd(D), nanmin(D))`` with inf taken as
        missing, so at least the best occurrence is returned. For a collection the rule is
        applied once to all profiles together.
    max_matches : int, optional
        Return at most this many (the closest); all by default.
    atol : float
        Absolute tolerance added to ``max_distance`` (STUMPY's default, ``1e-8``).
    client : distributed.Client or Lab, optional
        Compute the distance profiles on this Dask cluster, in blocks of windows (each task
        receives only its windows' samples and statistics). The result is identical, bit for
        bit, to the in-process one.
    normalize : bool
        False: p-norm distances between the raw query and windows (STUMPY's ``aamp_match``).
    p : float
        The p-norm when ``normalize=False``, ``1 <= p <= 100``.
    T_subseq_isconstant : array_like of bool, callable or sequence, optional
        Which windows of ``T`` count as constant (see :func:`patternlab.matrix_profile`); for a
        collection a function ``f(T, m)`` or one array per series.
    Q_subseq_isconstant : bool, array_like of bool or callable, optional
        Whether the query counts as constant.

    Returns
    -------
    list of Occurrence or list of SeriesOccurrence
        For one series, ``(distance, index)`` pairs; for a collection, ``(distance, series,
        index)`` triples with the series' position in the collection. Sorted by distance, then
        series, then index. ``np.asarray(result)`` gives STUMPY's two-column layout for one series.

    Raises
    ------
    InvalidSignalError, SignalTypeError, InvalidWindowError, InvalidParameterError
        For a query or a series that is not a 1-D numeric signal, a series shorter than ``Q``,
        or bad options.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> T = np.array([584.0, -11.0, 23.0, 79.0, 1001.0, 0.0, -19.0])
    >>> [(round(d, 6), i) for d, i in pl.match([-11.1, 23.4, 79.5, 1001.0], T)]
    [(0.001113, 1)]
    >>> rng = np.random.default_rng(0)
    >>> T = rng.standard_normal(1000); T[[100, 500, 800]] += 8.0  # three spikes
    >>> [o.index for o in pl.match(T[95:115], T, max_distance=3.0)]
    [95, 795, 495]
    >>> [(o.series, o.index) for o in pl.match(T[95:115], [T[:400], T[400:]], max_distance=3.0)]
    [(0, 95), (1, 395), (1, 95)]
    """
    Qa = v.as_signal(Q, "Q", require_finite=False)
    m = int(Qa.shape[0])
    collection = _is_collection(T)
    names, series = _series(T, m)
    top = _max_matches(max_matches)
    atol = _atol(atol)
    client = _client(client)
    normalize = v.as_flag(normalize, "normalize")
    p = v.as_p(p)
    v.check_isconstant_normalized(normalize, {"T_subseq_isconstant": T_subseq_isconstant,
                                              "Q_subseq_isconstant": Q_subseq_isconstant}, "distances")
    flags = _flags(T_subseq_isconstant, names, series, m, collection)
    q_flag = v.as_isconstant(Q_subseq_isconstant, Qa, m, "Q_subseq_isconstant")
    empty = [name for name, t in zip(names, series) if not v.has_finite_window(t, m)]
    if empty:
        more = f" and {len(empty) - 5} more" if len(empty) > 5 else ""
        v.warn_no_finite_window(", ".join(empty[:5]) + more, m)
    if not np.isfinite(Qa).all():
        v.warn_no_finite_window("Q", m)
        return []
    prepared: list[_Series] | list[_Raw]
    if normalize:
        q = _query_windows(Qa, m, q_flag)
        prepared = [_windows(t, m, c) for t, c in zip(series, flags)]
    else:
        q = RAW_QUERY
        prepared = [_raw(Qa, t, m) for t in series]
    if client is not None:
        profiles = _profiles_on_cluster(client, q, prepared, m, p)
    else:
        profiles = [_profile(q, t, m, p) for t in prepared]
    pooled = profiles[0] if len(profiles) == 1 else np.concatenate(profiles)
    if not np.isfinite(pooled).any():
        return []
    limit = _threshold(pooled, max_distance) + atol
    excl = v.exclusion_zone(m)
    found = [sk.find_matches(D, excl, limit, top) for D in profiles]
    if not collection:
        d, i = found[0]
        return [Occurrence(x, y) for x, y in zip(d.tolist(), i.tolist())]
    dist = np.concatenate([d for d, _ in found])
    idx = np.concatenate([i for _, i in found])
    ser = np.concatenate([np.full(len(i), k, dtype=np.int64) for k, (_, i) in enumerate(found)])
    order = np.lexsort((idx, ser, dist))[:top]
    return [SeriesOccurrence(x, s, y)
            for x, s, y in zip(dist[order].tolist(), ser[order].tolist(), idx[order].tolist())]
