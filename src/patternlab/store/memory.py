"""The in-process pattern store: the reference implementation of :class:`PatternStore`."""

from __future__ import annotations

import zarr.storage

from ._local import LibraryState, LocalStore

__all__ = ["MemoryPatternStore"]


class MemoryPatternStore(LocalStore):
    """Pattern libraries held in this process (a :class:`~patternlab.store.base.PatternStore`):
    the reference semantics of every store, thread-safe, gone when the store is closed.

    Each ``(domain, window)`` library keeps its records (support, support-weighted prototype
    sum, provenance, time of the last write) and the tokens it applied; its own archive is an
    in-memory zarr group in the format of the stores' zarr archives (``archive(..., path=...)``
    writes one on disk instead).

    Parameters
    ----------
    token_ttl : float
        Seconds an applied update token is remembered (retries must happen within it).

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> with pl.MemoryPatternStore() as store:
    ...     lib = pl.PatternLibrary(window=8, domain="audio")
    ...     _ = lib.add(np.sin(np.arange(8.0)), signal_id=0, offset=0, support=2)
    ...     store.publish(None, lib, token="t1")
    ...     store.archive("audio", 8, min_support=3, idle_seconds=0) == lib.ids
    ...     store.restore("audio", 8) == lib.ids
    PublishResult(created=1, updated=0, skipped=0, token='t1')
    True
    True
    """

    def __init__(self, *, token_ttl: float = 7 * 86400.0) -> None:
        super().__init__(token_ttl)
        self._libs: dict[tuple[str, int], LibraryState] = {}
        self._archives: dict[tuple[str, int], zarr.storage.MemoryStore] = {}

    def __repr__(self) -> str:
        return f"<MemoryPatternStore: {len(self._libs)} libraries>"

    def _read(self, domain: str, window: int) -> LibraryState | None:
        return self._libs.get((domain, window))

    def _write(self, domain: str, window: int, state: LibraryState) -> None:
        self._libs[(domain, window)] = state

    def _keys(self) -> list[tuple[str, int]]:
        return list(self._libs)

    def _own_archive(self, domain: str, window: int) -> zarr.storage.MemoryStore:
        return self._archives.setdefault((domain, window), zarr.storage.MemoryStore())

    def _release(self) -> None:
        self._libs.clear()
        self._archives.clear()
