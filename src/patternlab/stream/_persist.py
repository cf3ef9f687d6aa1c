"""Where the state of a stream (or of an anytime profile) is kept: checkpoints and a journal of
samples, in a zarr group or in Redis. Numbers and plain bytes only, never pickle.

zarr layout (a group at the path)::

    <group>/                       attrs: format="patternlab-stream", schema_version, kind
      checkpoints/<n:020d>/        one checkpoint per sample count n: every state array written
                                   with crc32c and its digest (store._integrity), then the sealed
                                   attributes (scalars, array names, ``complete``) written last
      journal/<first:020d>         raw keys (not zarr nodes), one per update call: magic, first
                                   sample index, count, CRC-32 of the samples, float64 samples

A checkpoint counts only when its sealed attributes and every array verify; the newest such one
is used, then every journal record that continues it without a gap. A record torn by a kill
fails its CRC and is ignored, with everything after it (it was never acknowledged).

Redis layout (keys under ``<namespace>:stream:{<name>}``, one hash slot per stream): ``:ckpt``,
a hash of ``header`` (JSON: scalars, array dtypes, shapes, digests) and one field of raw bytes
per array, replaced by one MULTI/EXEC transaction; ``:journal``, a list of the same records as in
zarr, trimmed in the same transaction as the checkpoint that covers them.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

from .._version import __version__
from ..errors import InvalidParameterError, StoreDataError, StoreError
from ..store._integrity import check_attrs, create_checked, digest, open_array, read_checked, seal_attrs
from ..store.redis import RedisPatternStore
from ..store.zarr import describe_url, open_group

__all__ = ["Backend", "RedisBackend", "ZarrBackend", "backend_for", "pack_record", "unpack_record"]

FORMAT = "patternlab-stream"
SCHEMA_VERSION = 1
MAGIC = b"PLJ1"
_HEADER = struct.Struct("<4sqqI")
#: Checkpoints kept: the newest and the one before it (the fallback should the newest be damaged).
KEEP = 2


def pack_record(first: int, values: NDArray[np.float64]) -> bytes:
    """One journal record: the samples ``first, first + 1, ...`` with a CRC-32."""
    payload = np.ascontiguousarray(values, dtype="<f8").tobytes()
    return _HEADER.pack(MAGIC, int(first), int(values.shape[0]), zlib.crc32(payload)) + payload


def unpack_record(data: bytes) -> tuple[int, NDArray[np.float64]] | None:
    """``(first, samples)`` of a record, or None if it is torn or not a record."""
    if len(data) < _HEADER.size:
        return None
    magic, first, count, crc = _HEADER.unpack_from(data)
    payload = data[_HEADER.size:]
    if magic != MAGIC or count < 0 or len(payload) != 8 * count or zlib.crc32(payload) != crc:
        return None
    return int(first), np.frombuffer(payload, dtype="<f8").astype(np.float64)


def replay(n: int, records: list[tuple[int, NDArray[np.float64]]]) -> NDArray[np.float64]:
    """The samples from index ``n`` on that the records hold without a gap (records sorted by
    their first index; overlaps are the same samples written twice)."""
    parts = []
    at = n
    for first, vals in sorted(records, key=lambda r: r[0]):
        end = first + vals.shape[0]
        if end <= at:
            continue
        if first > at:
            break
        parts.append(vals[at - first:])
        at = end
    return np.concatenate(parts) if parts else np.empty(0)


class Backend:
    """Checkpoints and journal of one stream."""

    where: str

    def write_checkpoint(self, n: int, scalars: Mapping[str, Any],
                         arrays: Mapping[str, NDArray[Any]]) -> None:
        raise NotImplementedError

    def read(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]], NDArray[np.float64]]:
        """The newest verified checkpoint (scalars, arrays) and the journaled samples after it."""
        raise NotImplementedError

    def append(self, first: int, values: NDArray[np.float64]) -> None:
        raise NotImplementedError

    def has_checkpoint(self) -> bool:
        raise NotImplementedError

    def clear(self) -> None:
        """Remove every checkpoint and journal record."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections (nothing to do for zarr)."""


def _fix(where: str) -> str:
    return f"the stream checkpoint at {where} is damaged; restore it from a copy or start a new stream"


