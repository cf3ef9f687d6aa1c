"""The consensus motif of a collection of series (Ostinato; Kamgar et al., ICDM 2019).

The *radius* of a window is the distance within which it has a near neighbour in every other
series (with ``fraction < 1``, in that share of them): the largest (the ``r``-th smallest) of its
nearest-neighbour distances to the other series. The consensus motif is the window of smallest
radius. The search is exact and prunes as STUMPY's ``ostinato`` does: the distance to one other
series (with ``fraction < 1``, the smallest distance to ``N - r`` others) bounds a radius from
below; series are searched in increasing order of their best bound, and a window, then a whole
series, is abandoned once its radius is known to exceed the best found so far (never on a tie,
so the result does not depend on the order in which series finish). Ties go to the smallest
series, then window, and then, as in STUMPY, to the most central of the tied motifs among the
best one's neighbours.
"""

from __future__ import annotations

import math
import numbers
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from .. import _validation as v
from .._numba import get_num_threads, numba_threads
from ..errors import InvalidParameterError, InvalidSignalError
from ..kernels import consensus as ck
from .matrix import TILES, _prepare

__all__ = ["ConsensusMotif", "consensus_motif"]

#: The most series one Dask task of the search takes (in the order of their bounds, each with
#: the best radius found before it), and the tasks a worker thread gets at least: short series
#: should not cost more to schedule than to search.
SERIES_PER_TASK = 64
TASKS_PER_THREAD = 16



class ConsensusMotif(NamedTuple):
    """The consensus motif: window ``index`` of series ``series``, within ``radius`` of a window
    of every other series (of the required share of them). Unpacks as STUMPY's
    ``radius, Ts_idx, subseq_idx = ostinato(...)``."""

    radius: float
    series: int
    index: int  # type: ignore[assignment]  # shadows tuple.index, as the name users expect


class _Flat(NamedTuple):
    Tc: NDArray[np.float64]
    mu: NDArray[np.float64]
    df: NDArray[np.float64]
    dg: NDArray[np.float64]
    s: NDArray[np.float64]
    e: NDArray[np.float64]
    toff: NDArray[np.int64]
    woff: NDArray[np.int64]
    m: int
    R: int
    K: int


def _flat(series: list[NDArray[np.float64]], m: int) -> _Flat:
    ws, _ = _prepare(series, m, np.float64)
    toff = np.concatenate([[0], np.cumsum([len(w.Tc) for w in ws])]).astype(np.int64)
    woff = np.concatenate([[0], np.cumsum([len(w.s) for w in ws])]).astype(np.int64)
    R, K = TILES[np.float64]
    fields = ("Tc", "mu", "df", "dg", "s", "e")
    Tc, mu, df, dg, s, e = (np.concatenate([getattr(w, f) for w in ws]) for f in fields)
    return _Flat(Tc, mu, df, dg, s, e, toff, woff, m, R, K)


def _series(signals: Any, m: Any) -> tuple[list[NDArray[np.float64]], int]:
    if isinstance(signals, np.ndarray) and signals.ndim == 2:
        items = list(signals)
    elif isinstance(signals, (list, tuple)):
        items = list(signals)
    else:
        raise InvalidSignalError(
            f"signals must be a list of 1-D series or a 2-D array (one series a row); got "
            f"{type(signals).__name__}")
    if len(items) < 2:
        raise InvalidSignalError(f"a consensus motif needs at least 2 series; got {len(items)}")
    out = [v.as_signal(x, f"signals[{k}]") for k, x in enumerate(items)]
    shortest = min(range(len(out)), key=lambda k: len(out[k]))
    m = v.as_window(m, len(out[shortest]), signal=f"signals[{shortest}]")
    for k, x in enumerate(out):
        v.check_has_finite_window(x, m, f"signals[{k}]")
    return out, m


def _needed(fraction: Any, n: int) -> int:
    """How many of the other ``n - 1`` series a window must have a neighbour in."""
    if isinstance(fraction, (bool, np.bool_)) or not isinstance(fraction, numbers.Real) \
            or not 0.0 < float(fraction) <= 1.0:
        raise InvalidParameterError(f"fraction must be a number in (0, 1]; got {fraction!r:.40}")
    return max(1, min(n - 1, math.ceil(float(fraction) * (n - 1) - 1e-9)))


