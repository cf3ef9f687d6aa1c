"""Non-normalized profiles (``normalize=False``, STUMPY's ``aamp``): p-norm distances between raw
windows, for the matrix profile (its ``k`` nearest neighbours too) and the distance profile.

Samples are power-of-two scaled (one factor for every series of a call, since raw distances are
not scale-free) so that no ``|x|**p`` overflows; distances are measured from the scaled samples
and scaled back exactly.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from .._numba import dynamic, get_num_threads, numba_threads, parallel_for, pick
from ..kernels import absolute as ak
from ._prepare import TILES
from ._tiling import lists_on_cluster

#: Cells per inner-loop step of :data:`patternlab._numba.PARALLEL_MIN_WORK`.
CELLS_PER_STEP = 16

Sides = tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]


class Raw(NamedTuple):
    """One series, ready for the kernels: scaled samples (non-finite -> 0) and window terms."""

    Tc: NDArray[np.float64]
    e: NDArray[np.float64]


def mode(p: float) -> int:
    """The kernels' code path for ``p``: 2 (squares), 1 (absolute values) or 0 (pow)."""
    return 2 if p == 2.0 else 1 if p == 1.0 else 0


def shift_of(*series: NDArray[np.float64]) -> int:
    """The power of two that brings the largest finite |value| of all ``series`` below 1."""
    big = 0.0
    for T in series:
        finite = T[np.isfinite(T)]
        if finite.size:
            big = max(big, float(np.abs(finite).max()))
    return -int(np.frexp(big)[1]) if big > 0.0 else 0


def raw(T: NDArray[np.float64], m: int, shift: int) -> Raw:
    """The kernel inputs of ``T`` scaled by ``2**shift``."""
    return Raw(ak.sanitize(np.ldexp(T, shift)), ak.window_terms(T, m))


def _triangle(A: Raw, B: Raw, m: int, kmin: int, nn: int, p: float,
              client: Any) -> tuple[NDArray[Any], ...]:
    """The ``nn`` best search candidates of every row and column (callers ask one more than
    they report: :func:`patternlab.kernels.absolute.resolve_side` checks it for a tie)."""
    R, K = TILES[np.float64]
    md = mode(p)
    if client is not None:
        return lists_on_cluster(client, "absolute", (A.Tc, A.e), (B.Tc, B.e), m, kmin,
                                (R, K), nn, (p, md))
    if not parallel_for(len(A.e) * len(B.e) / 2 / CELLS_PER_STEP):
        serial: tuple[NDArray[Any], ...] = ak.upper_triangle_serial(
            A.Tc, A.e, B.Tc, B.e, m, kmin, len(B.e), R, K, nn, p, md)
        return serial
    out: tuple[NDArray[Any], ...] = dynamic(ak.upper_triangle)(
        A.Tc, A.e, B.Tc, B.e, m, kmin, len(B.e), R, K, nn, p, md, get_num_threads())
    return out


def _resolve(X: Raw, Y: Raw, m: int, kmin: int, right: bool, P: NDArray[Any], I: NDArray[np.int64],
             p: float, shift: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    kernel = pick(ak.resolve_side, ak.resolve_side_serial, len(X.e) * m * P.shape[1])
    D, J = kernel(X.Tc, X.e, Y.Tc, Y.e, m, kmin, right, P, I, p, mode(p), shift)
    return D, J


def self_join(T: NDArray[np.float64], m: int, excl: int, nn: int, p: float, threads: int | None,
              client: Any) -> Sides:
    """``(DL, IL, DR, IR)``: each window's ``nn`` nearest left and right neighbours outside the
    exclusion zone, by p-norm distance, ascending."""
    shift = shift_of(T)
    A = raw(T, m, shift)
    with numba_threads(threads):
        rowP, rowI, colP, colI = _triangle(A, A, m, excl + 1, nn + 1, p, client)
        DR, IR = _resolve(A, A, m, excl + 1, True, rowP, rowI, p, shift)
        DL, IL = _resolve(A, A, m, excl + 1, False, colP, colI, p, shift)
    return DL, IL, DR, IR


def ab_join(TA: NDArray[np.float64], TB: NDArray[np.float64], m: int, nn: int, p: float,
            threads: int | None, client: Any) -> Sides:
    """``(DL, IL, DR, IR)``: each window of A's ``nn`` nearest windows ``j < i`` and ``j >= i``
    of B, by p-norm distance."""
    shift = shift_of(TA, TB)
    A, B = raw(TA, m, shift), raw(TB, m, shift)
    with numba_threads(threads):
        rowP, rowI, _, _ = _triangle(A, B, m, 0, nn + 1, p, client)
        _, _, colP, colI = _triangle(B, A, m, 1, nn + 1, p, client)
        DR, IR = _resolve(A, B, m, 0, True, rowP, rowI, p, shift)
        DL, IL = _resolve(A, B, m, 1, False, colP, colI, p, shift)
    return DL, IL, DR, IR


def distance_profile(Q: NDArray[np.float64], T: NDArray[np.float64], p: float) -> NDArray[np.float64]:
    """The p-norm distance from ``Q`` to every window of ``T`` (inf where either holds NaN/inf)."""
    m = Q.shape[0]
    shift = shift_of(Q, T)
    q = raw(Q, m, shift)
    t = raw(T, m, shift)
    D: NDArray[np.float64] = ak.distance_profile_serial(q.Tc, q.e[0], t.Tc, t.e, m, p, mode(p), shift)
    return D
