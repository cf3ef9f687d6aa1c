"""Stress test of the HTTP gateway: concurrent clients against real ``patternlab serve`` processes
on loopback, in front of a LocalCluster and a real redis-server.

Starts a redis-server, a LocalCluster (``--workers`` worker processes, the scheduler in this
process) and ``--replicas`` gateway processes (``python -m patternlab serve --scheduler ...``)
sharing the cluster and the store; then ``--clients`` concurrent clients (aiohttp, one session
each) POST signals to ``/v1/perceive`` for ``--seconds`` seconds, round-robin over the replicas.
Reports requests/s, the P50/P95/P99 latency seen by the clients, the error rate (target < 1%), and
checks that the supports in the store add up to what the answers say was published (the sum of
``published.support_added``) and to the gateways' ``patternlab_gateway_support_published_total``.
Exit code 0 when the error rate is below 1% and the supports add up, else 1.

    python benchmarks/stress_gateway.py                      # 20 clients, 60 s, 2 workers, 1 gateway
    python benchmarks/stress_gateway.py --replicas 2 --seconds 30

The signals are random walks of ``--length`` samples carrying planted shapes
(``patternlab.datasets.synthetic.planted_signal``), sent as JSON arrays (every fourth as ``.npy``).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

try:  # imported as part of the benchmarks package (tests), or run as a script
    from benchmarks._machine import describe
    from benchmarks.bench_redis import temporary_redis
except ImportError:
    from _machine import describe  # type: ignore[no-redef]
    from bench_redis import temporary_redis  # type: ignore[no-redef]

DOMAIN = "stress"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _signals(n: int, length: int, window: int) -> list[tuple[bytes, str]]:
    """``n`` request bodies: JSON arrays, every fourth a ``.npy`` file."""
    from patternlab.datasets.synthetic import planted_signal

    out = []
    for k in range(n):
        T = planted_signal(length, window, occurrences=2, anomalies=0, seed=k).signal
        if k % 4 == 3:
            buf = io.BytesIO()
            np.save(buf, T, allow_pickle=False)
            out.append((buf.getvalue(), "application/x-npy"))
        else:
            out.append((json.dumps(T.tolist()).encode(), "application/json"))
    return out


def start_gateway(scheduler: str, redis_url: str, key_file: Path, window: int, port: int,
                   log: Path, namespace: str = "stress") -> subprocess.Popen[bytes]:
    """``python -m patternlab serve`` on ``port``, its output into ``log``."""
    env = {**os.environ, "PATTERNLAB_REDIS_URL": redis_url}
    env.pop("PATTERNLAB_API_KEY", None)
    cmd = [sys.executable, "-m", "patternlab", "serve", "--scheduler", scheduler, "--port", str(port),
           "--api-key-file", str(key_file), "--window", str(window), "--namespace", namespace,
           "--log-level", "warning"]
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)


async def wait_healthy(urls: list[str], procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        for url, proc in zip(urls, procs):
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the gateway at {url} exited with {proc.returncode}")
                try:
                    async with session.get(url + "/health") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the gateway at {url} did not become healthy in {timeout:g} s")
                await asyncio.sleep(0.2)


async def _load(urls: list[str], key: str, bodies: list[tuple[bytes, str]], clients: int, seconds: float,
                window: int) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    statuses: dict[str, int] = {}
    published = {"support_added": 0, "created": 0, "updated": 0, "skipped": 0}
    headers = {"Authorization": f"Bearer {key}"}
    stop = time.monotonic() + seconds

    async def client(c: int) -> None:
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            k = c
            while time.monotonic() < stop:
                url = urls[k % len(urls)]
                body, ctype = bodies[k % len(bodies)]
                k += clients
                t0 = time.perf_counter()
                try:
                    async with session.post(f"{url}/v1/perceive?domain={DOMAIN}&window={window}", data=body,
                                            headers={"Content-Type": ctype}) as resp:
                        answer = await resp.read()
                        status = str(resp.status)
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    status, answer = type(exc).__name__, b""
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
                if status == "200":
                    pub = json.loads(answer)["published"]
                    for f in published:
                        published[f] += int(pub[f] or 0)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    wall = time.perf_counter() - t0
    return {"latencies": latencies, "statuses": statuses, "published": published, "wall": wall}


async def _gateway_counter(urls: list[str], key: str, name: str) -> float:
    import aiohttp
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
        for url in urls:
            async with session.get(url + "/metrics") as resp:
                text = await resp.text()
            total += sum(s.value for fam in text_string_to_metric_families(text) for s in fam.samples
                         if s.name == name)
    return total


def measure(urls: list[str], key: str, redis_url: str, *, namespace: str = "stress", seconds: float = 60.0,
            clients: int = 20, length: int = 1000, window: int = 64, signals: int = 200,
            warm_up: float = 3.0) -> dict[str, Any]:
    """Load gateways already running at ``urls`` (API key ``key``, store ``redis_url`` in
    ``namespace``) for ``seconds`` with ``clients`` concurrent clients; return the figures."""
    import patternlab as pl

    bodies = _signals(signals, length, window)
    if warm_up > 0:  # not counted: every worker loads its kernels and learns a first library
        asyncio.run(_load(urls, key, bodies[:4], min(clients, 4), warm_up, window))
    with pl.RedisPatternStore(redis_url, namespace=namespace) as store:
        base = int(store.load_library(DOMAIN, window, refresh=True).supports.sum())
    metric0 = asyncio.run(_gateway_counter(urls, key, "patternlab_gateway_support_published_total"))
    out = asyncio.run(_load(urls, key, bodies, clients, seconds, window))
    metric = asyncio.run(_gateway_counter(urls, key, "patternlab_gateway_support_published_total"))
    with pl.RedisPatternStore(redis_url, namespace=namespace) as store:
        lib = store.load_library(DOMAIN, window, refresh=True)
        stored = int(lib.supports.sum()) - base
    lat = np.array(out["latencies"]) * 1e3
    n = len(lat)
    errors = n - out["statuses"].get("200", 0)
    res = {
        "requests": n, "seconds": out["wall"], "requests_per_sec": n / out["wall"] if out["wall"] else 0.0,
        "p50_ms": float(np.percentile(lat, 50)) if n else float("nan"),
        "p95_ms": float(np.percentile(lat, 95)) if n else float("nan"),
        "p99_ms": float(np.percentile(lat, 99)) if n else float("nan"),
        "error_rate": errors / n if n else 1.0, "statuses": out["statuses"],
        "support_sent": out["published"]["support_added"], "support_stored": stored,
        "support_metric": metric - metric0, "patterns": len(lib), "skipped": out["published"]["skipped"],
    }
    res["supports_add_up"] = (res["support_sent"] == res["support_stored"] == res["support_metric"]
                              and res["skipped"] == 0)
    return res


def run(seconds: float = 60.0, clients: int = 20, workers: int = 2, replicas: int = 1, length: int = 1000,
        window: int = 64, signals: int = 200) -> dict[str, Any]:
    """Start a redis-server, a LocalCluster and ``replicas`` gateway processes, and
    :func:`measure` them; the figures also say whether the API key showed in the gateways' logs."""
    import patternlab as pl

    key = os.urandom(24).hex()
    with tempfile.TemporaryDirectory() as tmp, temporary_redis() as redis_url, \
            pl.Lab.local(n_workers=workers, dashboard_address="127.0.0.1:0") as lab:
        key_file = Path(tmp) / "api-keys"
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)
        ports = [_free_port() for _ in range(replicas)]
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        procs = [start_gateway(lab.scheduler_address, redis_url, key_file, window, p,
                               Path(tmp) / f"gw{i}.log") for i, p in enumerate(ports)]
        try:
            asyncio.run(wait_healthy(urls, procs, 180))
            res = measure(urls, key, redis_url, seconds=seconds, clients=clients, length=length,
                          window=window, signals=signals)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
        logs = "".join((Path(tmp) / f"gw{i}.log").read_text(errors="replace") for i in range(replicas))
    res["key_in_logs"] = key in logs
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--replicas", type=int, default=1, help="gateway processes sharing cluster and store")
    p.add_argument("--length", type=int, default=1000, help="samples a signal")
    p.add_argument("--window", type=int, default=64)
    p.add_argument("--signals", type=int, default=200, help="distinct signals the clients cycle through")
    args = p.parse_args(argv)
    print(describe())
    print(f"{args.clients} clients for {args.seconds:g} s against {args.replicas} gateway(s); "
          f"LocalCluster of {args.workers} worker(s) x 1 thread; signals of {args.length} samples, "
          f"window {args.window}")
    r = run(args.seconds, args.clients, args.workers, args.replicas, args.length, args.window, args.signals)
    print(f"requests        {r['requests']} in {r['seconds']:.1f} s: {r['requests_per_sec']:.1f} requests/s")
    print(f"latency         P50 {r['p50_ms']:.0f} ms, P95 {r['p95_ms']:.0f} ms, P99 {r['p99_ms']:.0f} ms")
    print(f"errors          {100 * r['error_rate']:.2f}% (target < 1%); answers by status {r['statuses']}")
    print(f"supports        published {r['support_sent']}, stored {r['support_stored']}, gateway metric "
          f"{r['support_metric']:.0f}: {'they add up' if r['supports_add_up'] else 'MISMATCH'} "
          f"({r['patterns']} patterns in the store)")
    print(f"API key in the gateway logs: {'YES' if r['key_in_logs'] else 'no'}")
    ok = r["error_rate"] < 0.01 and r["supports_add_up"] and not r["key_in_logs"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
