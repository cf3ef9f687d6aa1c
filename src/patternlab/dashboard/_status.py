"""``status``: what a cluster is doing for patternlab, for people (text) and scripts (dict, JSON)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import ssl
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .._text import plural
from ..errors import InvalidParameterError
from ._monitor import METADATA_KEY, STATUS_HANDLER

__all__ = ["EXIT_HEALTHY", "EXIT_UNHEALTHY", "EXIT_UNREACHABLE", "ClusterStatus", "status"]

#: ``patternlab status`` exit code: the scheduler answered, its ``/health`` says ``ok`` and it has
#: at least ``min_workers`` workers.
EXIT_HEALTHY = 0
#: Exit code: the scheduler could not be reached (nothing listening, timeout, TLS refused).
EXIT_UNREACHABLE = 3
#: Exit code: the scheduler answered but is unhealthy (``/health`` not ``ok`` or unreachable, or
#: fewer than ``min_workers`` workers).
EXIT_UNHEALTHY = 4

_T = TypeVar("_T")
_COUNTERS = ("workers", "threads", "tasks_processed", "signals", "patterns_discovered", "patterns_founded",
             "runs", "partitions_resumed", "queue_depth")
_RATES = ("throughput_per_sec", "recent_signals_per_sec", "avg_latency_ms")


class ClusterStatus(dict[str, Any]):
    """The status of a scheduler: a plain ``dict`` (``json.dumps`` works) whose ``repr`` is a
    readable report.

    Keys
    ----
    ``scheduler`` (address), ``reachable``, ``healthy``, ``health`` (the body of ``/health``, or
    why it failed), ``problems`` (why it is unhealthy), ``monitoring`` (patternlab's plugin is
    installed), ``workers``, ``threads``, ``tasks_processed``, ``signals``,
    ``patterns_discovered``, ``patterns_founded``, ``runs``, ``throughput_per_sec`` (signals of the
    finished batches per second of their wall time), ``recent_signals_per_sec`` (the last 10 s),
    ``avg_latency_ms`` (per partition), ``queue_depth`` (patternlab tasks not finished),
    ``queue`` (the same by scheduler state), ``profile_runs`` (the recent matrix profiles run
    with ``client=``, newest first: tasks and cells done, ``percent``, ``cells_per_sec``,
    ``finished``), ``dashboard`` and ``patternlab_page`` (links).
    Counts are the scheduler's since it started (every client's batches).
    """

    @property
    def exit_code(self) -> int:
        """:data:`EXIT_HEALTHY`, :data:`EXIT_UNREACHABLE` or :data:`EXIT_UNHEALTHY`."""
        if not self.get("reachable"):
            return EXIT_UNREACHABLE
        return EXIT_HEALTHY if self.get("healthy") else EXIT_UNHEALTHY

    def __repr__(self) -> str:
        return self.to_text()

    __str__ = __repr__

    def to_text(self) -> str:
        """The report ``patternlab status`` prints."""
        addr = self.get("scheduler")
        if not self.get("reachable"):
            return f"patternlab status of {addr}: UNREACHABLE\n  " + "\n  ".join(self.get("problems", []))
        state = "healthy" if self.get("healthy") else "UNHEALTHY: " + "; ".join(self.get("problems", []))
        rows = [("workers", f"{self['workers']} ({plural(self['threads'], 'thread')})")]
        if self.get("monitoring"):
            rows += [
                ("tasks processed", f"{self['tasks_processed']:,}"),
                ("signals", f"{self['signals']:,}"),
                ("patterns discovered", f"{self['patterns_discovered']:,} (in "
                                        f"{plural(self['runs'], 'batch', 'batches')})"),
                ("throughput", f"{self['throughput_per_sec']:,.1f} signals/s over finished batches; "
                               f"{self['recent_signals_per_sec']:,.1f} signals/s now"),
                ("queue depth", f"{plural(self['queue_depth'], 'patternlab task')} not finished"),
            ]
            rows += [("matrix profile" if k == 0 else "", profile_line(r))
                     for k, r in enumerate(self.get("profile_runs", [])[:3])]
        else:
            rows.append(("monitoring", "not installed: start the scheduler with --preload "
                                       "patternlab.dashboard (or call patternlab.dashboard.install)"))
        rows += [("health", str(self.get("health"))), ("dashboard", str(self.get("dashboard"))),
                 ("patternlab page", str(self.get("patternlab_page") or "-"))]
        width = max(len(k) for k, _ in rows)
        return "\n".join([f"patternlab status of {addr}: {state}",
                          *(f"  {k:<{width}}  {v}" for k, v in rows)])

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython
        p.text(self.to_text())


def profile_line(r: dict[str, Any]) -> str:
    """One matrix-profile run in a line: its size, tasks, share of cells done and rate."""
    state = "finished" if r["finished"] else "running"
    return (f"{r['run']}: {r['windows']:,} windows (m = {r['m']}), {r['tasks_done']:,}/{r['tasks_total']:,} "
            f"tasks, {r['percent']:.1f}% of the cells, {r['cells_per_sec']:.3g} cells/s, {state}")


def _run(fn: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine function to completion from synchronous code, even inside a running
    event loop (Jupyter): then in a thread with its own loop."""
    async def main() -> _T:
        return await fn()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        return ex.submit(asyncio.run, main()).result()


