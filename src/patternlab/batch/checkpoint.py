"""The checkpoint store of a batch run (zarr v3, sharded), and reading a run back.

Run format (``batch_perceive(..., store=...)``, read back with :func:`open_run`)::

    <run>/                       attrs: format="patternlab-run", schema_version,
                                        patternlab_version, config, domain, window,
                                        batch_size, n_signals, n_partitions, fingerprint,
                                        complete
      summaries/counts     (n_signals, 8) int64: events, matches, new, updated, motif_a,
                           motif_b, discord, ok -- one shard per partition (batch_size rows)
      summaries/distances  (n_signals, 2) float64: motif_distance, discord_distance -- same
      partitions/done      (n_partitions,) uint8, one chunk per partition, written last
      partitions/p00000007   the partition's library delta as one uint8 array: UTF-8 strings
                             (ids, provenance of the reinforced, founded and pending entries),
                             then int64s (string offsets, counts, offsets, the learning
                             counters), then float64s (reinforcement sums, founded and pending
                             prototypes), all little-endian; section lengths and the
                             partition's errors in its attributes
      snapshot/            the library every partition started from (written first)
      library/             the merged library, written when every partition is done

Exactly one task writes each shard: partition ``k`` writes signals ``k * batch_size ...`` of each
summary array, which is shard ``k``, and its own delta group and flag chunk. A partition's flag
is written after its data, so a partition interrupted mid-write is simply redone.

Integrity (schema version 2): every chunk carries a crc32c checksum; each delta array records the
digest of its bytes and of its partition's rows of both summary arrays (so a missing shard, which
zarr would read as zeros, is found). A partition is complete only if its flag is set **and** its
delta and summary rows are present and match their digests: a resumed run recomputes any other
(``metrics["partitions_damaged"]`` counts those that had a flag), and rewrites damaged summary or
flag arrays, a damaged starting library (when it came from ``library=``) and a damaged merged
library. :func:`open_run` raises :class:`~patternlab.errors.StoreDataError` naming the array,
the chunk and the partition. Run stores of schema version 1 cannot be resumed
(:class:`~patternlab.errors.RunMismatchError`: start over with ``overwrite=True``); ``open_run``
still reads them, with the digest checks skipped.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from zarr.core.sync import sync

from .._version import __version__
from ..config import EngineConfig
from ..errors import PatternlabError, RunMismatchError, StoreDataError, StoreError
from ..library import PatternLibrary, decode_signal_id, encode_signal_id
from ..store._integrity import (
    attrs_ok,
    check_attrs,
    checked_compressors,
    create_checked,
    digest,
    open_array,
    read_checked,
    read_rows,
    seal_attrs,
)
from ..store.zarr import (
    LIBRARY_FORMAT,
    STRING_COLUMNS,
    decode_strings,
    describe_url,
    encode_strings,
    is_shared,
    open_group,
    read_library_group,
    subgroup,
    write_library_group,
)
from .partition import Delta

__all__ = ["RUN_FORMAT", "Run", "RunStore", "open_run"]

RUN_FORMAT = "patternlab-run"
#: the run store schema: 2 adds checksums (crc32c per chunk, digests per partition)
SCHEMA_VERSION = 2
#: the attributes of a run's end (sealed by their own digest, written when the run completes);
#: the others are sealed when the store is created
_END = ("complete", "metrics")
END_DIGEST = "patternlab_end_digest"

# -- runs --------------------------------------------------------------------------------------
SUMMARY_DTYPES = {"events": "i8", "matches": "i8", "new": "i8", "updated": "i8", "motif_a": "i8",
                  "motif_b": "i8", "motif_distance": "f8", "discord": "i8",
                  "discord_distance": "f8", "ok": "bool"}
_COUNTS = ("events", "matches", "new", "updated", "motif_a", "motif_b", "discord", "ok")
_DISTANCES = ("motif_distance", "discord_distance")
_IDENTITY = ("config", "domain", "window", "batch_size", "n_signals", "fingerprint")


class RunStore:
    """The checkpoint store of one batch run (see the module docstring for the layout).

    Use :meth:`open` from the client; tasks re-open it by URL (only the URL travels).
    """

    def __init__(self, url: Any, attrs: dict[str, Any]) -> None:
        self.url = url
        self.attrs = attrs
        self._group: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "attrs": self.attrs, "_group": None}

    @property
    def group(self) -> Any:
        if self._group is None:
            self._group = open_group(self.url, mode="r+")
        return self._group

    @property
    def shared(self) -> bool:
        return is_shared(self.url)

    @classmethod
    def open(cls, url: Any, identity: dict[str, Any], *, overwrite: bool = False) -> RunStore:
        """Open the run store at ``url`` for a run with this identity (config, domain, window,
        batch_size, n_signals, input fingerprint): create it, or check that an existing one
        belongs to the same run (else :class:`RunMismatchError`, unless ``overwrite``)."""
        identity = json.loads(json.dumps(identity))  # the JSON form, as stored
        where = describe_url(url)
        try:
            root = open_group(url, mode="a")
            attrs = root.attrs.asdict()
        except PatternlabError:
            raise
        except Exception as exc:  # a damaged zarr.json at the root
            if not overwrite:
                raise StoreDataError(f"the metadata of the run store {where} cannot be read "
                                     f"({type(exc).__name__}: {exc}): pass overwrite=True to start "
                                     "the run again") from None
            attrs, root = {}, None
        if attrs and not overwrite:
            if attrs.get("format") != RUN_FORMAT:
                raise RunMismatchError(f"{where} holds something other than a patternlab run "
                                       f"(format {attrs.get('format')!r}): choose another store or "
                                       "pass overwrite=True to replace it")
            if attrs.get("schema_version") != SCHEMA_VERSION:
                raise RunMismatchError(f"{where} was written with schema {attrs.get('schema_version')} "
                                       f"(this patternlab writes {SCHEMA_VERSION}): pass overwrite=True "
                                       "to start the run again")
            check_attrs(attrs, where, "pass overwrite=True to start the run again", exclude=_END)
            diff = []
            for k in _IDENTITY:
                old, new = attrs.get(k), identity.get(k)
                if isinstance(old, dict) and isinstance(new, dict):
                    diff += [(f"{k}.{f}", old.get(f), new.get(f)) for f in sorted(set(old) | set(new))
                             if old.get(f) != new.get(f)]
                elif old != new:
                    diff.append((k, old, new))
            if diff:
                detail = "; ".join(f"{k}: stored {x}, given {y}" for k, x, y in (
                    (k, *_shown_pair(a, b)) for k, a, b in diff))
                raise RunMismatchError(f"{where} belongs to a different run ({detail}): rerun with "
                                       "the same input and config to resume, choose another store, "
                                       "or pass overwrite=True to start over")
            run = cls(url, attrs)
            run._repair_arrays()
            return run
        if not attrs and root is not None and len(list(root.keys())) and not overwrite:
            raise RunMismatchError(f"{where} already holds data that is not a patternlab run: choose "
                                   "another store or pass overwrite=True to replace it")
        root = open_group(url, mode="w")  # mode w never reads what was there
        n, bs = int(identity["n_signals"]), int(identity["batch_size"])
        parts = -(-n // bs)
        for name in _ARRAYS:
            _create_array(root, name, n, bs, parts)
        attrs = {"format": RUN_FORMAT, "schema_version": SCHEMA_VERSION,
                 "patternlab_version": __version__, **identity, "n_partitions": parts,
                 "run_id": uuid.uuid4().hex, "complete": False}
        return cls(url, seal_attrs(root, attrs, exclude=_END))

    @property
    def complete(self) -> bool:
        """Whether the run completed (its end record is set and matches its digest)."""
        return ended(self.attrs)

    # -- the starting library ------------------------------------------------------------------
    def has_snapshot(self) -> bool:
        """Whether the library the run started from is stored (written before any partition;
        its contents are checked by :meth:`read_snapshot`)."""
        g = self.group
        try:
            return "snapshot" in g and g["snapshot"].attrs.get("format") == LIBRARY_FORMAT
        except Exception:  # damaged metadata: no usable snapshot
            return False

    def write_snapshot(self, lib: PatternLibrary) -> None:
        """Store the library every partition starts from (a resumed run starts from it again,
        even where it came from a Redis store that has changed since)."""
        write_library_group(self.group.create_group("snapshot", overwrite=True), lib)

    def read_snapshot(self, config: Any = None) -> PatternLibrary:
        """The library the run started from, verified (:class:`StoreDataError` if damaged)."""
        fix = ("the library the run started from is damaged: pass overwrite=True to start the run "
               "again")
        where = describe_url(self.url)
        return PatternLibrary.from_stored(read_library_group(subgroup(self.group, "snapshot", where, fix),
                                                             where, fix), config)

    def library_ok(self) -> bool:
        """Whether the merged library is present and verifies."""
        where = describe_url(self.url)
        try:
            read_library_group(subgroup(self.group, "library", where, ""), where)
        except PatternlabError:
            return False
        return True

    # -- partitions ----------------------------------------------------------------------------
    def done(self) -> NDArray[np.bool_]:
        """Which partitions have their flag set (written after their data; a flag that cannot be
        read counts as not set). :meth:`verify` checks their data."""
        return read_flags(self.group, int(self.attrs["n_partitions"]))

    def verify(self, bounds: list[tuple[int, int, int]], done: NDArray[np.bool_]
               ) -> tuple[NDArray[np.bool_], dict[int, str], dict[int, Delta]]:
        """The partitions that are complete: flagged, with their delta and summary rows present
        and matching their digests. The flags of the others are cleared (they are to be
        recomputed). Returns the complete ones, for each flagged one that is not why, and the
        deltas read."""
        done = done.copy()
        damaged: dict[int, str] = {}
        deltas: dict[int, Delta] = {}
        for k, s, e in bounds:
            if not done[k]:
                continue
            try:
                deltas[k] = self.read_partition(k, s, e)
            except StoreDataError as exc:
                damaged[k] = str(exc)
                done[k] = False
                self.group["partitions/done"][k] = 0
        return done, damaged, deltas

    def _repair_arrays(self) -> None:
        """Recreate the summary and flag arrays if their metadata is damaged (their partitions
        then fail :meth:`verify` and are recomputed)."""
        g = self.group
        n, bs = int(self.attrs["n_signals"]), int(self.attrs["batch_size"])
        parts = int(self.attrs["n_partitions"])
        for name in _ARRAYS:
            try:
                arr = g[name]
                ok = _layout(name, n, bs, parts) == (tuple(arr.shape), str(arr.dtype), tuple(arr.chunks))
            except Exception:  # missing or unreadable metadata
                ok = False
            if not ok:
                _create_array(g, name, n, bs, parts)

    def write_partition(self, delta: Delta, start: int, stop: int) -> None:
        """Write one partition's summaries (its own shard of each array), its delta, then its flag."""
        k = delta.first
        if delta.last != k:
            raise StoreError(f"internal: a partition delta covers one partition, got {k}-{delta.last}")
        bs = int(self.attrs["batch_size"])
        if start != k * bs:
            raise StoreError(f"internal: partition {k} starts at {start}, not at shard boundary {k * bs}")
        g = self.group
        counts = np.stack([np.asarray(delta.summaries[f], dtype=np.int64) for f in _COUNTS], axis=1)
        dists = np.stack([np.asarray(delta.summaries[f], dtype=np.float64) for f in _DISTANCES], axis=1)
        for name, block in (("counts", counts), ("distances", dists)):
            arr = g[f"summaries/{name}"]
            # what an interrupted attempt left in this shard is removed first: zarr would read
            # (and choke on) a half-written shard before replacing it
            key = f"summaries/{name}/{arr.metadata.encode_chunk_key((k, 0))}"
            if g.store_path.path:
                key = f"{g.store_path.path}/{key}"
            sync(g.store.delete(key))
            arr[start:stop] = block
        w = int(self.attrs["window"])
        new = delta.new
        u, m, p = len(delta.upd_ids), len(new["ids"]), len(new["pool_ids"])
        strings = (list(delta.upd_ids) + [encode_signal_id(sid) for sid, _ in delta.upd_last]
                   + [str(x) for name in STRING_COLUMNS for x in np.asarray(new[name]).tolist()]
                   + [str(x) for name in STRING_COLUMNS for x in np.asarray(new[f"pool_{name}"]).tolist()])
        raw, offsets = encode_strings(strings)
        counters = np.asarray(new["counters"], dtype=np.int64)
        ints = np.concatenate([offsets, np.asarray(delta.upd_n, dtype=np.int64),
                               np.array([o for _, o in delta.upd_last], dtype=np.int64),
                               np.asarray(new["supports"], dtype=np.int64),
                               np.asarray(new["first_offset"], dtype=np.int64),
                               np.asarray(new["last_offset"], dtype=np.int64),
                               np.asarray(new["pool_supports"], dtype=np.int64),
                               np.asarray(new["pool_first_offset"], dtype=np.int64),
                               np.asarray(new["pool_last_offset"], dtype=np.int64), counters])
        floats = np.concatenate([np.asarray(delta.upd_sum, dtype=np.float64).reshape(u, w),
                                 np.asarray(new["prototypes"], dtype=np.float64).reshape(m, w),
                                 np.asarray(new["pool_prototypes"], dtype=np.float64).reshape(p, w)])
        # one array per partition: its bytes are the strings, then the int64s, then the float64s
        # (little-endian); the sections' lengths and the partition's errors are its attributes
        blob = np.concatenate([raw, ints.astype("<i8").view(np.uint8),
                               floats.astype("<f8").ravel().view(np.uint8)])
        attrs = {"updated": u, "founded": m, "pending": p, "counters": int(counters.size),
                 "string_bytes": int(raw.size), "ints": int(ints.size),
                 "errors": {str(s): v for s, v in delta.errors.items()},
                 "seconds": float(delta.seconds), "start": int(start), "stop": int(stop)}
        attrs["summary_digests"] = {"counts": digest(counts), "distances": digest(dists)}
        create_checked(g, f"partitions/p{k:08d}", blob, chunks=(max(1, blob.size),), attributes=attrs)
        g["partitions/done"][k] = 1

    def read_partition(self, k: int, start: int, stop: int) -> Delta:
        """The delta of a completed partition, as
        :func:`~patternlab.batch.partition.run_partition` returned it, verified against its
        digests (:class:`StoreDataError` naming the array and chunk when anything is missing or
        damaged)."""
        where, name = describe_url(self.url), f"partitions/p{k:08d}"
        fix = _fix(k)
        try:
            return self._read_partition(k, start, stop, where, name, fix)
        except PatternlabError:
            raise
        except Exception as exc:  # whatever else damaged contents raise
            raise StoreDataError(f"{where}/{name} cannot be read ({type(exc).__name__}: {exc}): "
                                 f"{fix}") from None

    def _read_partition(self, k: int, start: int, stop: int, where: str, name: str, fix: str) -> Delta:
        g = self.group
        verify = self.attrs.get("schema_version") == SCHEMA_VERSION
        pa = open_array(g, name, where, fix)
        attrs = pa.attrs.asdict()
        blob = read_checked(g, name, where, fix, dtype=np.uint8, shape=lambda s: len(s) == 1,
                            verify=verify)
        w = int(self.attrs["window"])
        u, m, p = int(attrs["updated"]), int(attrs["founded"]), int(attrs.get("pending", 0))
        nc, nb, ni = int(attrs.get("counters", 0)), int(attrs["string_bytes"]), int(attrs["ints"])
        nsc = len(STRING_COLUMNS)
        ns = 2 * u + nsc * (m + p)
        if (min(u, m, p, nc, nb) < 0 or ni != ns + 1 + 2 * u + 3 * (m + p) + nc
                or blob.size != nb + 8 * ni + 8 * w * (u + m + p)
                or (int(attrs["start"]), int(attrs["stop"])) != (start, stop)):
            raise StoreDataError(f"{where}/{name}: its section lengths do not fit its {blob.size} bytes "
                                 f"or partition {k} (signals {start}:{stop}): {fix}")
        ints = blob[nb:nb + 8 * ni].view("<i8").astype(np.int64)
        floats = blob[nb + 8 * ni:].view("<f8").astype(np.float64).reshape(u + m + p, w)
        offsets = ints[:ns + 1]
        if offsets[0] != 0 or np.any(np.diff(offsets) < 0) or offsets[-1] != nb:
            raise StoreDataError(f"{where}/{name}: its string offsets do not fit its strings: {fix}")
        strings = decode_strings(blob[:nb], offsets)
        rest = ints[ns + 1:]
        upd_n, last_off = rest[:u], rest[u:2 * u]
        sup, first_off, last_off_new, psup, pfirst, plast, counters = np.split(
            rest[2 * u:], [m, 2 * m, 3 * m, 3 * m + p, 3 * m + 2 * p, 3 * m + 3 * p])
        new: dict[str, Any] = {"window": np.int64(w),
                               "domain": np.array(str(self.attrs["domain"]), dtype=str)}
        for j, col in enumerate(STRING_COLUMNS):
            new[col] = np.array(strings[2 * u + j * m:2 * u + (j + 1) * m], dtype=str)
            at = 2 * u + nsc * m
            new[f"pool_{col}"] = np.array(strings[at + j * p:at + (j + 1) * p], dtype=str)
        new.update({"prototypes": floats[u:u + m], "supports": sup.copy(), "first_offset": first_off.copy(),
                    "last_offset": last_off_new.copy(), "pool_prototypes": floats[u + m:].copy(),
                    "pool_supports": psup.copy(), "pool_first_offset": pfirst.copy(),
                    "pool_last_offset": plast.copy()})
        if nc:
            new["counters"] = counters[:nc].copy()
        digests = attrs.get("summary_digests") if verify else None
        if verify and not isinstance(digests, dict):
            raise StoreDataError(f"{where}/{name} has no summary digests: its metadata is damaged; {fix}")
        counts = summary_rows(g, "counts", k, start, stop, where, fix, digests)
        dists = summary_rows(g, "distances", k, start, stop, where, fix, digests)
        summ: dict[str, NDArray[Any]] = {f: counts[:, j].copy() for j, f in enumerate(_COUNTS)}
        summ["ok"] = summ["ok"].astype(bool)
        summ.update({f: dists[:, j].copy() for j, f in enumerate(_DISTANCES)})
        last = list(zip([decode_signal_id(x) for x in strings[u:2 * u]], last_off.tolist()))
        return Delta(k, k, strings[:u], floats[:u].copy(), upd_n.copy(), last, new, summ,
                     {int(s): str(v) for s, v in attrs.get("errors", {}).items()},
                     0.0, tasks=0)  # read back, not processed: counts no task and no time

    # -- the end of a run -------------------------------------------------------------------------
    def write_library(self, lib: PatternLibrary, metrics: dict[str, int | float]) -> None:
        """Write the merged library, then mark the run complete (with the run's metrics: counts
        as integers, rates and durations as floats)."""
        g = self.group
        write_library_group(g.create_group("library", overwrite=True), lib)
        kept = {k: int(v) if isinstance(v, (int, np.integer)) else float(v) for k, v in metrics.items()}
        self.attrs = seal_attrs(g, {"complete": True, "metrics": kept}, name=END_DIGEST, keys=_END)


