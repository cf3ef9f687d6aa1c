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
from ..errors import RunMismatchError, StoreError
from ..library import PatternLibrary, decode_signal_id, encode_signal_id
from ..store.zarr import (
    LIBRARY_FORMAT,
    SCHEMA_VERSION,
    STRING_COLUMNS,
    decode_strings,
    describe_url,
    encode_strings,
    is_shared,
    open_group,
    read_library_group,
    write_library_group,
)
from .partition import Delta

__all__ = ["RUN_FORMAT", "Run", "RunStore", "open_run"]

RUN_FORMAT = "patternlab-run"

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
        write_library_group(self.group.create_group("snapshot", overwrite=True), lib)

    def read_snapshot(self, config: Any = None) -> PatternLibrary:
        return PatternLibrary.from_stored(read_library_group(self.group["snapshot"], describe_url(self.url)),
                                          config)

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
        g.create_array(f"partitions/p{k:08d}", data=blob, chunks=(max(1, blob.size),), overwrite=True,
                       attributes=attrs)
        g["partitions/done"][k] = 1

    def read_partition(self, k: int, start: int, stop: int) -> Delta:
        """The delta of a completed partition, as
        :func:`~patternlab.batch.partition.run_partition` returned it."""
        g = self.group
        pa = g[f"partitions/p{k:08d}"]
        attrs = pa.attrs.asdict()
        w, u, m = int(self.attrs["window"]), int(attrs["updated"]), int(attrs["founded"])
        p, nc = int(attrs.get("pending", 0)), int(attrs.get("counters", 0))
        blob = np.asarray(pa[...], dtype=np.uint8)
        nb, ni = int(attrs["string_bytes"]), int(attrs["ints"])
        ints = blob[nb:nb + 8 * ni].view("<i8").astype(np.int64)
        floats = blob[nb + 8 * ni:].view("<f8").astype(np.float64).reshape(u + m + p, w)
        nsc = len(STRING_COLUMNS)
        ns = 2 * u + nsc * (m + p)
        strings = decode_strings(blob[:nb], ints[:ns + 1])
        rest = ints[ns + 1:]
        upd_n, last_off = rest[:u], rest[u:2 * u]
        sup, first_off, last_off_new, psup, pfirst, plast, counters = np.split(
            rest[2 * u:], [m, 2 * m, 3 * m, 3 * m + p, 3 * m + 2 * p, 3 * m + 3 * p])
        new: dict[str, Any] = {"window": np.int64(w),
                               "domain": np.array(str(self.attrs["domain"]), dtype=str)}
        for j, name in enumerate(STRING_COLUMNS):
            new[name] = np.array(strings[2 * u + j * m:2 * u + (j + 1) * m], dtype=str)
            at = 2 * u + nsc * m
            new[f"pool_{name}"] = np.array(strings[at + j * p:at + (j + 1) * p], dtype=str)
        new.update({"prototypes": floats[u:u + m], "supports": sup.copy(), "first_offset": first_off.copy(),
                    "last_offset": last_off_new.copy(), "pool_prototypes": floats[u + m:].copy(),
                    "pool_supports": psup.copy(), "pool_first_offset": pfirst.copy(),
                    "pool_last_offset": plast.copy()})
        if nc:
            new["counters"] = counters[:nc].copy()
        counts = np.asarray(g["summaries/counts"][start:stop])
        dists = np.asarray(g["summaries/distances"][start:stop])
        summ: dict[str, NDArray[Any]] = {f: counts[:, j].copy() for j, f in enumerate(_COUNTS)}
        summ["ok"] = summ["ok"].astype(bool)
        summ.update({f: dists[:, j].copy() for j, f in enumerate(_DISTANCES)})
        last = list(zip([decode_signal_id(x) for x in strings[u:2 * u]], last_off.tolist()))
        return Delta(k, k, strings[:u], floats[:u].copy(), upd_n.copy(), last, new, summ,
                     {int(s): str(v) for s, v in attrs.get("errors", {}).items()},
                     0.0, tasks=0)  # read back, not processed: counts no task and no time

    # -- the end of a run -------------------------------------------------------------------------
    def write_library(self, lib: PatternLibrary, metrics: dict[str, float]) -> None:
        """Write the merged library, then mark the run complete."""
        g = self.group
        write_library_group(g.create_group("library", overwrite=True), lib)
        g.attrs.update({"complete": True, "metrics": {k: float(v) for k, v in metrics.items()}})


def _short(v: Any) -> str:
    s = json.dumps(v, sort_keys=True)
    return s if len(s) <= 60 else s[:57] + "..."


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
        return PatternLibrary.from_stored(read_library_group(self._group["library"], describe_url(self.url)),
                                          self.config)

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
    try:
        group = open_group(url, mode="r")
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise StoreError(f"no run store at {describe_url(url)} ({exc})") from None
    attrs = group.attrs.asdict()
    if attrs.get("format") != RUN_FORMAT:
        raise StoreError(f"{describe_url(url)} is not a patternlab run store (format "
                         f"{attrs.get('format')!r})")
    return Run(url, EngineConfig(**attrs["config"]), str(attrs["domain"]), attrs, group)
