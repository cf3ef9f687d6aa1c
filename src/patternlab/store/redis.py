"""The live, shared pattern store in Redis (single node or Redis Cluster).

Layout: each (domain, window) library is cut into :data:`SHARDS` shards by a hash of the pattern
id. Every key of a shard -- its patterns (one hash each), its index, its version counter and its
set of applied update tokens -- carries the same hash tag, so a shard lives in one cluster slot
and is updated atomically by one server-side script; the shards' slots spread a library over all
primaries of a cluster. Values are plain bytes (little-endian float64) and numbers: nothing is
ever unpickled or evaluated.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.exceptions as rex
from redis.cluster import RedisCluster

from ..config import EngineConfig
from ..errors import InvalidParameterError, StoreDataError
from ..library import PatternLibrary
from . import _archive, _redis_archive
from . import _redis_conn as conn
from ._records import CHUNK, Change, check_config, check_ids, check_publish, diff, groups
from ._redis_events import PatternEvent, Subscription
from ._redis_format import (
    FIELDS,
    MAX_DIGITS,
    SHARDS,
    Record,
    bad_key,
    bad_support,
    check_library_key,
    check_number,
    parse_record,
    prov_key,
    records_to_library,
    reraise_transient,
    shard_of,
    short_value,
    text_of,
    wrong_type,
)
from ._redis_lua import PUBLISH_SCRIPT, Script
from .base import PublishResult

__all__ = ["CHUNK", "SHARDS", "PatternEvent", "PublishResult", "RedisPatternStore", "Subscription",
           "as_redis_store"]

Client = redis.Redis | RedisCluster
_log = logging.getLogger("patternlab.store")


@dataclass
class _Cached:
    versions: list[int]
    shards: dict[int, dict[str, Record]]
    at: float
    truncated: bool = False
    library: PatternLibrary | None = None
    built_for: EngineConfig | None = None
    damage: dict[int, list[str]] = field(default_factory=dict)
    reported: Any = None

    def size(self) -> int:
        return sum(len(s) for s in self.shards.values())


@dataclass
class _Options:
    namespace: str
    max_local_patterns: int
    sync_interval: float
    retries: int
    backoff: float
    backoff_cap: float
    token_ttl: float
    archive_path: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class RedisPatternStore:
    """Pattern libraries kept in Redis and shared by every process that opens the same store
    (a :class:`~patternlab.store.base.PatternStore`).

    Parameters
    ----------
    url_or_client : str, list of str, redis.Redis or redis.cluster.RedisCluster
        ``redis://[user:password@]host:port/db``, ``rediss://...`` (TLS), ``unix:///path``; a
        Redis Cluster as ``redis+cluster://[user:password@]host1:port1,host2:port2`` (or
        ``rediss+cluster://``), a list of ``"host:port"`` startup nodes, or a ``redis://`` URL of
        any node with ``cluster=True``; or an existing client (then the store cannot be pickled).
    namespace : str
        Prefix of every key, so several independent stores can share one server.
    cluster : bool, optional
        Treat a ``redis://`` URL as one node of a Redis Cluster.
    max_local_patterns : int
        The local cache holds at most this many patterns (over all libraries; a library larger
        than that is served as its ``max_local_patterns`` highest-support patterns).
    sync_interval : float
        Seconds a cached library is served before checking the store again (one round trip that
        reads the shards' version counters; only changed shards are fetched).
    retries, backoff, backoff_cap : int, float, float
        Transient failures (connection lost, server restarting or loading, failover) are retried
        ``retries`` times, waiting ``backoff * 2**k`` seconds (at most ``backoff_cap``) before
        attempt ``k + 1``. Every operation is idempotent, so a retry never applies twice.
    health_check_interval : float
        Connections idle longer than this are checked with PING before use (0: never).
    socket_timeout : float
        Seconds to wait for the server on connect and on each reply.
    username, password : str, optional
        ACL user and password (override those in the URL).
    ssl_ca_certs, ssl_certfile, ssl_keyfile, ssl_cert_reqs, ssl_check_hostname
        TLS options (``rediss://`` URLs, or ``ssl=True`` for a list of cluster nodes).
    token_ttl : float
        Seconds an applied update token is remembered (retries must happen within it).
    archive_path : str or path, optional
        The zarr archive that :meth:`archive` and :meth:`restore` use when given no ``path``
        (one archive per ``(domain, window)``: a path, or a URL; ``{domain}`` and ``{window}``
        in it are replaced by the library's).

    Examples
    --------
    With a server at ``localhost:6379``::

        import patternlab as pl
        store = pl.RedisPatternStore("redis://localhost:6379/0", namespace="demo")
        before = store.load_library("audio", 64)
        res = pl.perceive(signal, domain="audio", library=before.copy())
        store.publish(before, res.library, token="run-1/signal-0")
        with store.subscribe("audio", timeout=5) as events:
            for event in events:
                print(event.kind, event.id, event.support)
    """

    def __init__(self, url_or_client: str | Sequence[Any] | Client, namespace: str = "patternlab", *,
                 cluster: bool | None = None, max_local_patterns: int = 100_000,
                 sync_interval: float = 5.0, retries: int = 6, backoff: float = 0.05,
                 backoff_cap: float = 2.0, health_check_interval: float = 30.0,
                 socket_timeout: float = 10.0, username: str | None = None, password: str | None = None,
                 ssl: bool | None = None, ssl_ca_certs: str | None = None, ssl_certfile: str | None = None,
                 ssl_keyfile: str | None = None, ssl_cert_reqs: str | None = None,
                 ssl_check_hostname: bool | None = None, token_ttl: float = 7 * 86400.0,
                 archive_path: Any = None) -> None:
        if not isinstance(namespace, str) or not namespace or any(c in namespace for c in "{}"):
            raise InvalidParameterError(f"namespace={namespace!r}: pass a non-empty string without "
                                        "'{' or '}' (they delimit Redis Cluster hash tags)")
        check_number("max_local_patterns", max_local_patterns, 1, integer=True)
        check_number("sync_interval", sync_interval, 0.0)
        check_number("retries", retries, 0, integer=True)
        check_number("backoff", backoff, 0.0)
        check_number("backoff_cap", backoff_cap, 0.0)
        check_number("health_check_interval", health_check_interval, 0.0)
        check_number("socket_timeout", socket_timeout, 0.001)
        check_number("token_ttl", token_ttl, 1.0)
        self._opts = _Options(namespace, int(max_local_patterns), float(sync_interval), int(retries),
                              float(backoff), float(backoff_cap), float(token_ttl), archive_path)
        self._policy = conn.RetryPolicy(int(retries), float(backoff), float(backoff_cap))
        self._owned = not isinstance(url_or_client, (redis.Redis, RedisCluster))
        self._init_args: tuple[Any, ...] | None = None
        if not isinstance(url_or_client, (redis.Redis, RedisCluster)):
            opts: dict[str, Any] = {"socket_timeout": float(socket_timeout),
                                    "socket_connect_timeout": float(socket_timeout),
                                    "health_check_interval": health_check_interval}
            for key, val in (("ssl", ssl), ("ssl_ca_certs", ssl_ca_certs), ("ssl_certfile", ssl_certfile),
                             ("ssl_keyfile", ssl_keyfile), ("ssl_cert_reqs", ssl_cert_reqs),
                             ("ssl_check_hostname", ssl_check_hostname)):
                if val is not None:
                    opts[key] = val
            self._ep = conn.parse(url_or_client, cluster=cluster, username=username, password=password,
                                  options=opts)
            self._client: Client = conn.connect(self._ep)
        else:
            client = url_or_client
            self._client = client  # type: ignore[assignment]
            kw = (client.get_connection_kwargs() if isinstance(client, redis.Redis)  # type: ignore[union-attr]
                  else {})
            nodes = (tuple((n.host, n.port) for n in client.get_nodes())  # type: ignore[union-attr]
                     if isinstance(client, RedisCluster) else ((kw.get("host", "?"), kw.get("port", 0)),))
            self._ep = conn.Endpoint(isinstance(client, RedisCluster), nodes,
                                     None if isinstance(client, RedisCluster)
                                     else f"redis://{nodes[0][0]}:{nodes[0][1]}",
                                     kw.get("username"), kw.get("password"))
        self._cluster = isinstance(self._client, RedisCluster)
        self._cache: OrderedDict[tuple[str, int], _Cached] = OrderedDict()
        self._lock = threading.RLock()
        self._closed = False

    # -- plumbing -----------------------------------------------------------------------------
    def __repr__(self) -> str:
        kind = "cluster" if self._cluster else "single node"
        return f"<RedisPatternStore {self._ep.describe()} ({kind}) namespace={self.namespace!r}>"

    @property
    def namespace(self) -> str:
        """The key prefix."""
        return self._opts.namespace

    @property
    def client(self) -> Client:
        """The underlying redis-py client (``redis.Redis`` or ``redis.cluster.RedisCluster``)."""
        return self._client

    @property
    def is_cluster(self) -> bool:
        """Whether the store is a Redis Cluster."""
        return self._cluster

    def __getstate__(self) -> dict[str, Any]:
        if not self._owned:
            raise InvalidParameterError(
                "a RedisPatternStore built from a client object cannot be sent to another process: "
                "build it from a URL (redis://..., redis+cluster://...) instead")
        return {"ep": self._ep, "opts": self._opts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._opts = state["opts"]
        self._ep = state["ep"]
        o = self._opts
        self._policy = conn.RetryPolicy(o.retries, o.backoff, o.backoff_cap)
        self._owned = True
        self._client = conn.connect(self._ep)
        self._cluster = isinstance(self._client, RedisCluster)
        self._cache = OrderedDict()
        self._lock = threading.RLock()
        self._closed = False

    def close(self) -> None:
        """Close the connections this store opened (a client passed in is left open)."""
        if self._owned and not self._closed:
            self._client.close()
        self._closed = True
        self._cache.clear()

    def __enter__(self) -> RedisPatternStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, fn: Any, what: str, policy: conn.RetryPolicy | None = None) -> Any:
        if self._closed:
            raise InvalidParameterError(f"{what}: this RedisPatternStore is closed; open a new one")
        return conn.call(fn, policy or self._policy, self._ep, what)

    def ping(self) -> float:
        """Round-trip time of a PING in seconds (raises :class:`StoreConnectionError` when the
        server cannot be reached after the retries)."""
        def go() -> float:
            t0 = time.perf_counter()
            self._client.ping()
            return time.perf_counter() - t0
        return float(self._call(go, "ping"))

    # -- keys ---------------------------------------------------------------------------------
    def _tag(self, domain: str, window: int, shard: int) -> str:
        digest = hashlib.sha1(f"{domain}\x1f{int(window)}".encode()).hexdigest()[:16]
        return f"{self.namespace}:{{{digest}:{shard}}}"

    def _key(self, domain: str, window: int, shard: int, what: str) -> str:
        return f"{self._tag(domain, window, shard)}:{what}"

    def _pkey(self, domain: str, window: int, pid: str) -> str:
        return f"{self._tag(domain, window, shard_of(pid))}:p:{pid}"

    def channel(self, domain: str) -> str:
        """The pub/sub channel of ``domain``'s events."""
        return f"{self.namespace}:events:{domain}"

    def _libraries_key(self) -> str:
        return f"{self.namespace}:libraries"

    def _published_key(self) -> str:
        """Tokens of the publishes applied completely (sorted set token -> time, kept ``token_ttl``
        seconds): a later publish under such a token changes nothing, even where it touches
        shards the first one did not (the shards' own tokens cover a publish cut short)."""
        return f"{self.namespace}:published"

    # -- reading ------------------------------------------------------------------------------
    def libraries(self) -> list[tuple[str, int]]:
        """The ``(domain, window)`` libraries ever published into this namespace."""
        raw = self._call(lambda: self._client.smembers(self._libraries_key()), "list libraries")
        out = []
        for item in raw:
            try:
                dom, win = json.loads(item)
                if not isinstance(dom, str) or isinstance(win, bool) or not isinstance(win, int):
                    raise TypeError(item)
                check_library_key(dom, win)
                out.append((dom, win))
            except (ValueError, TypeError, OverflowError, RecursionError):
                _log.warning("Redis store %s: skipped a damaged value: %s holds %s, which patternlab did "
                             "not write: delete that member", self.namespace, self._libraries_key(),
                             short_value(item))
        return sorted(out)

    def count(self, domain: str, window: int) -> int:
        """Number of live patterns of ``(domain, window)`` in the store."""
        check_library_key(domain, window)

        def go() -> int:
            pipe = self._client.pipeline(transaction=False)
            for s in range(SHARDS):
                pipe.zcard(self._key(domain, window, s, "idx"))
            return int(sum(pipe.execute()))
        return int(self._call(go, f"count {domain!r}/{window}"))

    def _versions(self, domain: str, window: int) -> tuple[list[int], dict[int, list[str]]]:
        """The shards' version counters; a counter that is not a small integer (another Redis
        type, text, an over-long number) reads as -1 (so the shard is read again at every sync)
        and is reported."""
        def go() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for s in range(SHARDS):
                pipe.get(self._key(domain, window, s, "ver"))
            return list(pipe.execute(raise_on_error=False))
        out: list[int] = []
        damage: dict[int, list[str]] = {}
        for s, raw in enumerate(self._call(go, f"sync {domain!r}/{window}")):
            key = self._key(domain, window, s, "ver")
            if raw is None:
                out.append(0)
                continue
            if isinstance(raw, Exception):
                damage.setdefault(s, []).append(bad_key(key, raw, "a string (the shard's version counter)"))
                out.append(-1)
                continue
            text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
            if not (text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS):
                damage.setdefault(s, []).append(
                    f"version counter {key!r} holds {short_value(raw)}, not a non-negative integer: the "
                    "value was not written by patternlab (or is corrupt); delete that key (the shard is "
                    "read again at every sync meanwhile)")
                out.append(-1)
                continue
            out.append(int(text))
        return out, damage

    def _fetch(self, domain: str, window: int, shards: Sequence[int]
               ) -> tuple[dict[int, dict[str, Record]], dict[int, list[str]]]:
        """The records of ``shards`` and, per shard, what could not be read (a damaged value is
        left out and described, naming its key)."""
        def go() -> tuple[dict[int, dict[str, Record]], dict[int, list[str]]]:
            damage: dict[int, list[str]] = {}
            pipe = self._client.pipeline(transaction=False)
            for s in shards:
                pipe.zrange(self._key(domain, window, s, "idx"), 0, -1)
            lists = pipe.execute(raise_on_error=False)
            reraise_transient(lists)
            pipe = self._client.pipeline(transaction=False)
            order: list[tuple[int, str, str]] = []
            for s, pids in zip(shards, lists):
                idx = self._key(domain, window, s, "idx")
                if isinstance(pids, Exception):
                    damage.setdefault(s, []).append(bad_key(idx, pids, "a sorted set (the shard's index)"))
                    continue
                for raw in pids:
                    try:
                        pid = text_of(raw, idx, "member")
                    except StoreDataError as exc:
                        damage.setdefault(s, []).append(str(exc))
                        continue
                    key = self._key(domain, window, s, f"p:{pid}")
                    order.append((s, pid, key))
                    pipe.hmget(key, FIELDS)
            values = pipe.execute(raise_on_error=False) if order else []
            reraise_transient(values)
            out: dict[int, dict[str, Record]] = {s: {} for s in shards}
            for (s, pid, key), vals in zip(order, values):
                if isinstance(vals, Exception):
                    damage.setdefault(s, []).append(bad_key(key, vals, "a hash (one pattern)"))
                    continue
                if vals[4] is None and vals[5] is None:
                    continue  # archived between the two round trips
                try:
                    out[s][pid] = parse_record(key, pid, window, vals)
                except StoreDataError as exc:
                    damage.setdefault(s, []).append(str(exc))
            return out, damage
        return self._call(go, f"load {domain!r}/{window}")  # type: ignore[no-any-return]

    def _sync(self, domain: str, window: int, refresh: bool) -> _Cached:
        key = (domain, window)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            if not refresh and now - cached.at < self._opts.sync_interval:
                return cached
        versions, ver_damage = self._versions(domain, window)
        if cached is not None and versions == cached.versions and -1 not in versions and not cached.damage:
            cached.at = now
            return cached
        if cached is None or cached.truncated:
            shards, damage = self._fetch(domain, window, range(SHARDS))
        else:
            changed = [s for s in range(SHARDS)  # damaged shards are read again until repaired
                       if versions[s] != cached.versions[s] or versions[s] < 0 or s in cached.damage]
            shards = dict(cached.shards)
            damage = {s: d for s, d in cached.damage.items() if s not in changed}
            got, new_damage = self._fetch(domain, window, changed)
            shards.update(got)
            damage.update(new_damage)
        for s, msgs in ver_damage.items():
            damage[s] = msgs + damage.get(s, [])
        entry = _Cached(versions, shards, now, damage=damage)
        limit = self._opts.max_local_patterns
        if entry.size() > limit:
            recs = sorted((r for d in shards.values() for r in d.values()),
                          key=lambda r: (-r.support, prov_key(*r.first), r.pid))[:limit]
            keep: dict[int, dict[str, Record]] = {s: {} for s in range(SHARDS)}
            for r in recs:
                keep[shard_of(r.pid)][r.pid] = r
            entry = _Cached(versions, keep, now, truncated=True, damage=damage)
        self._cache[key] = entry
        self._cache.move_to_end(key)
        total = sum(c.size() for c in self._cache.values())
        while total > limit and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            total -= old.size()
        return entry

    def damaged(self, domain: str, window: int) -> list[str]:
        """What the last :meth:`load_library` of ``(domain, window)`` could not read: one message
        per damaged value (a key of another Redis type, a pattern hash with a field patternlab did
        not write, a corrupt version counter), each naming the key and what to do; empty when all
        was readable (or the library was never loaded).

        Examples
        --------
        With a server at ``localhost:6379``::

            lib = store.load_library("audio", 64, skip_damaged=True)
            for problem in store.damaged("audio", 64):
                print(problem)
        """
        entry = self._cache.get((domain, int(window)))
        return [] if entry is None else [m for s in sorted(entry.damage) for m in entry.damage[s]]

    def load_library(self, domain: str, window: int, config: EngineConfig | None = None, *,
                     refresh: bool = False, skip_damaged: bool = False) -> PatternLibrary:
        """The current library of ``(domain, window)``: a new :class:`PatternLibrary` (yours to
        change), in a fixed order (by first provenance, then id) so that every process that loads
        the same store state gets the same library.

        Served from the local cache when it was synchronized less than ``sync_interval`` seconds
        ago (``refresh=True`` forces a check). At most ``max_local_patterns`` patterns, the
        highest-support ones.

        Parameters
        ----------
        domain : str
        window : int
        config : EngineConfig, optional
            The library's config (its window is set to ``window``).
        refresh : bool
            Check the store now, whatever the age of the cache.
        skip_damaged : bool
            A value in the store that patternlab did not write (another Redis type, a field out
            of range, bytes that cannot be a prototype) raises :class:`StoreDataError` naming
            its key; with ``skip_damaged=True`` the damaged patterns are left out, each logged
            as a warning on the ``patternlab.store`` logger and listed by :meth:`damaged`.

        Raises
        ------
        StoreDataError
            A damaged value (unless ``skip_damaged``); the message names the key and the fix.
        StoreConnectionError
            The server cannot be reached after the retries.
        """
        check_library_key(domain, window)
        check_config(config)
        with self._lock:  # one store may serve several threads
            entry = self._sync(domain, int(window), refresh)
            problems = [m for s in sorted(entry.damage) for m in entry.damage[s]]
            if problems and not skip_damaged:
                more = f" ({len(problems) - 1} more damaged value(s))" if len(problems) > 1 else ""
                raise StoreDataError(f"{problems[0]}{more}; load_library(..., skip_damaged=True) loads "
                                     "the rest")
            if problems and entry.reported is not entry.damage:
                for m in problems:
                    _log.warning("Redis store %s: skipped a damaged value: %s", self.namespace, m)
                entry.reported = entry.damage
            if entry.library is None or entry.built_for != config:
                entry.library = _build(entry, domain, int(window), config)
                entry.built_for = config
            return entry.library.copy()

    # -- writing ------------------------------------------------------------------------------
    def publish(self, before: PatternLibrary | None, after: PatternLibrary, *, token: str,
                retry_seconds: float | None = None) -> PublishResult:
        """Write into the store what ``after`` learned relative to ``before``.

        Patterns of ``after`` not in ``before`` are created (or, when the store already holds
        that id, merged into it); a pattern whose support grew by ``dn`` adds ``dn`` to the
        stored support and ``dn * prototype_after`` to the stored support-weighted sum, whose
        normalization is the prototype. These additions commute, so concurrent writers never
        erase each other's updates. Patterns that ``after`` dropped are left in the store
        (use :meth:`archive`).

        Parameters
        ----------
        before : PatternLibrary or None
            The library ``after`` started from (usually from :meth:`load_library`); ``None``
            publishes every pattern of ``after`` with its full support.
        after : PatternLibrary
        token : str
            Names this update (e.g. ``"run-id/partition-7"``). Publishing the same token again
            (a retry after a lost connection or a server restart, even after a partial apply)
            changes nothing: the store ends as after one complete publish. A token whose
            publish completed is remembered whole (``token_ttl`` seconds), so a later publish
            under it changes nothing even where its diff differs (the same work rerun from a
            library that already holds its result).
        retry_seconds : float, optional
            Keep retrying a server that cannot be reached for at least this many seconds (with
            the store's backoff, each wait at most ``backoff_cap``) instead of the store's
            ``retries``: for a publish that follows hours of work.

        Returns
        -------
        PublishResult
        """
        check_publish(before, after, token)
        policy = None
        if retry_seconds is not None:
            check_number("retry_seconds", retry_seconds, 0.0)
            policy = self._policy.lasting(float(retry_seconds))
        domain, window = after.domain, after.window
        changes = diff(before, after)
        key = (domain, window)
        if key in self._cache:
            self._cache[key].at = -math.inf  # read your own writes at the next load
        if not changes:
            if self._closed:
                raise InvalidParameterError(f"publish token {token!r}: this RedisPatternStore is closed; "
                                            "open a new one")
            return PublishResult(0, 0, 0, token)
        done = self._call(lambda: self._client.zscore(self._published_key(), token),
                          f"publish {domain!r}/{window} token {token!r}", policy)
        if done is not None:  # a complete publish under this token: the same work, counted once
            return PublishResult(0, 0, len(groups(changes, token)), token)
        out = self._apply(domain, window, changes, token, policy=policy)

        def mark() -> None:  # every shard applied: remember the whole publish
            now = time.time()
            pipe = self._client.pipeline(transaction=False)
            pipe.zadd(self._published_key(), {token: now})
            pipe.zremrangebyscore(self._published_key(), "-inf", now - self._opts.token_ttl)
            pipe.execute()
        self._call(mark, f"publish {domain!r}/{window} token {token!r}", policy)
        return out

    def _apply(self, domain: str, window: int, changes: Sequence[Change], token: str,
               per_change_tokens: Sequence[str] | None = None,
               policy: conn.RetryPolicy | None = None) -> PublishResult:
        """Run the publish script for ``changes``: one call per atomic group of
        :func:`._records.groups` (per shard and chunk of :data:`CHUNK`, or per change with its
        own token from ``per_change_tokens``)."""
        calls: list[tuple[list[str], list[Any]]] = []
        channel = self.channel(domain)
        ttl = repr(self._opts.token_ttl)
        for tok, s, part in groups(changes, token, per_change_tokens):
            keys = [self._key(domain, window, s, "tokens"), self._key(domain, window, s, "idx"),
                    self._key(domain, window, s, "ver")]
            meta, vecs = [], []
            for pid, dom, dn, vec, fs, fo, ls, lo in part:
                keys.append(self._key(domain, window, s, f"p:{pid}"))
                meta.append(_packed(pid, dom, str(dn), fs, str(fo), ls, str(lo)))
                vecs.append(vec)
            calls.append((keys, [tok, ttl, channel, window, b"".join(meta), b"".join(vecs)]))
        lib_member = json.dumps([domain, window])
        results = self._call(lambda: self._run_scripts(PUBLISH_SCRIPT, calls, (lib_member,)),
                             f"publish {domain!r}/{window} token {token!r}", policy)
        key = (domain, window)
        if key in self._cache:
            self._cache[key].at = -math.inf  # read your own writes at the next load
        created = sum(int(r[1]) for r in results)
        updated = sum(int(r[2]) for r in results)
        skipped = sum(1 for r in results if int(r[0]) == 0)
        return PublishResult(created, updated, skipped, token)

    def _run_scripts(self, script: Script, calls: list[tuple[list[str], list[Any]]],
                     libraries: tuple[str, ...] = ()) -> list[Any]:
        """EVALSHA every call, pipelined (per primary on a cluster); load the script where the
        server lost it (a restart) and run the calls again: the applied ones are skipped by
        their tokens."""
        for _attempt in range(3):
            res = self._evalsha_all(script, calls)
            if any(isinstance(r, rex.NoScriptError) for r in res):
                self._client.script_load(script.source)
                continue
            for r, (keys, _args) in zip(res, calls):
                if isinstance(r, (rex.MovedError, rex.AskError)) and isinstance(self._client, RedisCluster):
                    self._client.nodes_manager.initialize()  # the slots moved: learn where
                    raise rex.TryAgainError(str(r))
                if isinstance(r, rex.ResponseError) and "WRONGTYPE" in str(r):
                    raise StoreDataError(wrong_type(self._client, keys))
                if isinstance(r, rex.ResponseError) and ("not an integer" in str(r) or "overflow" in str(r)):
                    raise StoreDataError(bad_support(self._client, keys, str(r)))
                if isinstance(r, Exception):
                    raise r
            for member in libraries:
                self._client.sadd(self._libraries_key(), member)
            return res
        raise rex.ConnectionError("the server keeps forgetting its scripts (restarting?)")

    def _evalsha_all(self, script: Script, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        client = self._client
        if not isinstance(client, RedisCluster):
            pipe = client.pipeline(transaction=False)
            for keys, args in calls:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            return list(pipe.execute(raise_on_error=False))
        # redis-py's cluster pipeline refuses EVALSHA: one plain pipeline per primary
        groups: dict[str, tuple[Any, list[int]]] = {}
        for i, (keys, _) in enumerate(calls):
            node = client.get_node_from_key(keys[0])
            groups.setdefault(node.name, (node, []))[1].append(i)
        out: list[Any] = [None] * len(calls)
        for node, idx in groups.values():
            conn_ = client.get_redis_connection(node)
            pipe = conn_.pipeline(transaction=False)
            for i in idx:
                keys, args = calls[i]
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            for i, r in zip(idx, pipe.execute(raise_on_error=False)):
                out[i] = r
        return out

    # -- events -------------------------------------------------------------------------------
    def subscribe(self, domain: str, *, window: int | None = None,
                  timeout: float | None = None) -> Subscription:
        """Events (:class:`PatternEvent`) for every pattern of ``domain`` created, updated or
        archived from now on.

        Iterate over the returned :class:`Subscription` (iteration ends after ``timeout``
        seconds without an event, or never when ``None``), or call its ``get(timeout)``; close
        it (or use ``with``) when done.
        """
        check_library_key(domain, 1 if window is None else window)
        channel = self.channel(domain)

        def go() -> Any:
            ps = self._client.pubsub()
            ps.subscribe(channel)
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline:  # wait for the server's confirmation
                msg = ps.get_message(timeout=0.5)
                if msg is not None and msg.get("type") == "subscribe":
                    return ps
            ps.close()
            raise rex.TimeoutError("no subscription confirmation within 10 s")
        pubsub = self._call(go, f"subscribe {domain!r}")
        return Subscription(pubsub, channel, window, timeout, self._ep.describe())

    # -- archival -----------------------------------------------------------------------------
    def _archive_path(self, path: Any, domain: str, window: int) -> Any:
        path = self._opts.archive_path if path is None else path
        if path is None:
            raise InvalidParameterError(
                "path=None and the store has no archive_path: the Redis store keeps its archive in "
                "zarr; pass path='archive.zarr' (or build the store with archive_path=...)")
        if isinstance(path, str):
            path = path.replace("{domain}", domain).replace("{window}", str(int(window)))
        return path

    def archive(self, domain: str, window: int, *, min_support: int, idle_seconds: float,
                path: Any = None) -> list[str]:
        """Move the patterns of ``(domain, window)`` with support below ``min_support`` and not
        updated for ``idle_seconds`` (by the server's clock) into the zarr archive at ``path``
        (default: the store's ``archive_path``; created or extended). Each pattern is written to
        the archive before it is removed from Redis, and removed only if nobody updated it
        meanwhile. Returns the archived ids."""
        check_library_key(domain, window)
        return _archive.archive(self, domain, int(window), min_support=min_support,
                                idle_seconds=idle_seconds, path=self._archive_path(path, domain, window))

    def restore(self, domain: str, window: int, *, ids: Sequence[str] | None = None,
                path: Any = None) -> list[str]:
        """Bring archived patterns (all, or ``ids``) from the zarr archive at ``path`` (default:
        the store's ``archive_path``) back into the store and remove them from the archive.
        Returns the restored ids (none when the store's own archive does not exist yet; an
        explicit ``path`` that holds no archive is an error)."""
        check_library_key(domain, window)
        ids = check_ids(ids)
        return _archive.restore(self, domain, int(window), path=self._archive_path(path, domain, window),
                                ids=ids, missing_ok=path is None)  # the store's own archive may not exist yet

    def _archive_candidates(self, domain: str, window: int, min_support: int,
                            idle_seconds: float) -> list[Record]:
        return _redis_archive.candidates(self, domain, window, min_support, idle_seconds)

    def _archive_remove(self, domain: str, window: int, records: list[Record]) -> set[str]:
        return _redis_archive.remove(self, domain, window, records)


def as_redis_store(redis: str | RedisPatternStore | None) -> tuple[RedisPatternStore | None, bool]:
    """The RedisPatternStore to use and whether this call opened it (and closes it)."""
    if redis is None:
        return None, False
    if isinstance(redis, RedisPatternStore):
        return redis, False
    if isinstance(redis, str):
        return RedisPatternStore(redis), True
    raise InvalidParameterError(f"redis must be a URL such as 'redis://localhost:6379/0' or a "
                                f"pl.RedisPatternStore; got {type(redis).__name__}")


# -- helpers -----------------------------------------------------------------------------------
def _packed(*fields: str) -> bytes:
    """Length-prefixed UTF-8 strings (int32 LE length + bytes), as the publish script reads them."""
    out = []
    for f in fields:
        b = f.encode()
        out.append(len(b).to_bytes(4, "little"))
        out.append(b)
    return b"".join(out)


def _build(entry: _Cached, domain: str, window: int, config: EngineConfig | None) -> PatternLibrary:
    recs = [r for d in entry.shards.values() for r in d.values()]
    return records_to_library(recs, domain, window, config)


#: The changes of a publish (kept under this name for the tests that cut a publish short).
_diff = diff


def iter_records(store: RedisPatternStore, domain: str, window: int) -> Iterator[tuple[int, Record]]:
    """Every live record of a library, with its shard (all of them: no cache, no bound); a damaged
    value raises :class:`StoreDataError` naming its key."""
    recs_by_shard, damage = store._fetch(domain, window, range(SHARDS))
    if damage:
        first = next(iter(damage.values()))[0]
        raise StoreDataError(first)
    for s, recs in recs_by_shard.items():
        for r in recs.values():
            yield s, r
