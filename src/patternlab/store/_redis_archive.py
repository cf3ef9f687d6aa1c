"""The Redis steps of archival (:mod:`._archive` holds the format and the procedure): find the
weak, idle patterns by the server's clock, and remove an archived pattern only if nobody wrote it
since it was copied."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._records import Record
from ._redis_format import FIELDS, SHARDS, parse_record, shard_of
from ._redis_lua import ARCHIVE_SCRIPT

if TYPE_CHECKING:  # pragma: no cover
    from .redis import RedisPatternStore


def candidates(store: RedisPatternStore, domain: str, window: int, min_support: int,
               idle_seconds: float) -> list[Record]:
    """The live patterns with support below ``min_support`` not written for ``idle_seconds``."""
    client = store.client

    def find() -> list[Record]:
        sec, usec = client.time()
        cutoff = sec + usec / 1e6 - float(idle_seconds)
        pipe = client.pipeline(transaction=False)
        for s in range(SHARDS):
            pipe.zrangebyscore(store._key(domain, window, s, "idx"), "-inf", cutoff)
        pids = [(s, p.decode() if isinstance(p, bytes) else str(p))
                for s, lst in enumerate(pipe.execute()) for p in lst]
        pipe = client.pipeline(transaction=False)
        for s, pid in pids:
            pipe.hmget(store._key(domain, window, s, f"p:{pid}"), FIELDS)
        out = []
        for (s, pid), vals in zip(pids, pipe.execute() if pids else []):
            if vals[4] is None and vals[5] is None:
                continue
            rec = parse_record(store._key(domain, window, s, f"p:{pid}"), pid, window, vals)
            if rec.support < min_support and rec.updated <= cutoff:
                out.append(rec)
        return out

    return list(store._call(find, f"archive {domain!r}/{window}: find candidates"))


def remove(store: RedisPatternStore, domain: str, window: int, recs: list[Record]) -> set[str]:
    """Delete the patterns of ``recs`` whose support (their revision) is unchanged; their ids."""
    by_shard: dict[int, list[Record]] = {}
    for r in recs:
        by_shard.setdefault(shard_of(r.pid), []).append(r)
    calls = []
    for s, items in sorted(by_shard.items()):
        keys = [store._key(domain, window, s, "idx"), store._key(domain, window, s, "ver")]
        args: list[Any] = [store.channel(domain), window]
        for r in items:
            keys.append(store._key(domain, window, s, f"p:{r.pid}"))
            args.extend((r.pid, str(r.support)))
        calls.append((keys, args))

    def delete() -> list[Any]:
        res = store._run_scripts(ARCHIVE_SCRIPT, calls)
        return [x for part in res for x in part]
    deleted = {x.decode() if isinstance(x, bytes) else str(x)
               for x in store._call(delete, f"archive {domain!r}/{window}: remove archived patterns")}
    key = (domain, window)
    if key in store._cache:
        store._cache[key].at = -np.inf
    return deleted
