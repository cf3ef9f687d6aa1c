"""The anytime matrix profile (SCRIMP++ style): a pre-scan, then the diagonals of the distance
matrix in a random order fixed by a seed, refined call by call, exact once every diagonal is done.

The profile math of :func:`patternlab.approximate_profile`; persistence is :mod:`patternlab.stream`'s.
"""

from __future__ import annotations

import math
import numbers
import uuid
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _validation as v
from .._numba import get_num_threads, parallel_for
from ..errors import InvalidParameterError
from ..kernels import anytime as ak
from ..kernels import exact, stats
from ._prepare import stats_of as _stats
from .matrix import MatrixProfile

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["AnytimeProfile", "diagonal_order"]

#: Tasks per worker thread when the diagonals of an update run on a Dask cluster.
TASKS_PER_THREAD = 2
#: Slack (in correlation) of the pre-scan's FFT correlations when it picks the pairs to measure:
#: the pre-scan only proposes pairs, every kept distance is measured exactly.
PRESCAN_SLACK = 1e-6


def as_percentage(p: Any, name: str = "percentage") -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not (0.0 < float(p) <= 1.0):
        raise InvalidParameterError(f"{name}={p!r:.40} must be a fraction of the diagonals in (0, 1], "
                                    "e.g. 0.01 for 1 %")
    return float(p)


def as_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= int(seed) < 2**63:
        raise InvalidParameterError(f"seed={seed!r:.40} must be an integer in [0, 2**63)")
    return int(seed)


