""":class:`PatternStream`: a library's patterns matched in a stream as it arrives, and the stream's
left-discords, as events (published through Redis pub/sub when a store is given)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._extras import imported
from ..errors import InvalidParameterError, StoreConnectionError
from ..kernels import streaming as sk
from ..library import PatternLibrary
from ..profiles.streaming import as_samples
from .profile import StreamingProfile

if TYPE_CHECKING:
    from ..store.redis import RedisPatternStore


def _redis_store() -> Any:
    """The Redis store module, imported on first use (a stream without a store needs none)."""
    return imported("patternlab.store.redis", "a PatternStream publishing through Redis")

__all__ = ["PatternStream", "StreamEvent", "StreamSubscription"]

KINDS = ("match", "discord")


@dataclass(frozen=True)
class StreamEvent:
    """Something found in a stream.

    Attributes
    ----------
    kind : str
        ``"match"`` (a window like a library pattern) or ``"discord"`` (a window far from every
        earlier one: a left-discord).
    position : int
        Where the window starts in the stream (samples since the stream began, the initial
        history included).
    pattern_id : str
        The matched pattern ("" for a discord).
    score : float
        The correlation with the pattern (match) or the distance to the nearest earlier window
        (discord).
    stream : str
        The stream's name.
    """

    kind: str
    position: int
    pattern_id: str
    score: float
    stream: str


class PatternStream:
    """Match a library's patterns in a stream as samples arrive, and report its left-discords.

    Each :meth:`update` / :meth:`extend` returns the events it completed, in order:

    * ``match``: a window correlating ``>= threshold`` with a pattern, and more than with any
      other window within ``m - 1`` samples of it (the earlier on ties): the non-overlapping
      best occurrences, as :func:`patternlab.perceive` finds them. A match is reported once the
      ``m - 1`` samples after its window have arrived.
    * ``discord``: a new window whose distance to its nearest earlier window (the streaming
      profile's left profile, on arrival) is at least ``discord_threshold``, or by default larger
      than that of every earlier window (a new record, as DAMP's best-so-far), starting from the
      largest among the second half of ``T``'s windows (the first ones have too few earlier
      windows to be judged). Windows holding NaN/inf or without an earlier neighbour are never
      discords.

    With ``store`` (a :class:`RedisPatternStore`), the events of each call are published as one
    JSON message on the channel ``<namespace>:stream-events:<domain>``; :meth:`subscribe` reads
    them. The profile is a :class:`StreamingProfile` (``.profile``; ``egress`` as there).

    Parameters
    ----------
    library : PatternLibrary
        The patterns (``m = library.window``).
    T : array_like
        The history to start from (no events are reported for it).
    threshold : float, optional
        Correlation from which a window matches (default ``library.config.cluster_threshold``).
    discord_threshold : float, optional
        Left distance from which a window is a discord (default: a new record).
    egress : bool
        Keep only the last ``len(T)`` samples in the profile (default).
    store : RedisPatternStore or str, optional
        Publish the events there.
    name : str
        The stream's name in the events.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> rng = np.random.default_rng(0)
    >>> shape = np.sin(np.linspace(0, 2 * np.pi, 32))
    >>> lib = pl.PatternLibrary(window=32)
    >>> _ = lib.add(shape, signal_id=0, offset=0)
    >>> T = np.cumsum(rng.standard_normal(500)) * 0.1
    >>> ps = pl.PatternStream(lib, T[:300], threshold=0.95)
    >>> tail = T[300:].copy(); tail[50:82] += 5 * shape
    >>> [(e.kind, e.position) for e in ps.extend(tail) if e.kind == "match"]
    [('match', 350)]
    """

    def __init__(self, library: PatternLibrary, T: ArrayLike, *, threshold: float | None = None,
                 discord_threshold: float | None = None, egress: bool = True,
                 store: RedisPatternStore | str | None = None, name: str = "stream") -> None:
        if not isinstance(library, PatternLibrary):
            raise InvalidParameterError(f"library must be a PatternLibrary; got {type(library).__name__}")
        thr = library.config.cluster_threshold if threshold is None else threshold
        if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not -1.0 <= float(thr) <= 1.0:
            raise InvalidParameterError(f"threshold={thr!r:.40} must be a correlation in [-1, 1]")
        if discord_threshold is not None and (isinstance(discord_threshold, bool) or not isinstance(
                discord_threshold, (int, float)) or not float(discord_threshold) >= 0.0):
            raise InvalidParameterError(f"discord_threshold={discord_threshold!r:.40} must be a distance "
                                        ">= 0 or None (a new record)")
        if not isinstance(name, str) or not name:
            raise InvalidParameterError(f"name={name!r} must be a non-empty string")
        self.library = library
        self.threshold = float(thr)
        self.discord_threshold = None if discord_threshold is None else float(discord_threshold)
        self.name = name
        self._owned = isinstance(store, str)
        if store is not None:
            RedisPatternStore = _redis_store().RedisPatternStore
            store = RedisPatternStore(store) if isinstance(store, str) else store
            if not isinstance(store, RedisPatternStore):
                raise InvalidParameterError("store must be a RedisPatternStore, a redis:// URL or None")
        self.store = store
        self.profile = StreamingProfile(T, library.window, egress=egress)
        m = library.window
        self._Z = library.prototypes
        self._ids = library.ids
        # correlations of the last 2m - 2 windows (those still needed to decide a match)
        self._corr = np.full((len(self._ids), 0), -np.inf)
        self._first = self.profile.n_seen - m + 1  # stream position of the first window in _corr
        self._decided = self._first  # windows before this one have been decided
        self._record = initial_record(self.profile.PL)

    def update(self, t: float) -> list[StreamEvent]:
        """Append one sample; the events it completes."""
        x = as_samples(t, "t")
        if x.shape[0] != 1:
            raise InvalidParameterError(f"update takes one sample; got {x.shape[0]}: use extend(values)")
        return self.extend(x)

    def extend(self, values: ArrayLike) -> list[StreamEvent]:
        """Append samples; the events they complete, by position (discords before matches at one
        position)."""
        x = as_samples(values)
        sp = self.profile
        m = sp.m
        # with egress, a chunk no longer than the windows kept: its new windows are all still there
        step = max(1, len(sp) - 1) if sp.egress else max(1, x.shape[0])
        events: list[StreamEvent] = []
        for at in range(0, x.shape[0], step):
            before = sp.n_seen
            sp.extend(x[at:at + step])
            g0 = before - m + 1  # the first new window
            g1 = sp.n_seen - m + 1  # one past the last
            part = self._discords(g0, g1) + self._matches(g0, g1)
            part.sort(key=lambda e: (e.position, -KINDS.index(e.kind)))
            events += part
        if events and self.store is not None:
            self._publish(events)
        return events

    # -- events -----------------------------------------------------------------------------------
    def _window_rows(self, g0: int, g1: int) -> tuple[int, int]:
        base = int(self.profile._meta[sk.BASE])
        return g0 - base, g1 - base

    def _discords(self, g0: int, g1: int) -> list[StreamEvent]:
        lo, hi = self._window_rows(g0, g1)
        arrival = self.profile._F[sk.PA, lo:hi]
        out = []
        for k, d in enumerate(arrival.tolist()):
            if not np.isfinite(d):
                continue
            if self.discord_threshold is not None:
                hit = d >= self.discord_threshold
            else:
                hit = d > self._record
                self._record = max(self._record, d)
            if hit:
                out.append(StreamEvent("discord", g0 + k, "", float(d), self.name))
        return out

    def _matches(self, g0: int, g1: int) -> list[StreamEvent]:
        if not self._ids:
            return []
        sp = self.profile
        m = sp.m
        lo, hi = self._window_rows(g0, g1)
        F, B, Sx = sp._F, sp._B, sp._Sx
        usable = B[sk.VALID] & ~B[sk.CONST]
        C = sk.prototype_correlations(self._Z, Sx[sk.TC], F[sk.MU], F[sk.S], usable, lo, hi)
        if g0 > self._first + self._corr.shape[1]:  # windows skipped (a rebuilt state): start over
            self._corr = np.full((len(self._ids), 0), -np.inf)
            self._first = self._decided = g0
        self._corr = np.concatenate([self._corr, C], axis=1)
        last = self._first + self._corr.shape[1]  # one past the newest window known
        out = []
        # window c is decided once the windows up to c + m - 1 are known
        for c in range(self._decided, last - (m - 1)):
            k = c - self._first
            row = self._corr[:, k]
            left = self._corr[:, max(0, k - (m - 1)):k]
            right = self._corr[:, k + 1:k + m]
            ok = (row >= self.threshold)
            if left.shape[1]:
                ok &= row > left.max(axis=1)
            if right.shape[1]:
                ok &= row >= right.max(axis=1)
            for p in np.flatnonzero(ok):
                out.append(StreamEvent("match", c, self._ids[p], float(row[p]), self.name))
            self._decided = c + 1
        keep_from = max(0, self._decided - (m - 1) - self._first)
        self._corr = self._corr[:, keep_from:]
        self._first += keep_from
        return out

    # -- pub/sub ----------------------------------------------------------------------------------
    def channel(self) -> str:
        """The pub/sub channel of this stream's events."""
        if self.store is None:
            raise InvalidParameterError("this PatternStream has no store: pass store= to publish events")
        return events_channel(self.store, self.library.domain)

    def _publish(self, events: list[StreamEvent]) -> None:
        assert self.store is not None
        data = json.dumps([asdict(e) for e in events])
        store = self.store
        store._call(lambda: store.client.publish(self.channel(), data),
                    f"publish events of stream {self.name!r}")

    @staticmethod
    def subscribe(store: RedisPatternStore, domain: str, *,
                  timeout: float | None = None) -> StreamSubscription:
        """The events published by the pattern streams of ``domain`` from now on (iterate; the
        iteration ends after ``timeout`` seconds without an event)."""
        channel = events_channel(store, domain)

        def go() -> Any:
            ps = store.client.pubsub()
            ps.subscribe(channel)
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline:
                msg = ps.get_message(timeout=0.5)
                if msg is not None and msg.get("type") == "subscribe":
                    return ps
            ps.close()
            import redis.exceptions as rex

            raise rex.TimeoutError("no subscription confirmation within 10 s")

        return StreamSubscription(store._call(go, f"subscribe to stream events of {domain!r}"), timeout)

    def close(self) -> None:
        if self._owned and self.store is not None:
            self.store.close()

    def __repr__(self) -> str:
        return (f"<PatternStream {self.name!r}: {len(self._ids)} patterns of window {self.profile.m}, "
                f"{self.profile.n_seen} samples seen>")


def initial_record(PL: NDArray[np.float64]) -> float:
    """The best-so-far left distance a stream starts from: the largest finite one among the
    second half of the history's windows (0 when none)."""
    half = PL[PL.shape[0] // 2:]
    return float(np.max(half[np.isfinite(half)], initial=0.0))


def events_channel(store: RedisPatternStore, domain: str) -> str:
    return f"{store.namespace}:stream-events:{domain}"


class StreamSubscription:
    """An iterator of :class:`StreamEvent` from Redis pub/sub (see :meth:`PatternStream.subscribe`)."""

    def __init__(self, pubsub: Any, timeout: float | None) -> None:
        self._ps = pubsub
        self._timeout = timeout
        self.skipped = 0

    def __iter__(self) -> Iterator[StreamEvent]:
        while True:
            got = self.get(self._timeout)
            if got is None:
                return
            yield from got

    def get(self, timeout: float | None = None) -> list[StreamEvent] | None:
        """The events of the next message, or None after ``timeout`` seconds without one."""
        import redis.exceptions as rex  # a subscription exists only where redis is installed

        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            try:
                msg = self._ps.get_message(timeout=wait)
            except rex.RedisError as exc:
                raise StoreConnectionError(
                    f"stream events subscription failed: {type(exc).__name__}") from None
            if msg is None or msg.get("type") != "message":
                continue
            try:
                fields = ("kind", "position", "pattern_id", "score", "stream")
                return [StreamEvent(**{k: o[k] for k in fields}) for o in json.loads(msg["data"])]
            except (ValueError, TypeError, KeyError):
                self.skipped += 1
        return None

    def close(self) -> None:
        self._ps.close()

    def __enter__(self) -> StreamSubscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