def _probes(j: int, n: int, r: int) -> NDArray[np.int64]:
    """The ``n - r`` series after ``j`` (cyclically): their smallest distance bounds a radius."""
    return np.array([(j + t) % n for t in range(1, n - r + 1)], dtype=np.int64)


def _others(j: int, n: int, r: int) -> NDArray[np.int64]:
    probes = _probes(j, n, r)
    rest = [k for k in range(n) if k != j and k not in set(probes.tolist())]
    return np.concatenate([probes, np.array(rest, dtype=np.int64)])


def _bounds_task(F: _Flat, js: list[int], r: int) -> list[NDArray[np.float64]]:
    """Lower bounds of the radii of the windows of series ``js`` (one numba thread)."""
    n = len(F.woff) - 1
    out = []
    with numba_threads(1):
        for j in js:
            lb = np.full(F.woff[j + 1] - F.woff[j], np.inf)
            for b in _probes(j, n, r):
                lb = np.minimum(lb, ck.nearest_distances(F.Tc, F.mu, F.df, F.dg, F.s, F.e, F.toff,
                                                         F.woff, j, b, F.m, F.R, F.K))
            out.append(lb)
    return out


def _radii_task(F: _Flat, j: int, r: int, bsf: float, lower: NDArray[np.float64]
                ) -> tuple[float, int] | None:
    """The best window of series ``j`` and its radius, or None when abandoned."""
    n = len(F.woff) - 1
    with numba_threads(1):
        radii, complete = ck.series_radii(F.Tc, F.mu, F.df, F.dg, F.s, F.e, F.toff, F.woff, j,
                                          _others(j, n, r), r, bsf, lower, F.m, F.R, F.K)
    if not complete or not np.isfinite(radii).any():
        return None
    q = int(np.argmin(radii))
    return float(radii[q]), q


def _series_task(F: _Flat, js: list[int], r: int, bsf: float, lowers: list[NDArray[np.float64]]
                 ) -> tuple[float, int, int]:
    """Series ``js`` in turn (in the order of their bounds), each with the best radius known so
    far, the task's own finds included: the best ``(radius, series, window)``, or ``(inf, -1,
    -1)``."""
    best = (bsf, -1, -1)
    for j, lower in zip(js, lowers):
        if float(lower.min()) > best[0]:
            break
        found = _radii_task(F, j, r, best[0], lower)
        if found is not None:
            best = min(best, (found[0], j, found[1]))
    return best if best[1] >= 0 else (math.inf, -1, -1)


