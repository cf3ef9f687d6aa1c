"""The HTTP server of the gateway (aiohttp): routes, API keys, limits, errors, metrics, TLS.

Every request but ``GET /health`` needs ``Authorization: Bearer KEY`` with one of the configured
keys (compared in constant time; the key is never logged nor echoed). A mistake in a request is
answered 4xx with the :class:`~patternlab.PatternlabError` message as JSON
(``{"error": class, "message": ..., "status": code}``); only a failure of the server itself is a
5xx (503 when the scheduler or Redis cannot be reached, 504 when the cluster does not answer in
time, 500 for anything unexpected, whose details go to the log only).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from ..errors import InvalidParameterError, PatternlabError, PatternNotFoundError, StoreDataError
from .codec import (
    TooLargeError,
    json_dumps,
    parse_bool,
    parse_int,
    read_signal,
)
from .metrics import GatewayMetrics
from .openapi import API_VERSION, openapi
from .service import BatchesOffError, BatchRunningError, Gateway, GatewayTimeoutError
from .settings import GatewaySettings

__all__ = ["GatewayServer", "make_app", "serve", "status_of"]

_log = logging.getLogger("patternlab.gateway")
_access = logging.getLogger("patternlab.gateway.access")
_T = TypeVar("_T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The query parameters each route accepts (any other is a mistake, named in the answer).
_QUERY = {"perceive": {"domain", "window", "learn"}, "patterns": {"window", "limit", "offset", "prototypes"},
          "pattern": {"window"}}


def status_of(exc: BaseException) -> int:
    """The HTTP status an exception is answered with.

    Examples
    --------
    >>> import patternlab as pl
    >>> status_of(pl.InvalidWindowError("too short")), status_of(pl.StoreConnectionError("down"))
    (400, 503)
    """
    if isinstance(exc, TooLargeError):
        return 413
    if isinstance(exc, BatchRunningError):
        return 409
    if isinstance(exc, BatchesOffError):
        return 403
    if isinstance(exc, PatternNotFoundError):
        return 404
    if isinstance(exc, GatewayTimeoutError):
        return 504
    if isinstance(exc, ConnectionError):   # StoreConnectionError, ClusterConnectionError
        return 503
    if isinstance(exc, StoreDataError):    # the store's data is damaged: not the request's fault
        return 500
    if isinstance(exc, PatternlabError):
        return 400
    return 500


def _error(status: int, error: str, message: str, **headers: str) -> web.Response:
    body = json_dumps({"error": error, "message": message, "status": status})
    return web.Response(status=status, text=body,
                        content_type="application/json", headers=headers or None)


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json_dumps(obj), content_type="application/json")


_HTTP_MESSAGES = {
    404: "no such route: the API is described at /v1/openapi.json",
    405: "this route does not take that method: see /v1/openapi.json",
}


class GatewayApp:
    """The aiohttp application of a :class:`Gateway`: handlers, middlewares, metrics."""

    def __init__(self, gateway: Gateway, settings: GatewaySettings | None = None) -> None:
        self.gateway = gateway
        self.settings = settings or gateway.settings
        self.metrics = GatewayMetrics()
        self.executor = ThreadPoolExecutor(self.settings.max_in_flight,
                                           thread_name_prefix="patternlab-gateway")
        # probes (/health, /metrics) on threads of their own: they answer while every request
        # thread waits for a busy cluster
        self.probes = ThreadPoolExecutor(2, thread_name_prefix="patternlab-gateway-probe")
        self._keys = [k.encode() for k in self.settings.api_keys]

    async def _run(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: fn(*args, **kwargs))

    async def _probe(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        try:
            h = await asyncio.wait_for(loop.run_in_executor(self.probes, self.gateway.health), timeout=5.0)
        except asyncio.TimeoutError:
            h = {"status": "unavailable", "scheduler": False, "redis": False, "workers": None}
        self.metrics.probed(h, self.gateway.batch_states())
        return h

    # -- middlewares --------------------------------------------------------------------------
    @web.middleware
    async def observe(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Time and count every request; turn every exception into a JSON answer."""
        t0 = time.perf_counter()
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        error: str | None = None
        self.metrics.in_flight.inc()
        try:
            response = await handler(request)
            if response.status >= 400:
                error = response.reason
        except web.HTTPException as exc:   # aiohttp's own: unknown route, method, body too large
            status = exc.status
            error = type(exc).__name__.removeprefix("HTTP")
            if status == 413:
                message = (f"the request body is larger than this gateway's limit of "
                           f"{self.settings.max_body_bytes} bytes: send a shorter signal")
            else:
                message = _HTTP_MESSAGES.get(status, exc.reason)
            response = _error(status, error, message)
        except Exception as exc:
            status = status_of(exc)
            error = type(exc).__name__
            if status == 500 and not isinstance(exc, StoreDataError):
                _log.error("%s %s failed", request.method, route, exc_info=exc)
                message = "internal error: the gateway's log has the details"
            else:
                message = str(exc)
            response = _error(status, error, message)
        finally:
            self.metrics.in_flight.dec()
        seconds = time.perf_counter() - t0
        if error is not None and response.status < 400:
            error = None
        self.metrics.observe(request.method, route, response.status, seconds, error)
        # the path as sent (percent-encoded: no line breaks a client could forge log lines with),
        # without the query string
        path = request.raw_path.split("?")[0][:200]
        _access.info("%s %s %s %d %.1f ms", request.remote, request.method, path, response.status,
                     1e3 * seconds)
        return response

    @web.middleware
    async def authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Require a valid API key everywhere but ``/health`` (unless auth is off)."""
        if self.settings.auth and request.path != "/health":
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            given = token.strip().encode("utf-8", "replace")
            ok = False
            for key in self._keys:   # every key compared, in constant time
                ok |= hmac.compare_digest(given, key)
            if scheme.lower() != "bearer" or not ok:
                return _error(401, "Unauthorized", "a valid API key is required: send the header "
                              "'Authorization: Bearer KEY'",
                              **{"WWW-Authenticate": 'Bearer realm="patternlab"'})
        return await handler(request)

    # -- handlers -----------------------------------------------------------------------------
    @staticmethod
    def _check_query(request: web.Request, route: str) -> None:
        unknown = sorted(set(request.query) - _QUERY[route])
        if unknown:
            raise InvalidParameterError(
                f"unknown query parameter {unknown[0][:40]!r}: this route takes "
                f"{', '.join(sorted(_QUERY[route])) or 'none'}")

    async def health(self, request: web.Request) -> web.Response:
        h = await self._probe()
        return _json(h, 200 if h["status"] == "ok" else 503)

    async def metrics_page(self, request: web.Request) -> web.Response:
        await self._probe()
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def openapi_doc(self, request: web.Request) -> web.Response:
        return _json(openapi())

    async def perceive(self, request: web.Request) -> web.Response:
        self._check_query(request, "perceive")
        q = request.query
        window = parse_int("window", q.get("window"), None, 3, 2 ** 24)
        learn = parse_bool("learn", q.get("learn"), True)
        domain = q.get("domain", "default")
        body = await request.read()
        signal_ = await self._run(read_signal, body, request.headers.get("Content-Type", ""),
                                  self.settings.max_signal_length)
        result = await self._run(self.gateway.perceive, signal_, domain, window=window, learn=learn,
                                 idempotency_key=request.headers.get("Idempotency-Key"))
        self.metrics.perceived(result)
        return _json(result)

    async def libraries(self, request: web.Request) -> web.Response:
        return _json({"libraries": await self._run(self.gateway.libraries)})

    async def patterns(self, request: web.Request) -> web.Response:
        self._check_query(request, "patterns")
        q = request.query
        window = parse_int("window", q.get("window"), None, 3, 2 ** 24)
        limit = parse_int("limit", q.get("limit"), 100, 0, 10_000)
        offset = parse_int("offset", q.get("offset"), 0, 0, 2 ** 62)
        protos = parse_bool("prototypes", q.get("prototypes"), False)
        out = await self._run(self.gateway.patterns, request.match_info["domain"], window,
                              limit=limit, offset=offset, prototypes=protos)
        return _json(out)

    async def pattern(self, request: web.Request) -> web.Response:
        self._check_query(request, "pattern")
        window = parse_int("window", request.query.get("window"), None, 3, 2 ** 24)
        out = await self._run(self.gateway.pattern, request.match_info["domain"],
                              request.match_info["pattern_id"], window)
        return _json(out)

    async def start_batch(self, request: web.Request) -> web.Response:
        body = await request.read()
        spec = _batch_request(body)
        job = await self._run(self.gateway.start_batch, **spec)
        return _json(await self._run(self.gateway.batch, job.name), 202)

    async def list_batches(self, request: web.Request) -> web.Response:
        return _json({"batches": self.gateway.batches()})

    async def batch(self, request: web.Request) -> web.Response:
        return _json(await self._run(self.gateway.batch, request.match_info["name"]))

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(client_max_size=self.settings.max_body_bytes,
                              middlewares=[self.observe, self.authenticate])
        v = f"/{API_VERSION}"
        app.router.add_get("/health", self.health)
        app.router.add_get("/metrics", self.metrics_page)
        app.router.add_get(f"{v}/openapi.json", self.openapi_doc)
        app.router.add_post(f"{v}/perceive", self.perceive)
        app.router.add_get(f"{v}/patterns", self.libraries)
        # any name but a slash reaches its handler (aiohttp's default refuses braces as "no such
        # route"): a bad name is the handler's documented 400
        app.router.add_get(f"{v}/patterns/{{domain:[^/]+}}", self.patterns)
        app.router.add_get(f"{v}/patterns/{{domain:[^/]+}}/{{pattern_id:[^/]+}}", self.pattern)
        app.router.add_post(f"{v}/batches", self.start_batch)
        app.router.add_get(f"{v}/batches", self.list_batches)
        app.router.add_get(f"{v}/batches/{{name:[^/]+}}", self.batch)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _cleanup(self, app: web.Application) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.probes.shutdown(wait=False, cancel_futures=True)


_BATCH_KEYS = {"name": str, "corpus": str, "domain": str, "window": int, "batch_size": int, "overwrite": bool}


def _batch_request(body: bytes) -> dict[str, Any]:
    try:
        spec = json.loads(body or b"null")
    except (ValueError, RecursionError):
        raise InvalidParameterError("the body is not valid JSON: send an object such as "
                                    '{"name": "run-1", "corpus": "corpora/ecg.zarr"}') from None
    if not isinstance(spec, dict):
        raise InvalidParameterError('the body must be a JSON object: {"name": ..., "corpus": ...}')
    for key, value in spec.items():
        kind = _BATCH_KEYS.get(key)
        if kind is None:
            raise InvalidParameterError(f"unknown field {str(key)[:40]!r}: a batch takes "
                                        f"{', '.join(sorted(_BATCH_KEYS))}")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InvalidParameterError(f"{key}={json.dumps(value)[:40]}: pass a {kind.__name__}")
    for key in ("name", "corpus"):
        if key not in spec:
            raise InvalidParameterError(f"the batch needs {key!r}")
    return dict(spec)


def make_app(gateway: Gateway) -> web.Application:
    """The aiohttp application serving ``gateway`` (for embedding it in another aiohttp server).

    Examples
    --------
    >>> from patternlab.gateway import Gateway, GatewaySettings, make_app
    >>> settings = GatewaySettings(redis_url="redis://localhost:6379/0", auth=False)
    >>> app = make_app(Gateway(settings))  # doctest: +SKIP
    """
    return GatewayApp(gateway).app()


def tls_context(settings: GatewaySettings) -> ssl.SSLContext | None:
    """The server's TLS context (TLS 1.2 or later), or ``None`` without a certificate."""
    if settings.certfile is None or settings.keyfile is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(settings.certfile, settings.keyfile)
    return ctx


