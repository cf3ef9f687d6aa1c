"""The pan matrix profile: matrix profiles for a whole range of windows (STUMPY's ``stimp``).

The windows are visited coarse to fine (the level order of a balanced binary tree over the range:
the middle window first, then the middles of each half, ...), so that after any number of
updates the profiles computed so far cover the range evenly: the pan profile is *anytime*. Each
profile is exact (:func:`patternlab.matrix_profile`); with a Dask client, windows are computed
as tasks, one window a task.
"""

from __future__ import annotations

import numbers
import uuid
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _validation as v
from ..errors import InvalidParameterError
from .matrix import matrix_profile

__all__ = ["PanProfile", "pan_profile", "suggest_windows"]


def bfs_indices(n: int) -> NDArray[np.int64]:
    """``0 .. n - 1`` in the level order of a balanced binary search tree (the middle first).

    >>> bfs_indices(10).tolist()
    [5, 2, 8, 1, 4, 7, 9, 0, 3, 6]
    """
    out: list[int] = []
    level = [(0, n)]
    while level:
        nxt: list[tuple[int, int]] = []
        for lo, hi in level:
            mid = (lo + hi) // 2
            out.append(mid)
            nxt.extend(r for r in ((lo, mid), (mid + 1, hi)) if r[0] < r[1])
        level = nxt
    return np.array(out, dtype=np.int64)


def _profile_task(T: NDArray[np.float64], m: int) -> NDArray[np.float64]:
    """One window's exact profile on the worker's thread (the same bits on any thread count)."""
    return matrix_profile(T, m, threads=1).P


