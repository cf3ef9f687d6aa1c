"""Where patterns persist: one interface, :class:`~.base.PatternStore`, and its three backends --
:mod:`.memory` (in-process, the reference), :mod:`.zarr_store` (a zarr v3 directory or URL) and
:mod:`.redis` (the live store shared through Redis) --; the zarr formats of libraries, run stores
and archives (:mod:`.zarr`, :mod:`._archive`).

Only the interface is exported here: the backends import :mod:`patternlab.library`, which
imports the library format from this package, so they are imported from their modules (or from
``patternlab``).
"""

from .base import PatternStore, PublishResult

__all__ = ["PatternStore", "PublishResult"]