_ARRAYS = ("summaries/counts", "summaries/distances", "partitions/done")


def _layout(name: str, n: int, bs: int, parts: int) -> tuple[tuple[int, ...], str, tuple[int, ...]]:
    """Shape, dtype and chunks of the summary and flag arrays."""
    if name == "partitions/done":
        return (parts,), "uint8", (1,)
    cols = len(_COUNTS) if name.endswith("counts") else len(_DISTANCES)
    return (n, cols), "int64" if name.endswith("counts") else "float64", (bs, cols)


def _create_array(root: Any, name: str, n: int, bs: int, parts: int) -> None:
    group, _, leaf = name.partition("/")
    g = root.require_group(group)
    shape, dtype, chunks = _layout(name, n, bs, parts)
    if name == "partitions/done":  # one chunk per partition: each flag its own writer
        g.create_array(leaf, shape=shape, dtype=dtype, chunks=chunks, fill_value=0,
                       compressors=checked_compressors(compress=False), overwrite=True)
        return
    g.create_array(leaf, shape=shape, dtype=dtype, chunks=chunks, shards=chunks, fill_value=0,
                   compressors=checked_compressors(), overwrite=True)


def ended(attrs: dict[str, Any]) -> bool:
    """Whether run attributes record a complete run (checked against their digest from schema 2
    on)."""
    if attrs.get("complete") is not True:
        return False
    return attrs.get("schema_version") != SCHEMA_VERSION or attrs_ok(attrs, name=END_DIGEST, keys=_END)


