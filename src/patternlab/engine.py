"""perceive: detect, discover, match and learn the patterns of one signal."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _validation as v
from ._extras import imported
from ._learning import _framed
from ._numba import pick
from ._text import plural
from .config import EngineConfig
from .errors import InvalidWindowError
from .kernels import matching, pruning, topk
from .kernels.stats import window_stats, window_stats_serial
from .library import Pattern, PatternLibrary, SignalId, library_and_config, max_lag_of, signal_key
from .profiles import Discord, MatrixProfile, Motif
from .profiles.matrix import self_join

__all__ = ["Match", "Perception", "min_signal_length", "perceive"]


class Match(NamedTuple):
    """An occurrence of a known pattern in a signal."""

    pattern_id: str
    offset: int
    correlation: float


@dataclass
class Perception:
    """What :func:`perceive` found in one signal.

    Attributes
    ----------
    signal_id, domain, window
        Which signal, its domain tag and the pattern length.
    events : ndarray of int64
        Positions where the z-normalized signal jumps by more than ``edge_threshold``.
    motifs, discords : list
        The signal's top-k motif pairs and discords, from its exact matrix profile. Motifs are
        distinct shapes: a pair correlating ``>= cluster_threshold`` with a better motif is
        skipped for the next one.
    matches : list of Match
        Every occurrence (correlation ``>= cluster_threshold``) of every pattern the library
        knew when the signal arrived, by pattern then offset.
    new_patterns, updated_patterns : list of str
        Ids of the patterns this signal founded and of those it updated (learning).
    patterns : list of Pattern
        Every pattern involved (matched, new or updated), as they are after learning.
    profile : MatrixProfile
        The signal's matrix profile.
    """

    signal_id: SignalId
    domain: str
    window: int
    events: NDArray[np.int64]
    motifs: list[Motif]
    discords: list[Discord]
    matches: list[Match]
    new_patterns: list[str] = field(default_factory=list)
    updated_patterns: list[str] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)
    profile: MatrixProfile | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (f"<Perception signal={self.signal_id!r} domain={self.domain!r}: {len(self.events)} "
                f"events, {len(self.motifs)} motifs, {len(self.discords)} discords, "
                f"{len(self.matches)} matches, {len(self.new_patterns)} new and "
                f"{len(self.updated_patterns)} updated patterns>")


def min_signal_length(window: int) -> int:
    """The shortest signal :func:`perceive` accepts for a pattern ``window``: its matrix profile
    needs two windows outside each other's exclusion zone (``window + ceil(window / 4) + 1``)."""
    return window + v.exclusion_zone(window) + 1


def too_short_message(n: int, window: int) -> str:
    """Why a signal of ``n`` samples is too short for ``window``, and what to pass instead.

    Examples
    --------
    >>> too_short_message(4, 64)  # doctest: +NORMALIZE_WHITESPACE
    'the signal has 4 samples, too few for window=64: perceive compares each window of 64 samples with
    the windows outside its exclusion zone (those starting more than ceil(64 / 4) = 16 samples away),
    so it needs at least 81 samples (64 + 16 + 1); no window fits 4 samples (the smallest, window=3,
    needs 5), so pass a longer signal.'
    """
    need, ez = min_signal_length(window), v.exclusion_zone(window)
    why = (f"the signal has {n} samples, too few for window={window}: perceive compares each window of "
           f"{window} samples with the windows outside its exclusion zone (those starting more than "
           f"ceil({window} / 4) = {plural(ez, 'sample')} away), so it needs at least {need} samples "
           f"({window} + {ez} + 1); ")
    top = max((x for x in range(3, window) if min_signal_length(x) <= n), default=0)
    if top:
        return why + (f"pass a signal of at least {need} samples, or a window of at most {top} samples, "
                      f"which fits {n}: config=pl.EngineConfig(window={top}).")
    return why + (f"no window fits {n} samples (the smallest, window=3, needs {min_signal_length(3)}), "
                  "so pass a longer signal.")


