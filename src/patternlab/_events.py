"""Names of the events workers and clients log on the scheduler, shared by the batch machinery
that logs them and the dashboard that reads them."""

from __future__ import annotations

__all__ = ["PARTITION_EVENT", "RUN_EVENT"]

#: Topic of the events a worker logs on the scheduler after each partition (``Worker.log_event``):
#: ``{"partition", "signals", "patterns_founded", "seconds", "domain", "run"}``.
PARTITION_EVENT = "patternlab-partition"
#: Topic of the event the client logs when a batch finishes: ``BatchResult.metrics`` (with
#: ``partitions_resumed``) plus ``"domain"`` and ``"top_patterns"`` (the merged library's
#: highest-support patterns: id, support, prototype values).
RUN_EVENT = "patternlab-run"
