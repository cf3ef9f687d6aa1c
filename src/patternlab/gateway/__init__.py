"""The gateway: patternlab as an HTTP service (``patternlab serve``) in front of a Dask cluster and
the shared Redis pattern store.

:class:`Gateway` does the work (perceive on the cluster, batches, patterns, health) and is usable
from Python; :class:`GatewayServer` and :func:`serve` put it behind a versioned HTTP API
(aiohttp, the ``serve`` extra) with API keys, TLS, limits and Prometheus metrics;
:func:`openapi` describes that API.
"""

from __future__ import annotations

from .app import GatewayServer, make_app, serve, status_of
from .metrics import GATEWAY_METRICS, GatewayMetrics
from .openapi import API_VERSION, openapi
from .service import BatchesOffError, BatchRunningError, Gateway, GatewayTimeoutError
from .settings import API_KEY_ENV, GatewaySettings, load_api_keys

__all__ = [
    "API_KEY_ENV",
    "API_VERSION",
    "GATEWAY_METRICS",
    "BatchRunningError",
    "BatchesOffError",
    "Gateway",
    "GatewayMetrics",
    "GatewayServer",
    "GatewaySettings",
    "GatewayTimeoutError",
    "load_api_keys",
    "make_app",
    "openapi",
    "serve",
    "status_of",
]