class ZarrBackend(Backend):
    """Checkpoints and journal in a zarr v3 group (a path or URL)."""

    def __init__(self, url: Any, kind: str, *, create: bool) -> None:
        self.where = describe_url(url)
        self.kind = kind
        try:
            self.root = open_group(url, mode="a" if create else "r+")
        except FileNotFoundError:
            raise StoreError(f"no stream checkpoint at {self.where}: check the path (save() writes "
                             "one)") from None
        except StoreError:
            raise
        except Exception as exc:  # not a zarr v3 group, unreadable metadata
            raise StoreError(f"{self.where} cannot be opened as a stream checkpoint ({type(exc).__name__}: "
                             f"{exc}): check the path") from None
        attrs = self.root.attrs.asdict()
        if create and not attrs:
            seal_attrs(self.root, {"format": FORMAT, "schema_version": SCHEMA_VERSION, "kind": kind,
                                   "patternlab_version": __version__})
        else:
            check_attrs(attrs, self.where, _fix(self.where))
            if attrs.get("format") != FORMAT or attrs.get("kind") != kind:
                raise StoreError(f"{self.where} holds {attrs.get('format')!r} ({attrs.get('kind')!r}), not a "
                                 f"{kind} stream checkpoint: pass another path")
            if int(attrs.get("schema_version", 0)) > SCHEMA_VERSION:
                raise StoreError(f"{self.where} was written by a newer patternlab (schema "
                                 f"{attrs.get('schema_version')}): upgrade patternlab to read it")
        self.store = self.root.store_path.store
        self.prefix = self.root.store_path.path

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def has_checkpoint(self) -> bool:
        return bool(self._checkpoints())

    def clear(self) -> None:
        sync(self.store.delete_dir(self._key("checkpoints")))
        sync(self.store.delete_dir(self._key("journal")))

    def _checkpoints(self) -> list[int]:
        """The sample counts of the checkpoints present (complete or not), newest first: from the
        store's listing, so that a checkpoint whose metadata is damaged is still seen."""
        async def listing() -> list[str]:
            return [k async for k in self.store.list_dir(self._key("checkpoints"))]
        names = {k.strip("/") for k in sync(listing())}
        return sorted((int(k) for k in names if k.isdigit()), reverse=True)

    def write_checkpoint(self, n: int, scalars: Mapping[str, Any],
                         arrays: Mapping[str, NDArray[Any]]) -> None:
        parent = self.root.require_group("checkpoints")
        g = parent.require_group(f"{n:020d}")
        for name, a in arrays.items():
            a = np.ascontiguousarray(a)
            chunks = tuple(max(1, min(s, 1 << 16)) if i == a.ndim - 1 else max(1, s)
                           for i, s in enumerate(a.shape)) if a.ndim else ()
            create_checked(g, name, a, chunks=chunks)
        seal_attrs(g, {**scalars, "n": int(n), "arrays": sorted(arrays), "complete": True})
        self._prune(n)

    def _prune(self, n: int) -> None:
        olds = self._checkpoints()
        keep = olds[:KEEP]
        for old in olds[KEEP:]:
            sync(self.store.delete_dir(self._key(f"checkpoints/{old:020d}")))
        floor = min(keep) if keep else n
        for key, first, count in self._journal_keys():
            if first + count <= floor:
                sync(self.store.delete(key))

    def _journal_keys(self) -> list[tuple[str, int, int]]:
        async def listing() -> list[str]:
            return [k async for k in self.store.list_prefix(self._key("journal/"))]
        out = []
        for key in sync(listing()):
            name = key.rsplit("/", 1)[-1]
            first, _, count = name.partition("-")
            if first.isdigit() and count.isdigit():
                out.append((key, int(first), int(count)))
        return sorted(out, key=lambda x: x[1])

    def append(self, first: int, values: NDArray[np.float64]) -> None:
        data = pack_record(first, values)
        buf = default_buffer_prototype().buffer.from_bytes(data)
        sync(self.store.set(self._key(f"journal/{first:020d}-{values.shape[0]:012d}"), buf))

    def read(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]], NDArray[np.float64]]:
        found = None
        problems = []
        for n in self._checkpoints():
            where = f"{self.where}/checkpoints/{n:020d}"
            try:
                try:
                    g = open_group(self.root.store_path / f"checkpoints/{n:020d}", mode="r")
                except Exception as exc:  # unreadable metadata of a damaged checkpoint
                    raise StoreDataError(f"{where} cannot be opened ({type(exc).__name__})") from None
                attrs = g.attrs.asdict()
                if not attrs.get("complete"):
                    problems.append(f"{where}: incomplete")
                    continue
                check_attrs(attrs, where, _fix(where))
                arrays = {name: read_checked(g, name, where, _fix(where),
                                             dtype=open_array(g, name, where, _fix(where)).dtype)
                          for name in attrs["arrays"]}
            except StoreDataError as exc:
                problems.append(str(exc))
                continue
            found = (attrs, arrays)
            break
        if found is None:
            why = f" ({'; '.join(problems[:2])})" if problems else ""
            raise StoreDataError(f"{self.where} holds no complete, verified stream checkpoint{why}: "
                                 "restore it from a copy or start a new stream")
        attrs, arrays = found
        records = []
        for key, _first, _count in self._journal_keys():
            raw = sync(self.store.get(key, prototype=default_buffer_prototype()))
            rec = unpack_record(raw.to_bytes()) if raw is not None else None
            if rec is not None:
                records.append(rec)
        return attrs, arrays, replay(int(attrs["n"]), records)


