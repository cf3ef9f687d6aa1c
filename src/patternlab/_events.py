"""Names of the events workers and clients log on the scheduler, shared by the batch machinery
that logs them and the dashboard that reads them."""

from __future__ import annotations

__all__ = ["PARTITION_EVENT", "PROFILE_EVENT", "RUN_EVENT"]

#: Topic of the events a worker logs on the scheduler after each partition (``Worker.log_event``):
#: ``{"partition", "signals", "patterns_founded", "seconds", "domain", "run"}``.
PARTITION_EVENT = "patternlab-partition"
#: Topic of the event the client logs when a batch finishes: ``BatchResult.metrics`` (with
#: ``partitions_resumed``) plus ``"domain"`` and ``"top_patterns"`` (the merged library's
#: highest-support patterns: id, support, prototype values).
RUN_EVENT = "patternlab-run"
#: Topic of the events a client logs while a matrix profile runs on the cluster (``client=``),
#: after each batch of finished tile tasks and when the triangle is complete: ``{"run",
#: "windows", "m", "tasks_done", "tasks_total", "cells_done", "cells_total", "cells_computed",
#: "seconds", "finished"}`` (``cells_computed`` and ``seconds``: this call's own work, without
#: the tasks a resumed run loaded from its store).
PROFILE_EVENT = "patternlab-profile"
