"""What the gateway runs on the Dask workers: perceive one signal against the Redis library and
publish what it learned, under a token the gateway chose before submitting (so a task that Dask
runs twice, after a worker died, or a client's retry with the same ``Idempotency-Key``, is counted
once by the store).

Every worker holds the Redis store in a :class:`GatewayStorePlugin` (registered by the gateway on
the cluster, so workers that join later get it too): one set of connections and one local cache
per worker, and per library the pool of pending candidates that lets a shape seen in two requests
become a pattern (the store keeps patterns, not the pool).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin
from numpy.typing import NDArray

from .._numba import numba_threads, parallel_guard
from ..config import EngineConfig
from ..engine import perceive
from ..errors import ClusterConnectionError, PatternlabError
from ..library import PatternLibrary
from ..store._records import diff
from ..store.redis import RedisPatternStore
from .codec import perception_json

__all__ = ["TASK_PREFIX", "GatewayStorePlugin", "perceive_task", "plugin_name"]

#: Key prefix of the gateway's perceive tasks on the scheduler (counted in patternlab's queue depth).
TASK_PREFIX = "perceive-request"


def plugin_name(store: RedisPatternStore) -> str:
    """The worker plugin's name for ``store`` (its masked address and namespace: no secret)."""
    digest = hashlib.sha256(f"{store!r}".encode()).hexdigest()[:16]
    return f"patternlab-gateway-{digest}"


#: Libraries whose pending pools a worker keeps (the least recently used beyond it are dropped).
MAX_POOLS = 256
#: Per worker process, by plugin name: the pending pools and their locks. They outlive a plugin
#: object: another gateway replica registering the same plugin (same store) replaces it on every
#: worker, and the pools of the candidates seen so far carry over.
_POOLS: dict[str, OrderedDict[tuple[str, EngineConfig], PatternLibrary]] = {}
_LOCKS: dict[str, dict[tuple[str, EngineConfig], threading.Lock]] = {}
_GUARD = threading.Lock()


class GatewayStorePlugin(WorkerPlugin):
    """The Redis pattern store on a worker, and the pending pools of the libraries it served.

    Replacing it (another replica registering it) does not close the store under a task still
    using it: the old store's connections close when the last reference to it goes.
    """

    def __init__(self, store: RedisPatternStore, name: str) -> None:
        self.store = store
        self.name = name
        with _GUARD:
            self._pools = _POOLS.setdefault(name, OrderedDict())
            self._locks = _LOCKS.setdefault(name, {})

    def __getstate__(self) -> dict[str, Any]:
        return {"store": self.store, "name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["store"], state["name"])  # type: ignore[misc]

    def lock(self, key: tuple[str, EngineConfig]) -> threading.Lock:
        with _GUARD:
            return self._locks.setdefault(key, threading.Lock())

    def pool(self, key: tuple[str, EngineConfig]) -> PatternLibrary | None:
        return self._pools.get(key)

    def keep(self, key: tuple[str, EngineConfig], library: PatternLibrary) -> None:
        """Keep ``library``'s pool for the next request of ``key`` (the most recent
        :data:`MAX_POOLS` libraries are kept: clients choose domains freely)."""
        with _GUARD:
            self._pools[key] = library
            self._pools.move_to_end(key)
            while len(self._pools) > MAX_POOLS:
                self._pools.popitem(last=False)


def _plugin(name: str) -> GatewayStorePlugin:
    plugin = get_worker().plugins.get(name)
    if not isinstance(plugin, GatewayStorePlugin):
        raise ClusterConnectionError(f"this worker has no gateway store plugin {name!r}: the gateway "
                                     "registers it when it starts; restart the gateway")
    return plugin


def perceive_task(name: str, signal: NDArray[np.float64], domain: str, config: EngineConfig, learn: bool,
                  token: str, signal_id: str) -> dict[str, Any]:
    """Perceive ``signal`` against the store's library of ``(domain, config.window)`` and, when
    ``learn``, publish what it learned under ``token``. Returns the JSON of the perception
    with a ``published`` part: patterns created and updated, groups skipped (the token was
    already applied) and the support added (the sum of the support increments the publish
    carried). A :class:`~patternlab.PatternlabError` is returned as ``{"error": exc}`` (not
    raised: a user's mistake is no failed task in the worker's log)."""
    try:
        return _perceive(_plugin(name), signal, domain, config, learn, token, signal_id)
    except PatternlabError as exc:  # a mistake in the request, or Redis down: the gateway raises it
        return {"error": exc}


def _perceive(plugin: GatewayStorePlugin, signal: NDArray[np.float64], domain: str, config: EngineConfig,
              learn: bool, token: str, signal_id: str) -> dict[str, Any]:
    store = plugin.store
    key = (domain, config)
    with plugin.lock(key):
        library = store.load_library(domain, config.window, config)
        kept = plugin.pool(key)
        if kept is not None:  # the candidates pending on this worker, and its counters
            for p in kept.pending:
                if p.id not in library:
                    library.add_pending(p)
            library.set_counters(kept.counters)
        before = library.copy()
        with parallel_guard(), numba_threads(1):
            res = perceive(signal, domain, library, config, signal_id=signal_id, learn=learn)
        out = perception_json(res)
        published: dict[str, Any] = {"created": 0, "updated": 0, "skipped": 0, "support_added": 0,
                                     "token": None}
        if learn:
            changes = diff(before, library)
            if changes:
                pr = store.publish(before, library, token=token)
                added: int | None = sum(ch.dn for ch in changes)
                if pr.skipped:  # a retry: all of it (0) or some of it was in the store already
                    added = 0 if pr.created == pr.updated == 0 else None
                published = {"created": pr.created, "updated": pr.updated, "skipped": pr.skipped,
                             "support_added": added, "token": token}
            plugin.keep(key, library)
    out["published"] = published
    return out
