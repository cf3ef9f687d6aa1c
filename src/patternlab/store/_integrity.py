"""The checksummed zarr helpers, moved to :mod:`patternlab._integrity` (below ``profiles/``, which
streams matrix profiles to zarr with them); re-exported here for the stores."""

from __future__ import annotations

from .._integrity import *  # noqa: F403
from .._integrity import __all__ as __all__
