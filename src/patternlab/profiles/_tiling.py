"""The exact matrix profile tiled over a Dask cluster.

The cells of the canonical decomposition (see :mod:`patternlab.kernels.matrix_profile`) are
grouped into tasks of one row block by a run of diagonal bands. Each task receives
only the slices of the series its tiles read, runs the same kernel on one numba thread of its
worker and returns bounded row and column maxima, which the client
folds as they arrive with the same order-independent rule as the threads of the in-process
kernel. So the result is identical, bit for bit, to :func:`patternlab.matrix_profile` without a
client, whatever the number of workers and whatever order tasks finish in.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..kernels import absolute as ak
from ..kernels import matrix_profile as mpk
from ..kernels import neighbours as nk

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client


class Windows(NamedTuple):
    """Per-window data of one series, ready for the kernels."""

    Tc: NDArray[np.float64]  # sanitized, power-of-two scaled samples
    mu: NDArray[np.float64]
    s: NDArray[np.float64]  # 1 / sqrt(sum of squared deviations); 0 if constant or non-finite
    e: NDArray[np.float64]  # additive correlation term: 0, CONSTANT_TERM or INVALID_TERM
    df: NDArray[Any]  # recurrence terms, in the search dtype
    dg: NDArray[Any]
    s_d: NDArray[Any]  # s and e in the search dtype
    e_d: NDArray[Any]



#: Diagonal bands per task, when set; by default it is chosen so that there are about
#: :data:`TASKS_PER_THREAD` tasks per worker thread (fewer, larger tasks cost less to ship and
#: merge; enough of them keep every thread busy to the end), within :data:`MAX_COLUMNS`.
BANDS_PER_TASK: int | None = None
TASKS_PER_THREAD = 4
#: The most columns (windows of B) one task reads: bounds a task's memory on long series.
MAX_COLUMNS = 1 << 21


def _slice_task(TA: NDArray[Any], muA: NDArray[Any], dfA: NDArray[Any], dgA: NDArray[Any],
                sA: NDArray[Any], eA: NDArray[Any], TB: NDArray[Any], muB: NDArray[Any],
                dfB: NDArray[Any], dgB: NDArray[Any], sB: NDArray[Any], eB: NDArray[Any], m: int,
                kmax: int, R: int, K: int) -> tuple[NDArray[Any], ...]:
    """Run one task's tiles on local slices (diagonals ``0 <= k < kmax`` in local coordinates),
    on one numba thread: the Dask worker's threads are the parallelism."""
    idx = np.empty(0, dtype=np.int32 if max(len(sA), len(sB)) < 2**31 - 2 else np.int64)
    return mpk.upper_triangle_serial(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, 0,
                                     kmax, R, K, idx)


