"""``patternlab serve``: the HTTP gateway (:mod:`patternlab.gateway`) in front of a Dask cluster and
the Redis pattern store, until Ctrl-C or SIGTERM. Needs the ``serve`` extra (aiohttp)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

import patternlab as pl

__all__ = ["register"]


def _serve(args: argparse.Namespace) -> int:
    try:  # here, not at the top: aiohttp is optional and takes a while to import (tests/test_layout.py)
        from .. import gateway
    except ModuleNotFoundError as exc:  # the serve extra is not installed
        if exc.name != "aiohttp":
            raise
        raise pl.ConfigError("patternlab serve needs aiohttp: pip install 'patternlab[serve]'") from None
    redis_url = args.redis or pl.load_cluster_config().redis_url   # PATTERNLAB_REDIS_URL, Dask's config
    keys: tuple[str, ...] = () if args.no_auth else gateway.load_api_keys(args.api_key_file)
    config = pl.load_config(args.config, **({} if args.window is None else {"window": args.window}))
    settings = gateway.GatewaySettings(
        redis_url=redis_url or "", host=args.host, port=args.port, api_keys=keys, auth=not args.no_auth,
        certfile=args.certfile, keyfile=args.keyfile, max_body_bytes=args.max_body_bytes,
        max_signal_length=args.max_signal_length, request_timeout=args.request_timeout,
        max_in_flight=args.max_in_flight, namespace=args.namespace, scheduler=args.scheduler,
        n_workers=args.workers, data_dir=args.data_dir, config=config)
    logging.basicConfig(level=getattr(logging, args.log_level.upper()),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return gateway.serve(settings, announce=lambda line: print(line, flush=True))


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``serve`` subcommand."""
    p = subparsers.add_parser(
        "serve", help="an HTTP API (perceive, batches, patterns, health, metrics) in front of the cluster "
                      "and the Redis store",
        description="Serve patternlab over HTTP: POST /v1/perceive, /v1/batches, GET /v1/patterns, /health, "
                    "/metrics; the API is described at /v1/openapi.json. Work runs on the Dask cluster "
                    "(--scheduler, else PATTERNLAB_CLUSTER, else an embedded LocalCluster) and learns into "
                    "the Redis pattern store (--redis, else PATTERNLAB_REDIS_URL). Every endpoint but "
                    "/health needs 'Authorization: Bearer KEY' with a key from --api-key-file (one per "
                    "line) or PATTERNLAB_API_KEY.")
    add: Any = p.add_argument
    add("--host", default="127.0.0.1", help="interface to listen on (default: loopback only)")
    add("--port", type=int, default=8080, help="port (default 8080; 0: a free one)")
    add("--api-key-file", default=None, metavar="FILE",
        help="the API keys, one per line (default: $PATTERNLAB_API_KEY)")
    add("--no-auth", action="store_true", help="serve without API keys (only on a loopback --host)")
    add("--certfile", default=None, help="serve HTTPS with this PEM certificate chain")
    add("--keyfile", default=None, help="the private key of --certfile (PEM)")
    add("--redis", default=None, metavar="URL",
        help="the Redis pattern store (default: $PATTERNLAB_REDIS_URL)")
    add("--namespace", default="patternlab", help="the store's namespace (default 'patternlab')")
    add("--scheduler", default=None, metavar="ADDRESS",
        help="a Dask scheduler (default: $PATTERNLAB_CLUSTER, else an embedded LocalCluster)")
    add("--workers", type=int, default=None, help="workers of an embedded LocalCluster")
    add("--data-dir", default=None, metavar="DIR",
        help="corpora and run stores of batches (POST /v1/batches; default: batches off)")
    add("--config", default=None, metavar="FILE", help="engine settings (JSON or YAML)")
    add("--window", "-m", type=int, default=None, help="default pattern window")
    add("--max-body-bytes", type=int, default=16 << 20, help="largest request body (default 16 MiB)")
    add("--max-signal-length", type=int, default=100_000,
        help="most samples a signal (default 100,000: the cost of a request grows with its square)")
    add("--request-timeout", type=float, default=120.0, help="seconds a perceive waits for the cluster")
    add("--max-in-flight", type=int, default=32, help="requests worked on at once (default 32)")
    add("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=_serve)