def _fix(k: int) -> str:
    return (f"rerun batch_perceive with this store and the same input to recompute partition {k} "
            "(or pass overwrite=True to start over)")


def read_flags(group: Any, parts: int) -> NDArray[np.bool_]:
    """The completion flags (a flag chunk that cannot be read, or holds anything but 1, is not
    set; so is every flag when the array itself is unreadable)."""
    try:
        arr = group["partitions/done"]
        if tuple(arr.shape) != (parts,):
            return np.zeros(parts, dtype=bool)
    except Exception:  # missing or unreadable metadata
        return np.zeros(parts, dtype=bool)
    try:
        return np.asarray(arr[...]) == 1
    except Exception:  # some flag chunk is damaged: read them one by one
        out = np.zeros(parts, dtype=bool)
        for k in range(parts):
            try:
                out[k] = int(arr[k]) == 1
            except Exception:  # this flag is damaged: not set
                out[k] = False
        return out


def summary_rows(g: Any, name: str, k: int, start: int, stop: int, where: str, fix: str,
                 digests: dict[str, Any] | None) -> NDArray[Any]:
    """Rows ``start:stop`` (partition ``k``, shard ``k``) of a summary array, checked against the
    partition's digest of them (when it has one)."""
    arr = open_array(g, f"summaries/{name}", where, fix)
    label = f"{where}/summaries/{name} chunk {arr.metadata.encode_chunk_key((k, 0))} (partition {k})"
    cols = len(_COUNTS) if name == "counts" else len(_DISTANCES)
    if arr.dtype != np.dtype("i8" if name == "counts" else "f8") or tuple(arr.shape[1:]) != (cols,):
        raise StoreDataError(f"{where}/summaries/{name} has dtype {arr.dtype} and shape {arr.shape}: "
                             f"its metadata is damaged; {fix}")
    rows = read_rows(arr, start, stop, label, fix)
    if digests is not None and digest(rows) != digests.get(name):
        key = arr.metadata.encode_chunk_key((k, 0))
        path = f"{arr.store_path.path}/{key}"
        gone = not sync(arr.store_path.store.exists(path))
        raise StoreDataError(f"{label} does not match the digest partition {k} recorded"
                             f"{' (the chunk is missing)' if gone else ''}: {fix}")
    return rows