class GatewayServer:
    """The gateway's HTTP server on its own event loop in a background thread.

    :meth:`start` returns once it listens (``url`` then has the real port); :meth:`stop` (or
    leaving ``with``) shuts it down and closes the :class:`Gateway` if the server opened it.

    Examples
    --------
    >>> from patternlab.gateway import GatewayServer, GatewaySettings
    >>> settings = GatewaySettings(redis_url="redis://localhost:6379/0", auth=False, port=0)
    >>> with GatewayServer(settings) as srv:  # doctest: +SKIP
    ...     print(srv.url)
    """

    def __init__(self, settings: GatewaySettings, gateway: Gateway | None = None) -> None:
        self.settings = settings
        self._own = gateway is None
        self.gateway = gateway
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.http: GatewayApp | None = None

    @property
    def url(self) -> str:
        """The base URL the server listens on."""
        return self.settings.replace(port=self.port or self.settings.port).url

    async def _serve(self, ready: threading.Event) -> None:
        runner: web.AppRunner | None = None
        try:
            if self.gateway is None:
                self.gateway = await asyncio.to_thread(Gateway, self.settings)
            self.http = GatewayApp(self.gateway, self.settings)
            runner = web.AppRunner(self.http.app(), access_log=None, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, self.settings.host, self.settings.port,
                               ssl_context=tls_context(self.settings), backlog=512)
            await site.start()
            self.port = int(runner.addresses[0][1])
            self._stopped = asyncio.Event()
        except BaseException as exc:
            self._error = exc
            ready.set()
            if runner is not None:
                await runner.cleanup()
            return
        ready.set()
        try:
            await self._stopped.wait()
        finally:
            await runner.cleanup()

    def start(self) -> GatewayServer:
        """Start serving in a background thread; raise what stopped it from starting."""
        ready = threading.Event()

        def main() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._serve(ready))
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=main, name="patternlab-gateway-server", daemon=True)
        self._thread.start()
        ready.wait()
        if self._error is not None:
            self._thread.join()
            self._close_gateway()
            raise self._error
        return self

    def stop(self) -> None:
        """Stop serving, and close the gateway if this server opened it."""
        if self._loop is not None and self._stopped is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(30)
            self._stopped = None
        self._close_gateway()

    def _close_gateway(self) -> None:
        if self._own and self.gateway is not None:
            self.gateway.close()
            self.gateway = None

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(settings: GatewaySettings, *, announce: Callable[[str], None] = print) -> int:
    """Serve the gateway in the foreground until SIGINT or SIGTERM; return 0 (what
    ``patternlab serve`` runs).

    ``announce`` receives the lines to show at start (the URL, the cluster, the store; never a key).

    Examples
    --------
    >>> from patternlab.gateway import GatewaySettings, serve
    >>> serve(GatewaySettings(redis_url="redis://localhost:6379/0", auth=False))  # doctest: +SKIP
    patternlab gateway at http://127.0.0.1:8080 (plain HTTP)
    ...
    """
    server = GatewayServer(settings).start()
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        gw = server.gateway
        assert gw is not None
        announce(f"patternlab gateway at {server.url} ({'TLS' if settings.tls else 'plain HTTP'})")
        announce(f"  API:        {server.url}/{API_VERSION}/openapi.json")
        announce(f"  cluster:    {gw.lab.kind} scheduler {gw.lab.scheduler_address}")
        announce(f"  store:      {gw.store!r}")
        keys = len(settings.api_keys)
        announce(f"  auth:       {f'{keys} API key(s)' if settings.auth else 'off (loopback only)'}")
        announce("Press Ctrl-C to stop.")
        while not stop.wait(0.25):
            pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        server.stop()
    return 0