class RedisBackend(Backend):
    """Checkpoints and journal of one named stream in Redis (through a RedisPatternStore's
    connection, retries and error translation)."""

    def __init__(self, store: RedisPatternStore | str, name: str, kind: str) -> None:
        if not isinstance(name, str) or not name or any(c in name for c in "{}"):
            raise InvalidParameterError(f"name={name!r}: a Redis stream needs a non-empty name without "
                                        "'{' or '}'")
        self._owned = isinstance(store, str)
        self.store = RedisPatternStore(store) if isinstance(store, str) else store
        self.kind = kind
        self.name = name
        base = f"{self.store.namespace}:stream:{{{kind}:{name}}}"
        self.ckpt = f"{base}:ckpt"
        self.journal = f"{base}:journal"
        self.where = f"Redis stream {kind}:{name!r}"
        self._journaled: list[int] = []  # first index + count of each record this process appended

    def close(self) -> None:
        if self._owned:
            self.store.close()

    def has_checkpoint(self) -> bool:
        return bool(self.store._call(lambda: self.store.client.exists(self.ckpt), "stream lookup"))

    def clear(self) -> None:
        self.store._call(lambda: self.store.client.delete(self.ckpt, self.journal), "stream clear")

    def write_checkpoint(self, n: int, scalars: Mapping[str, Any],
                         arrays: Mapping[str, NDArray[Any]]) -> None:
        header = {**scalars, "n": int(n), "format": FORMAT, "schema_version": SCHEMA_VERSION,
                  "kind": self.kind,
                  "arrays": {k: [np.asarray(a).dtype.str, list(np.shape(a)), digest(np.asarray(a))]
                             for k, a in arrays.items()}}
        fields: dict[str, bytes] = {"header": json.dumps(header, sort_keys=True).encode()}
        for k, a in arrays.items():
            fields[f"a:{k}"] = np.ascontiguousarray(a).tobytes()
        client = self.store.client

        def go() -> None:
            records: list[bytes] = client.lrange(self.journal, 0, -1)  # type: ignore[assignment]
            drop = 0
            for raw in records:
                rec = unpack_record(raw)
                if rec is not None and rec[0] + rec[1].shape[0] > n:
                    break
                drop += 1
            pipe = client.pipeline(transaction=True)
            pipe.delete(self.ckpt)
            pipe.hset(self.ckpt, mapping=fields)  # type: ignore[arg-type]
            pipe.ltrim(self.journal, drop, -1)
            pipe.execute()

        self.store._call(go, f"checkpoint of stream {self.name!r}")

    def append(self, first: int, values: NDArray[np.float64]) -> None:
        data = pack_record(first, values)
        self.store._call(lambda: self.store.client.rpush(self.journal, data),
                         f"journal of stream {self.name!r}")

    def read(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]], NDArray[np.float64]]:
        client = self.store.client

        def go() -> tuple[dict[bytes, bytes], list[bytes]]:
            pipe = client.pipeline(transaction=True)
            pipe.hgetall(self.ckpt)
            pipe.lrange(self.journal, 0, -1)
            h, j = pipe.execute()
            return h, j

        h, journal = self.store._call(go, f"read stream {self.name!r}")
        fix = f"stream {self.name!r} in Redis is damaged: start a new stream (or restore its keys)"
        if not h:
            raise StoreError(f"no stream {self.kind}:{self.name!r} in Redis namespace "
                             f"{self.store.namespace!r}: check the name (save() writes one)")
        try:
            header = json.loads(h[b"header"])
            if header.get("format") != FORMAT or header.get("kind") != self.kind:
                raise ValueError("not a patternlab stream")
            arrays = {}
            for k, (dt, shape, dg) in header["arrays"].items():
                a = np.frombuffer(h[f"a:{k}".encode()], dtype=np.dtype(dt)).reshape(shape).copy()
                if digest(a) != dg:
                    raise ValueError(f"array {k!r} does not match its digest")
                arrays[k] = a
        except (KeyError, ValueError, TypeError) as exc:
            raise StoreDataError(f"{fix} ({exc})") from None
        records = [r for r in (unpack_record(bytes(x)) for x in journal) if r is not None]
        return header, arrays, replay(int(header["n"]), records)


def backend_for(target: Any, kind: str, *, name: str | None, create: bool) -> Backend:
    """The backend of ``target``: a RedisPatternStore or a ``redis://``-style URL (with ``name``),
    else a zarr path or URL."""
    schemes = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster")
    if isinstance(target, RedisPatternStore) or (
            isinstance(target, str) and target.split("://", 1)[0] in schemes):
        if name is None:
            raise InvalidParameterError("a stream kept in Redis needs name=: pass name='my-stream'")
        return RedisBackend(target, name, kind)
    if name is not None:
        raise InvalidParameterError(f"name={name!r} is only for Redis; a zarr path names the stream itself")
    return ZarrBackend(target, kind, create=create)