def _short(v: Any) -> str:
    """``v`` as JSON, cut to about 60 characters; a string keeps its closing quote."""
    s = json.dumps(v, sort_keys=True)
    if len(s) <= 60:
        return s
    if isinstance(v, str):
        return json.dumps(v[:54] + "...")
    return s[:57] + "..."


def _shown_pair(a: Any, b: Any) -> tuple[str, str]:
    """A stored and a given value for a message: long strings cut alike, around where they first
    differ, each quoted whole (``"...library:1ed1..."``)."""
    if not (isinstance(a, str) and isinstance(b, str)) or max(len(a), len(b)) <= 54:
        return _short(a), _short(b)
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    lo = max(0, i - 24)

    def cut(v: str) -> str:
        part = v[lo:lo + 54]
        return json.dumps(("..." if lo else "") + part + ("..." if lo + 54 < len(v) else ""))

    return cut(a), cut(b)


# -- reading a run back --------------------------------------------------------------------------
@dataclass
class Run:
    """A run store read back by :func:`open_run`.

    Attributes
    ----------
    url : str
        Where the run lives.
    config : EngineConfig
        The run's configuration.
    domain : str
        Domain of its signals.
    attrs : dict
        All run attributes (versions, batch size, input fingerprint, metrics when complete).
    """

    url: Any
    config: Any
    domain: str
    attrs: dict[str, Any]
    _group: Any

    @property
    def complete(self) -> bool:
        """Whether every partition is done and the merged library is written (a damaged record
        of the run's end reads as not complete: a rerun completes it again)."""
        return ended(self.attrs)

    @property
    def progress(self) -> tuple[int, int]:
        """``(partitions done, partitions)`` (by their flags; a flag that cannot be read is not
        done)."""
        done = read_flags(self._group, int(self.attrs["n_partitions"]))
        return int(done.sum()), int(done.size)

    @property
    def library(self) -> PatternLibrary:
        """The merged library of a complete run."""
        if not self.complete:
            done, total = self.progress
            why = "" if done < total else ", but its record of completion is missing or damaged"
            raise StoreError(f"the run at {describe_url(self.url)} is not complete ({done} of {total} "
                             f"partitions done{why}): rerun batch_perceive with this store to finish it")
        where = describe_url(self.url)
        fix = "the merged library is damaged: rerun batch_perceive with this store to write it again"
        group = subgroup(self._group, "library", where, fix)
        return PatternLibrary.from_stored(read_library_group(group, where, fix), self.config)

    @property
    def summaries(self) -> dict[str, NDArray[Any]]:
        """Per-signal summaries (zero where a partition is not done; see ``summaries['ok']``).

        Each done partition's rows are checked against the digests it recorded: a missing or
        damaged chunk raises :class:`StoreDataError` naming it (rerun ``batch_perceive`` with this
        store to recompute that partition).
        """
        g, where = self._group, describe_url(self.url)
        n, bs = int(self.attrs["n_signals"]), int(self.attrs["batch_size"])
        verify = self.attrs.get("schema_version") == SCHEMA_VERSION
        counts = np.zeros((n, len(_COUNTS)), dtype=np.int64)
        dists = np.zeros((n, len(_DISTANCES)), dtype=np.float64)
        flags = read_flags(g, int(self.attrs["n_partitions"]))
        if self.complete and not flags.all():
            k = int(np.argmin(flags))
            raise StoreDataError(f"{where}/partitions/done: the flag of partition {k} is missing or "
                                 f"damaged although the run is complete: {_fix(k)}")
        whole: dict[str, NDArray[Any] | None] = {}
        for name in ("counts", "distances"):  # one read of each, verified partition by partition
            try:
                whole[name] = np.asarray(open_array(g, f"summaries/{name}", where, _fix(0))[...])
            except Exception:  # a damaged chunk: found (and named) by the reads below
                whole[name] = None
        for k in np.flatnonzero(flags).tolist():
            start, stop, fix = k * bs, min(n, (k + 1) * bs), _fix(k)
            digests = None
            if verify:
                pa = open_array(g, f"partitions/p{k:08d}", where, fix)
                digests = pa.attrs.get("summary_digests")
                if not isinstance(digests, dict):
                    raise StoreDataError(f"{where}/partitions/p{k:08d} has no summary digests: its "
                                         f"metadata is damaged; {fix}")
            for name, out_rows in (("counts", counts), ("distances", dists)):
                block, cols = whole[name], out_rows.shape[1]
                if block is not None and block.dtype == out_rows.dtype and block.shape == (n, cols) and (
                        digests is None or digest(block[start:stop]) == digests.get(name)):
                    out_rows[start:stop] = block[start:stop]
                else:  # read alone: the error names the chunk
                    out_rows[start:stop] = summary_rows(g, name, k, start, stop, where, fix, digests)
        out: dict[str, NDArray[Any]] = {f: counts[:, j] for j, f in enumerate(_COUNTS)}
        out["ok"] = out["ok"].astype(bool)
        out.update({f: dists[:, j] for j, f in enumerate(_DISTANCES)})
        return out

    @property
    def metrics(self) -> dict[str, int | float]:
        """The metrics of the run that completed the store (empty before): as
        :attr:`BatchResult.metrics`, counts ``int`` (stores written before counts were kept as
        integers hold floats), rates and durations ``float``."""
        return dict(self.attrs.get("metrics", {})) if self.complete else {}

    def __repr__(self) -> str:
        done, total = self.progress
        return (f"<Run {describe_url(self.url)} domain={self.domain!r} {self.attrs.get('n_signals')} "
                f"signals, {done}/{total} partitions{' complete' if self.complete else ''}>")


