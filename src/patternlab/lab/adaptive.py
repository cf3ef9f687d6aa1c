"""Adaptive scaling for Labs that manage their workers (LocalCluster, SSH): Dask's own
:class:`~distributed.deploy.adaptive.Adaptive`, with an optional queue-based target."""

from __future__ import annotations

import math
from typing import Any

from distributed.deploy.adaptive import Adaptive

__all__ = ["QUEUE_DEPTH_OP", "QueueAdaptive", "scheduler_queue_depth"]

#: The scheduler RPC handler that answers the queue depth (installed on first use).
QUEUE_DEPTH_OP = "patternlab_queue_depth"


def scheduler_queue_depth(scheduler: Any) -> int:
    """Tasks waiting for or holding a worker thread: queued on the scheduler, without a worker
    that can run them, or processing on a worker (``Lab.status()['queue_depth']``)."""
    return int(len(scheduler.queued) + len(scheduler.unrunnable)
               + sum(len(ws.processing) for ws in scheduler.workers.values()))


def install_queue_depth_handler(dask_scheduler: Any = None) -> bool:
    """Add the :data:`QUEUE_DEPTH_OP` handler to the scheduler (idempotent; run on the scheduler)."""
    if QUEUE_DEPTH_OP not in dask_scheduler.handlers:

        def patternlab_queue_depth() -> int:  # a named function: the scheduler logs handler names
            return scheduler_queue_depth(dask_scheduler)

        dask_scheduler.handlers[QUEUE_DEPTH_OP] = patternlab_queue_depth
    return True


class QueueAdaptive(Adaptive):
    """Dask's adaptive scaling; with ``queue_depth_per_worker=N`` the target is the number of
    tasks queued or running divided by ``N`` (rounded up) instead of Dask's estimate of how long
    the queued work takes (``target_duration``).

    The queue-based target reacts to the number of tasks alone, so it suits batches of similar
    partitions whose durations Dask has not measured yet; the duration-based target suits mixed
    work. Either way the result is clipped to ``[minimum, maximum]`` and workers are retired by
    Dask (idle workers first, after ``wait_count`` consecutive recommendations).

    Parameters
    ----------
    cluster : distributed.deploy.Cluster
        A cluster that can scale (``LocalCluster``, an SSH cluster, any ``SpecCluster``).
    queue_depth_per_worker : int, optional
        Tasks per worker; ``None``: Dask's duration-based target.
    **kwargs
        ``minimum``, ``maximum``, ``interval``, ``wait_count``, ``target_duration``: see
        :class:`distributed.deploy.adaptive.Adaptive`.

    Examples
    --------
    ``lab.adapt(1, 8, queue_depth_per_worker=4)`` installs one on a Lab's cluster; on any Dask
    cluster: ``cluster.adapt(Adaptive=QueueAdaptive, minimum=1, maximum=8,
    queue_depth_per_worker=4)``. Without a cluster it only holds its settings:

    >>> from patternlab.lab.adaptive import QueueAdaptive
    >>> adaptive = QueueAdaptive(None, queue_depth_per_worker=4, minimum=1, maximum=8)
    >>> adaptive.state, adaptive.queue_depth_per_worker, adaptive.maximum
    ('inactive', 4, 8)
    """

    def __init__(self, cluster: Any = None, *, queue_depth_per_worker: int | None = None,
                 **kwargs: Any) -> None:
        self.queue_depth_per_worker = queue_depth_per_worker
        self._handler_ready = False
        super().__init__(cluster, **kwargs)

    async def queue_depth(self) -> int:
        """The scheduler's queue depth (tasks queued or processing)."""
        if not self._handler_ready:
            from distributed.protocol import pickle

            response = await self.scheduler.run_function(function=pickle.dumps(install_queue_depth_handler))
            if response.get("status") != "OK":
                raise RuntimeError(f"could not install the queue-depth handler on the scheduler: {response}")
            self._handler_ready = True
        return int(await getattr(self.scheduler, QUEUE_DEPTH_OP)())

    async def target(self) -> int:
        """The number of workers wanted now (before clipping to ``[minimum, maximum]``)."""
        if self.queue_depth_per_worker is None:
            return int(await super().target())
        return math.ceil(await self.queue_depth() / self.queue_depth_per_worker)
