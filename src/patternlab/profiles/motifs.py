"""Motifs of one series: the best non-overlapping pairs, or motif *sets* (each motif with all its
non-overlapping occurrences, as STUMPY's ``motifs`` without its overlapping hits).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _validation as v
from ..errors import InvalidParameterError
from ..kernels import search as sk
from .matrix import MatrixProfile, Motif, matrix_profile
from .search import RAW_QUERY, _atol, _max_matches, _profile, _query_windows, _raw, _threshold, _windows

__all__ = ["MotifSet", "motifs"]


class MotifSet(NamedTuple):
    """A motif and its occurrences: windows ``T[i:i+m]`` for ``i`` in ``indices``, the motif's own
    window first (at distance 0), then the others by increasing distance to it."""

    distances: NDArray[np.float64]
    indices: NDArray[np.int64]

    def __repr__(self) -> str:
        pairs = ", ".join(f"{i}: {d:.4g}" for d, i in zip(self.distances.tolist(), self.indices.tolist()))
        return f"MotifSet({{{pairs}}})"


def _default_cutoff(P: NDArray[np.float64]) -> float:
    """STUMPY's ``cutoff``: ``max(mean(P) - 2 * std(P), min(P))`` over the finite values."""
    mean, std, low, _ = sk.finite_mean_std(P)
    return float(max(mean - 2.0 * std, low))


def _profile_for(T: NDArray[np.float64], m: int, profile: Any, dtype: Any, normalize: bool, p: float,
                 flags: Any) -> MatrixProfile:
    if profile is None:
        return matrix_profile(T, m, dtype=dtype, normalize=normalize, p=p, T_subseq_isconstant=flags)
    if not isinstance(profile, MatrixProfile):
        raise InvalidParameterError(
            f"profile must be a MatrixProfile (from pl.matrix_profile); got {type(profile).__name__}"
        )
    if not profile.self_join or profile.m != m or len(profile) != T.shape[0] - m + 1 \
            or profile.normalize != normalize or (not normalize and profile.p != p):
        raise InvalidParameterError(
            f"profile ({profile!r}) is not the self-join of T with m={m}"
            f"{'' if normalize else f', normalize=False, p={p:g}'}: pass "
            "profile=pl.matrix_profile(T, m, ...) with the same options, or leave it out"
        )
    return profile


def _sets(T: NDArray[np.float64], m: int, mp: MatrixProfile, k: int, max_matches: int,
          max_distance: Any, min_neighbors: int, cutoff: Any, atol: float, normalize: bool, p: float,
          flags: NDArray[np.bool_] | None) -> list[MotifSet]:
    P = mp._nearest()[0]
    limit = _default_cutoff(P) if cutoff is None else _real(cutoff, "cutoff")
    profile_of = _distances_z(T, m, flags) if normalize else _distances_raw(T, m, p)
    excl = v.exclusion_zone(m)
    taken = np.zeros(len(P), dtype=np.bool_)  # overlaps an occurrence of a set kept
    tried = ~np.isfinite(P) | (P > limit)  # no longer a candidate
    out: list[MotifSet] = []
    while len(out) < k:
        c = int(sk.next_candidate(P, tried | taken, limit))
        if c < 0:
            break
        D = profile_of(c)
        d, idx = sk.motif_set(D, c, taken, m, _threshold(D, max_distance) + atol, max_matches)
        if len(idx) - 1 >= min_neighbors:
            out.append(MotifSet(d, idx))
            for x in idx.tolist():
                taken[max(0, x - m + 1):x + m] = True
        else:
            for x in idx.tolist():
                tried[max(0, x - excl):x + excl + 1] = True
        tried[c] = True
    return out


