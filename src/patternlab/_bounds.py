"""What the pruned kernels need to know of a library's prototypes, kept between calls.

Matching a signal, searching a candidate's nearest pattern and checking a pattern for shifted
copies each bound every prototype from its segment coordinates and complexity estimate. These
are row-wise functions of the prototypes, and between two signals only the few patterns that
learned change: :class:`PrototypeBounds` keeps them with a copy of the rows they were computed
from and, on each request, recomputes only the rows that differ from that copy in any bit
(a comparison of the rows, about 0.1 ms at 10,000 patterns of 64 samples, instead of one pass
of the feature arithmetic over every pattern). The values are those computed from scratch, bit
for bit, so the kernels' results do not depend on the cache's history.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from .kernels.pruning import prototype_features, stale_rows
from .kernels.shape import complexity, prefix_sums

__all__ = ["Features", "PrototypeBounds"]


class Features(NamedTuple):
    """The kept features of the first ``n`` prototypes (views; do not modify)."""

    P1: NDArray[np.float64]  #: 8-segment coordinates, residual norm last
    P2: NDArray[np.float64]  #: 16-segment coordinates
    P3: NDArray[np.float64]  #: 32-segment coordinates
    q: NDArray[np.float64]  #: |z|^2
    zsum: NDArray[np.float64]  #: |sum(z)|
    ce: NDArray[np.float64]  #: complexity estimate
    PS: NDArray[np.float64]  #: prefix sums of the values (``w + 1`` a row)
    QS: NDArray[np.float64]  #: prefix sums of the squares


class PrototypeBounds:
    """Features of a prototype matrix, refreshed row by row (see the module notes).

    A library and its copies share one (a copy learns, and the library takes its state back):
    whichever asks refreshes the rows that differ from what it holds. The arrays a request
    returns are views that a later request refreshes, so a thread other than the one that made
    the object works on its own :meth:`copy` (:meth:`for_thread`).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._Zc: NDArray[np.float64] = np.empty((0, 0))
        self._n = 0
        self._arrays: list[NDArray[np.float64]] = []
        self.owner = threading.get_ident()

    def __getstate__(self) -> dict[str, object]:  # pickled empty: recomputed where it lands
        return {}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__()  # type: ignore[misc]

    def copy(self) -> PrototypeBounds:
        """An independent copy."""
        out = PrototypeBounds()
        with self._lock:
            out._Zc, out._n = self._Zc.copy(), self._n
            out._arrays = [a.copy() for a in self._arrays]
        return out

    def for_thread(self) -> PrototypeBounds:
        """This object when the calling thread made it, else a copy the caller keeps."""
        return self if self.owner == threading.get_ident() else self.copy()

    def features(self, Z: NDArray[np.float64], n: int) -> Features:
        """The features of ``Z[:n]``, as :func:`~patternlab.kernels.pruning.prototype_features`
        and :func:`~patternlab.kernels.shape.complexity` compute them."""
        with self._lock:
            w = Z.shape[1]
            if self._Zc.shape[1:] != (w,):
                self._Zc, self._n, self._arrays = np.empty((0, w)), 0, []
            if self._Zc.shape[0] < n:
                cap = max(n, 2 * self._Zc.shape[0], 64)
                Zc = np.empty((cap, w))
                Zc[:self._n] = self._Zc[:self._n]
                grown = []
                for a in self._arrays:
                    b = np.empty((cap, *a.shape[1:]))
                    b[:self._n] = a[:self._n]
                    grown.append(b)
                self._Zc, self._arrays = Zc, grown
            rows = stale_rows(Z.view(np.int64), self._Zc.view(np.int64), n, self._n)
            if len(rows):
                P1, P2, P3, q, zsum = prototype_features(Z, rows)
                V = np.ascontiguousarray(Z[rows])
                PS, QS = prefix_sums(Z, rows)
                fresh = [P1, P2, P3, q, zsum, complexity(V, len(V)), PS, QS]
                if not self._arrays:
                    cap = self._Zc.shape[0]
                    self._arrays = [np.empty((cap, *a.shape[1:])) for a in fresh]
                for dst, src in zip(self._arrays, fresh):
                    dst[rows] = src
                self._Zc[rows] = V
            self._n = n
            if not self._arrays:  # n == 0 and nothing ever computed
                w1 = min(8, w) + 1
                return Features(np.empty((0, w1)), np.empty((0, min(16, w) + 1)),
                                np.empty((0, min(32, w) + 1)), np.empty(0), np.empty(0), np.empty(0),
                                np.empty((0, w + 1)), np.empty((0, w + 1)))
            return Features(*(a[:n] for a in self._arrays))
