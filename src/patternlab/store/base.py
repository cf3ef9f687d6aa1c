"""The one interface of every pattern store: :class:`PatternStore`.

Three backends implement it with the same semantics, and pass one shared test suite
(``tests/store_tests.py``): :class:`~patternlab.store.memory.MemoryPatternStore` (in-process, the
reference), :class:`~patternlab.store.zarr_store.ZarrPatternStore` (a zarr v3 directory or URL)
and :class:`~patternlab.store.redis.RedisPatternStore` (a Redis server or cluster, shared live
by many processes).

This module imports no library code at run time, so that ``patternlab.store`` can export it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    from ..config import EngineConfig
    from ..library import PatternLibrary

__all__ = ["PatternStore", "PublishResult"]

_S = TypeVar("_S", bound="PatternStore")


@dataclass(frozen=True)
class PublishResult:
    """What :meth:`PatternStore.publish` did.

    Attributes
    ----------
    created : int
        Patterns created in the store.
    updated : int
        Stored patterns reinforced.
    skipped : int
        Atomic groups of the update (one per shard of the library touched, and per chunk of
        1,000 patterns in a shard) whose token had already been applied: a retry.
    token : str
        The token of the update.

    Examples
    --------
    >>> from patternlab.store import PublishResult
    >>> PublishResult(created=3, updated=0, skipped=0, token="run-1/partition-0")
    PublishResult(created=3, updated=0, skipped=0, token='run-1/partition-0')
    """

    created: int
    updated: int
    skipped: int
    token: str


@runtime_checkable
class PatternStore(Protocol):
    """Where pattern libraries persist, one per ``(domain, window)``, updated by deltas.

    Semantics every backend keeps:

    - A stored pattern has a support and the support-weighted sum of the prototypes it absorbed;
      its prototype is that sum z-normalized. :meth:`publish` adds, it never overwrites, so
      concurrent writers never erase each other's updates.
    - An update is named by a token; publishing a token already applied changes nothing and is
      reported as ``skipped`` (a retry after a failure is always safe).
    - :meth:`load_library` returns a new library (yours to change) in a fixed order: by first
      provenance, then id.
    - Archived patterns leave the live library; :meth:`restore` brings them back.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> store = pl.MemoryPatternStore()
    >>> isinstance(store, pl.PatternStore)
    True
    >>> before = store.load_library("audio", 8)
    >>> after = before.copy()
    >>> _ = after.add(np.sin(np.arange(8.0)), signal_id=0, offset=0)
    >>> store.publish(before, after, token="run-1/signal-0").created
    1
    >>> store.publish(before, after, token="run-1/signal-0").skipped  # a retry: nothing changes
    1
    >>> store.libraries(), len(store.load_library("audio", 8))
    ([('audio', 8)], 1)
    >>> store.close()
    """

    def load_library(self, domain: str, window: int, config: EngineConfig | None = None) -> PatternLibrary:
        """The current library of ``(domain, window)`` (empty when nothing is stored).

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
        ...

    def publish(self, before: PatternLibrary | None, after: PatternLibrary, *, token: str) -> PublishResult:
        """Write into the store what ``after`` learned relative to ``before``.

        Patterns of ``after`` not in ``before`` are created (or merged into a stored pattern of
        the same id); a pattern whose support grew by ``dn`` adds ``dn`` to the stored support
        and ``dn * prototype_after`` to the stored sum; the earlier first provenance and the
        later last provenance are kept. Patterns that ``after`` dropped stay in the store.

        Parameters
        ----------
        before : PatternLibrary or None
            The library ``after`` started from; ``None`` publishes every pattern of ``after``
            with its full support.
        after : PatternLibrary
        token : str
            Names this update; publishing the same token again changes nothing.

        Returns
        -------
        PublishResult
        """
        ...

    def archive(self, domain: str, window: int, *, min_support: int, idle_seconds: float,
                path: Any = None) -> list[str]:
        """Move the patterns with support below ``min_support``, not written for
        ``idle_seconds``, out of the live library into an archive: the store's own (``path``
        ``None``) or the zarr archive at ``path``. Returns the archived ids, sorted."""
        ...

    def restore(self, domain: str, window: int, *, ids: Sequence[str] | None = None,
                path: Any = None) -> list[str]:
        """Bring archived patterns (all, or ``ids``) back into the live library and remove them
        from the archive. Returns the restored ids, sorted; an id not archived raises
        :class:`~patternlab.errors.PatternNotFoundError`."""
        ...

    def libraries(self) -> list[tuple[str, int]]:
        """The ``(domain, window)`` libraries ever published, sorted."""
        ...

    def close(self) -> None:
        """Release what the store holds; later calls raise."""
        ...

    def __enter__(self: _S) -> _S:
        ...

    def __exit__(self, *exc: object) -> None:
        ...