def triangle_on_cluster(client: Client, A: Windows, B: Windows, m: int, kmin: int,
                        tiles: tuple[int, int], bands_per_task: int | None = None
                        ) -> tuple[NDArray[Any], NDArray[np.int64], NDArray[Any], NDArray[np.int64]]:
    """:func:`patternlab.kernels.matrix_profile.upper_triangle` as Dask tasks on ``client``."""
    from distributed import as_completed

    R, K = tiles
    lA, lB = len(A.s), len(B.s)
    nrb, nbands = mpk.n_tiles(lA, lB, kmin, R, K)
    if bands_per_task is None:
        bands_per_task = BANDS_PER_TASK
    if bands_per_task is None:
        threads = max(1, sum(client.nthreads().values()))
        groups = max(1, -(-TASKS_PER_THREAD * threads // max(nrb, 1)))
        bands_per_task = max(1, min(-(-nbands // groups), (MAX_COLUMNS - R) // K))
    dtype = A.s_d.dtype
    rowP = np.full(lA, mpk.EMPTY, dtype=dtype)
    rowI = np.full(lA, -1, dtype=np.int64)
    colP = np.full(lB, mpk.EMPTY, dtype=dtype)
    colI = np.full(lB, -1, dtype=np.int64)
    run = uuid.uuid4().hex[:8]
    futures = {}
    for a in range(nrb):
        r0, r1 = a * R, min(a * R + R, lA)
        for g0 in range(0, nbands, bands_per_task):
            g1 = min(g0 + bands_per_task, nbands)
            k0, k1 = kmin + g0 * K, kmin + g1 * K
            lo, hi = r0 + k0, min(lB, r1 + k1)  # columns read, one past the last cell's
            if lo >= lB:
                continue
            args = (A.Tc[r0:r1 + m - 1], A.mu[r0:r1], A.df[r0:r1], A.dg[r0:r1], A.s_d[r0:r1],
                    A.e_d[r0:r1], B.Tc[lo:hi + m - 1], B.mu[lo:hi], B.df[lo:hi], B.dg[lo:hi],
                    B.s_d[lo:hi], B.e_d[lo:hi], m, k1 - k0, R, K)
            fut = client.submit(_slice_task, *args, key=f"matrix-profile-tile-{a}-{g0}-{run}",
                                pure=False)
            futures[fut] = (r0, lo)
    for fut in as_completed(list(futures)):
        r0, lo = futures.pop(fut)
        tP, tI, cP, cI = fut.result()
        fut.release()
        rows = slice(r0, r0 + len(tP))
        cols = slice(lo, lo + len(cP))
        tI = tI.astype(np.int64)
        cI = cI.astype(np.int64)
        mpk.merge_max(rowP[rows], rowI[rows], tP, np.where(tI >= 0, tI + lo, -1))
        mpk.merge_max(colP[cols], colI[cols], cP, np.where(cI >= 0, cI + r0, -1))
    return rowP, rowI, colP, colI


#: The serial list kernels by name: a task names its kernel (a numba dispatcher shipped by value
#: would be compiled again on every worker instead of loaded from numba's cache).
LIST_KERNELS = {"neighbours": nk.upper_triangle_serial, "absolute": ak.upper_triangle_serial}


def _lists_task(kernel: str, A: tuple[Any, ...], B: tuple[Any, ...], m: int, kmax: int, R: int,
                K: int, nn: int, extra: tuple[Any, ...]) -> tuple[NDArray[Any], ...]:
    """One task of :func:`lists_on_cluster`: the serial list kernel on local slices."""
    out: tuple[NDArray[Any], ...] = LIST_KERNELS[kernel](*A, *B, m, 0, kmax, R, K, nn, *extra)
    return out


def lists_on_cluster(client: Client, kernel: str, A: tuple[NDArray[Any], ...],
                     B: tuple[NDArray[Any], ...], m: int, kmin: int, tiles: tuple[int, int],
                     nn: int, extra: tuple[Any, ...] = (), bands_per_task: int | None = None
                     ) -> tuple[NDArray[Any], NDArray[np.int64], NDArray[Any], NDArray[np.int64]]:
    """The ``nn``-best row and column lists of a list kernel (``LIST_KERNELS[kernel](*A, *B, m,
    kmin, kmax, R, K, nn, *extra)``, e.g. :func:`patternlab.kernels.neighbours.upper_triangle_serial`)
    as Dask tasks of the canonical tiles, folded on the client as they finish.

    ``A`` and ``B`` are each a series' samples followed by its per-window arrays; a task receives
    only the slices its tiles read. Lists rank by a strict total order, so the folded lists are
    the in-process ones bit for bit, whatever order tasks finish in.
    """
    from distributed import as_completed

    R, K = tiles
    lA, lB = len(A[1]), len(B[1])
    nrb, nbands = nk.n_tiles(lA, lB, kmin, R, K)
    if bands_per_task is None:
        bands_per_task = BANDS_PER_TASK
    if bands_per_task is None:
        threads = max(1, sum(client.nthreads().values()))
        groups = max(1, -(-TASKS_PER_THREAD * threads // max(nrb, 1)))
        bands_per_task = max(1, min(-(-nbands // groups), (MAX_COLUMNS - R) // K))
    like = A[-1]
    rowP, rowI, rowT = nk.empty_lists(lA, nn, like)
    colP, colI, colT = nk.empty_lists(lB, nn, like)
    run = uuid.uuid4().hex[:8]
    futures = {}
    for a in range(nrb):
        r0, r1 = a * R, min(a * R + R, lA)
        for g0 in range(0, nbands, bands_per_task):
            g1 = min(g0 + bands_per_task, nbands)
            k0, k1 = kmin + g0 * K, kmin + g1 * K
            lo, hi = r0 + k0, min(lB, r1 + k1)
            if lo >= lB:
                continue
            a_part = (A[0][r0:r1 + m - 1], *(x[r0:r1] for x in A[1:]))
            b_part = (B[0][lo:hi + m - 1], *(x[lo:hi] for x in B[1:]))
            fut = client.submit(_lists_task, kernel, a_part, b_part, m, k1 - k0, R, K, nn, extra,
                                key=f"neighbour-lists-tile-{a}-{g0}-{run}", pure=False)
            futures[fut] = (r0, lo)
    for fut in as_completed(list(futures)):
        r0, lo = futures.pop(fut)
        tP, tI, cP, cI = fut.result()
        fut.release()
        rows = slice(r0, r0 + len(tP))
        cols = slice(lo, lo + len(cP))
        nk.merge_lists(rowP[rows], rowI[rows], rowT[rows], tP, np.where(tI >= 0, tI + lo, -1))
        nk.merge_lists(colP[cols], colI[cols], colT[cols], cP, np.where(cI >= 0, cI + r0, -1))
    return rowP, rowI, colP, colI
