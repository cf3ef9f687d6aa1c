"""The ``k`` nearest neighbours of every window (``matrix_profile(..., k=K)``), z-normalized.

Runs :mod:`patternlab.kernels.neighbours` in this process (threads) or tiled on Dask, then
measures the candidates exactly and merges each window's left and right lists.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._numba import dynamic, get_num_threads, numba_threads, parallel_for, pick
from ..kernels import neighbours as nk
from ._prepare import TILES
from ._tiling import Windows, lists_on_cluster

#: Cells per inner-loop step of :data:`patternlab._numba.PARALLEL_MIN_WORK` (as the nearest
#: neighbour's kernel: the list kernel vectorizes the same way).
CELLS_PER_STEP = 16

Lists = tuple[NDArray[Any], NDArray[np.int64], NDArray[Any], NDArray[np.int64]]
Sides = tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]


def _parts(W: Windows) -> tuple[NDArray[Any], ...]:
    return (W.Tc, W.mu, W.df, W.dg, W.s_d, W.e_d)


def _triangle(A: Windows, B: Windows, m: int, kmin: int, dt: type, nn: int, client: Any) -> Lists:
    R, K = TILES[dt]
    if client is not None:
        return lists_on_cluster(client, "neighbours", _parts(A), _parts(B), m, kmin,
                                (R, K), nn)
    if not parallel_for(len(A.s) * len(B.s) / 2 / CELLS_PER_STEP):
        serial: Lists = nk.upper_triangle_serial(*_parts(A), *_parts(B), m, kmin, len(B.s), R, K, nn)
        return serial
    out: Lists = dynamic(nk.upper_triangle)(*_parts(A), *_parts(B), m, kmin, len(B.s), R, K, nn,
                                            get_num_threads())
    return out


def _resolve(X: Windows, Y: Windows, m: int, kmin: int, right: bool, P: NDArray[Any],
             I: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    kernel = pick(nk.resolve_side, nk.resolve_side_serial, len(X.s) * m * P.shape[1])
    D, J = kernel(X.Tc, X.mu, X.s, X.e, Y.Tc, Y.mu, Y.s, Y.e, m, kmin, right, P, I)
    return D, J


def self_join(A: Windows, m: int, excl: int, dt: type, nn: int, threads: int | None,
              client: Any) -> Sides:
    """``(DL, IL, DR, IR)``: each window's ``nn`` nearest left (``j < i - excl``) and right
    (``j > i + excl``) neighbours, exact distances ascending."""
    with numba_threads(threads):
        rowP, rowI, colP, colI = _triangle(A, A, m, excl + 1, dt, nn, client)
        DR, IR = _resolve(A, A, m, excl + 1, True, rowP, rowI)
        DL, IL = _resolve(A, A, m, excl + 1, False, colP, colI)
    return DL, IL, DR, IR


def ab_join(A: Windows, B: Windows, m: int, dt: type, nn: int, threads: int | None,
            client: Any) -> Sides:
    """``(DL, IL, DR, IR)``: each window of A's ``nn`` nearest windows ``j < i`` and ``j >= i``
    of B."""
    with numba_threads(threads):
        rowP, rowI, _, _ = _triangle(A, B, m, 0, dt, nn, client)
        _, _, colP, colI = _triangle(B, A, m, 1, dt, nn, client)
        DR, IR = _resolve(A, B, m, 0, True, rowP, rowI)
        DL, IL = _resolve(A, B, m, 1, False, colP, colI)
    return DL, IL, DR, IR
