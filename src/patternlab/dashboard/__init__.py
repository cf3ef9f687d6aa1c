"""Monitoring of patternlab on the Dask scheduler: a dashboard page, Prometheus metrics and status.

Load it as a scheduler preload module, wherever the scheduler runs::

    dask scheduler --preload patternlab.dashboard
    LocalCluster(scheduler_kwargs={"preload": ["patternlab.dashboard"]})

or in Dask's config (``distributed.scheduler.preload: [patternlab.dashboard]``, environment
variable ``DASK_DISTRIBUTED__SCHEDULER__PRELOAD='["patternlab.dashboard"]'``). The scheduler
then serves

* a ``patternlab`` page on its dashboard (in the menu, at ``/patternlab``),
* ``patternlab_*`` metrics on its ``/metrics`` beside Dask's own,
* the ``patternlab_status`` RPC read by :func:`status` and ``patternlab status``.

A scheduler started without the preload can be equipped afterwards with :func:`install`.
"""

from __future__ import annotations

from typing import Any

from ._monitor import METADATA_KEY, PLUGIN_NAME, PatternlabMonitor
from ._page import PAGE, add_page, page_path
from ._prometheus import LATENCY_BUCKETS, METRICS
from ._status import EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_UNREACHABLE, ClusterStatus, status

__all__ = [
    "EXIT_HEALTHY",
    "EXIT_UNHEALTHY",
    "EXIT_UNREACHABLE",
    "LATENCY_BUCKETS",
    "METRICS",
    "PAGE",
    "ClusterStatus",
    "PatternlabMonitor",
    "dask_setup",
    "install",
    "status",
]


def dask_setup(scheduler: Any) -> None:
    """Scheduler preload hook: install patternlab's monitoring on ``scheduler``.

    Registers the :class:`PatternlabMonitor` plugin (Prometheus metrics and the status RPC)
    and the dashboard page. Idempotent: a second preload of the module changes nothing.

    Parameters
    ----------
    scheduler : distributed.Scheduler
        The scheduler being started (passed by Dask's preload machinery).
    """
    plugin = scheduler.plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, PatternlabMonitor):
        plugin = PatternlabMonitor()
        plugin.attach(scheduler)
        scheduler.add_plugin(plugin, name=PLUGIN_NAME)
    if add_page(scheduler):
        scheduler.task_metadata[METADATA_KEY]["page"] = page_path(scheduler)


def _install_on_scheduler(dask_scheduler: Any = None) -> bool:
    dask_setup(dask_scheduler)
    return True


def install(client: Any) -> None:
    """Install the monitoring on the scheduler of ``client`` (for a scheduler started without
    the preload module; counting starts now). Needs patternlab importable on the scheduler.

    Parameters
    ----------
    client : distributed.Client or patternlab.Lab
        A client connected to the scheduler.

    Examples
    --------
    >>> from patternlab.dashboard import install
    >>> install(client)   # doctest: +SKIP
    """
    client = getattr(client, "client", client)
    client.run_on_scheduler(_install_on_scheduler)
