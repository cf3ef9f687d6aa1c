"""Pattern upserts per second through RedisPatternStore against raw pipelined HSET of the same
payloads on the same server, in one run.

    python benchmarks/compare_redis.py                      # 20,000 patterns, window 64
    python benchmarks/compare_redis.py --patterns 5000 --no-cluster
    python benchmarks/compare_redis.py --url redis://host:6379/0

The store writes each pattern's hash (prototype sum as float64 bytes, support, provenance,
times), its shard index, version counter and token, and an event, through one atomic script per
shard and partition; the baseline writes the same hash fields with pipelined HSET and nothing
else. Both write in partitions of ``--partition`` patterns. Figures: creates (new patterns) and
updates (support + 1 and a new prototype for every pattern), best of ``--repeat`` runs; the ratio
store / raw (target >= 0.5 on a single node). The same on a 6-node Redis Cluster unless
``--no-cluster``.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any

try:  # imported as part of the benchmarks package (asv, tests), or run as a script
    from benchmarks._machine import describe
except ImportError:  # pragma: no cover
    from _machine import describe  # type: ignore[no-redef]

try:
    from benchmarks.bench_redis import libraries, temporary_cluster, temporary_redis
except ImportError:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_redis import libraries, temporary_cluster, temporary_redis  # type: ignore[no-redef]


def _parts(lib: Any, size: int) -> list[Any]:
    import patternlab as pl

    arrays = lib.to_arrays()
    out = []
    for a in range(0, len(lib), size):
        part = {k: (v[a:a + size] if getattr(v, "ndim", 0) >= 1 else v) for k, v in arrays.items()}
        out.append(pl.PatternLibrary.from_arrays(part, config=lib.config))
    return out


def _raw(client: Any, ns: str, lib: Any, size: int) -> float:
    """Pipelined HSET of the same fields, one pipeline per partition; returns seconds."""
    arrays = lib.to_arrays()
    supports = arrays["supports"]
    protos = arrays["prototypes"]
    payload = [(f"{ns}:{{raw{k % 64}}}:p:{pid}", (float(supports[k]) * protos[k]).astype("<f8").tobytes())
               for k, pid in enumerate(arrays["ids"].tolist())]
    t0 = time.perf_counter()
    for a in range(0, len(payload), size):
        pipe = client.pipeline(transaction=False)
        for k in range(a, min(a + size, len(payload))):
            key, acc = payload[k]
            pipe.hset(key, mapping={"v": 1, "id": arrays["ids"][k], "domain": "bench",
                                    "window": protos.shape[1], "acc": acc, "support": int(supports[k]),
                                    "first_signal": arrays["first_signal"][k], "first_offset": 0,
                                    "last_signal": arrays["last_signal"][k],
                                    "last_offset": int(arrays["last_offset"][k])})
        pipe.execute()
    return time.perf_counter() - t0


def _store(store: Any, before: Any, after: Any, run: str) -> float:
    t0 = time.perf_counter()
    for k, (b, a) in enumerate(zip(before, after)):
        store.publish(b, a, token=f"{run}/partition-{k}")
    return time.perf_counter() - t0


def measure(url: str, n: int, window: int, size: int, repeat: int) -> dict[str, float]:
    import patternlab as pl

    base, grown = libraries(n, window)
    new_parts, grown_parts = _parts(base, size), _parts(grown, size)
    out: dict[str, float] = {}
    for _ in range(repeat):
        ns = f"cmp-{uuid.uuid4().hex[:8]}"
        with pl.RedisPatternStore(url, ns) as store:
            raw_new = _raw(store.client, ns, base, size)
            raw_upd = _raw(store.client, ns, grown, size)
            st_new = _store(store, [None] * len(new_parts), new_parts, "create")
            st_upd = _store(store, new_parts, grown_parts, "update")
            assert store.count("bench", window) == n
            assert int(store.load_library("bench", window).supports.sum()) == 2 * n
            for key, secs in (("raw_create", raw_new), ("raw_update", raw_upd), ("store_create", st_new),
                              ("store_update", st_upd)):
                out[key] = max(out.get(key, 0.0), n / secs)
            for pattern in (f"{ns}:*",):
                keys = list(store.client.scan_iter(match=pattern, count=10_000))
                for a in range(0, len(keys), 1000):
                    for k in keys[a:a + 1000]:
                        store.client.delete(k)
    return out


def report(name: str, r: dict[str, float]) -> float:
    c, u = r["store_create"] / r["raw_create"], r["store_update"] / r["raw_update"]
    print(f"{name}:")
    print(f"  creates: store {r['store_create']:>10,.0f}/s   raw HSET {r['raw_create']:>10,.0f}/s   "
          f"ratio {c:.2f}")
    print(f"  updates: store {r['store_update']:>10,.0f}/s   raw HSET {r['raw_update']:>10,.0f}/s   "
          f"ratio {u:.2f}")
    return min(c, u)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patterns", type=int, default=20_000)
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--partition", type=int, default=1_000, help="patterns per publish / pipeline")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--url", default=None, help="an existing server (default: start one)")
    ap.add_argument("--no-cluster", action="store_true")
    args = ap.parse_args(argv)
    print(describe())
    print(f"{args.patterns:,} patterns, window {args.window}, partitions of {args.partition}, "
          f"best of {args.repeat}")
    if args.url:
        worst = report(f"server {args.url}", measure(args.url, args.patterns, args.window, args.partition,
                                                     args.repeat))
    else:
        with temporary_redis() as url:
            worst = report("single node", measure(url, args.patterns, args.window, args.partition,
                                                  args.repeat))
    verdict = "ok" if worst >= 0.5 else "BELOW TARGET"
    print(f"single node: store / raw = {worst:.2f} (target >= 0.5): {verdict}")
    if not args.no_cluster and not args.url:
        with temporary_cluster() as url:
            ratio = report("cluster (3 primaries + 3 replicas)",
                           measure(url, args.patterns, args.window, args.partition, args.repeat))
        print(f"cluster: store / raw = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