async def _fetch(address: str, connection_args: dict[str, Any], timeout: float
                 ) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]:
    from distributed.core import rpc

    async with rpc(address, timeout=timeout, connection_args=connection_args) as r:
        ident = await asyncio.wait_for(r.identity(), timeout)
        info = await asyncio.wait_for(r.get_metadata(keys=[METADATA_KEY], default=None), timeout)
        readings = None
        if isinstance(info, dict) and info.get("handler") == STATUS_HANDLER:
            readings = await asyncio.wait_for(getattr(r, STATUS_HANDLER)(), timeout)
        return ident, info, readings


def _health(url: str, timeout: float) -> tuple[bool, str]:
    import dask.config

    ctx = None
    if url.startswith("https:"):
        ctx = ssl.create_default_context(cafile=dask.config.get("distributed.scheduler.dashboard.tls.ca-file",
                                                                default=None))
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as resp:
            body = resp.read(200).decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as exc:
        return False, f"{url} answered HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return False, f"{url} unreachable: {exc}"
    return body == "ok", body if body == "ok" else f"{url} answered {body!r}"


def _page_link(dashboard: str, page: str) -> str:
    base = dashboard[: -len("status")] if dashboard.endswith("/status") else dashboard.rstrip("/") + "/"
    return base + page.lstrip("/").split("/")[-1]


def status(target: Any, *, timeout: float = 5.0, min_workers: int = 1) -> ClusterStatus:
    """Workers, tasks processed, patterns discovered, throughput, queue depth and health of a
    Dask scheduler running patternlab.

    Parameters
    ----------
    target : str, distributed.Client or patternlab.Lab
        A scheduler address (``"tcp://host:8786"``), or a client connected to one.
    timeout : float
        Seconds to wait for the scheduler and for its ``/health``.
    min_workers : int
        Fewer workers than this makes the cluster unhealthy (``0`` for adaptive clusters that
        may scale to zero).

    Returns
    -------
    ClusterStatus
        A dict whose ``repr`` is a readable report; ``exit_code`` is what ``patternlab status``
        exits with. An unreachable scheduler gives ``reachable=False``, never an exception.

    Examples
    --------
    >>> from patternlab.dashboard import status
    >>> st = status("tcp://127.0.0.1:1", timeout=0.5)   # nothing listens there
    >>> st["reachable"], st.exit_code
    (False, 3)
    """
    from distributed import Security
    from distributed.comm import get_address_host, parse_address
    from distributed.utils import format_dashboard_link

    for name, value in (("timeout", timeout), ("min_workers", min_workers)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise InvalidParameterError(f"{name}={value!r}: pass a non-negative number")
    client = getattr(target, "client", target)   # a Lab holds its client
    dashboard: str | None = None
    if isinstance(client, str):
        address, security = client, Security()
        if not address:
            raise InvalidParameterError("scheduler address '' is empty: pass one such as "
                                        "'tcp://127.0.0.1:8786'")
    elif hasattr(client, "scheduler") and hasattr(client, "dashboard_link"):
        address, security = client.scheduler.address, client.security
        dashboard = str(client.dashboard_link)
    else:
        raise InvalidParameterError(f"status(target={type(target).__name__}): pass a scheduler address "
                                    "such as 'tcp://127.0.0.1:8786', a distributed.Client or a Lab")
    if "://" not in address:
        address = "tcp://" + address
    try:
        parse_address(address)
        host = get_address_host(address)
    except ValueError as exc:
        raise InvalidParameterError(f"scheduler address {address!r} is not valid ({exc}): pass one "
                                    "such as 'tcp://127.0.0.1:8786'") from None
    out = ClusterStatus(scheduler=address, reachable=False, healthy=False, health=None, problems=[],
                        monitoring=False, **dict.fromkeys(_COUNTERS, 0), **dict.fromkeys(_RATES, 0.0),
                        queue={}, profile_runs=[], dashboard=dashboard, patternlab_page=None)
    try:
        ident, info, readings = _run(lambda: _fetch(address, security.get_connection_args("client"),
                                                    float(timeout)))
    except (OSError, asyncio.TimeoutError) as exc:
        out["problems"] = [f"cannot reach the scheduler at {address}: {str(exc) or type(exc).__name__}"]
        return out
    out["reachable"] = True
    workers = ident.get("workers", {})
    out["workers"] = len(workers)
    out["threads"] = int(sum(int(w.get("nthreads", 0)) for w in workers.values()))
    if readings is not None:
        out["monitoring"] = True
        out.update({k: readings[k] for k in (*_COUNTERS, *_RATES, "queue", "profile_runs")
                    if k in readings})
    prefix = ""
    if isinstance(info, dict) and isinstance(info.get("page"), str):
        prefix = info["page"].rsplit("/", 1)[0]
    port = ident.get("services", {}).get("dashboard")
    if port:
        own = format_dashboard_link(host, port)   # the dashboard as reached from here
        if dashboard is None:
            dashboard = own
        base = own.split("://", 1)[0] + f"://{host}:{port}{prefix}"
        ok, out["health"] = _health(base + "/health", float(timeout))
        if not ok:
            out["problems"].append(f"health check failed: {out['health']}")
    else:
        out["health"] = "no dashboard server"
        out["problems"].append("the scheduler runs no HTTP server: no /health to check")
    out["dashboard"] = dashboard
    if dashboard and isinstance(info, dict) and info.get("page"):
        out["patternlab_page"] = _page_link(dashboard, info["page"])
    if out["workers"] < min_workers:
        out["problems"].append(f"{plural(out['workers'], 'worker')}, fewer than min_workers={min_workers}")
    out["healthy"] = not out["problems"]
    return out