class PanProfile:
    """Matrix profiles of one series for a range of windows, computed coarse to fine.

    Create with :func:`pan_profile`. ``update()`` computes the next window's profile;
    :meth:`pan` renders the pan profile (as STUMPY's ``stimp.pan``) from what is computed so far.

    Attributes
    ----------
    M : ndarray of int64
        The windows, in the order they are computed.
    n_processed : int
        How many of them are computed.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> T = np.cumsum(np.random.default_rng(0).standard_normal(1000))
    >>> pan = pl.pan_profile(T, 10, 100, step=10, n=3)    # the middle window, then the quartiles
    >>> pan.M[:3].tolist(), pan.n_processed
    ([60, 30, 90], 3)
    >>> pan.update(2).n_processed, pan.run().n_processed, pan.pan().shape
    (5, 10, (10, 1000))
    """

    def __init__(self, T: NDArray[np.float64], windows: NDArray[np.int64], client: Any = None) -> None:
        self._T = T
        self.M = windows[bfs_indices(len(windows))]
        self._rows = bfs_indices(len(windows))  # the row of each computed window, by size
        self._pan = np.full((len(windows), len(T)), np.inf)
        self.n_processed = 0
        self._client = client

    def __repr__(self) -> str:
        lo, hi = int(self.M.min()), int(self.M.max())
        return (f"<PanProfile: windows {lo} .. {hi} ({len(self.M)}), {self.n_processed} computed, "
                f"series of {len(self._T)} samples>")

    def update(self, n: int = 1) -> PanProfile:
        """Compute the profiles of the next ``n`` windows (fewer when fewer are left); with a
        client, as ``n`` Dask tasks in parallel. Returns ``self``."""
        n = v.as_count(n, "n")
        todo = list(range(self.n_processed, min(len(self.M), self.n_processed + n)))
        if self._client is None:
            profiles = [matrix_profile(self._T, int(self.M[k])).P for k in todo]
        else:
            run = uuid.uuid4().hex[:8]
            [T] = self._client.scatter([self._T], broadcast=True, hash=False)
            futs = [self._client.submit(_profile_task, T, int(self.M[k]), pure=False,
                                        key=f"pan-profile-m{int(self.M[k])}-{run}") for k in todo]
            profiles = [f.result() for f in futs]
            for f in futs:
                f.release()
            T.release()
        for k, P in zip(todo, profiles):
            self._pan[self._rows[k], :len(P)] = P
        self.n_processed += len(todo)
        return self

    def run(self) -> PanProfile:
        """Compute every remaining window. Returns ``self``."""
        left = len(self.M) - self.n_processed
        return self.update(left) if left else self

    @property
    def P(self) -> list[NDArray[np.float64]]:
        """The profiles computed so far, in the order of :attr:`M` (distances, unnormalized)."""
        n = len(self._T)
        return [self._pan[self._rows[k], :n - int(self.M[k]) + 1].copy() for k in range(self.n_processed)]

    @property
    def windows(self) -> NDArray[np.int64]:
        """All windows, increasing (the rows of :meth:`pan`)."""
        return np.sort(self.M)

    def pan(self, threshold: float = 0.2, normalize: bool = True, contrast: bool = True,
            binary: bool = True, clip: bool = True) -> NDArray[np.float64]:
        """The pan matrix profile as an image: one row per window (increasing), one column per
        position, as STUMPY's ``stimp.pan``.

        Each computed row is the profile divided by ``2 sqrt(m)`` (its largest possible value)
        and capped at 1 (``normalize``); then, over all computed rows, replaced by a sigmoid of
        its rank percentile centred on ``threshold`` (``contrast``), set to 0 where at most
        ``threshold`` and 1 elsewhere (``binary``), clipped to [0, 1] (``clip``). A row not yet
        computed repeats the next computed row of a larger window; positions past a profile's
        end take the largest value.
        """
        if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real):
            raise InvalidParameterError(f"threshold must be a number; got {threshold!r:.40}")
        PAN = self._pan.copy()
        idx = self._rows[:self.n_processed]
        if idx.size == 0:
            raise InvalidParameterError("no window is computed yet: call update() first")
        PAN[PAN == np.inf] = np.nan
        ms = self.M[:self.n_processed].astype(np.float64)
        if normalize:
            PAN[idx] = np.minimum(1.0, PAN[idx] / (2.0 * np.sqrt(ms))[:, None])
        if contrast:
            size = PAN[idx].size
            ranks = np.empty(size, dtype=np.int64)
            ranks[PAN[idx].argsort(kind="mergesort", axis=None)] = np.arange(size)
            pct = np.linspace(0, 1, size)[ranks].reshape(PAN[idx].shape)
            PAN[idx] = 1.0 / (1.0 + np.exp(-10 * (pct - threshold)))
        if binary:
            PAN[idx] = np.where(PAN[idx] <= threshold, 0.0, 1.0)
        if clip:
            PAN[idx] = np.clip(PAN[idx], 0.0, 1.0)
        done = np.sort(idx)
        repeat = np.diff(np.append(-1, done))
        PAN[:repeat.sum()] = np.repeat(PAN[done], repeat, axis=0)
        PAN[np.isnan(PAN)] = np.nanmax(PAN)
        return PAN

    def suggest(self, k: int = 3, by: str = "typical") -> list[int]:
        """Windows worth using, from the profiles computed so far: see :func:`suggest_windows`."""
        return suggest_windows(self, k, by)


def _windows(n: int, min_m: Any, max_m: Any, step: Any) -> NDArray[np.int64]:
    top = v.max_self_join_window(n)
    lo = v.as_window(min_m, n, name="min_m")
    hi = top if max_m is None else v.as_window(max_m, n, name="max_m")
    if lo > hi:
        lo, hi = hi, lo
    if lo > top:
        raise InvalidParameterError(
            f"min_m={lo} leaves no pair of windows outside each other's exclusion zone in a series of "
            f"{n} samples: pass min_m <= {top}")
    step = v.as_count(step, "step")
    return np.arange(lo, min(hi, top) + 1, step, dtype=np.int64)


