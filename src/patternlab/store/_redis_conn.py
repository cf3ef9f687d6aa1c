"""Connections for the Redis pattern store: URL parsing, client creation, retries with exponential
backoff, and the translation of redis-py errors into patternlab errors that never show a password."""

from __future__ import annotations

import difflib
import inspect
import random
import re
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import redis
import redis.exceptions as rex
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

from ..errors import ConfigError, InvalidParameterError, StoreConnectionError, StoreDataError
from ._redis_url import CLUSTER_SCHEMES, SINGLE_SCHEMES, check_url, mask_url

T = TypeVar("T")

__all__ = ["CLUSTER_SCHEMES", "SINGLE_SCHEMES", "Endpoint", "RetryPolicy", "call", "connect", "parse",
           "redact"]

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


#: Phrases of Redis's and redis-py's own messages that hold the word "password" (or pieces of
#: it): a password equal to one of their words ("password", "pass", "pair") is not what they show.
_OWN_WORDS = re.compile(r"username-password pair|AUTH <password>|no password is set|"
                        r"without any password configured|invalid password|password is set|"
                        r"WRONGPASS|Authentication required", re.IGNORECASE)


def _mask_secret(text: str, secret: str) -> str:
    """``text`` with each occurrence of ``secret`` replaced by ``***``, except inside a phrase of
    Redis's own messages (:data:`_OWN_WORDS`): the server never echoes a password there."""
    own = [m.span() for m in _OWN_WORDS.finditer(text)]
    out, k = [], 0
    while True:
        i = text.find(secret, k)
        if i < 0:
            break
        j = i + len(secret)
        if not any(a <= i and j <= b for a, b in own):
            out.append(text[k:i] + "***")
        else:
            out.append(text[k:j])
        k = j
    return "".join(out) + text[k:]


def redact(text: str, password: str | None) -> str:
    """``text`` with the password of any URL in it (and ``password`` itself wherever it is not a
    word of Redis's own message, e.g. a password ``"password"`` in "invalid username-password
    pair") replaced by ``***``.

    Examples
    --------
    >>> redact("WRONGPASS invalid username-password pair or user is disabled.", "password")
    'WRONGPASS invalid username-password pair or user is disabled.'
    >>> redact("Error connecting to redis://app:password@h:6379/0 (password)", "password")
    'Error connecting to redis://app:***@h:6379/0 (***)'
    """
    out = text
    if password:
        out = _mask_secret(out, password)
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
    """Turn a URL, a cluster URL or a list of startup nodes into an :class:`Endpoint`; every part
    of a URL is checked first (:func:`._redis_url.check_url`: a wrong part is a ``ConfigError``
    naming it, the password masked)."""
    if isinstance(target, str):
        parsed = check_url(target, "url")
        opts = tuple(sorted(options.items()))
        if parsed.scheme in CLUSTER_SCHEMES:
            return Endpoint(True, parsed.nodes, None, username or parsed.username,
                            password or parsed.password, parsed.scheme.startswith("rediss"), opts)
        ssl = parsed.scheme == "rediss"
        user, pw = username or parsed.username, password or parsed.password
        if cluster:
            if parsed.scheme == "unix":
                raise ConfigError(f"url={mask_url(target)!r}: a unix:// socket cannot be a Redis Cluster "
                                  "node: pass a redis://HOST:PORT URL with cluster=True")
            return Endpoint(True, parsed.nodes, None, user, pw, ssl, opts)
        _check_url_options(target, parsed.scheme)
        host_port = parsed.nodes[0] if parsed.nodes else ("", 0)
        return Endpoint(False, (host_port,), target, user, pw, ssl, opts)
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


def _check_url_options(target: str, scheme: str) -> None:
    """The query options of a single-node URL (``?socket_timeout=5``) as redis-py reads them: a
    value it cannot parse or an option its connections do not take is a ``ConfigError`` now,
    not a ``TypeError`` at the first command."""
    try:
        found = redis.connection.parse_url(target)
    except ValueError as exc:
        raise ConfigError(f"url={mask_url(target)!r}: a query option is invalid ({exc}): fix or drop "
                          "it (options: socket_timeout=, socket_connect_timeout=, health_check_interval=, "
                          "...)") from None
    cls = {"rediss": redis.connection.SSLConnection,
           "unix": redis.connection.UnixDomainSocketConnection}.get(scheme, redis.connection.Connection)
    accepted = {"connection_class", "max_connections", "host", "port", "db", "username", "password", "path"}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            accepted |= set(inspect.signature(init).parameters)
    unknown = sorted(set(found) - accepted)
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(accepted), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"url={mask_url(target)!r}: unknown query option {unknown[0]!r}: {hint}drop it "
                          f"(TLS options such as ssl_cert_reqs need rediss://)")


