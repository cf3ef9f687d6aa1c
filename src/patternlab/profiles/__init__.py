"""Exact matrix profiles of one series or an AB-join, distance profiles, motifs, discords and
search.

:mod:`.matrix` holds the public functions of profiles, :mod:`.search` the search of a query,
:mod:`.multi` the multi-dimensional profile (mSTAMP) with its subspaces, :mod:`.segments`
the segmentation of a profile (FLUSS), :mod:`.consensus` the consensus motif of a collection,
:mod:`.pan` the pan matrix profile over a range of windows;
:mod:`._tiling` runs the same kernel tiled over a Dask cluster (below it in the import order: the
in-process code chooses it when given a client).
"""

from __future__ import annotations

from .consensus import *  # noqa: F403  (the public names, listed once there)
from .consensus import __all__ as _consensus_all
from .discord_search import *  # noqa: F403  (the public names, listed once there)
from .discord_search import __all__ as _discords_all
from .matrix import *  # noqa: F403  (the public names, listed once there)
from .matrix import TILES  # noqa: F401
from .matrix import __all__ as _matrix_all
from .motifs import *  # noqa: F403  (the public names, listed once there)
from .motifs import __all__ as _motifs_all
from .multi import *  # noqa: F403  (the public names, listed once there)
from .multi import __all__ as _multi_all
from .pan import *  # noqa: F403  (the public names, listed once there)
from .pan import __all__ as _pan_all
from .search import *  # noqa: F403  (the public names, listed once there)
from .search import __all__ as _search_all
from .segments import *  # noqa: F403  (the public names, listed once there)
from .segments import __all__ as _segments_all

__all__ = [*_consensus_all, *_discords_all, *_matrix_all, *_motifs_all, *_multi_all, *_pan_all,
           *_search_all, *_segments_all]