def _neighbors(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InvalidParameterError(f"min_neighbors must be an integer >= 0; got {value!r:.40}")
    return int(value)


def _distances_z(T: NDArray[np.float64], m: int,
                 flags: NDArray[np.bool_] | None) -> Callable[[int], NDArray[np.float64]]:
    """The z-normalized distance profile of window ``c`` of ``T`` against ``T``, as
    :func:`patternlab.match` computes it for the query ``T[c:c+m]`` (so the window itself is at
    distance exactly 0)."""
    t = _windows(T, m, flags)

    def profile_of(c: int) -> NDArray[np.float64]:
        q = _query_windows(T[c:c + m], m, None if flags is None else flags[c:c + 1])
        return _profile(q, t, m)

    return profile_of


def _distances_raw(T: NDArray[np.float64], m: int, p: float) -> Callable[[int], NDArray[np.float64]]:
    """The p-norm distance profile of window ``c`` of ``T`` against ``T``."""
    t = _raw(T, T, m)

    def profile_of(c: int) -> NDArray[np.float64]:
        return _profile(RAW_QUERY, t._replace(Qc=t.Tc[c:c + m]), m, p)

    return profile_of


def _real(value: Any, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or np.isnan(value):
        raise InvalidParameterError(f"{name} must be a real number or None; got {value!r:.40}")
    return float(value)


def motifs(
    T: ArrayLike,
    m: int,
    k: int = 3,
    *,
    max_matches: int | None = None,
    max_distance: Any = None,
    min_neighbors: int | None = None,
    cutoff: float | None = None,
    atol: float = 1e-8,
    dtype: Any = "float64",
    normalize: bool = True,
    p: float = 2.0,
    T_subseq_isconstant: Any = None,
    profile: MatrixProfile | None = None,
) -> list[Motif] | list[MotifSet]:
    """The ``k`` best motifs of ``T``: non-overlapping pairs, or motif sets.

    Without any of ``max_matches``, ``max_distance``, ``min_neighbors`` and ``cutoff``: the
    ``k`` best non-overlapping motif pairs (see :meth:`MatrixProfile.motifs`).

    With any of them: *motif sets*, as STUMPY's ``motifs`` but never overlapping. Candidate
    windows are taken by increasing matrix-profile distance (the smaller index on ties) while it
    is at most ``cutoff``. For a candidate ``c``, the distance profile ``D`` of ``T[c:c+m]``
    gives its occurrences: ``c`` itself first, then the windows with ``D <= max_distance + atol``
    by increasing distance, each kept unless it overlaps (``|i - j| < m``) an occurrence kept
    before, in this set or in an earlier one; at most ``max_matches`` in all. The set is kept
    when it has at least ``min_neighbors`` occurrences besides ``c``; otherwise its windows and
    their exclusion zones stop being candidates (as in STUMPY). So no two returned windows
    overlap, within a set or across sets.

    Parameters
    ----------
    T : array_like
        The series.
    m : int
        Window length.
    k : int
        Number of motifs (pairs or sets) wanted; fewer are returned when there are no more.
    max_matches : int, optional
        The most occurrences in a set, the motif's own window included (default: all).
    max_distance : float or callable, optional
        The largest distance of an occurrence to the motif's window; a callable receives the
        distance profile ``D``. Default (STUMPY's rule): ``max(mean(D) - 2 * std(D), min(D))``
        over the finite distances.
    min_neighbors : int, optional
        The fewest occurrences besides the motif's own window for a set to count (default 1;
        0 keeps sets of the motif's window alone).
    cutoff : float, optional
        The largest matrix-profile distance of a candidate. Default (STUMPY's rule):
        ``max(mean(P) - 2 * std(P), min(P))`` over the finite values.
    atol : float
        Absolute tolerance added to ``max_distance`` (STUMPY's ``1e-8``).
    dtype, normalize, p, T_subseq_isconstant
        As in :func:`patternlab.matrix_profile` (``normalize=False``: p-norm distances, for the
        profile and the sets alike).
    profile : MatrixProfile, optional
        The self-join profile of ``T`` with the same ``m`` and options, if already computed.

    Returns
    -------
    list of Motif or list of MotifSet
        Pairs ``(a, b, distance)``, or sets ``(distances, indices)``, best first.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> rng = np.random.default_rng(1)
    >>> T = rng.standard_normal(600); T[100:140] = T[400:440] = np.hanning(40) * 5
    >>> pl.motifs(T, m=40, k=1)[0][:2]
    (100, 400)
    >>> T[250:290] = np.hanning(40) * 5
    >>> pl.motifs(T, m=40, k=1, max_distance=1.0)[0].indices.tolist()
    [100, 250, 400]
    """
    k = v.as_count(k)
    normalize = v.as_flag(normalize, "normalize")
    p = v.as_p(p)
    sets = not (max_matches is None and max_distance is None and min_neighbors is None and cutoff is None)
    Ta = v.as_signal(T, "T", require_finite=False)
    m = v.as_window(m, Ta.shape[0])
    if not normalize and T_subseq_isconstant is not None:
        raise InvalidParameterError(
            "T_subseq_isconstant applies to z-normalized distances only: drop it, or pass "
            "normalize=True"
        )
    flags = v.as_isconstant(T_subseq_isconstant, Ta, m, "T_subseq_isconstant")
    mp = _profile_for(Ta, m, profile, dtype, normalize, p, flags)
    if not sets:
        return mp.motifs(k)
    top = _max_matches(max_matches)
    neighbors = 1 if min_neighbors is None else _neighbors(min_neighbors)
    return _sets(Ta, m, mp, k, top, max_distance, neighbors, cutoff, _atol(atol), normalize, p, flags)
