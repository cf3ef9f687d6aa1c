"""Where streaming and anytime states are saved (:mod:`._persist`: zarr groups and Redis),
imported on first use: the streams themselves need neither."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._extras import imported

if TYPE_CHECKING:
    from ._persist import Backend

__all__ = ["backend_for"]


def backend_for(*args: Any, **kwargs: Any) -> Backend:
    """:func:`._persist.backend_for`, imported on first use."""
    persist = imported("patternlab.stream._persist", "saving a stream's state")
    backend: Backend = persist.backend_for(*args, **kwargs)
    return backend