def pan_profile(T: ArrayLike, min_m: int = 3, max_m: int | None = None, step: int = 1, *,
                n: int | None = None, client: Any = None) -> PanProfile:
    """The pan matrix profile of ``T``: its matrix profiles for every window from ``min_m`` to
    ``max_m`` (STUMPY's ``stimp``), computed coarse to fine.

    Parameters
    ----------
    T : array_like
        The series (NaN/inf allowed).
    min_m, max_m : int
        The range of windows (``max_m``: by default the longest window a self-join allows).
    step : int
        Spacing of the windows.
    n : int, optional
        How many windows to compute now (default: all). The result is anytime: call
        ``.update()`` for more, and ``.pan()`` or ``.suggest()`` at any point.
    client : distributed.Client or Lab, optional
        Compute the profiles on this Dask cluster, one window a task (the same values, bit for
        bit).

    Returns
    -------
    PanProfile

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> T = np.sin(np.linspace(0, 40 * np.pi, 2000)) + np.random.default_rng(0).normal(0, 0.1, 2000)
    >>> pan = pl.pan_profile(T, 20, 200, step=20)
    >>> pan.windows.tolist()
    [20, 40, 60, 80, 100, 120, 140, 160, 180, 200]
    >>> pan.pan().shape
    (10, 2000)
    """
    Ta = v.as_signal(T, "T")
    windows = _windows(len(Ta), min_m, max_m, step)
    inner = getattr(client, "client", None)
    client = v.as_client(inner if client is not None and inner is not None else client)
    v.check_has_finite_window(Ta, int(windows[-1]), "T")  # then every shorter window has one too
    pan = PanProfile(Ta, windows, client)
    return pan.update(len(windows) if n is None else v.as_count(n, "n"))


def suggest_windows(pan: PanProfile, k: int = 3, by: str = "typical") -> list[int]:
    """Windows worth using, from a pan profile (the more windows computed, the finer the answer).

    Each computed profile is divided by ``2 sqrt(m)``, the largest possible distance at window
    ``m``, so that windows compare:

    * ``by="typical"``: the windows at which a typical window matches best, the local minima
      over ``m`` of the median normalized distance (lower than both computed neighbours), lowest
      first: the scale of the structure that repeats throughout the series.
    * ``by="motif"``: the natural lengths of the best motifs, the windows after which the
      normalized distance of the best match rises by the largest factor at the next computed
      window (values floored at 0.01): while ``m`` is within a motif its copies keep matching,
      beyond it the match degrades.

    Parameters
    ----------
    pan : PanProfile
        A pan profile with at least two windows computed.
    k : int
        The most windows to suggest.
    by : {"typical", "motif"}
        The criterion.

    Returns
    -------
    list of int

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> rng = np.random.default_rng(0)
    >>> T = np.cumsum(rng.standard_normal(3000))
    >>> T[500:650] = T[2000:2150] = np.cumsum(rng.standard_normal(150)) * 3   # a 150-sample motif
    >>> pl.suggest_windows(pl.pan_profile(T, 50, 300, step=10), k=1, by="motif")
    [150]
    >>> t = np.arange(4000)
    >>> T = np.sin(2 * np.pi * t / 100) ** 9 + rng.normal(0, 0.05, 4000)  # a spike every 100
    >>> 80 <= pl.suggest_windows(pl.pan_profile(T, 10, 300, step=10), k=1)[0] <= 120
    True
    """
    k = v.as_count(k)
    if not isinstance(pan, PanProfile):
        raise InvalidParameterError(
            f"pan must be a PanProfile (pl.pan_profile(...)); got {type(pan).__name__}")
    if by not in ("typical", "motif"):
        raise InvalidParameterError(f"by={by!r:.40} is not a criterion: pass 'typical' or 'motif'")
    if pan.n_processed < 2:
        raise InvalidParameterError("suggest_windows needs at least two computed windows: call update()")
    done = pan.M[:pan.n_processed]
    order = np.argsort(done)
    ms = done[order]
    P = pan.P
    norm = [np.minimum(P[i][np.isfinite(P[i])] / (2 * np.sqrt(done[i])), 1.0) for i in order]
    if by == "motif":
        best = np.maximum(np.array([x.min() if x.size else 1.0 for x in norm]), 0.01)
        rise = best[1:] / best[:-1]
        ranked = sorted(range(len(rise)), key=lambda x: (-rise[x], x))
        return [int(ms[x]) for x in ranked[:k]]
    score = np.array([np.median(x) if x.size else 1.0 for x in norm])
    local = [x for x in range(len(ms))
             if (x == 0 or score[x] < score[x - 1]) and (x == len(ms) - 1 or score[x] < score[x + 1])]
    local.sort(key=lambda x: (score[x], x))
    return [int(ms[x]) for x in local[:k]]
