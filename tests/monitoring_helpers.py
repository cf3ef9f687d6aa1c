"""Helpers of the monitoring tests (test_dashboard, test_prometheus, test_status): a LocalCluster
whose scheduler preloads ``patternlab.dashboard``, a small batch, ``/metrics`` parsing."""

from __future__ import annotations

import contextlib
import socket
import urllib.request
from collections.abc import Iterator
from typing import Any

import dask
import numpy as np
from distributed import Client, LocalCluster

import patternlab as pl

WINDOW = 32
CONFIG = pl.EngineConfig(window=WINDOW)


def signals(n: int = 12, length: int = 400, seed: int = 0) -> list[np.ndarray]:
    """Random walks: each partition finds a few patterns."""
    return [np.cumsum(np.random.default_rng(seed + i).standard_normal(length)) for i in range(n)]


@contextlib.contextmanager
def monitored_cluster(n_workers: int = 1, preload: bool = True, interval: str = "200ms"
                      ) -> Iterator[tuple[LocalCluster, Client]]:
    """A LocalCluster of worker processes whose scheduler preloads ``patternlab.dashboard`` (the
    page refreshing every ``interval``), and a client; both closed afterwards."""
    kwargs: dict[str, Any] = {"scheduler_kwargs": {"preload": ["patternlab.dashboard"]}} if preload else {}
    with dask.config.set({"patternlab.dashboard.interval": interval}), \
            LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                         dashboard_address="127.0.0.1:0", **kwargs) as cluster, \
            Client(cluster) as client:
        yield cluster, client


def dashboard_base(client: Client) -> str:
    """``http://host:port`` of the client's dashboard."""
    return str(client.dashboard_link).rsplit("/", 1)[0]


def get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return int(resp.status), resp.read().decode("utf-8", "replace")


def scrape(url: str, scheduler: str) -> tuple[dict[str, float], set[str]]:
    """The ``patternlab_*`` samples of ``scheduler`` on ``url`` (``/metrics``) by sample name
    (histogram buckets as ``name{le}``), and the names of every family on the page -- parsed
    with prometheus_client's own parser."""
    from prometheus_client.parser import text_string_to_metric_families

    _, text = get(url)
    out: dict[str, float] = {}
    families = set()
    for fam in text_string_to_metric_families(text):
        families.add(fam.name)
        for s in fam.samples:
            if s.name.startswith("patternlab_") and s.labels.get("scheduler") == scheduler:
                key = f"{s.name}{{{s.labels['le']}}}" if "le" in s.labels else s.name
                out[key] = s.value
    return out, families


def free_port() -> int:
    """A TCP port nothing listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
