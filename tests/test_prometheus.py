"""patternlab_* metrics on the scheduler's /metrics: equal to the batches' own metrics."""

from __future__ import annotations

import asyncio
import math
import threading
import time

import pytest
from distributed import Event, Scheduler

import patternlab as pl
from monitoring_helpers import CONFIG, dashboard_base, monitored_cluster, scrape, signals
from patternlab._events import PARTITION_EVENT, RUN_EVENT
from patternlab.dashboard import LATENCY_BUCKETS, METRICS, PatternlabMonitor, status


def test_metrics_equal_the_runs_metrics() -> None:
    with monitored_cluster() as (cluster, client):
        url = dashboard_base(client) + "/metrics"
        before, _ = scrape(url, cluster.scheduler_address)
        assert before["patternlab_tasks_processed_total"] == 0
        assert before["patternlab_workers"] == 1

        # the only worker thread is busy: the batch's 3 partitions and 2 merges wait in the queue
        go = Event("go", client=client)
        blocker = client.submit(Event.wait, go, 60, key="blocker")
        first: list[pl.BatchResult] = []
        runner = threading.Thread(target=lambda: first.append(pl.batch_perceive(
            signals(12), config=CONFIG, client=client, batch_size=4, progress=False)))
        runner.start()
        try:
            deadline = time.monotonic() + 60
            while scrape(url, cluster.scheduler_address)[0]["patternlab_queue_depth"] != 5:
                assert time.monotonic() < deadline, "the queued tasks never showed"
                time.sleep(0.1)
            st = status(client)
            assert st["queue_depth"] == 5 and st["tasks_processed"] == 0
            assert st["queue"]["waiting"] == 2     # the merges wait for their inputs
        finally:
            go.set()
            runner.join(120)
        assert blocker.result() is True
        runs = [*first, pl.batch_perceive(signals(7, seed=50), config=CONFIG, client=client, batch_size=3,
                                          progress=False)]
        m, families = scrape(url, cluster.scheduler_address)

    def total(key: str) -> float:
        return sum(r.metrics[key] for r in runs)

    assert total("tasks_processed") == 3 + 3
    assert m["patternlab_tasks_processed_total"] == total("tasks_processed")
    assert m["patternlab_signals_total"] == total("signals") == 19
    assert m["patternlab_patterns_discovered_total"] == total("patterns_discovered") > 0
    # the partitions founded patterns; not a bound of the merged count (merges fold similar
    # patterns and promote candidates that several partitions each pooled once)
    assert m["patternlab_patterns_founded_total"] > 0
    assert m["patternlab_runs_total"] == 2
    assert m["patternlab_partitions_resumed_total"] == 0
    assert m["patternlab_queue_depth"] == 0
    assert m["patternlab_workers"] == 1
    # the histogram: one observation per partition; its mean is the runs' avg_latency_ms
    assert m["patternlab_task_latency_seconds_count"] == total("tasks_processed")
    assert m["patternlab_task_latency_seconds_bucket{+Inf}"] == total("tasks_processed")
    busy = sum(r.metrics["avg_latency_ms"] * r.metrics["tasks_processed"] / 1e3 for r in runs)
    assert m["patternlab_task_latency_seconds_sum"] == pytest.approx(busy, rel=1e-9)
    counts = [m[f"patternlab_task_latency_seconds_bucket{{{b}}}"]
              for b in ("0.01", "0.1", "1.0", "10.0", "+Inf")]
    assert counts == sorted(counts)
    # beside Dask's own metrics, on the same endpoint
    assert "dask_scheduler_workers" in families
    for name in METRICS:
        assert name.removesuffix("_total") in families, name


def _partition(run: str, part: int, signals: int = 4, founded: int = 2, seconds: float = 0.2) -> dict:
    return {"partition": part, "signals": signals, "patterns_founded": founded, "seconds": seconds,
            "domain": "d", "run": run}


def test_two_schedulers_in_one_process_keep_their_own_series() -> None:
    """Two schedulers in one process (two LocalClusters in a notebook): one collector, no
    duplicate registration, each scheduler's samples under its own label, gone when it closes."""
    from tornado.httpclient import AsyncHTTPClient

    async def main() -> None:
        http = AsyncHTTPClient()

        async def metrics(s: Scheduler, who: Scheduler) -> dict[str, float]:
            resp = await http.fetch(f"http://127.0.0.1:{s.http_server.port}/metrics")
            from prometheus_client.parser import text_string_to_metric_families

            return {smp.name: smp.value for fam in text_string_to_metric_families(resp.body.decode())
                    for smp in fam.samples
                    if smp.name.startswith("patternlab_") and smp.labels.get("scheduler") == who.address
                    and "le" not in smp.labels}

        async with Scheduler(host="127.0.0.1", port=0, dashboard_address="127.0.0.1:0",
                             preload=["patternlab.dashboard"]) as a, \
                Scheduler(host="127.0.0.1", port=0, dashboard_address="127.0.0.1:0",
                          preload=["patternlab.dashboard"]) as b:
            for k in range(3):
                a.log_event(PARTITION_EVENT, _partition("r1", k))
            a.log_event(RUN_EVENT, {"tasks_processed": 3.0, "signals": 12.0, "patterns_discovered": 5.0,
                                    "wall_seconds": 1.0, "domain": "d"})
            b.log_event(PARTITION_EVENT, _partition("r2", 0, signals=9))
            ma, mb = await metrics(a, a), await metrics(a, b)   # one page shows both, labelled
            assert ma["patternlab_tasks_processed_total"] == 3 and ma["patternlab_signals_total"] == 12
            assert ma["patternlab_patterns_discovered_total"] == 5
            assert mb["patternlab_tasks_processed_total"] == 1 and mb["patternlab_signals_total"] == 9
            assert mb == await metrics(b, b)
            await b.close()
            assert await metrics(a, b) == {}
            assert (await metrics(a, a))["patternlab_signals_total"] == 12
        http.close()

    asyncio.run(main())


def test_duplicate_and_malformed_events_are_not_counted() -> None:
    m = PatternlabMonitor()
    for part in (0, 1, 1, 0, 2):          # partitions 0 and 1 computed twice (retries)
        m.log_event(PARTITION_EVENT, _partition("r", part, seconds=0.03 * (part + 1)))
    m.log_event(PARTITION_EVENT, _partition("other-run", 0))   # another batch: counted
    m.log_event(PARTITION_EVENT, {"partition": "x"})            # malformed: dropped
    m.log_event(PARTITION_EVENT, "not a dict")
    m.log_event("unrelated-topic", _partition("r", 9))
    assert (m.tasks_processed, m.signals, m.patterns_founded) == (4, 16, 8)
    assert m.latency_sum == pytest.approx(0.03 + 0.06 + 0.09 + 0.2)
    # cumulative bucket counts: 0.03 -> le 0.05; 0.06, 0.09 -> le 0.1; 0.2 -> le 0.25
    cum = dict(zip(LATENCY_BUCKETS, [sum(m.latency_counts[:i + 1]) for i in range(len(LATENCY_BUCKETS))]))
    assert (cum[0.025], cum[0.05], cum[0.1], cum[0.25], cum[math.inf]) == (0, 1, 3, 4, 4)
    m.log_event(RUN_EVENT, {"patterns_discovered": 3.0, "signals": 12.0, "wall_seconds": 2.0,
                            "partitions_resumed": 1.0})
    assert (m.patterns_discovered, m.runs, m.partitions_resumed) == (3, 1, 1)
    assert m.snapshot()["throughput_per_sec"] == 6.0
