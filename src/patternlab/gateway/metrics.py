"""The gateway's own Prometheus metrics (``patternlab_gateway_*``), in a registry of its own: a
process that also runs a scheduler (the embedded LocalCluster) keeps Dask's and patternlab's
scheduler metrics on the scheduler's ``/metrics`` and the gateway's on the gateway's.

Route labels are the API's route templates (``/v1/patterns/{domain}``), never raw paths, so a
client cannot grow the number of series.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from .._version import __version__

__all__ = ["GATEWAY_METRICS", "LATENCY_BUCKETS", "GatewayMetrics"]

#: Upper bounds (seconds) of the request latency histogram.
LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                                      60.0, 120.0)

#: The metric families the gateway exports (name on ``/metrics``: description).
GATEWAY_METRICS = {
    "patternlab_gateway_requests_total": "HTTP requests answered, by method, route and status code",
    "patternlab_gateway_request_duration_seconds": "time to answer a request, by method and route",
    "patternlab_gateway_errors_total": "requests answered with an error, by route and error class",
    "patternlab_gateway_requests_in_flight": "requests being worked on",
    "patternlab_gateway_signals_total": "signals perceived (answered 200)",
    "patternlab_gateway_patterns_created_total": "patterns the gateway's publishes created in the store",
    "patternlab_gateway_patterns_updated_total": "stored patterns the gateway's publishes reinforced",
    "patternlab_gateway_support_published_total": "support increments the gateway's publishes added",
    "patternlab_gateway_scheduler_up": "1 when the Dask scheduler answered the last probe",
    "patternlab_gateway_redis_up": "1 when Redis answered the last probe",
    "patternlab_gateway_workers": "workers connected to the scheduler at the last probe",
    "patternlab_gateway_batches": "batches this gateway started, by state",
    "patternlab_gateway_info": "the gateway's version",
}


class GatewayMetrics:
    """The gateway's metric families in their own :class:`prometheus_client.CollectorRegistry`."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        d = GATEWAY_METRICS
        self.requests = Counter("patternlab_gateway_requests", d["patternlab_gateway_requests_total"],
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("patternlab_gateway_request_duration_seconds",
                                 d["patternlab_gateway_request_duration_seconds"], ["method", "route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.errors = Counter("patternlab_gateway_errors", d["patternlab_gateway_errors_total"],
                              ["route", "error"], registry=r)
        self.in_flight = Gauge("patternlab_gateway_requests_in_flight",
                               d["patternlab_gateway_requests_in_flight"], registry=r)
        self.signals = Counter("patternlab_gateway_signals", d["patternlab_gateway_signals_total"],
                               registry=r)
        self.created = Counter("patternlab_gateway_patterns_created",
                               d["patternlab_gateway_patterns_created_total"], registry=r)
        self.updated = Counter("patternlab_gateway_patterns_updated",
                               d["patternlab_gateway_patterns_updated_total"], registry=r)
        self.support = Counter("patternlab_gateway_support_published",
                               d["patternlab_gateway_support_published_total"], registry=r)
        self.scheduler_up = Gauge("patternlab_gateway_scheduler_up", d["patternlab_gateway_scheduler_up"],
                                  registry=r)
        self.redis_up = Gauge("patternlab_gateway_redis_up", d["patternlab_gateway_redis_up"], registry=r)
        self.workers = Gauge("patternlab_gateway_workers", d["patternlab_gateway_workers"], registry=r)
        self.batches = Gauge("patternlab_gateway_batches", d["patternlab_gateway_batches"], ["state"],
                             registry=r)
        info = Gauge("patternlab_gateway_info", d["patternlab_gateway_info"], ["version"], registry=r)
        info.labels(version=__version__).set(1)

    def observe(self, method: str, route: str, status: int, seconds: float, error: str | None) -> None:
        """Count one answered request."""
        self.requests.labels(method=method, route=route, status=str(status)).inc()
        self.latency.labels(method=method, route=route).observe(seconds)
        if error is not None:
            self.errors.labels(route=route, error=error).inc()

    def perceived(self, result: dict[str, Any]) -> None:
        """Count one perceived signal and what its publish did."""
        self.signals.inc()
        pub = result.get("published") or {}
        self.created.inc(int(pub.get("created") or 0))
        self.updated.inc(int(pub.get("updated") or 0))
        self.support.inc(int(pub.get("support_added") or 0))

    def probed(self, health: dict[str, Any], batches: dict[str, int]) -> None:
        """Record a health probe and the batch states."""
        self.scheduler_up.set(1.0 if health.get("scheduler") else 0.0)
        self.redis_up.set(1.0 if health.get("redis") else 0.0)
        self.workers.set(float(health.get("workers") or 0))
        for state, n in batches.items():
            self.batches.labels(state=state).set(n)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return bytes(generate_latest(self.registry))
