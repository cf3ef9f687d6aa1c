"""Which Dask client a call runs on: the given one, the current Lab's, Dask's default, or an
embedded LocalCluster -- built here, the same way for :meth:`Lab.local <patternlab.Lab.local>` and
for the embedded default -- every one of them prepared with the worker plugin."""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable
from typing import Any, Protocol

from distributed import Client, LocalCluster, Security, default_client

from ..errors import InvalidParameterError
from .plugin import register

__all__ = [
    "HasClient",
    "configured_security",
    "current_lab",
    "dashboard_preload",
    "prepared",
    "resolve_client",
    "start_local_cluster",
    "with_dashboard_preload",
]


class HasClient(Protocol):
    """What a :class:`~patternlab.Lab` offers the code below it: its prepared client."""

    client: Client


_current: list[HasClient] = []
_current_lock = threading.Lock()


def push_lab(lab: HasClient) -> None:
    """Make ``lab`` the current Lab (entered with ``with``)."""
    with _current_lock:
        _current.append(lab)


def pop_lab(lab: HasClient) -> None:
    """``lab`` is current no more."""
    with _current_lock:
        if lab in _current:
            _current.remove(lab)


def current_lab() -> HasClient | None:
    """The innermost Lab entered with ``with``/``async with``, if any."""
    with _current_lock:
        return _current[-1] if _current else None


#: The scheduler preload module of patternlab's monitoring page.
DASHBOARD_MODULE = "patternlab.dashboard"


def dashboard_preload() -> list[str]:
    """``["patternlab.dashboard"]`` where that module is installed, else ``[]``."""
    try:
        return [DASHBOARD_MODULE] if importlib.util.find_spec(DASHBOARD_MODULE) is not None else []
    except (ImportError, ValueError):  # pragma: no cover - a broken installation
        return []


def with_dashboard_preload(options: dict[str, Any] | None, enabled: bool) -> dict[str, Any]:
    out = dict(options or {})
    if enabled:
        preload = out.get("preload") or []
        preload = [preload] if isinstance(preload, str) else list(preload)
        out["preload"] = preload + [m for m in dashboard_preload() if m not in preload]
    return out


def configured_security(security: Any) -> Any:
    """``security`` as given, else Dask's TLS configuration when it requires encryption."""
    if security is not None:
        return security
    configured = Security()
    return configured if configured.require_encryption else None


def default_workers() -> int:
    """Worker processes of a local cluster when none are asked for: one per core, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def start_local_cluster(n_workers: int | None = None, threads_per_worker: int = 1, *,
                        dashboard_address: str = ":0", security: Any = None,
                        preload_dashboard: bool = True, **kwargs: Any) -> tuple[LocalCluster, Client]:
    """A LocalCluster of worker processes and a prepared client of it (the embedded default
    and :meth:`Lab.local <patternlab.Lab.local>`); the scheduler preloads the patternlab page."""
    if n_workers is None:
        n_workers = default_workers()
    for name, value in (("n_workers", n_workers), ("threads_per_worker", threads_per_worker)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidParameterError(f"{name}={value!r} must be a positive integer")
    scheduler_kwargs = with_dashboard_preload(kwargs.pop("scheduler_kwargs", None), preload_dashboard)
    if security is not None:
        kwargs["security"] = security
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                           processes=True, dashboard_address=dashboard_address,
                           scheduler_kwargs=scheduler_kwargs, **kwargs)
    try:
        client = Client(cluster, security=cluster.security)
    except BaseException:
        cluster.close()
        raise
    return cluster, prepared(client)


def resolve_client(client: Any) -> tuple[Client | None, Callable[[], None] | None]:
    """The Dask client to use and, when we started a cluster for this call, how to close it.

    ``False``: no Dask. A Lab: its client. A Client: itself. ``None``: the current Lab, else
    Dask's default client, else an embedded LocalCluster (closed afterwards).
    """
    if client is False:
        return None, None
    if client is None:
        lab = current_lab()
        if lab is not None:
            return lab.client, None
        try:
            return prepared(default_client()), None
        except ValueError:
            pass
        cluster, c = start_local_cluster()

        def close() -> None:
            c.close()
            cluster.close()

        return c, close
    if hasattr(client, "client") and isinstance(client.client, Client):  # a Lab
        return client.client, None
    if isinstance(client, Client):
        return prepared(client), None
    raise InvalidParameterError(f"client must be a distributed.Client, a patternlab.Lab, False (in "
                                f"this process) or None; got {type(client).__name__}")


def prepared(client: Client) -> Client:
    """``client`` with the worker plugin registered on its cluster (once)."""
    if not getattr(client, "_patternlab_ready", False):
        register(client)
        client._patternlab_ready = True  # type: ignore[attr-defined]
    return client
