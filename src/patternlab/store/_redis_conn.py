"""Connections for the Redis pattern store: URL parsing, client creation, retries with exponential
backoff, and the translation of redis-py errors into patternlab errors that never show a password."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import redis
import redis.exceptions as rex
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

from ..errors import InvalidParameterError, StoreConnectionError, StoreDataError

T = TypeVar("T")

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SINGLE_SCHEMES = ("redis", "rediss", "unix")

# errors worth another attempt: the server is restarting, loading its data, failing over
TRANSIENT: tuple[type[Exception], ...] = (
    rex.ConnectionError, rex.TimeoutError, rex.BusyLoadingError, rex.ClusterDownError,
    rex.TryAgainError, rex.MasterDownError, rex.ReadOnlyError, rex.ClusterError,
    ConnectionResetError, TimeoutError,
)
AUTH: tuple[type[Exception], ...] = (rex.AuthenticationError, rex.AuthenticationWrongNumberOfArgsError,
                                     rex.AuthorizationError, rex.NoPermissionError)


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect (everything a process needs to open its own client)."""

    cluster: bool
    nodes: tuple[tuple[str, int], ...]
    url: str | None  # single node: the URL as given (credentials are passed separately)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl: bool = False
    options: tuple[tuple[str, Any], ...] = ()

    def describe(self) -> str:
        """The endpoint for messages: no password, ever."""
        user = f"{self.username}:***@" if self.username else ("***@" if self.password else "")
        if self.cluster:
            scheme = "rediss+cluster" if self.ssl else "redis+cluster"
            return f"{scheme}://{user}" + ",".join(f"{h}:{p}" for h, p in self.nodes)
        return redact(self.url or "", self.password)


def redact(text: str, password: str | None) -> str:
    """``text`` with the password of any URL in it (and ``password`` itself) replaced by ``***``."""
    out = text
    if password:
        out = out.replace(password, "***")
    # user:pass@ in URLs
    k = 0
    while True:
        at = out.find("@", k)
        if at < 0:
            break
        start = out.rfind("://", 0, at)
        if start >= 0 and "/" not in out[start + 3: at]:
            cred = out[start + 3: at]
            if ":" in cred:
                user = cred.split(":", 1)[0]
                out = f"{out[: start + 3]}{user}:***{out[at:]}"
                at = start + 3 + len(user) + 4
            elif cred and cred != "***":
                out = f"{out[: start + 3]}***{out[at:]}"
                at = start + 6
        k = at + 1
    return out


def _split_hostport(text: str, what: str) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):  # [ipv6]:port
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise InvalidParameterError(f"{what}: {text!r} is not host:port; write nodes as "
                                    "'host:port' (e.g. '10.0.0.5:7000')")
    return host, int(port)


def parse(target: str | Sequence[Any], *, cluster: bool | None, username: str | None,
          password: str | None, options: dict[str, Any]) -> Endpoint:
    """Turn a URL, a cluster URL or a list of startup nodes into an :class:`Endpoint`."""
    if isinstance(target, str):
        parts = urlsplit(target)
        scheme = parts.scheme.lower()
        if scheme in CLUSTER_SCHEMES:
            netloc = target.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
            cred, _, hosts = netloc.rpartition("@")
            user = pw = None
            if cred:
                u, sep, p = cred.partition(":")
                user, pw = (unquote(u) or None), (unquote(p) if sep else None)
                if not sep:  # "redis+cluster://secret@h:p": a password alone
                    user, pw = None, unquote(u)
            nodes = tuple(_split_hostport(h, "cluster URL") for h in hosts.split(",") if h.strip())
            if not nodes:
                raise InvalidParameterError(f"cluster URL {redact(target, pw)!r} names no node: write "
                                            "redis+cluster://host1:port1,host2:port2")
            return Endpoint(True, nodes, None, username or user, password or pw,
                            scheme.startswith("rediss"), tuple(sorted(options.items())))
        if scheme not in SINGLE_SCHEMES:
            raise InvalidParameterError(
                f"url={redact(target, password)!r}: unknown scheme {scheme!r}; use redis://, rediss:// "
                "(TLS), unix://, or redis+cluster://host:port,host:port (rediss+cluster:// with TLS)")
        user = unquote(parts.username) if parts.username else None
        pw = unquote(parts.password) if parts.password is not None else None
        if parts.username and parts.password is None:  # redis://secret@host: a password alone
            user, pw = None, unquote(parts.username)
        ssl = scheme == "rediss"
        if cluster:
            host, port = parts.hostname or "localhost", parts.port or 6379
            return Endpoint(True, ((host, port),), None, username or user, password or pw, ssl,
                            tuple(sorted(options.items())))
        return Endpoint(False, ((parts.hostname or "", parts.port or 6379),), target,
                        username or user, password or pw, ssl, tuple(sorted(options.items())))
    if isinstance(target, (list, tuple)) and target:
        found: list[tuple[str, int]] = []
        for item in target:
            if isinstance(item, str):
                found.append(_split_hostport(item.split("://")[-1], "startup node"))
            elif isinstance(item, (tuple, list)) and len(item) == 2:
                found.append((str(item[0]), int(item[1])))
            else:
                raise InvalidParameterError(f"startup node {item!r}: pass 'host:port' strings or "
                                            "(host, port) pairs")
        if cluster is False:
            raise InvalidParameterError("a list of startup nodes means a Redis Cluster: drop cluster=False "
                                        "or pass a single redis:// URL")
        return Endpoint(True, tuple(found), None, username, password, bool(options.get("ssl")),
                        tuple(sorted((k, v) for k, v in options.items() if k != "ssl")))
    raise InvalidParameterError(
        f"url_or_client={type(target).__name__} value: pass a URL ('redis://host:6379/0', "
        "'rediss://...', 'redis+cluster://h1:p1,h2:p2'), a list of cluster startup nodes, or a "
        "redis.Redis / redis.cluster.RedisCluster client")