def open_run(url: Any) -> Run:
    """Read a run store written by ``batch_perceive(..., store=url)``.

    Parameters
    ----------
    url : str, path or zarr store
        The run store.

    Returns
    -------
    Run
        Its library (once complete), summaries, progress, config and attributes.

    Raises
    ------
    StoreError
        No run store is at ``url``.
    StoreDataError
        Its metadata cannot be read; reading ``run.summaries`` or ``run.library`` raises it too
        when data is missing or fails its checksum (the message names the array, the chunk and
        the partition, and says to rerun ``batch_perceive`` with the store to recompute it). Run
        stores of schema version 1 are read with the digest checks skipped.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> sig = [np.sin(np.arange(300) / 5.0) + 0.1 * np.cos(np.arange(300.0) * k) for k in range(4)]
    >>> _ = pl.batch_perceive(sig, config=pl.EngineConfig(window=16), client=False, progress=False,
    ...                       store="memory://doc-run", batch_size=2)
    >>> pl.open_run("memory://doc-run").progress
    (2, 2)
    """
    where = describe_url(url)
    try:
        group = open_group(url, mode="r")
        attrs = group.attrs.asdict()
    except (FileNotFoundError, KeyError) as exc:
        raise StoreError(f"no run store at {where} ({exc})") from None
    except Exception as exc:  # a damaged zarr.json at the root
        raise StoreDataError(f"the metadata of the run store {where} cannot be read "
                             f"({type(exc).__name__}: {exc}): rerun batch_perceive with overwrite=True "
                             "to start over") from None
    if attrs.get("format") != RUN_FORMAT:
        raise StoreError(f"{where} is not a patternlab run store (format {attrs.get('format')!r})")
    if attrs.get("schema_version") == SCHEMA_VERSION:
        check_attrs(attrs, where, "rerun batch_perceive with overwrite=True to start over", exclude=_END)
    try:
        for key in ("n_signals", "batch_size", "n_partitions"):
            if isinstance(attrs[key], bool) or not isinstance(attrs[key], int) or attrs[key] < 0:
                raise TypeError(f"{key}={attrs[key]!r}")
        if attrs["n_partitions"] != -(-attrs["n_signals"] // max(1, attrs["batch_size"])):
            raise ValueError(f"n_partitions={attrs['n_partitions']} does not fit n_signals and batch_size")
        config = EngineConfig(**attrs["config"])
        domain = attrs["domain"]
        if not isinstance(domain, str):
            raise TypeError(f"domain={domain!r}")
    except (PatternlabError, KeyError, TypeError, ValueError) as exc:
        raise StoreDataError(f"the attributes of the run store {where} are damaged ({exc}): rerun "
                             "batch_perceive with overwrite=True to start over") from None
    return Run(url, config, domain, attrs, group)