def connect(ep: Endpoint) -> redis.Redis | RedisCluster:
    """A client for ``ep``; redis-py's own retries are off (the store retries whole, idempotent
    operations with its own backoff, so that a retried write is never applied twice).

    A Redis Cluster client reads the slot map at once: a node that is not in cluster mode (a
    ``redis+cluster://`` URL for a plain server) is a :class:`StoreConnectionError` saying so."""
    opts = dict(ep.options)
    common: dict[str, Any] = {"username": ep.username, "password": ep.password,
                              "retry": Retry(NoBackoff(), 0), **opts}
    if ep.cluster:
        if ep.ssl:
            common["ssl"] = True
        nodes = [ClusterNode(h, p) for h, p in ep.nodes]
        common["retry"] = Retry(NoBackoff(), 1)
        try:
            return RedisCluster(startup_nodes=nodes, **common)
        except rex.RedisClusterException as exc:
            msg = redact(str(exc), ep.password)
            if "cluster mode is not enabled" in msg.lower():
                plain = "rediss" if ep.ssl else "redis"
                raise StoreConnectionError(
                    f"Redis at {ep.describe()} is a single server, not a Redis Cluster (cluster mode is "
                    f"not enabled on it): connect with {plain}://HOST:PORT/0 instead of "
                    f"{plain}+cluster://") from None
            raise StoreConnectionError(f"Redis Cluster at {ep.describe()} cannot be reached: {msg}: "
                                       "check the node addresses, that the nodes run, and the TLS "
                                       "settings") from None
        except rex.RedisError as exc:
            raise StoreConnectionError(f"Redis Cluster at {ep.describe()} failed: {type(exc).__name__}: "
                                       f"{redact(str(exc), ep.password)}") from None
    assert ep.url is not None
    if ep.url.lower().startswith("unix://"):
        common = {k: v for k, v in common.items() if not k.startswith("ssl")}
    return redis.Redis.from_url(ep.url, **common)


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _speaks_plain_redis(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether ``host:port`` answers a plain-text PING like a Redis server (``+PONG`` or an error
    such as ``-NOAUTH``): then a TLS handshake with it can never succeed."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    return reply.startswith((b"+PONG", b"-NOAUTH", b"-ERR", b"-WRONGPASS", b"-DENIED"))


def _speaks_tls(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether ``host:port`` completes a TLS handshake (certificate not checked: this only asks
    which protocol the server speaks)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock, \
                ctx.wrap_socket(sock, server_hostname=host):
            return True
    except (OSError, ValueError):
        return False


def hopeless(exc: BaseException, ep: Endpoint, probed: list[bool]) -> str | None:
    """Why ``exc`` (a connection error) cannot go away by retrying, or ``None`` when it may be
    transient: a TLS certificate that is not trusted or names another host, a TLS client talking
    to a plain server or the reverse. ``probed`` holds whether the plain-text probe ran already."""
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain)
    low = text.lower()
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or "certificate verify failed" in low:
        return ("its TLS certificate is not trusted or names another host: pass ssl_ca_certs= (the CA "
                "that signed the server's certificate), check the host name in the URL, or "
                "ssl_check_hostname=False")
    if "wrong version number" in low or "unknown protocol" in low or "record layer failure" in low:
        return ("the TLS handshake failed (wrong version number): the server does not speak TLS on this "
                "port; use redis:// instead of rediss://, or the server's TLS port")
    if ep.ssl and not probed and isinstance(exc, (rex.TimeoutError, TimeoutError, rex.ConnectionError)):
        probed.append(True)
        for host, port in ep.nodes:
            if host and _speaks_plain_redis(host, port):
                return (f"{host}:{port} answers plain (unencrypted) Redis, not TLS: use redis:// instead of "
                        "rediss:// (or redis+cluster:// instead of rediss+cluster://), or the server's "
                        "TLS port")
    plain_failure = ("reset by peer" in low or "closed by server" in low or "connection closed" in low
                     or isinstance(exc, (rex.TimeoutError, TimeoutError)))
    if not ep.ssl and not probed and plain_failure and (ep.url is None or not ep.url.startswith("unix")):
        probed.append(True)
        for host, port in ep.nodes:
            if host and _speaks_tls(host, port):
                return (f"{host}:{port} speaks TLS: use rediss:// instead of redis:// (with "
                        "ssl_ca_certs= for the server's CA), or rediss+cluster:// for a cluster")
    return None


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

    def lasting(self, seconds: float) -> RetryPolicy:
        """This policy with as many retries as it takes for the waits to add up to ``seconds``
        (at least this policy's own retries)."""
        step = max(self.backoff, 1e-3)
        total, k = 0.0, 0
        while total < seconds and k < 100_000:
            total += min(max(self.cap, step), step * 2.0**min(k, 60))
            k += 1
        return replace(self, retries=max(self.retries, k), backoff=step, cap=max(self.cap, step))


def call(fn: Callable[[], T], policy: RetryPolicy, ep: Endpoint, what: str,
         on_retry: Callable[[], None] | None = None) -> T:
    """Run ``fn`` (an idempotent operation), retrying transient errors with backoff; translate
    every redis error into a patternlab error whose message names ``what`` and the endpoint."""
    delays = policy.delays()
    t0 = time.monotonic()
    probed: list[bool] = []
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
            if "WRONGTYPE" in msg:
                raise StoreDataError(f"{what}: a key holds another kind of Redis value than patternlab "
                                     f"writes ({msg[:300]}): delete the keys patternlab did not "
                                     "write") from None
            if isinstance(exc, TRANSIENT) and attempt < len(delays):
                _sleep(delays[attempt], on_retry)
                continue
            raise StoreConnectionError(f"{what}: Redis at {ep.describe()} answered an error: {msg}") from None
        except TRANSIENT as exc:
            why = hopeless(exc, ep, probed)
            if why is not None:
                raise StoreConnectionError(
                    f"{what}: Redis at {ep.describe()} cannot be used: {why} (not retried; "
                    f"{type(exc).__name__}: {redact(str(exc), ep.password)})") from None
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
