"""Pub/sub events of the Redis pattern store."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis.exceptions as rex

from ..errors import StoreConnectionError, StoreDataError

__all__ = ["PatternEvent", "Subscription"]

KINDS = ("created", "updated", "archived")
_log = logging.getLogger("patternlab.store")


@dataclass(frozen=True)
class PatternEvent:
    """A pattern was ``created``, ``updated`` or ``archived`` in the store.

    Attributes
    ----------
    kind : str
        ``"created"``, ``"updated"`` or ``"archived"``.
    id, domain : str
    window : int
    support : int
        The support after the change (0 for ``archived``).
    dn : int
        The support added by this change (0 for ``archived``).
    token : str
        The update's token ("" for ``archived``).
    time : float
        Server time of the change (seconds since the epoch).
    """

    kind: str
    id: str
    domain: str
    window: int
    support: int
    dn: int
    token: str
    time: float


def parse_events(data: Any, channel: str) -> list[PatternEvent]:
    """Decode one message (a JSON list of events written by the store's scripts, one per pattern
    of a shard update); anything else is refused."""
    try:
        objs = json.loads(data)
        if not isinstance(objs, list):
            raise ValueError("not a list")
        out = []
        for obj in objs:
            kind = str(obj["event"])
            if kind not in KINDS:
                raise ValueError(kind)
            out.append(PatternEvent(kind, str(obj["id"]), str(obj.get("domain", "")), int(obj["window"]),
                                    int(obj.get("support", 0)), int(obj.get("dn", 0)),
                                    str(obj.get("token", "")), float(obj["time"])))
        return out
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, OverflowError, RecursionError):
        shown = data[:80] if isinstance(data, (bytes, str)) else type(data).__name__
        raise StoreDataError(f"channel {channel!r} carried {shown!r}, which is not a patternlab event: "
                             "only the store's scripts should publish on it") from None


class Subscription:
    """Events of one domain, as an iterator.

    ``for event in sub`` yields :class:`PatternEvent` objects until :meth:`close` or until
    ``timeout`` seconds pass without one; ``get(timeout)`` returns one event or ``None``.
    Use it as a context manager to close it.

    A message on the channel that is not a patternlab event (published by something else, or
    corrupt) does not end the subscription: it is logged as a warning on the
    ``patternlab.store`` logger, counted in :attr:`skipped`, and the iteration goes on.
    """

    def __init__(self, pubsub: Any, channel: str, window: int | None, timeout: float | None,
                 where: str) -> None:
        self._ps = pubsub
        self.channel = channel
        self.window = window
        self.timeout = timeout
        self._where = where
        self._closed = False
        self._pending: list[PatternEvent] = []
        #: Why each message that was not a patternlab event was skipped (the latest 100).
        self.skipped: list[str] = []
        self.n_skipped = 0

    def get(self, timeout: float | None = 1.0) -> PatternEvent | None:
        """The next event, waiting at most ``timeout`` seconds (``None``: forever)."""
        if self._closed:
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._closed:
            if self._pending:
                return self._pending.pop(0)
            left = 1.0 if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                msg = self._ps.get_message(timeout=min(left, 1.0))
            except (rex.ConnectionError, rex.TimeoutError) as exc:
                raise StoreConnectionError(f"subscription to {self.channel!r} at {self._where} lost its "
                                           f"connection ({type(exc).__name__}): subscribe again") from None
            if msg is not None and msg.get("type") == "message":
                try:
                    events = parse_events(msg["data"], self.channel)
                except StoreDataError as exc:
                    _log.warning("skipped a message: %s", exc)
                    self.n_skipped += 1
                    self.skipped = [*self.skipped[-99:], str(exc)]
                    continue
                self._pending.extend(ev for ev in events if self.window is None or ev.window == self.window)
                continue
            if deadline is not None and time.monotonic() >= deadline:
                return None
        return None

    def __iter__(self) -> Iterator[PatternEvent]:
        while not self._closed:
            ev = self.get(self.timeout)
            if ev is None:
                return
            yield ev

    def close(self) -> None:
        """Unsubscribe and close the connection."""
        if not self._closed:
            self._closed = True
            try:
                self._ps.unsubscribe()
            except rex.RedisError:
                pass
            self._ps.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