def _seed_for(seed: int, signal_id: SignalId) -> np.random.Generator:
    digest = hashlib.sha256(f"{type(signal_id).__name__}:{signal_id}".encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def _candidates(n_windows: int, window: int, motifs: list[Motif], events: NDArray[np.int64],
                strength: NDArray[np.float64], cfg: EngineConfig, rng: np.random.Generator,
                usable: NDArray[np.bool_], profile: NDArray[np.float64],
                S: NDArray[np.float64]) -> list[int]:
    """Candidate offsets in learning order: members of the closest pairs, a window around each of
    the strongest events, then exploration draws; unusable (non-finite, constant) and near-duplicate windows
    (closer than half a window to an earlier candidate) are dropped."""
    raw: list[int] = []
    for mo in motifs:
        raw += [mo.a, mo.b]
    if len(events):
        order = np.argsort(-strength, kind="mergesort")[: cfg.top_k]
        raw += [_event_window(int(events[k]), window, n_windows, profile, S, cfg.min_complexity,
                              usable)
                for k in order]
    for _ in range(cfg.top_k):
        if rng.random() < cfg.exploration_rate:
            raw.append(int(rng.integers(0, n_windows)))
    out: list[int] = []
    for off in raw:
        if usable[off] and all(abs(off - o) >= max(1, window // 2) for o in out):
            out.append(off)
    return out


def _event_window(event: int, window: int, n_windows: int, profile: NDArray[np.float64],
                  S: NDArray[np.float64], min_complexity: float, usable: NDArray[np.bool_]) -> int:
    """The window learned from an event: of the windows that hold the event's jump and that
    learning would take (complexity estimate at least ``min_complexity``), the one whose shape
    recurs best in the signal (the smallest matrix-profile distance; the first on ties), so that
    what happens at the event is cut where it recurs, not split by a window centred on its edge
    (a shape whose onset is the jump would otherwise be learned half background, half shape).
    The centred window when no such window has a neighbour."""
    lo = max(0, event - window + 1)
    hi = min(n_windows, event + 1)
    seg = profile[lo:hi]
    ok = np.isfinite(seg) & usable[lo:hi]
    if ok.any() and min_complexity > 0.0:
        X = np.lib.stride_tricks.sliding_window_view(S[lo:hi + window - 1], window)
        with np.errstate(invalid="ignore", divide="ignore"):
            ce = np.sqrt(np.sum(np.diff(X, axis=1) ** 2, axis=1) / np.var(X, axis=1))
        ok &= ce >= min_complexity
    if not ok.any():
        return int(np.clip(event - window // 2, 0, n_windows - 1))
    return lo + int(np.argmin(np.where(ok, seg, np.inf)))


def perceive(
    signal: ArrayLike,
    domain: str = "default",
    library: PatternLibrary | None = None,
    config: EngineConfig | None = None,
    *,
    signal_id: SignalId = 0,
    learn: bool = True,
    redis: Any = None,
) -> Perception:
    """Look at one signal: find its events, motifs and discords, recognize the patterns the
    library knows, and learn from it.

    1. events: jumps of the z-normalized signal larger than ``edge_threshold`` (the largest
       within half a window);
    2. discover: the top-k motifs and discords of the exact matrix profile; candidate windows
       are the members of the closest pairs (the motifs, and pairs whose windows overlap each
       other, which are not reported as motifs), for each of the top-k events the window around it that recurs
       best (of those holding its sample, the smallest profile distance) and, each of ``top_k`` times
       with probability ``exploration_rate`` (seeded by ``seed`` and ``signal_id``), a random
       window;
    3. match: every library pattern is searched in the signal in one kernel; non-overlapping
       windows correlating ``>= cluster_threshold`` are matches;
    4. learn (unless ``learn=False``): each candidate, framed around its activity (with
       ``max_lag > 0``; one that lands within half a window of an earlier one is dropped), in
       that order, updates its most correlated pattern when the correlation reaches
       ``cluster_threshold`` (moving it by ``learning_rate``), else waits in the pool of
       pending candidates or founds a new pattern (see :meth:`PatternLibrary.learn`).

    Same signal, config, seed and ``signal_id``: the same result, bit for bit.

    Parameters
    ----------
    signal : array_like
        One 1-D numeric signal; NaN/inf allowed (windows holding them are skipped).
    domain : str
        The signal's domain tag; new patterns carry it.
    library : PatternLibrary, optional
        Patterns known so far, updated in place. A fresh library when omitted.
    config : EngineConfig, optional
        Defaults to the library's config, else :class:`EngineConfig` defaults.
    signal_id : int or str
        The signal's id (its index in a batch, or a key): provenance of new patterns and seed of
        the exploration.
    learn : bool
        Whether to update the library.
    redis : str or RedisPatternStore, optional
        A Redis pattern store shared with other processes: the library of ``(domain, window)``
        is loaded from it (into ``library`` when one is given: its patterns and domain are replaced
        by the store's, which is the source of truth), and what this signal taught is published
        into it. Pass a :class:`~patternlab.RedisPatternStore` rather than a URL when calling
        repeatedly: it keeps its connections and a local cache. The store holds patterns, not
        the pool of pending candidates: pass the same ``library`` to every call, so that its
        pool (and counters) carry a candidate's sightings from one signal to the next.

    Returns
    -------
    Perception

    Raises
    ------
    InvalidSignalError, SignalTypeError
        For a signal that is not 1-D numeric, holds no finite window, ...
    InvalidWindowError
        When the signal is shorter than :func:`min_signal_length` of the window.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> from patternlab.datasets.synthetic import planted_signal
    >>> lib = pl.PatternLibrary(window=64)
    >>> res = pl.perceive(planted_signal(4000, 64, seed=2).signal, domain="demo", library=lib)
    >>> len(lib), len(lib.pending) > 0  # seen once: the shapes wait in the pool
    (0, True)
    >>> res = pl.perceive(planted_signal(4000, 64, seed=3).signal, domain="demo", library=lib,
    ...                   signal_id=1)
    >>> len(res.new_patterns) > 0 and len(lib) == len(res.new_patterns)  # seen again: patterns
    True
    """
    if redis is not None:
        return _perceive_with_redis(signal, domain, library, config, signal_id, learn, redis)
    T = v.as_signal(signal, "signal")
    sid = signal_key(signal_id)
    library, config = library_and_config(library, config, domain)
    w = config.window
    if T.shape[0] < min_signal_length(w):
        raise InvalidWindowError(too_short_message(T.shape[0], w))
    v.check_has_finite_window(T, w, "signal")
    # validated once: the profile, the window data, the events and their strengths all start
    # from the one scaled copy (the profile of a power-of-two scaled series is the same, bit for bit)
    S = v.unit_scaled(T)
    mp = self_join(S, w)
    usable, Tm, s = _window_data(S, w)
    events = matching.edges(S, config.edge_threshold, max(1, w // 2))
    strength = _jumps(S, events)
    motifs = _distinct_motifs(T, mp, config)
    discords = mp.discords(config.top_k)

    matches: list[Match] = []
    if len(library):
        # the same matches either way; the bounds pay from PRUNE_FROM on, with the features
        # the library keeps of its prototypes
        L = len(library)
        Z = library._Z[:L]
        thr = config.cluster_threshold
        if L >= pruning.PRUNE_FROM:
            f = library._kept_features()
            kernel = pick(pruning.match_prototypes_kept, pruning.match_prototypes_kept_serial, L * len(s))
            pat, off, corr = kernel(Z, f.P1, f.P2, f.P3, f.q, f.zsum, Tm, s, usable, thr)
        else:
            kernel = pick(matching.match_prototypes, matching.match_prototypes_serial, L * len(s))
            pat, off, corr = kernel(Z, Tm, s, usable, thr)
        ids = library.ids
        matches = list(map(Match._make, zip(map(ids.__getitem__, pat.tolist()), off.tolist(),
                                            corr.tolist())))

    new: list[str] = []
    updated: list[str] = []
    if learn:
        rng = _seed_for(config.seed, sid)
        # the closest pairs, those whose windows overlap each other included: not motifs (not
        # reported), but along a smooth movement such a window is still a shape worth learning
        pairs = _distinct_motifs(T, mp, config, apart=False)
        cands = _candidates(len(usable), w, pairs, events, strength, config, rng, usable, mp.P, S)
        aligned = max_lag_of(config, w) > 0
        if aligned and matches:
            cands = _snapped(cands, matches, w)
        if aligned:
            cands = _framed_candidates(T, cands, w, usable)
        work = library.copy()  # learn tentatively: a failure leaves the library as it was
        for off in cands:
            what, pid = work._learn(T, off, off, sid, domain, config, frame=False)  # framed above
            if pid is not None and what == "new":
                new.append(pid)
            elif pid is not None and what == "updated":
                updated.append(pid)
        folded, retired = work.settle(updated + new, config)
        updated = [pid for pid in dict.fromkeys(folded.get(p, p) for p in updated) if pid not in retired]
        new = [pid for pid in new if pid not in folded and pid not in retired]
        library.assign(work)
    involved = dict.fromkeys([m.pattern_id for m in matches] + updated + new)
    patterns = library._patterns_of([pid for pid in involved if pid in library])
    return Perception(sid, domain, w, events, motifs, discords, matches,
                      list(dict.fromkeys(new)), list(dict.fromkeys(updated)), patterns, mp)


def _perceive_with_redis(signal: ArrayLike, domain: str, library: PatternLibrary | None,
                         config: EngineConfig | None, signal_id: SignalId, learn: bool,
                         redis: Any) -> Perception:
    v.as_signal(signal, "signal")  # bad input fails before any round trip
    store, owned = imported("patternlab.store.redis", "perceive(..., redis=)").as_redis_store(redis)
    assert store is not None  # redis is not None here
    try:
        library, config = library_and_config(library, config, domain)
        remote = store.load_library(domain, config.window, config)
        pending, counts = library.pending, library.counters  # the store keeps patterns, not the pool
        library.assign(remote)
        library.domain = remote.domain
        for p in pending:
            if p.id not in library:
                library.add_pending(p)
        library.set_counters(counts)
        before = library.copy()
        res = perceive(signal, domain, library, config, signal_id=signal_id, learn=learn)
        if learn and (res.new_patterns or res.updated_patterns):
            store.publish(before, library, token=f"perceive:{uuid.uuid4().hex}")
        return res
    finally:
        if owned:
            store.close()


def _snapped(cands: list[int], matches: list[Match], w: int) -> list[int]:
    """Candidates moved onto the occurrence of a known pattern they overlap by at least half a
    window (the most correlated one), so that a window cut across a known shape is learned as
    that shape, aligned; the first of candidates that land on the same offset is kept."""
    offs = np.array([m.offset for m in matches], dtype=np.int64)
    corr = np.array([m.correlation for m in matches])
    out: list[int] = []
    for off in cands:
        near = np.flatnonzero(np.abs(offs - off) <= w // 2)
        if len(near):
            off = int(offs[near[np.argmax(corr[near])]])
        if off not in out:
            out.append(off)
    return out


def _framed_candidates(T: NDArray[np.float64], cands: list[int], w: int,
                       usable: NDArray[np.bool_]) -> list[int]:
    """The candidates framed around their activity (as :meth:`PatternLibrary.learn_at` frames a
    window), those that land closer than half a window to an earlier one dropped: a signal
    never teaches the same window twice (one sighting would count as two)."""
    out: list[int] = []
    for off in cands:
        at = off + _framed(T, off, w)
        if not usable[at]:
            at = off
        if all(abs(at - o) >= max(1, w // 2) for o in out):
            out.append(at)
    return out


def _distinct_motifs(T: NDArray[np.float64], mp: MatrixProfile, cfg: EngineConfig, *,
                     apart: bool = True) -> list[Motif]:
    """The best ``top_k`` motifs that are distinct shapes: taken by increasing distance among the
    profile's best ``3 * top_k``, skipping a pair whose first window correlates
    ``>= cluster_threshold`` with a motif already kept (a second pair of the same shape).
    ``apart=False``: the closest pairs, also those whose two windows overlap each other (the
    learning candidates; :meth:`MatrixProfile.motifs` never returns such a pair)."""
    kept: list[Motif] = []
    shapes: list[NDArray[np.float64]] = []
    w = cfg.window
    a, b, d = topk.top_motifs(mp.P, mp.I, 3 * cfg.top_k, mp.m, apart)
    for mo in map(Motif, a.tolist(), b.tolist(), d.tolist()):
        z = matching.unit_normalize(np.ascontiguousarray(T[mo.a:mo.a + w]))
        if any(float(z @ q) >= cfg.cluster_threshold for q in shapes):
            continue
        kept.append(mo)
        shapes.append(z)
        if len(kept) == cfg.top_k:
            break
    return kept


def _window_data(S: NDArray[np.float64], w: int) -> tuple[NDArray[np.bool_], NDArray[np.float64],
                                                          NDArray[np.float64]]:
    """From the unit-scaled signal: usable windows (all finite, not constant), the signal
    centred for matching (non-finite samples set to 0) and ``1 / ||x - mean||`` of each window.

    A window is constant by the rounding floor of the signal as given, as in its matrix profile:
    after centring, a window of rounding jitter around a large offset (``1e6`` plus one-ulp
    steps) would look like a shape and match anything at correlation 1."""
    stats = pick(window_stats, window_stats_serial, len(S) * w)
    _, _, _, valid, constant = stats(S, w)
    C = S - S[np.isfinite(S)].mean()  # NaN and inf stay: window_stats marks their windows
    Tm, _, sig2, _, _ = stats(C, w)
    usable = valid & ~constant & (sig2 > 0.0)  # centring can flatten a window of subnormal steps
    s = np.where(usable, 1.0 / np.sqrt(np.where(usable, sig2, 1.0)), 0.0)
    return usable, np.ascontiguousarray(Tm), s


def _jumps(S: NDArray[np.float64], events: NDArray[np.int64]) -> NDArray[np.float64]:
    """The size of each event's jump in the unit-scaled signal (no overflow)."""
    if not len(events):
        return np.empty(0)
    d = np.abs(S[events] - S[events - 1])
    return np.where(np.isfinite(d), d, 0.0)