def connect(ep: Endpoint) -> redis.Redis | RedisCluster:
    """A client for ``ep``; redis-py's own retries are off (the store retries whole, idempotent
    operations with its own backoff, so that a retried write is never applied twice)."""
    opts = dict(ep.options)
    common: dict[str, Any] = {"username": ep.username, "password": ep.password,
                              "retry": Retry(NoBackoff(), 0), **opts}
    if ep.cluster:
        if ep.ssl:
            common["ssl"] = True
        nodes = [ClusterNode(h, p) for h, p in ep.nodes]
        common["retry"] = Retry(NoBackoff(), 1)
        return RedisCluster(startup_nodes=nodes, **common)
    assert ep.url is not None
    if ep.url.lower().startswith("unix://"):
        common = {k: v for k, v in common.items() if not k.startswith("ssl")}
    return redis.Redis.from_url(ep.url, **common)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: attempt ``k`` (from 0) waits ``min(cap, backoff * 2**k)``, with up to
    10 % of jitter, before the next one."""

    retries: int
    backoff: float
    cap: float

    def delays(self) -> list[float]:
        return [min(self.cap, self.backoff * 2.0**k) for k in range(self.retries)]

    def with_retries(self, retries: int) -> RetryPolicy:
        return replace(self, retries=retries)


def call(fn: Callable[[], T], policy: RetryPolicy, ep: Endpoint, what: str,
         on_retry: Callable[[], None] | None = None) -> T:
    """Run ``fn`` (an idempotent operation), retrying transient errors with backoff; translate
    every redis error into a patternlab error whose message names ``what`` and the endpoint."""
    delays = policy.delays()
    t0 = time.monotonic()
    for attempt in range(len(delays) + 1):
        try:
            return fn()
        except AUTH as exc:
            raise StoreConnectionError(
                f"{what}: Redis at {ep.describe()} refused the credentials "
                f"({redact(str(exc), ep.password)}): check the user name and password (URL "
                "'redis://user:password@host:port', or username=/password=) and the user's ACL "
                "(it needs +@read +@write +@scripting +@pubsub on the namespace's keys)") from None
        except rex.ResponseError as exc:
            msg = redact(str(exc), ep.password)
            if "WRONGPASS" in msg or "NOAUTH" in msg or "NOPERM" in msg:
                raise StoreConnectionError(
                    f"{what}: Redis at {ep.describe()} refused the credentials ({msg}): check the "
                    "user name, password and ACL") from None
            if "patternlab:" in msg:
                raise StoreDataError(f"{what}: {msg[msg.index('patternlab:') + 12:]}") from None
            if isinstance(exc, TRANSIENT) and attempt < len(delays):
                _sleep(delays[attempt], on_retry)
                continue
            raise StoreConnectionError(f"{what}: Redis at {ep.describe()} answered an error: {msg}") from None
        except TRANSIENT as exc:
            if attempt < len(delays):
                _sleep(delays[attempt], on_retry)
                continue
            raise StoreConnectionError(
                f"{what}: Redis at {ep.describe()} is unreachable after {attempt + 1} attempt(s) over "
                f"{time.monotonic() - t0:.1f} s ({type(exc).__name__}: {redact(str(exc), ep.password)}): "
                "check that the server is running, the host, port and TLS settings (rediss:// with "
                "ssl_ca_certs=...), or raise retries=/backoff=") from None
        except rex.RedisError as exc:
            raise StoreConnectionError(f"{what}: Redis at {ep.describe()} failed: {type(exc).__name__}: "
                                       f"{redact(str(exc), ep.password)}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _sleep(delay: float, on_retry: Callable[[], None] | None) -> None:
    time.sleep(delay * (1.0 + 0.1 * random.random()))
    if on_retry is not None:
        try:
            on_retry()
        except Exception:  # a failed reset is retried by the next attempt
            pass