def fast_length(n: int) -> int:
    """The smallest ``2**a 3**b 5**c >= n``: a length numpy's FFT handles fast (up to 1.6x shorter
    than the next power of two)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            x = p35
            while x < n:
                x *= 2
            best = min(best, x)
            p35 *= 3
        p5 *= 5
    return best


def diagonal_order(n_windows: int, m: int, seed: int) -> NDArray[np.int64]:
    """The diagonals ``excl + 1 .. n_windows - 1`` in the order the anytime profile visits them:
    a permutation drawn from ``numpy.random.default_rng(seed)``, nothing else."""
    kmin = v.exclusion_zone(m) + 1
    count = max(0, n_windows - kmin)
    return (kmin + np.random.default_rng(seed).permutation(count)).astype(np.int64)


def prescan_rows(n_windows: int, m: int, seed: int) -> NDArray[np.int64]:
    """The rows the pre-scan visits: every ``ceil(m / 4)``-th window, in an order drawn from
    ``numpy.random.default_rng([seed, 1])``."""
    step = v.exclusion_zone(m)
    rows = np.arange(0, n_windows, step, dtype=np.int64)
    return rows[np.random.default_rng([seed, 1]).permutation(rows.size)]


class AnytimeProfile:
    """An approximate matrix profile that refines towards the exact one (see
    :func:`patternlab.approximate_profile`)."""

    def __init__(self, T: ArrayLike, m: int, *, percentage: float = 0.01, seed: int = 0,
                 prescan: bool = True, client: Client | None = None) -> None:
        T = v.as_signal(T, "T")
        m = v.as_window(m, T.shape[0])
        v.check_has_finite_window(T, m, "T")
        v.check_self_join(m, T.shape[0])
        self._percentage = as_percentage(percentage)
        self._seed = as_seed(seed)
        if not isinstance(prescan, (bool, np.bool_)):
            raise InvalidParameterError(f"prescan must be True or False; got {prescan!r:.40}")
        client = v.as_client(client)
        self._T = T
        self._m = m
        self._prescan = bool(prescan)
        self._prepare()
        n = self._n
        self._PL = np.full(n, np.inf)
        self._PR = np.full(n, np.inf)
        self._IL = np.full(n, -1, dtype=np.int64)
        self._IR = np.full(n, -1, dtype=np.int64)
        self._done = 0
        if self._prescan:
            self._run_prescan()
        self.update(client=client)

    def _prepare(self) -> None:
        """Everything that follows from ``T``, ``m`` and the seed alone."""
        m = self._m
        Tc, mu, sig2, valid, constant = _stats(self._T, m)
        s, e = stats.correlation_terms(mu, sig2, valid, constant)
        df, dg = stats.diagonal_terms(Tc, mu, m)
        self._w = (Tc, mu, s, e, df, dg, ak.error_scale(sig2, s, df, dg, valid, constant))
        self._n = mu.shape[0]
        self._excl = v.exclusion_zone(m)
        self._order = diagonal_order(self._n, m, self._seed)
        self._static_futures: dict[str, Any] = {}

    # -- the pre-scan -------------------------------------------------------------------------------
    def _run_prescan(self) -> None:
        """Rows at a stride of ``ceil(m / 4)``: each row's correlations with every window by FFT
        (proposals only), exact distances for the pairs that may improve a profile, then the
        cells around the row's best pair along its diagonal (PreSCRIMP)."""
        Tc, mu, s, e = self._w[:4]
        m, n, excl = self._m, self._n, self._excl
        finite = np.isfinite(self._T)
        centred = Tc - (Tc[finite].mean() if finite.any() else 0.0)
        nfft = fast_length(centred.shape[0] + m)
        FT = np.fft.rfft(centred, nfft)
        for i in prescan_rows(n, m, self._seed):
            if e[i] != 0.0:  # constant or non-finite rows: their distances are fixed by the rules
                continue
            q = Tc[i:i + m] - mu[i]
            qt = np.fft.irfft(FT * np.conj(np.fft.rfft(q, nfft)), nfft)[:n]
            ak.prescan_row(qt, i, Tc, mu, s, e, m, excl, excl, PRESCAN_SLACK, self._PL, self._IL,
                           self._PR, self._IR)

    # -- diagonals ------------------------------------------------------------------------------
    def update(self, percentage: float | None = None, *, client: Client | None = None) -> AnytimeProfile:
        """Fold the next ``percentage`` (default: the one given at creation) of the diagonals, in
        the seed's order, into the profile; nothing once every diagonal is done. Returns self.

        Examples
        --------
        >>> import numpy as np, patternlab as pl
        >>> T = np.random.default_rng(0).standard_normal(1000)
        >>> ap = pl.approximate_profile(T, m=50, percentage=0.5, seed=1)
        >>> ap.update().progress
        1.0
        >>> bool((ap.P == pl.matrix_profile(T, m=50).P).all())
        True
        """
        p = self._percentage if percentage is None else as_percentage(percentage)
        client = v.as_client(client)
        total = self._order.shape[0]
        count = min(total - self._done, max(1, math.ceil(p * total)))
        if count <= 0:
            return self
        diags = self._order[self._done:self._done + count]
        if client is not None:
            self._on_cluster(client, diags)
        else:
            self._in_process(diags)
        self._done += count
        return self

    def _in_process(self, diags: NDArray[np.int64]) -> None:
        Tc, mu, s, e, df, dg, q = self._w
        cells = float(np.sum(self._n - diags))
        args = (Tc, mu, s, e, df, dg, q, self._m, diags, self._PL, self._IL, self._PR, self._IR)
        if parallel_for(cells / 2) and diags.shape[0] > ak.DIAG_CHUNK:
            ak.diagonals(*args, get_num_threads())
        else:
            ak.diagonals_serial(*args)

    def _on_cluster(self, client: Client, diags: NDArray[np.int64]) -> None:
        from distributed import as_completed

        key = str(id(client))
        if key not in self._static_futures:
            self._static_futures = {key: client.scatter(list(self._w), broadcast=False)}
        static = self._static_futures[key]
        threads = max(1, sum(client.nthreads().values()))
        parts = np.array_split(diags, max(1, min(diags.shape[0], TASKS_PER_THREAD * threads)))
        state = client.scatter([self._PL, self._IL, self._PR, self._IR], broadcast=False)
        run = uuid.uuid4().hex[:8]
        futs = [client.submit(_diagonals_task, *static, self._m, part, *state,
                              key=f"anytime-diagonals-{k}-{run}", pure=False)
                for k, part in enumerate(parts) if part.size]
        PL, IL, PR, IR = self._PL.copy(), self._IL.copy(), self._PR.copy(), self._IR.copy()
        for fut in as_completed(futs):
            tPL, tIL, tPR, tIR = fut.result()
            fut.release()
            ak.merge_min(PL, IL, tPL, tIL)
            ak.merge_min(PR, IR, tPR, tIR)
        self._PL, self._IL, self._PR, self._IR = PL, IL, PR, IR

    # -- the profile ------------------------------------------------------------------------------
    @property
    def m(self) -> int:
        return self._m

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def percentage(self) -> float:
        """The share of the diagonals each :meth:`update` adds."""
        return self._percentage

    @property
    def progress(self) -> float:
        """The share of the diagonals done (1.0: the profile is exact)."""
        total = self._order.shape[0]
        return 1.0 if total == 0 else self._done / total

    @property
    def diagonals_done(self) -> int:
        return self._done

    @property
    def exact(self) -> bool:
        """Whether every diagonal is done (the profile is then the exact one)."""
        return self._done >= self._order.shape[0]

    @property
    def T(self) -> NDArray[np.float64]:
        return self._T.copy()

    @property
    def PL(self) -> NDArray[np.float64]:
        return self._PL.copy()

    @property
    def IL(self) -> NDArray[np.int64]:
        return self._IL.copy()

    @property
    def PR(self) -> NDArray[np.float64]:
        return self._PR.copy()

    @property
    def IR(self) -> NDArray[np.int64]:
        return self._IR.copy()

    @property
    def P(self) -> NDArray[np.float64]:
        return self.profile().P

    @property
    def I(self) -> NDArray[np.int64]:  # noqa: E743  (the matrix-profile name)
        return self.profile().I

    def profile(self) -> MatrixProfile:
        """The current profile as a :class:`~patternlab.MatrixProfile`."""
        P, I = exact.nearest_of(self._PL, self._IL, self._PR, self._IR)
        return MatrixProfile(P, I, self.PL, self.IL, self.PR, self.IR, self._m, self._excl, True, "float64")

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} m={self._m}: {self._n} windows, {100 * self.progress:.1f} % of "
                f"{self._order.shape[0]} diagonals, seed={self._seed}>")


def _diagonals_task(Tc: NDArray[Any], mu: NDArray[Any], s: NDArray[Any], e: NDArray[Any], df: NDArray[Any],
                    dg: NDArray[Any], q: NDArray[Any], m: int, diags: NDArray[np.int64], PL: NDArray[Any],
                    IL: NDArray[Any], PR: NDArray[Any], IR: NDArray[Any]) -> tuple[NDArray[Any], ...]:
    """One task: the diagonals ``diags`` folded into a copy of the profile, on one numba thread."""
    PL, IL, PR, IR = PL.copy(), IL.copy(), PR.copy(), IR.copy()
    ak.diagonals_serial(Tc, mu, s, e, df, dg, q, m, diags, PL, IL, PR, IR)
    return PL, IL, PR, IR
