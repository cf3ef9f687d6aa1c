"""The scheduler plugin that gathers what patternlab's tasks report.

Workers log a :data:`~patternlab._events.PARTITION_EVENT` after each partition and the client
logs a :data:`~patternlab._events.RUN_EVENT` when a batch finishes, and a
:data:`~patternlab._events.PROFILE_EVENT` as a matrix profile's tile tasks finish; the plugin receives them
through ``SchedulerPlugin.log_event`` and keeps totals, a latency histogram and a bounded
history. The dashboard page, the Prometheus collector and ``patternlab status`` read it.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict, deque
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

from .._events import PARTITION_EVENT, PROFILE_EVENT, RUN_EVENT
from ._prometheus import LATENCY_BUCKETS, register_monitor, unregister_monitor

__all__ = ["LATENCY_BUCKETS", "PLUGIN_NAME", "PatternlabMonitor"]

#: Name under which the plugin is registered on the scheduler (``scheduler.plugins``).
PLUGIN_NAME = "patternlab"
#: Name of the scheduler RPC handler answering ``patternlab status``.
STATUS_HANDLER = "patternlab_status"
#: Scheduler metadata key (``Scheduler.get_metadata``) telling clients the monitor is installed:
#: ``{"handler": STATUS_HANDLER, "page": "patternlab" or None}``.
METADATA_KEY = "patternlab-monitoring"

#: Task-name prefixes of patternlab's tasks (``key_split`` of their keys): batch partitions and merges,
#: and the gateway's perceive requests.
TASK_PREFIXES = ("perceive-partition", "merge-deltas", "perceive-request")
#: Scheduler task states that count as "not finished yet" in the queue depth: the queue depth is
#: the number of patternlab tasks not finished, those running or assigned on a worker
#: (``processing``) and those still at the scheduler (waiting for their inputs, queued for a
#: worker thread, or without a worker that can run them).
PENDING_STATES = ("waiting", "queued", "no-worker", "processing")
_MAX_RUNS_TRACKED = 256      # runs whose partitions are remembered to drop duplicate events
_HISTORY = 20_000            # points of history kept for the dashboard
_RATE_WINDOW = 10.0          # seconds over which the recent signal rate is measured
#: Matrix-profile runs remembered (the most recent; older ones are dropped).
PROFILE_RUNS_KEPT = 16


class PatternlabMonitor(SchedulerPlugin):
    """Totals, latencies and history of patternlab's work on one scheduler.

    Installed by the preload module :mod:`patternlab.dashboard` (``dask_setup``); it can also
    be registered from a client with ``client.register_plugin(PatternlabMonitor())``.

    Counting rules
    --------------
    * ``tasks_processed`` and ``signals`` grow when a partition finishes (its event); a
      partition computed twice (a retry after a lost worker) counts once, a partition read back
      from a checkpoint by a resumed batch not at all (``partitions_resumed`` counts those).
    * ``patterns_discovered`` grows when a batch finishes, by the number of new patterns in
      its *merged* library (the run event). ``patterns_founded`` counts the patterns the
      partitions created before merging, and moves while the batch runs; it is not a bound of
      the merged count: merges combine similar patterns (fewer), and promote candidates that
      several partitions each pooled once (more).
    * ``task_latency`` is the compute time of each partition (the histogram's sum divided by
      its count is the batch's ``avg_latency_ms``).
    """

    name = PLUGIN_NAME

    def __init__(self) -> None:
        self.scheduler: Any = None
        self.started = time.time()
        self.tasks_processed = 0
        self.signals = 0
        self.patterns_founded = 0
        self.patterns_discovered = 0
        self.runs = 0
        self.partitions_resumed = 0
        self.run_signals = 0.0
        self.run_wall_seconds = 0.0
        self.latency_counts = [0] * len(LATENCY_BUCKETS)
        self.latency_sum = 0.0
        self.processed_by_worker: Counter[str] = Counter()
        self.last_run: dict[str, Any] = {}
        self.top_patterns: list[dict[str, Any]] = []
        #: (time, tasks_processed, signals, patterns_founded, patterns_discovered) after each event
        self.history: deque[tuple[float, int, int, int, int]] = deque(maxlen=_HISTORY)
        #: (time, signals, compute seconds) of each partition, for the signal rate
        self.completions: deque[tuple[float, int, float]] = deque(maxlen=_HISTORY)
        #: (time, patterns_discovered total) after each run
        self.run_history: deque[tuple[float, int]] = deque(maxlen=_HISTORY)
        self._seen: OrderedDict[str, set[int]] = OrderedDict()
        #: the latest progress event of each recent matrix-profile run (``client=``), by run
        self.profile_runs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.version = 0   # grows with every change, so that pages redraw only when needed

    # -- lifecycle --------------------------------------------------------------------------
    def attach(self, scheduler: Any) -> None:
        """Bind to ``scheduler``: status handler, Prometheus collector (idempotent)."""
        self.scheduler = scheduler
        scheduler.handlers[STATUS_HANDLER] = self.status_handler
        info = scheduler.task_metadata.get(METADATA_KEY)
        page = info.get("page") if isinstance(info, dict) else None
        scheduler.set_metadata(keys=[METADATA_KEY], value={"handler": STATUS_HANDLER, "page": page})
        register_monitor(self)

    async def start(self, scheduler: Any) -> None:
        self.attach(scheduler)

    async def close(self) -> None:
        unregister_monitor(self)
        s = self.scheduler
        if s is not None and s.handlers.get(STATUS_HANDLER) == self.status_handler:
            del s.handlers[STATUS_HANDLER]
            s.task_metadata.pop(METADATA_KEY, None)

    # -- hooks ------------------------------------------------------------------------------
    def log_event(self, topic: str, msg: Any) -> None:
        if not isinstance(msg, dict):
            return
        try:
            if topic == PARTITION_EVENT:
                self._on_partition(msg)
            elif topic == RUN_EVENT:
                self._on_run(msg)
            elif topic == PROFILE_EVENT:
                self._on_profile(msg)
        except (KeyError, TypeError, ValueError):  # a malformed event is dropped, never raised
            return

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if finish == "memory" and isinstance(key, str) and key.startswith("perceive-partition-"):
            worker = kwargs.get("worker")
            if isinstance(worker, str):
                self.processed_by_worker[worker] += 1
                self.version += 1

    def _on_partition(self, msg: dict[str, Any]) -> None:
        run, part = str(msg["run"]), int(msg["partition"])
        signals, founded, seconds = int(msg["signals"]), int(msg["patterns_founded"]), float(msg["seconds"])
        seen = self._seen.get(run)
        if seen is None:
            seen = self._seen[run] = set()
            while len(self._seen) > _MAX_RUNS_TRACKED:
                self._seen.popitem(last=False)
        if part in seen:
            return
        seen.add(part)
        now = time.time()
        self.tasks_processed += 1
        self.signals += signals
        self.patterns_founded += founded
        self.latency_sum += seconds
        for i, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.latency_counts[i] += 1
                break
        self.completions.append((now, signals, seconds))
        self._record(now)

    def _on_run(self, msg: dict[str, Any]) -> None:
        now = time.time()
        discovered = int(float(msg["patterns_discovered"]))
        self.patterns_discovered += discovered
        self.runs += 1
        self.partitions_resumed += int(float(msg.get("partitions_resumed", 0.0)))
        self.run_signals += float(msg.get("signals", 0.0))
        self.run_wall_seconds += float(msg.get("wall_seconds", 0.0))
        top = msg.get("top_patterns")
        if isinstance(top, (list, tuple)):  # msgpack gives tuples
            self.top_patterns = [p for p in top if isinstance(p, dict) and "values" in p]
        self.last_run = {k: v for k, v in msg.items() if k != "top_patterns"}
        self.run_history.append((now, self.patterns_discovered))
        self._record(now)

    def _on_profile(self, msg: dict[str, Any]) -> None:
        run = str(msg["run"])
        entry = {"run": run, "windows": int(msg["windows"]), "m": int(msg["m"]),
                 "tasks_done": int(msg["tasks_done"]), "tasks_total": int(msg["tasks_total"]),
                 "cells_done": int(msg["cells_done"]), "cells_total": int(msg["cells_total"]),
                 "cells_computed": int(msg["cells_computed"]), "seconds": float(msg["seconds"]),
                 "finished": bool(msg["finished"]), "updated": time.time()}
        old = self.profile_runs.pop(run, None)
        if old is not None and old["finished"] and not entry["finished"]:
            entry = old                   # a late event of a finished run changes nothing
        self.profile_runs[run] = entry
        while len(self.profile_runs) > PROFILE_RUNS_KEPT:
            self.profile_runs.popitem(last=False)
        self.version += 1

    def profiles(self) -> list[dict[str, Any]]:
        """The recent matrix-profile runs, newest first, with their progress (``percent`` of the
        cells) and rate (``cells_per_sec``: cells this call computed over its seconds)."""
        out = []
        for e in reversed(self.profile_runs.values()):
            total = max(e["cells_total"], 1)
            out.append({**e, "percent": 100.0 * e["cells_done"] / total,
                        "cells_per_sec": e["cells_computed"] / e["seconds"] if e["seconds"] > 0 else 0.0})
        return out

    def _record(self, now: float) -> None:
        self.history.append((now, self.tasks_processed, self.signals, self.patterns_founded,
                             self.patterns_discovered))
        self.version += 1

    # -- readings ---------------------------------------------------------------------------
    def recent_rate(self, now: float | None = None, window: float = _RATE_WINDOW) -> float:
        """Signals per second over the last ``window`` seconds (partitions finished in it)."""
        now = time.time() if now is None else now
        total = 0
        for t, n, _ in reversed(self.completions):
            if t <= now - window:
                break
            total += n
        return total / window

    def queue(self) -> dict[str, int]:
        """patternlab tasks not finished yet, by scheduler state."""
        out = dict.fromkeys(PENDING_STATES, 0)
        if self.scheduler is None:
            return out
        for prefix in TASK_PREFIXES:
            tp = self.scheduler.task_prefixes.get(prefix)
            if tp is not None:
                for state in PENDING_STATES:
                    out[state] += int(tp.states.get(state, 0))
        return out

    def queued_by_worker(self) -> dict[str, int]:
        """patternlab tasks assigned to each worker (running or waiting there): their sum is the
        ``processing`` part of :meth:`queue`."""
        out: dict[str, int] = {}
        if self.scheduler is None:
            return out
        for addr, ws in self.scheduler.workers.items():
            out[addr] = sum(1 for ts in ws.processing if ts.prefix.name in TASK_PREFIXES)
        return out

    def snapshot(self) -> dict[str, Any]:
        """The current readings as plain numbers (what ``patternlab status`` receives)."""
        s = self.scheduler
        workers = s.workers if s is not None else {}
        queue = self.queue()
        return {
            "workers": len(workers),
            "threads": int(sum(ws.nthreads for ws in workers.values())),
            "tasks_processed": self.tasks_processed,
            "signals": self.signals,
            "patterns_discovered": self.patterns_discovered,
            "patterns_founded": self.patterns_founded,
            "runs": self.runs,
            "partitions_resumed": self.partitions_resumed,
            "throughput_per_sec": (self.run_signals / self.run_wall_seconds
                                   if self.run_wall_seconds > 0 else 0.0),
            "recent_signals_per_sec": self.recent_rate(),
            "avg_latency_ms": (1000.0 * self.latency_sum / self.tasks_processed
                               if self.tasks_processed else 0.0),
            "queue_depth": int(sum(queue.values())),
            "queue": queue,
            # the last finished batch: its signals and wall time (BatchResult.metrics)
            "last_batch": {"signals": int(float(self.last_run.get("signals", 0))),
                           "wall_seconds": float(self.last_run.get("wall_seconds", 0.0))},
            # what the last batch's candidates became (BatchResult.metrics)
            "candidates": {k: int(float(self.last_run.get(f"candidates_{k}", 0)))
                           for k in ("seen", "pooled", "promoted", "aged_out")},
            "uptime_seconds": time.time() - self.started,
            "profile_runs": self.profiles(),
        }

    def status_handler(self) -> dict[str, Any]:
        """Scheduler RPC handler (``patternlab_status``)."""
        return self.snapshot()