def _search_local(F: _Flat, r: int) -> tuple[float, int, int]:
    """The search in this process: series on a pool of threads (the kernels release the GIL),
    each with the best radius known when it starts."""
    n = len(F.woff) - 1
    workers = max(1, get_num_threads())
    step = max(1, -(-n // (4 * workers)))
    with ThreadPoolExecutor(workers) as pool:
        parts = pool.map(lambda a: _bounds_task(F, list(range(a, min(n, a + step))), r), range(0, n, step))
        lower = [lb for part in parts for lb in part]
        order = iter(sorted(range(n), key=lambda k: (float(lower[k].min()), k)))
        best = (math.inf, -1, -1)
        running: dict[Future[tuple[float, int] | None], int] = {}

        def submit_next() -> None:
            j = next(order, None)
            if j is not None and float(lower[j].min()) <= best[0]:
                running[pool.submit(_radii_task, F, j, r, best[0], lower[j])] = j

        for _ in range(workers):
            submit_next()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: running[f]):
                j = running.pop(fut)
                found = fut.result()
                if found is not None:
                    best = min(best, (found[0], j, found[1]))
                submit_next()
    return best


def _search_on_cluster(client: Any, F: _Flat, r: int) -> tuple[float, int, int]:
    """The same search as Dask tasks: bounds in groups of series, then the series in groups in
    the order of their bounds, a few groups in flight, each with the best radius known when it
    was sent."""
    from distributed import as_completed

    n = len(F.woff) - 1
    run = uuid.uuid4().hex[:8]
    [flat] = client.scatter([F], broadcast=True, hash=False)
    threads = max(1, sum(client.nthreads().values()))
    step = max(1, -(-n // (4 * threads)))
    groups = [list(range(a, min(n, a + step))) for a in range(0, n, step)]
    futs = [client.submit(_bounds_task, flat, g, r, key=f"consensus-bounds-{a}-{run}", pure=False)
            for a, g in enumerate(groups)]
    lower = [lb for f in futs for lb in f.result()]
    for f in futs:
        f.release()
    order = sorted(range(n), key=lambda k: (float(lower[k].min()), k))
    per = max(1, min(SERIES_PER_TASK, n // (TASKS_PER_THREAD * threads)))
    best = (math.inf, -1, -1)
    pending = as_completed()
    pos = 0

    def submit_next() -> bool:
        nonlocal pos
        if pos >= n or float(lower[order[pos]].min()) > best[0]:
            return False
        js = order[pos:pos + per]
        fut = client.submit(_series_task, flat, js, r, best[0], [lower[j] for j in js],
                            key=f"consensus-series-{pos}-{run}", pure=False)
        pos += len(js)
        pending.add(fut)
        return True

    for _ in range(2 * threads):
        if not submit_next():
            break
    for fut in pending:
        found = fut.result()
        fut.release()
        best = min(best, found)
        submit_next()
    flat.release()
    return best


def _central(F: _Flat, r: int, radius: float, j: int, q: int) -> tuple[float, int, int]:
    """STUMPY's choice among tied motifs: of the best window's neighbours in other series whose
    distance is (close to) the radius, the one whose own radius is (close to) it with the
    smallest mean distance to its neighbours."""
    n = len(F.woff) - 1
    dist, where = ck.across_series(F.Tc, F.mu, F.s, F.e, F.toff, F.woff, j, q, F.m)
    best_mean = dist.mean()
    for k in np.flatnonzero(np.isclose(dist, radius)):
        d2, _ = ck.across_series(F.Tc, F.mu, F.s, F.e, F.toff, F.woff, int(k), int(where[k]), F.m)
        rad2 = np.sort(np.delete(d2, k))[r - 1] if n > 1 else 0.0
        if np.isclose(rad2, radius) and d2.mean() < best_mean:
            j, q, best_mean = int(k), int(where[k]), d2.mean()
    return radius, j, q


def consensus_motif(signals: Any, m: int, *, fraction: float = 1.0, client: Any = None) -> ConsensusMotif:
    """The window with the smallest radius to its nearest neighbours in the other series (the
    consensus motif, Ostinato; as STUMPY's ``ostinato``). Exact.

    Parameters
    ----------
    signals : sequence of array_like or 2-D array
        At least two series (ragged allowed; NaN/inf allowed, windows holding them are skipped).
    m : int
        Window length, at most the length of the shortest series.
    fraction : float
        The share of the other series a window must have a near neighbour in: the radius is the
        ``ceil(fraction * (N - 1))``-th smallest of its ``N - 1`` nearest-neighbour distances
        (``1.0``, the default: the largest, STUMPY's definition).
    client : distributed.Client or Lab, optional
        Run on this Dask cluster: lower bounds in groups of series, then the search in groups of
        series, a few at a time in the order of their bounds. The result is identical, bit for
        bit.

    Returns
    -------
    ConsensusMotif
        ``(radius, series, index)``.

    Raises
    ------
    InvalidSignalError, SignalTypeError, InvalidWindowError, InvalidParameterError
        Fewer than two series, a series that is not a 1-D numeric signal or has no finite
        window, a window longer than the shortest series, a fraction out of range.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> rng = np.random.default_rng(0)
    >>> shape = np.sin(np.linspace(0, 3 * np.pi, 50))
    >>> Ts = [rng.standard_normal(400) for _ in range(5)]
    >>> for k, T in enumerate(Ts):
    ...     T[40 * k + 20:40 * k + 70] += 5 * shape    # one copy in each series
    >>> radius, series, index = pl.consensus_motif(Ts, m=50)
    >>> bool(radius < 3), abs(index - (40 * series + 20)) <= 3   # noise may shift it a sample or two
    (True, True)
    """
    series, m = _series(signals, m)
    n = len(series)
    r = _needed(fraction, n)
    inner = getattr(client, "client", None)
    client = v.as_client(inner if client is not None and inner is not None else client)
    F = _flat(series, m)
    radius, j, q = _search_on_cluster(client, F, r) if client is not None else _search_local(F, r)
    if j < 0:
        raise InvalidSignalError("no window has a finite radius: every window of some series holds "
                                 "NaN/inf wherever the others are finite; clean the series first")
    return ConsensusMotif(*_central(F, r, radius, j, q))
