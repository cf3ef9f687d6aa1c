"""Exact matrix profiles of one series or an AB-join, distance profiles, motifs and discords.

:mod:`.matrix` holds the public functions; :mod:`._tiling` runs the same kernel tiled
over a Dask cluster (below it in the import order: the in-process code chooses it when given a
client).
"""

from __future__ import annotations

from .matrix import *  # noqa: F403  (the public names, listed once there)
from .matrix import TILES, __all__  # noqa: F401
