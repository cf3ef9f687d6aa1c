"""Archival of the Redis pattern store into zarr, and restore.

An archive is a zarr v3 group (attrs ``format="patternlab-redis-archive"``, ``domain``,
``window``) holding one library group (the format of ``PatternLibrary.save``) per archive call,
named ``batch-<time>-<random>``; its patterns are that library's ``archived`` patterns. Existing
batches are never rewritten: an archive call only adds a batch, and a restore removes a batch
only after its patterns are back in Redis (a partial restore first writes the remainder as a new
batch). Each archived pattern carries a restore token (``attrs["restore_tokens"]``), so a restore
interrupted and run again never adds a pattern twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import redis.exceptions as rex

from ..errors import InvalidParameterError, PatternNotFoundError
from ..library import PatternLibrary, encode_signal_id
from . import _redis_format as fmt
from . import zarr as zstore
from ._redis_lua import ARCHIVE_SCRIPT

if TYPE_CHECKING:  # pragma: no cover
    from .redis import RedisPatternStore

ARCHIVE_FORMAT = "patternlab-redis-archive"


def _open_root(path: Any, domain: str, window: int, create: bool, write: bool = True) -> Any:
    zs = zstore
    try:
        root = zs.open_group(path, mode="a" if create else ("r+" if write else "r"))
    except (FileNotFoundError, KeyError, ValueError):
        if create:
            raise
        return None
    attrs = root.attrs.asdict()
    if not attrs:
        if not create:
            return None
        if len(list(root.keys())):
            raise InvalidParameterError(f"{zs.describe_url(path)} holds other data: choose an empty or "
                                        "new path for the archive")
        root.attrs.update({"format": ARCHIVE_FORMAT, "schema_version": 1, "domain": domain,
                           "window": int(window)})
        return root
    if attrs.get("format") != ARCHIVE_FORMAT:
        raise InvalidParameterError(f"{zs.describe_url(path)} is not a Redis pattern archive (format "
                                    f"{attrs.get('format')!r}): choose another path")
    if attrs.get("domain") != domain or int(attrs.get("window", -1)) != int(window):
        raise InvalidParameterError(
            f"{zs.describe_url(path)} archives {attrs.get('domain')!r}/{attrs.get('window')}, not "
            f"{domain!r}/{window}: use one archive path per (domain, window)")
    return root


def _write_batch(path: Any, root: Any, lib: PatternLibrary, tokens: dict[str, str]) -> str:
    name = f"batch-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
    zstore.save_library(lib, path, path=name)
    root[name].attrs.update({"restore_tokens": tokens})
    return name


def archive(store: RedisPatternStore, domain: str, window: int, *, min_support: int,
            idle_seconds: float, path: Any) -> list[str]:
    fmt.check_library_key(domain, window)
    fmt.check_number("min_support", min_support, 1, integer=True)
    fmt.check_number("idle_seconds", idle_seconds, 0.0)
    window = int(window)
    client = store.client
    _open_root(path, domain, window, create=False, write=False)  # a wrong path fails before any work

    def find() -> list[fmt.Record]:
        sec, usec = client.time()
        cutoff = sec + usec / 1e6 - float(idle_seconds)
        pipe = client.pipeline(transaction=False)
        for s in range(fmt.SHARDS):
            pipe.zrangebyscore(store._key(domain, window, s, "idx"), "-inf", cutoff)
        pids = [(s, p.decode() if isinstance(p, bytes) else str(p))
                for s, lst in enumerate(pipe.execute()) for p in lst]
        pipe = client.pipeline(transaction=False)
        for s, pid in pids:
            pipe.hmget(store._key(domain, window, s, f"p:{pid}"), fmt.FIELDS)
        out = []
        for (s, pid), vals in zip(pids, pipe.execute() if pids else []):
            if vals[4] is None and vals[5] is None:
                continue
            rec = fmt.parse_record(store._key(domain, window, s, f"p:{pid}"), pid, window, vals)
            if rec.support < min_support and rec.updated <= cutoff:
                out.append(rec)
        return out

    recs: list[fmt.Record] = store._call(find, f"archive {domain!r}/{window}: find candidates")
    if not recs:
        return []
    root = _open_root(path, domain, window, create=True)
    lib = PatternLibrary(window, domain)
    lib.set_archive(fmt.records_to_library(recs, domain, window, None))
    tokens = {r.pid: f"restore:{uuid.uuid4().hex}:{r.pid}" for r in recs}
    name = _write_batch(path, root, lib, tokens)  # archived first ...

    by_shard: dict[int, list[fmt.Record]] = {}
    for r in recs:
        by_shard.setdefault(fmt.shard_of(r.pid), []).append(r)
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
    deleted = {x.decode() if isinstance(x, bytes) else str(x)  # ... then removed, if unchanged
               for x in store._call(delete, f"archive {domain!r}/{window}: remove archived patterns")}
    key = (domain, window)
    if key in store._cache:
        store._cache[key].at = -np.inf
    if len(deleted) < len(recs):  # some were updated meanwhile: they stay live, out of the archive
        kept = PatternLibrary(window, domain)
        kept.set_archive(p for p in lib.archived if p.id in deleted)
        if kept.archived:
            _write_batch(path, root, kept, {p: tokens[p] for p in deleted})
        del root[name]
    return sorted(deleted)


def archived_ids(path: Any, domain: str, window: int) -> list[str]:
    """Ids of the patterns in the archive at ``path``."""
    root = _open_root(path, domain, window, create=False, write=False)
    if root is None:
        return []
    ids: set[str] = set()
    for name in sorted(root.group_keys()):
        ids.update(p.id for p in PatternLibrary.from_stored(zstore.read_library(path, path=name)).archived)
    return sorted(ids)


def restore(store: RedisPatternStore, domain: str, window: int, *, path: Any,
            ids: Sequence[str] | None = None) -> list[str]:
    fmt.check_library_key(domain, window)
    window = int(window)
    root = _open_root(path, domain, window, create=False)
    if root is None:
        raise InvalidParameterError(f"no Redis pattern archive at {zstore.describe_url(path)}: pass the "
                                    "path given to store.archive(...)")
    batches = []
    for name in sorted(root.group_keys()):
        lib = PatternLibrary.from_stored(zstore.read_library(path, path=name))
        tokens = dict(root[name].attrs.asdict().get("restore_tokens", {}))
        batches.append((name, lib.archived, tokens))
    latest: dict[str, tuple[str, Any, str]] = {}
    for name, pats, tokens in batches:
        for p in pats:
            latest[p.id] = (name, p, str(tokens.get(p.id, f"restore:{name}:{p.id}")))
    wanted = set(latest) if ids is None else set(ids)
    missing = sorted(wanted - set(latest))
    if missing:
        raise PatternNotFoundError(f"{len(missing)} pattern(s) not in the archive, e.g. {missing[:3]}: "
                                   f"the archive holds {len(latest)} pattern(s)")
    changes, toks = [], []
    for pid in sorted(wanted):
        _, p, tok = latest[pid]
        z = np.asarray(p.prototype, dtype=np.float64)
        vec = (float(p.support) * z).astype("<f8").tobytes()
        fs, fo = p.first_seen
        ls, lo = p.last_updated
        changes.append((p.id, p.domain, int(p.support), vec, encode_signal_id(fs), int(fo),
                        encode_signal_id(ls), int(lo)))
        toks.append(tok)
    if changes:
        store._apply(domain, window, changes, f"restore of {len(changes)} pattern(s)", per_change_tokens=toks)
    for name, pats, tokens in batches:  # then out of the archive
        rest = [p for p in pats if p.id not in wanted]
        if len(rest) == len(pats):
            continue
        if rest:
            lib = PatternLibrary(window, domain)
            lib.set_archive(rest)
            _write_batch(path, root, lib, {p.id: tokens.get(p.id, f"restore:{name}:{p.id}") for p in rest})
        try:
            del root[name]
        except (KeyError, rex.RedisError):  # pragma: no cover - removed by a concurrent restore
            pass
    return sorted(wanted)
