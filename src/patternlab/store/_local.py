"""The pattern store semantics run in this process, over a state read and written whole: the body
of :class:`~patternlab.store.memory.MemoryPatternStore` and
:class:`~patternlab.store.zarr_store.ZarrPatternStore`, which only say where the state lives.

Every operation runs under the store's lock (one thread at a time; the zarr store adds a lock
file for other processes). An update is applied group by group as :mod:`._records` defines
them, each group's token recorded with it, so results (``created``, ``updated``, ``skipped``)
are those of the Redis store for the same calls.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..config import EngineConfig
from ..errors import InvalidParameterError
from ..library import PatternLibrary
from . import _archive
from ._records import (
    Change,
    Record,
    apply_change,
    check_config,
    check_ids,
    check_library_key,
    check_number,
    check_publish,
    diff,
    groups,
    records_to_library,
)
from .base import PublishResult

_L = TypeVar("_L", bound="LocalStore")


@dataclass
class LibraryState:
    """One library as stored: its live records and, per shard, the applied tokens with the time
    they were applied."""

    records: dict[str, Record] = field(default_factory=dict)
    tokens: dict[int, dict[str, float]] = field(default_factory=dict)

    def copy(self) -> LibraryState:
        return LibraryState(dict(self.records), {s: dict(t) for s, t in self.tokens.items()})


class LocalStore:
    """The shared body of the in-process stores (see the module docstring)."""

    def __init__(self, token_ttl: float) -> None:
        check_number("token_ttl", token_ttl, 1.0)
        self._token_ttl = float(token_ttl)
        self._lock = threading.RLock()
        self._closed = False

    # -- what a backend provides ----------------------------------------------------------------
    def _read(self, domain: str, window: int) -> LibraryState | None:
        raise NotImplementedError

    def _write(self, domain: str, window: int, state: LibraryState) -> None:
        raise NotImplementedError

    def _keys(self) -> list[tuple[str, int]]:
        raise NotImplementedError

    def _own_archive(self, domain: str, window: int) -> Any:
        raise NotImplementedError

    @contextlib.contextmanager
    def _locked(self, write: bool) -> Iterator[None]:
        with self._lock:
            yield

    def _release(self) -> None:
        """Free the backend's resources (called once, by :meth:`close`)."""

    # -- plumbing -------------------------------------------------------------------------------
    def _check_open(self, what: str) -> None:
        if self._closed:
            raise InvalidParameterError(f"{what}: this {type(self).__name__} is closed; open a new one")

    def close(self) -> None:
        """Release what the store holds; later calls raise :class:`InvalidParameterError`."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._release()

    def __enter__(self: _L) -> _L:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the interface --------------------------------------------------------------------------
    def libraries(self) -> list[tuple[str, int]]:
        """The ``(domain, window)`` libraries ever published, sorted."""
        with self._locked(write=False):
            self._check_open("list libraries")
            return sorted(self._keys())

    def load_library(self, domain: str, window: int, config: EngineConfig | None = None) -> PatternLibrary:
        """The current library of ``(domain, window)``: a new :class:`PatternLibrary` (yours to
        change; empty when nothing is stored), ordered by first provenance, then id.

        Parameters
        ----------
        domain : str
        window : int
        config : EngineConfig, optional
            The library's config (its window is set to ``window``).

        Returns
        -------
        PatternLibrary
        """
        check_library_key(domain, window)
        check_config(config)
        with self._locked(write=False):
            self._check_open(f"load {domain!r}/{window}")
            state = self._read(domain, int(window))
            recs = list(state.records.values()) if state is not None else []
        return records_to_library(recs, domain, int(window), config)

    def publish(self, before: PatternLibrary | None, after: PatternLibrary, *, token: str) -> PublishResult:
        """Write into the store what ``after`` learned relative to ``before``, as
        :meth:`PatternStore.publish <patternlab.store.base.PatternStore.publish>` defines it.

        Parameters
        ----------
        before : PatternLibrary or None
        after : PatternLibrary
        token : str
            Names this update; publishing the same token again changes nothing.

        Returns
        -------
        PublishResult
        """
        check_publish(before, after, token)
        changes = diff(before, after)
        if not changes:
            self._check_open(f"publish token {token!r}")
            return PublishResult(0, 0, 0, token)
        return self._apply(after.domain, after.window, changes, token)

    def _apply(self, domain: str, window: int, changes: Sequence[Change], token: str,
               per_change_tokens: Sequence[str] | None = None) -> PublishResult:
        with self._locked(write=True):
            self._check_open(f"publish {domain!r}/{window} token {token!r}")
            found = self._read(domain, window)
            state = found.copy() if found is not None else LibraryState()
            now = time.time()
            created = updated = skipped = 0
            for tok, shard, part in groups(changes, token, per_change_tokens):
                applied = state.tokens.setdefault(shard, {})
                if tok in applied:
                    skipped += 1
                    continue
                for old in [t for t, at in applied.items() if at <= now - self._token_ttl]:
                    del applied[old]
                new: dict[str, Record] = {}
                for ch in part:
                    rec = new.get(ch.pid) or state.records.get(ch.pid)
                    if rec is None:
                        created += 1
                    else:
                        updated += 1
                    new[ch.pid] = apply_change(rec, ch, window, now)
                state.records.update(new)
                applied[tok] = now
            self._write(domain, window, state)
        return PublishResult(created, updated, skipped, token)

    def archive(self, domain: str, window: int, *, min_support: int, idle_seconds: float,
                path: Any = None) -> list[str]:
        """Move the patterns of ``(domain, window)`` with support below ``min_support``, not
        written for ``idle_seconds``, into the store's own archive (or the zarr archive at
        ``path``). Returns the archived ids, sorted."""
        check_library_key(domain, window)
        with self._locked(write=True):
            self._check_open(f"archive {domain!r}/{window}")
            target = self._own_archive(domain, int(window)) if path is None else path
            return _archive.archive(self, domain, int(window), min_support=min_support,
                                    idle_seconds=idle_seconds, path=target)

    def restore(self, domain: str, window: int, *, ids: Sequence[str] | None = None,
                path: Any = None) -> list[str]:
        """Bring archived patterns (all, or ``ids``) back from the store's own archive (or the
        zarr archive at ``path``). Returns the restored ids, sorted."""
        check_library_key(domain, window)
        ids = check_ids(ids)
        with self._locked(write=True):
            self._check_open(f"restore {domain!r}/{window}")
            target = self._own_archive(domain, int(window)) if path is None else path
            return _archive.restore(self, domain, int(window), path=target, ids=ids, missing_ok=path is None)

    def _archive_candidates(self, domain: str, window: int, min_support: int,
                            idle_seconds: float) -> list[Record]:
        state = self._read(domain, window)
        if state is None:
            return []
        cutoff = time.time() - idle_seconds
        return [r for r in state.records.values() if r.support < min_support and r.updated <= cutoff]

    def _archive_remove(self, domain: str, window: int, records: list[Record]) -> set[str]:
        found = self._read(domain, window)
        if found is None:
            return set()
        state = found.copy()
        done = set()
        for r in records:
            cur = state.records.get(r.pid)
            if cur is not None and cur.support == r.support:  # unchanged since it was copied
                del state.records[r.pid]
                done.add(r.pid)
        if done:
            self._write(domain, window, state)
        return done
