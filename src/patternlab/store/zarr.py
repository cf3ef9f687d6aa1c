"""Sharded zarr v3 storage: library snapshots and archives, and the checkpoint store of a batch run.

Library format (``PatternLibrary.save`` / ``PatternLibrary.load``, and the archive of evicted
patterns, which is a library group too)::

    <group>/                     attrs: format="patternlab-library", schema_version, window,
                                        domain, config, n
      prototypes      (n, window) float64 (stored uncompressed)
      ints            (n, 3) int64: support, first_offset, last_offset
      strings         uint8: the UTF-8 bytes of ids, domains, first_signal, last_signal
                      (each column of n strings, one column after the other)
      string_offsets  (4 n + 1,) int64: string k is strings[offsets[k]:offsets[k + 1]]
      archived/    the archived patterns, same layout (no nested archive)

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
                             (ids, provenance), then int64s (string offsets, counts, offsets),
                             then float64s (reinforcement sums, founded prototypes), all
                             little-endian; section lengths and the partition's errors in its
                             attributes
      snapshot/            the library every partition started from (written first)
      library/             the merged library, written when every partition is done

Exactly one task writes each shard: partition ``k`` writes signals ``k * batch_size ...`` of each
summary array, which is shard ``k``, and its own delta group and flag chunk. A partition's flag
is written after its data, so a partition interrupted mid-write is simply redone.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidParameterError, RunMismatchError, StoreError

if TYPE_CHECKING:  # pragma: no cover
    from ..batch import Delta
    from ..library import PatternLibrary

__all__ = ["Run", "RunStore", "load_library", "open_group", "open_run", "save_library"]

LIBRARY_FORMAT = "patternlab-library"
RUN_FORMAT = "patternlab-run"
SCHEMA_VERSION = 1
_STRINGS = ("ids", "domains", "first_signal", "last_signal")


# -- opening stores ----------------------------------------------------------------------------
def _store_for(url: Any) -> Any:
    """A zarr store for a path or URL (``file://``, ``memory://``, ``s3://`` ... via fsspec), or
    the store object itself."""
    import zarr.storage

    if not isinstance(url, (str, os.PathLike)):
        return url  # a zarr Store (or StorePath) given directly
    s = os.fspath(url)
    if s.startswith("file://"):
        s = s[len("file://"):]
    if "://" not in s:
        return zarr.storage.LocalStore(s)
    try:
        return zarr.storage.FsspecStore.from_url(s)
    except (ImportError, ValueError) as exc:
        raise InvalidParameterError(f"cannot open the store {s!r}: {exc}; install the fsspec "
                                    "backend of its protocol (e.g. s3fs for s3://)") from None


def open_group(url: Any, mode: Literal["r", "r+", "a", "w", "w-"] = "r") -> Any:
    """Open a zarr v3 group at a path, a URL or a zarr store (``mode`` as in ``zarr.open_group``)."""
    import zarr

    return zarr.open_group(store=_store_for(url), mode=mode, zarr_format=3)


def is_shared(url: Any) -> bool:
    """Whether other processes see the same store (false for ``memory://`` and in-memory stores)."""
    if isinstance(url, (str, os.PathLike)):
        return not os.fspath(url).startswith("memory://")
    import zarr.storage

    return not isinstance(url, zarr.storage.MemoryStore)


def describe_url(url: Any) -> str:
    return os.fspath(url) if isinstance(url, (str, os.PathLike)) else type(url).__name__


# -- libraries ---------------------------------------------------------------------------------
_INTS = ("supports", "first_offset", "last_offset")


def _encode(strings: list[str]) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """UTF-8 bytes of the strings end to end, and the offsets of each (``len + 1``)."""
    offsets = np.zeros(len(strings) + 1, dtype=np.int64)
    joined = "".join(strings)
    if joined.isascii():  # one character, one byte: no per-string encoding needed
        np.cumsum(np.fromiter(map(len, strings), dtype=np.int64, count=len(strings)), out=offsets[1:])
        return np.frombuffer(joined.encode("ascii"), dtype=np.uint8), offsets
    enc = [x.encode() for x in strings]
    np.cumsum(np.fromiter(map(len, enc), dtype=np.int64, count=len(enc)), out=offsets[1:])
    return np.frombuffer(b"".join(enc), dtype=np.uint8), offsets


def _write_arrays(group: Any, arrays: Mapping[str, Any]) -> None:
    """Four arrays: ``strings`` + ``string_offsets`` (the four string columns one after the
    other, UTF-8), ``prototypes`` (stored raw: float noise does not compress) and ``ints``."""
    n = len(np.asarray(arrays["ids"]))
    raw, offsets = _encode([x for name in _STRINGS for x in np.asarray(arrays[name]).tolist()])
    group.create_array("strings", data=raw, chunks=(max(1, min(raw.size, 1 << 24)),), overwrite=True)
    group.create_array("string_offsets", data=offsets, chunks=(max(1, min(offsets.size, 1 << 21)),),
                       overwrite=True)
    w = int(np.asarray(arrays["window"]))
    Z = np.ascontiguousarray(arrays["prototypes"], dtype=np.float64).reshape(n, w)
    rows = max(1, min(n, (1 << 21) // max(1, w)))  # chunks of at most 16 MB
    group.create_array("prototypes", data=Z, chunks=(rows, max(1, w)), compressors=None, overwrite=True)
    ints = np.stack([np.asarray(arrays[name], dtype=np.int64).reshape(n) for name in _INTS], axis=1)
    group.create_array("ints", data=ints, chunks=(max(1, min(n, 1 << 20)), len(_INTS)), overwrite=True)


def _decode(raw: NDArray[np.uint8], offsets: NDArray[np.int64]) -> list[str]:
    data = raw.tobytes()
    if raw.size == 0 or int(raw.max()) < 128:  # ASCII: slice one decoded string
        text = data.decode("ascii")
        return [text[a:b] for a, b in itertools.pairwise(offsets.tolist())]
    return [data[a:b].decode() for a, b in itertools.pairwise(offsets.tolist())]


def _read_arrays(group: Any, window: int, domain: str) -> dict[str, Any]:
    strings = _decode(np.asarray(group["strings"][...], dtype=np.uint8),
                      np.asarray(group["string_offsets"][...], dtype=np.int64))
    n = len(strings) // len(_STRINGS)
    out: dict[str, Any] = {name: strings[j * n:(j + 1) * n] for j, name in enumerate(_STRINGS)}
    ints = np.asarray(group["ints"][...], dtype=np.int64).reshape(n, len(_INTS))
    out.update({name: ints[:, j].copy() for j, name in enumerate(_INTS)})
    out["prototypes"] = np.asarray(group["prototypes"][...], dtype=np.float64).reshape(n, window)
    out["window"] = np.int64(window)
    out["domain"] = domain
    return out


def _archive_arrays(lib: PatternLibrary) -> dict[str, Any]:
    from ..library import PatternLibrary

    arch = PatternLibrary(lib.window, lib.domain, config=lib.config.replace(max_patterns=1 << 40))
    for p in lib.archived:
        arch._insert(np.asarray(p.prototype), p.id, p.domain, p.support, p.first_seen, p.last_updated)
    return arch.to_arrays()


def save_library(lib: PatternLibrary, url: Any, *, overwrite: bool = False, path: str = "") -> None:
    """Write a library (and its archive) as a zarr v3 group; see the module docstring."""
    group = _create(url, path, overwrite, what="a library")
    _write_library(group, lib)


def _create(url: Any, path: str, overwrite: bool, what: str) -> Any:
    root = open_group(url, mode="a")
    if path:
        if path in root and not overwrite:
            raise InvalidParameterError(f"{describe_url(url)}/{path} already exists: pass "
                                        "overwrite=True to replace it")
        return root.create_group(path, overwrite=True)
    if (len(list(root.keys())) or root.attrs.asdict()) and not overwrite:
        raise InvalidParameterError(f"{describe_url(url)} already holds data: pass overwrite=True "
                                    f"to replace it with {what}, or choose another path")
    return open_group(url, mode="w")


def _write_library(group: Any, lib: PatternLibrary) -> None:
    from .. import __version__

    _write_arrays(group, lib.to_arrays())
    arch = group.create_group("archived", overwrite=True)
    _write_arrays(arch, _archive_arrays(lib))
    # attrs last: a group without them is not a (complete) library
    group.attrs.update({"format": LIBRARY_FORMAT, "schema_version": SCHEMA_VERSION,
                        "patternlab_version": __version__, "window": lib.window,
                        "domain": lib.domain, "config": lib.config.to_dict(), "n": len(lib),
                        "n_archived": len(lib.archived)})


def load_library(url: Any, *, path: str = "", config: Any = None) -> PatternLibrary:
    """Read a library written by :func:`save_library` (exact round trip, archive included)."""
    try:
        root = open_group(url, mode="r")
        group = root[path] if path else root
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise StoreError(f"no library at {describe_url(url)}{'/' + path if path else ''} ({exc}); "
                         "write one with library.save(path)") from None
    return _read_library(group, describe_url(url), config)


def _read_library(group: Any, where: str, config: Any = None) -> PatternLibrary:
    from ..config import EngineConfig
    from ..library import PatternLibrary

    attrs = group.attrs.asdict()
    if attrs.get("format") != LIBRARY_FORMAT:
        raise StoreError(f"{where} is not a patternlab library (format {attrs.get('format')!r}); "
                         "write one with library.save(path)")
    if int(attrs.get("schema_version", 0)) > SCHEMA_VERSION:
        raise StoreError(f"{where} was written with schema {attrs['schema_version']}, newer than "
                         f"this patternlab reads ({SCHEMA_VERSION}): upgrade patternlab")
    window, domain = int(attrs["window"]), str(attrs["domain"])
    cfg = config if config is not None else EngineConfig(**attrs["config"])
    big = cfg.replace(max_patterns=1 << 40)
    lib = PatternLibrary.from_arrays(_read_arrays(group, window, domain), domain=domain, config=big)
    arch = PatternLibrary.from_arrays(_read_arrays(group["archived"], window, domain), domain=domain,
                                      config=big)
    lib.config = cfg
    lib.archived = list(arch)
    lib._archived_ids = {p.id for p in lib.archived}
    return lib


# -- fingerprints ------------------------------------------------------------------------------
def library_fingerprint(arrays: Mapping[str, Any]) -> str:
    """A content hash of :meth:`PatternLibrary.to_arrays` output."""
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(arrays):
        a = np.asarray(arrays[name])
        h.update(name.encode())
        if a.dtype.kind == "U":
            h.update("\x00".join(a.ravel().tolist()).encode())
        else:
            h.update(str(a.dtype).encode() + str(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


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
        from .. import __version__

        identity = json.loads(json.dumps(identity))  # the JSON form, as stored
        where = describe_url(url)
        root = open_group(url, mode="a")
        attrs = root.attrs.asdict()
        if attrs and not overwrite:
            if attrs.get("format") != RUN_FORMAT:
                raise RunMismatchError(f"{where} holds something other than a patternlab run "
                                       f"(format {attrs.get('format')!r}): choose another store or "
                                       "pass overwrite=True to replace it")
            if int(attrs.get("schema_version", 0)) != SCHEMA_VERSION:
                raise RunMismatchError(f"{where} was written with schema {attrs.get('schema_version')} "
                                       f"(this patternlab writes {SCHEMA_VERSION}): pass overwrite=True "
                                       "to start the run again")
            diff = []
            for k in _IDENTITY:
                old, new = attrs.get(k), identity.get(k)
                if isinstance(old, dict) and isinstance(new, dict):
                    diff += [(f"{k}.{f}", old.get(f), new.get(f)) for f in sorted(set(old) | set(new))
                             if old.get(f) != new.get(f)]
                elif old != new:
                    diff.append((k, old, new))
            if diff:
                detail = "; ".join(f"{k}: stored {_short(a)}, given {_short(b)}" for k, a, b in diff)
                raise RunMismatchError(f"{where} belongs to a different run ({detail}): rerun with "
                                       "the same input and config to resume, choose another store, "
                                       "or pass overwrite=True to start over")
            return cls(url, attrs)
        if not attrs and len(list(root.keys())) and not overwrite:
            raise RunMismatchError(f"{where} already holds data that is not a patternlab run: choose "
                                   "another store or pass overwrite=True to replace it")
        root = open_group(url, mode="w")
        n, bs = int(identity["n_signals"]), int(identity["batch_size"])
        parts = -(-n // bs)
        summ = root.create_group("summaries")
        summ.create_array("counts", shape=(n, len(_COUNTS)), dtype="i8", chunks=(bs, len(_COUNTS)),
                          shards=(bs, len(_COUNTS)), fill_value=0)
        summ.create_array("distances", shape=(n, len(_DISTANCES)), dtype="f8",
                          chunks=(bs, len(_DISTANCES)), shards=(bs, len(_DISTANCES)), fill_value=0.0)
        pg = root.create_group("partitions")
        pg.create_array("done", shape=(parts,), dtype="u1", chunks=(1,), fill_value=0)
        import uuid

        attrs = {"format": RUN_FORMAT, "schema_version": SCHEMA_VERSION,
                 "patternlab_version": __version__, **identity, "n_partitions": parts,
                 "run_id": uuid.uuid4().hex, "complete": False}
        root.attrs.update(attrs)
        return cls(url, attrs)

    # -- the starting library ------------------------------------------------------------------
    def has_snapshot(self) -> bool:
        """Whether the library the run started from is stored (written before any partition)."""
        g = self.group
        return "snapshot" in g and g["snapshot"].attrs.get("format") == LIBRARY_FORMAT

    def write_snapshot(self, lib: PatternLibrary) -> None:
        """Store the library every partition starts from (a resumed run starts from it again,
        even where it came from a Redis store that has changed since)."""
        _write_library(self.group.create_group("snapshot", overwrite=True), lib)

    def read_snapshot(self, config: Any = None) -> PatternLibrary:
        return _read_library(self.group["snapshot"], describe_url(self.url), config)

    # -- partitions ----------------------------------------------------------------------------
    def done(self) -> NDArray[np.bool_]:
        """Which partitions are complete (their flag is written after their data)."""
        return np.asarray(self.group["partitions/done"][...]) == 1

    def write_partition(self, delta: Delta, start: int, stop: int) -> None:
        """Write one partition's summaries (its own shard of each array), its delta, then its flag."""
        k = delta.first
        if delta.last != k:
            raise StoreError(f"internal: a partition delta covers one partition, got {k}-{delta.last}")
        bs = int(self.attrs["batch_size"])
        if start != k * bs:
            raise StoreError(f"internal: partition {k} starts at {start}, not at shard boundary {k * bs}")
        from zarr.core.sync import sync

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
        strings = (list(delta.upd_ids) + [_sig(sid) for sid, _ in delta.upd_last]
                   + [str(x) for name in _STRINGS for x in np.asarray(new[name]).tolist()])
        raw, offsets = _encode(strings)
        u, m = len(delta.upd_ids), len(new["ids"])
        ints = np.concatenate([offsets, np.asarray(delta.upd_n, dtype=np.int64),
                               np.array([o for _, o in delta.upd_last], dtype=np.int64),
                               np.asarray(new["supports"], dtype=np.int64),
                               np.asarray(new["first_offset"], dtype=np.int64),
                               np.asarray(new["last_offset"], dtype=np.int64)])
        floats = np.concatenate([np.asarray(delta.upd_sum, dtype=np.float64).reshape(u, w),
                                 np.asarray(new["prototypes"], dtype=np.float64).reshape(m, w)])
        # one array per partition: its bytes are the strings, then the int64s, then the float64s
        # (little-endian); the sections' lengths and the partition's errors are its attributes
        blob = np.concatenate([raw, ints.astype("<i8").view(np.uint8),
                               floats.astype("<f8").ravel().view(np.uint8)])
        attrs = {"updated": u, "founded": m, "string_bytes": int(raw.size), "ints": int(ints.size),
                 "errors": {str(s): v for s, v in delta.errors.items()},
                 "seconds": float(delta.seconds), "start": int(start), "stop": int(stop)}
        g.create_array(f"partitions/p{k:08d}", data=blob, chunks=(max(1, blob.size),), overwrite=True,
                       attributes=attrs)
        g["partitions/done"][k] = 1

    def read_partition(self, k: int, start: int, stop: int) -> Delta:
        """The delta of a completed partition, as :func:`~patternlab.batch.run_partition` returned it."""
        from ..batch import Delta

        g = self.group
        pa = g[f"partitions/p{k:08d}"]
        attrs = pa.attrs.asdict()
        w, u, m = int(self.attrs["window"]), int(attrs["updated"]), int(attrs["founded"])
        blob = np.asarray(pa[...], dtype=np.uint8)
        nb, ni = int(attrs["string_bytes"]), int(attrs["ints"])
        ints = blob[nb:nb + 8 * ni].view("<i8").astype(np.int64)
        floats = blob[nb + 8 * ni:].view("<f8").astype(np.float64).reshape(u + m, w)
        ns = 2 * u + len(_STRINGS) * m
        strings = _decode(blob[:nb], ints[:ns + 1])
        rest = ints[ns + 1:]
        upd_n, last_off = rest[:u], rest[u:2 * u]
        sup, first_off, last_off_new = np.split(rest[2 * u:], [m, 2 * m])
        new: dict[str, Any] = {"window": np.int64(w),
                               "domain": np.array(str(self.attrs["domain"]), dtype=str)}
        for j, name in enumerate(_STRINGS):
            new[name] = np.array(strings[2 * u + j * m:2 * u + (j + 1) * m], dtype=str)
        new.update({"prototypes": floats[u:], "supports": sup.copy(), "first_offset": first_off.copy(),
                    "last_offset": last_off_new.copy()})
        counts = np.asarray(g["summaries/counts"][start:stop])
        dists = np.asarray(g["summaries/distances"][start:stop])
        summ: dict[str, NDArray[Any]] = {f: counts[:, j].copy() for j, f in enumerate(_COUNTS)}
        summ["ok"] = summ["ok"].astype(bool)
        summ.update({f: dists[:, j].copy() for j, f in enumerate(_DISTANCES)})
        last = list(zip([_unsig(x) for x in strings[u:2 * u]], last_off.tolist()))
        return Delta(k, k, strings[:u], floats[:u].copy(), upd_n.copy(), last, new, summ,
                     {int(s): str(v) for s, v in attrs.get("errors", {}).items()},
                     0.0, tasks=0)  # read back, not processed: counts no task and no time

    # -- the end of a run -------------------------------------------------------------------------
    def write_library(self, lib: PatternLibrary, metrics: dict[str, float]) -> None:
        """Write the merged library, then mark the run complete."""
        g = self.group
        _write_library(g.create_group("library", overwrite=True), lib)
        g.attrs.update({"complete": True, "metrics": {k: float(v) for k, v in metrics.items()}})


def _short(v: Any) -> str:
    s = json.dumps(v, sort_keys=True)
    return s if len(s) <= 60 else s[:57] + "..."


def _sig(v: Any) -> str:
    return f"s:{v}" if isinstance(v, str) else f"i:{int(v)}"


def _unsig(x: str) -> Any:
    return x[2:] if x.startswith("s:") else int(x[2:])


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
        """Whether every partition is done and the merged library is written."""
        return bool(self.attrs.get("complete", False))

    @property
    def progress(self) -> tuple[int, int]:
        """``(partitions done, partitions)``."""
        done = np.asarray(self._group["partitions/done"][...]) == 1
        return int(done.sum()), int(done.size)

    @property
    def library(self) -> PatternLibrary:
        """The merged library of a complete run."""
        if not self.complete:
            done, total = self.progress
            raise StoreError(f"the run at {describe_url(self.url)} is not complete ({done} of {total} "
                             "partitions done): rerun batch_perceive with this store to finish it")
        return _read_library(self._group["library"], describe_url(self.url), self.config)

    @property
    def summaries(self) -> dict[str, NDArray[Any]]:
        """Per-signal summaries (zero where a partition is not done; see ``summaries['ok']``)."""
        counts = np.asarray(self._group["summaries/counts"][...])
        dists = np.asarray(self._group["summaries/distances"][...])
        out: dict[str, NDArray[Any]] = {f: counts[:, j] for j, f in enumerate(_COUNTS)}
        out["ok"] = out["ok"].astype(bool)
        out.update({f: dists[:, j] for j, f in enumerate(_DISTANCES)})
        return out

    @property
    def metrics(self) -> dict[str, float]:
        """The metrics of the run that completed the store (empty before)."""
        return dict(self.attrs.get("metrics", {}))

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
    """
    from ..config import EngineConfig

    try:
        group = open_group(url, mode="r")
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise StoreError(f"no run store at {describe_url(url)} ({exc})") from None
    attrs = group.attrs.asdict()
    if attrs.get("format") != RUN_FORMAT:
        raise StoreError(f"{describe_url(url)} is not a patternlab run store (format "
                         f"{attrs.get('format')!r})")
    return Run(url, EngineConfig(**attrs["config"]), str(attrs["domain"]), attrs, group)
