"""``patternlab_*`` metrics on the scheduler's ``/metrics``.

Dask's ``/metrics`` handler serves ``prometheus_client.REGISTRY``; one collector registered
there once per process reads every live :class:`~._monitor.PatternlabMonitor`. Each sample
carries a ``scheduler`` label (the scheduler's address), so two schedulers in one process
(two LocalClusters in a notebook, tests) never collide or register twice.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from ._monitor import PatternlabMonitor

__all__ = ["LATENCY_BUCKETS", "METRICS", "PatternlabCollector", "register_monitor", "unregister_monitor"]

#: Upper bounds (seconds) of the ``patternlab_task_latency_seconds`` histogram buckets.
LATENCY_BUCKETS: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                                      60.0, 120.0, 300.0, 600.0, math.inf)

#: The metric families exported (name as it appears on ``/metrics``: description).
METRICS = {
    "patternlab_tasks_processed_total": "partitions processed (a retried partition counts once)",
    "patternlab_signals_total": "signals perceived by finished partitions",
    "patternlab_patterns_discovered_total": "new patterns in the merged libraries of finished batches",
    "patternlab_patterns_founded_total": "patterns created by partitions before merging (moves while a "
                                         "batch runs; merges fold similar ones and promote candidates "
                                         "pooled in several partitions)",
    "patternlab_runs_total": "batches finished",
    "patternlab_partitions_resumed_total": "partitions read back from a checkpoint instead of computed",
    "patternlab_task_latency_seconds": "compute time of one partition task",
    "patternlab_queue_depth": "patternlab tasks not finished (waiting, queued or processing)",
    "patternlab_workers": "workers connected to the scheduler",
}


class PatternlabCollector(Collector):
    """Builds the ``patternlab_*`` families from the live monitors at each scrape."""

    def __init__(self) -> None:
        self._monitors: list[PatternlabMonitor] = []
        self._lock = threading.Lock()

    def add(self, monitor: PatternlabMonitor) -> None:
        with self._lock:
            if all(m is not monitor for m in self._monitors):
                self._monitors.append(monitor)

    def remove(self, monitor: PatternlabMonitor) -> None:
        with self._lock:
            self._monitors = [m for m in self._monitors if m is not monitor]

    def collect(self) -> Iterator[Any]:
        with self._lock:
            monitors = [m for m in self._monitors if m.scheduler is not None]
        labels = ["scheduler"]
        fam = {name: (CounterMetricFamily if name.endswith("_total") else GaugeMetricFamily)(
                   name, doc, labels=labels)
               for name, doc in METRICS.items() if name != "patternlab_task_latency_seconds"}
        latency = HistogramMetricFamily("patternlab_task_latency_seconds",
                                        METRICS["patternlab_task_latency_seconds"], labels=labels)
        for m in monitors:
            lab = [str(m.scheduler.address)]
            fam["patternlab_tasks_processed_total"].add_metric(lab, m.tasks_processed)
            fam["patternlab_signals_total"].add_metric(lab, m.signals)
            fam["patternlab_patterns_discovered_total"].add_metric(lab, m.patterns_discovered)
            fam["patternlab_patterns_founded_total"].add_metric(lab, m.patterns_founded)
            fam["patternlab_runs_total"].add_metric(lab, m.runs)
            fam["patternlab_partitions_resumed_total"].add_metric(lab, m.partitions_resumed)
            fam["patternlab_queue_depth"].add_metric(lab, sum(m.queue().values()))
            fam["patternlab_workers"].add_metric(lab, len(m.scheduler.workers))
            cumulative, buckets = 0, []
            for bound, count in zip(LATENCY_BUCKETS, m.latency_counts):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            latency.add_metric(lab, buckets, m.latency_sum)
        if monitors:
            yield from fam.values()
            yield latency

    def describe(self) -> Iterator[Any]:
        return iter(())   # names vary with the live monitors: do not collect at registration


_collector: PatternlabCollector | None = None
_registry_lock = threading.Lock()


def collector() -> PatternlabCollector:
    """The process's collector, registered in ``prometheus_client.REGISTRY`` on first use."""
    global _collector
    with _registry_lock:
        if _collector is None:
            from prometheus_client import REGISTRY

            c = PatternlabCollector()
            REGISTRY.register(c)
            _collector = c
        return _collector


def register_monitor(monitor: PatternlabMonitor) -> None:
    collector().add(monitor)


def unregister_monitor(monitor: PatternlabMonitor) -> None:
    if _collector is not None:
        _collector.remove(monitor)
