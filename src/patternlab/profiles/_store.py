"""Matrix profiles in zarr: the output streamed chunk by chunk, and the running state of a
resumable distributed run.

Layout (zarr v3 group, ``format = "patternlab-matrix-profile"``)::

    <group>/             attrs: format, version, m, n_windows, exclusion_zone, self_join, dtype
                                (of the search), out_dtype, series (digest of the input), chunk,
                                complete; sealed with the digest of the attributes
      P, I, PL, IL, PR, IR    (n_windows,) distances (out_dtype) and int64 indices, chunks of
                              ``chunk`` windows, crc32c per chunk; attribute
                              ``patternlab_chunk_digests``: one digest per chunk
      state/<t>/         (with ``client=``) the running maxima of triangle t (0, and 1 for an
                         AB-join): rowP, rowI, colP, colI, and ``done`` (one flag per task);
                         attrs: the task plan (R, K, kmin, bands_per_task, n_tasks)

The output arrays are written once, chunk by chunk, then the digests, then ``complete = True``
(the last write). A reader (:class:`StoredProfile`) checks the group's attributes, every chunk's
crc32c (the codec) and every chunk's digest against the recorded one, so that a missing chunk
(which zarr reads as the fill value), a chunk of another write or a flipped byte is a
:class:`~patternlab.errors.StoreDataError`, never a silently wrong profile.

The state is written by one writer, the client (so every shard has one writer): after each
batch of finished tasks, the chunks of the maxima those tasks changed, then their ``done``
flags. The maxima arrays are created whole (every chunk written) with the fill value NaN (and
-2 for indices), which no recorded value takes, so that a chunk found missing, torn (its crc32c
fails) or holding a fill value is known to be lost: on resume it is reset, and every task whose
rows or columns reach it is computed again. Merging is idempotent and order-independent
(:func:`~patternlab.kernels.matrix_profile.merge_max`), so folding a task twice is harmless and
the resumed result is the uninterrupted one, bit for bit.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zarr
from numpy.typing import NDArray

from .._integrity import check_attrs, checked_compressors, seal_attrs
from ..errors import InvalidParameterError, PatternlabError, StoreDataError, StoreError
from ..kernels import matrix_profile as mpk
from ._tiling import Task, plan

FORMAT = "patternlab-matrix-profile"
VERSION = 1
#: Windows per chunk of the stored arrays (the output is resolved and written a chunk at a time).
CHUNK = 1 << 18
#: Tasks per chunk of a ``done`` array.
DONE_CHUNK = 1 << 16
CHUNK_DIGESTS = "patternlab_chunk_digests"
FIELDS = ("P", "I", "PL", "IL", "PR", "IR")
#: Fill values of the state that no recorded value takes (a lost chunk reads as them).
LOST_P = np.nan
LOST_I = -2


def chunk_digest(a: NDArray[Any]) -> str:
    """BLAKE2b (64 bits) of a chunk's dtype, length and bytes."""
    a = np.ascontiguousarray(a)
    h = hashlib.blake2b(digest_size=8)
    h.update(f"{a.dtype.str}|{a.shape}|".encode())
    h.update(a.data if a.size else b"")
    return h.hexdigest()


def series_digest(*series: NDArray[np.float64]) -> str:
    """Digest of the input series (a resumed run must be given the same ones)."""
    h = hashlib.blake2b(digest_size=16)
    for T in series:
        a = np.ascontiguousarray(T, dtype=np.float64)
        h.update(f"{a.shape}|".encode())
        h.update(a.data)
    return h.hexdigest()


def _path(out: Any) -> str:
    if not isinstance(out, (str, os.PathLike)):
        raise InvalidParameterError(f"out must be a path to a zarr store (a str or os.PathLike); got "
                                    f"{type(out).__name__}: pass e.g. out='mp.zarr'")
    return os.fspath(out)


def _where(path: str) -> str:
    return f"the matrix profile store {path!r}"


def _fix(path: str) -> str:
    return f"compute it again with pl.matrix_profile(..., out={path!r}, overwrite=True)"


# -- writing ----------------------------------------------------------------------------------
class ProfileWriter:
    """Creates (or reopens, to resume) a profile group and writes its output chunk by chunk."""

    def __init__(self, out: Any, attrs: dict[str, Any], *, overwrite: bool = False,
                 resume: bool = False) -> None:
        self.path = _path(out)
        self.attrs = dict(attrs, format=FORMAT, version=VERSION, chunk=CHUNK, complete=False)
        exists = os.path.exists(os.path.join(self.path, "zarr.json"))
        try:
            if exists and not overwrite:
                self.group: Any = zarr.open_group(store=self.path, mode="r+", zarr_format=3)
                old = self.group.attrs.asdict()
                check_attrs(old, _where(self.path), _fix(self.path))
                same = all(old.get(k) == v for k, v in self.attrs.items() if k != "complete")
                if not (resume and same and old.get("format") == FORMAT):
                    raise StoreError(
                        f"{_where(self.path)} already exists"
                        + ("" if same else " and holds another profile (other series, window or options)")
                        + ": pass overwrite=True to replace it, or another out= path"
                        + ("" if resume else " (runs with client= resume from it)"))
            else:
                self.group = zarr.open_group(store=self.path, mode="w", zarr_format=3)
                seal_attrs(self.group, self.attrs)
        except PatternlabError:
            raise
        except OSError as exc:
            raise StoreError(f"cannot write {_where(self.path)}: {exc}") from None
        self.n = int(self.attrs["n_windows"])

    def write_output(self, chunks: Iterator[tuple[int, dict[str, NDArray[Any]]]]) -> None:
        """Write the output arrays from ``(start, {field: values})`` chunks (each ``CHUNK``
        windows, the last shorter), then their digests, then mark the profile complete."""
        out_dtype = np.dtype(self.attrs["out_dtype"])
        arrays = {}
        for name in FIELDS:
            dt = out_dtype if name.startswith("P") else np.dtype(np.int64)
            fill = np.nan if name.startswith("P") else -1
            arrays[name] = self.group.create_array(name, shape=(self.n,), dtype=dt, chunks=(CHUNK,),
                                                   fill_value=fill, compressors=checked_compressors(),
                                                   overwrite=True)
        digests: dict[str, list[str]] = {name: [] for name in FIELDS}
        for start, values in chunks:
            for name in FIELDS:
                v = np.ascontiguousarray(values[name], dtype=arrays[name].dtype)
                arrays[name][start:start + len(v)] = v
                digests[name].append(chunk_digest(v))
        for name in FIELDS:
            if len(digests[name]) != -(-self.n // CHUNK):
                raise RuntimeError(f"{name}: {len(digests[name])} chunks written of {-(-self.n // CHUNK)}")
            arrays[name].attrs[CHUNK_DIGESTS] = digests[name]
        seal_attrs(self.group, {"complete": True})


# -- the state of a resumable run ---------------------------------------------------------------
class StateRecorder:
    """The running maxima and done flags of one triangle of a run with ``client=`` (see the
    module notes); implements :class:`patternlab.profiles._tiling.Recorder`."""

    def __init__(self, writer: ProfileWriter, t: int, lA: int, lB: int, dtype: Any, kmin: int,
                 tiles: tuple[int, int], bands_per_task: Callable[[], int]) -> None:
        self.path = writer.path
        self.lA, self.lB, self.dtype = lA, lB, np.dtype(dtype)
        R, K = tiles
        root = writer.group.require_group("state")
        name = str(t)
        shape = {"R": int(R), "K": int(K), "kmin": int(kmin), "lA": int(lA), "lB": int(lB)}
        old = dict(root[name].attrs.asdict()).get("plan") if name in root else None
        if isinstance(old, dict) and all(old.get(k) == v for k, v in shape.items()):
            bands = int(old["bands_per_task"])  # resume with the plan the run started with
        else:
            old, bands = None, int(bands_per_task())
        self.bands_per_task = bands
        self.plan_attrs = {**shape, "bands_per_task": bands,
                           "n_tasks": len(plan(lA, lB, kmin, R, K, bands))}
        if old is None or old != self.plan_attrs:
            g = root.create_group(name, overwrite=True)
            self._create(g)
            seal_attrs(g, {"plan": self.plan_attrs})
        self.g: Any = root[name]
        check_attrs(self.g.attrs.asdict(), f"{_where(self.path)}/state/{name}", _fix(self.path))
        self.done: NDArray[np.uint8] = np.zeros(0, dtype=np.uint8)
        self.lost = 0  # state chunks found lost on load (recomputed)

    def _create(self, g: Any) -> None:
        comp = checked_compressors(compress=False)
        for name, n, dt, fill, init in (("rowP", self.lA, self.dtype, LOST_P, mpk.EMPTY),
                                         ("rowI", self.lA, np.int64, LOST_I, -1),
                                         ("colP", self.lB, self.dtype, LOST_P, mpk.EMPTY),
                                         ("colI", self.lB, np.int64, LOST_I, -1)):
            arr = g.create_array(name, shape=(n,), dtype=dt, chunks=(CHUNK,), fill_value=fill,
                                 compressors=comp)
            for c0 in range(0, n, CHUNK):  # every chunk written: a missing one is a lost one
                arr[c0:min(n, c0 + CHUNK)] = np.full(min(n, c0 + CHUNK) - c0, init, dtype=dt)
        g.create_array("done", shape=(self.plan_attrs["n_tasks"],), dtype=np.uint8,
                       chunks=(DONE_CHUNK,), fill_value=0, compressors=checked_compressors())

    def _read_chunks(self, name: str, n: int, init: Any, dt: Any) -> tuple[NDArray[Any], list[int]]:
        arr: Any = self.g[name]
        out = np.empty(n, dtype=dt)
        lost = []
        for c, c0 in enumerate(range(0, n, CHUNK)):
            c1 = min(n, c0 + CHUNK)
            try:
                v = np.asarray(arr[c0:c1])
                bad = bool(np.isnan(v).any()) if v.dtype.kind == "f" else bool((v == LOST_I).any())
            except Exception:  # a torn or damaged chunk fails its crc32c
                bad = True
            if bad:
                lost.append(c)
                out[c0:c1] = init
            else:
                out[c0:c1] = v
        return out, lost

    def load(self, tasks: list[Task]) -> tuple[NDArray[np.bool_], tuple[NDArray[Any], ...]]:
        if len(tasks) != self.plan_attrs["n_tasks"]:
            raise StoreDataError(f"{_where(self.path)} records {self.plan_attrs['n_tasks']} tasks, the run "
                                 f"plans {len(tasks)}: {_fix(self.path)}")
        rowP, lost_r = self._read_chunks("rowP", self.lA, mpk.EMPTY, self.dtype)
        rowI, lost_ri = self._read_chunks("rowI", self.lA, -1, np.int64)
        colP, lost_c = self._read_chunks("colP", self.lB, mpk.EMPTY, self.dtype)
        colI, lost_ci = self._read_chunks("colI", self.lB, -1, np.int64)
        lost_rows = sorted(set(lost_r) | set(lost_ri))
        lost_cols = sorted(set(lost_c) | set(lost_ci))
        for c in lost_rows:  # a lost chunk starts again from nothing, values and indices alike
            rowP[c * CHUNK:(c + 1) * CHUNK] = mpk.EMPTY
            rowI[c * CHUNK:(c + 1) * CHUNK] = -1
        for c in lost_cols:
            colP[c * CHUNK:(c + 1) * CHUNK] = mpk.EMPTY
            colI[c * CHUNK:(c + 1) * CHUNK] = -1
        done_arr = self.g["done"]
        n_tasks = len(tasks)
        done = np.zeros(n_tasks, dtype=np.uint8)
        for c0 in range(0, n_tasks, DONE_CHUNK):
            c1 = min(n_tasks, c0 + DONE_CHUNK)
            try:
                done[c0:c1] = np.asarray(done_arr[c0:c1])
            except Exception:  # a damaged chunk of flags: those tasks run again
                done[c0:c1] = 0
        flags = done == 1
        rows_lost = np.zeros(-(-self.lA // CHUNK) + 1, dtype=np.bool_)
        rows_lost[lost_rows] = True
        cols_lost = np.zeros(-(-self.lB // CHUNK) + 1, dtype=np.bool_)
        cols_lost[lost_cols] = True
        for x, t in enumerate(tasks):
            if flags[x] and (rows_lost[t.r0 // CHUNK:(t.r1 - 1) // CHUNK + 1].any()
                             or cols_lost[t.lo // CHUNK:(t.hi - 1) // CHUNK + 1].any()):
                flags[x] = False
        self.lost = len(lost_rows) + len(lost_cols)
        self.done = flags.astype(np.uint8)
        if self.lost:  # rewrite the reset chunks before anything is recorded on top of them
            self._write_ranges("rowP", "rowI", rowP, rowI, [(c * CHUNK, (c + 1) * CHUNK) for c in lost_rows])
            self._write_ranges("colP", "colI", colP, colI, [(c * CHUNK, (c + 1) * CHUNK) for c in lost_cols])
            self._write_done(range(0, n_tasks, DONE_CHUNK))
        return flags, (rowP, rowI, colP, colI)

    def _write_ranges(self, pname: str, iname: str, P: NDArray[Any], I: NDArray[Any],
                      ranges: list[tuple[int, int]]) -> None:
        n = len(P)
        touched: set[int] = set()
        for lo, hi in ranges:
            if hi > lo:
                touched.update(range(lo // CHUNK, (min(hi, n) - 1) // CHUNK + 1))
        parr, iarr = self.g[pname], self.g[iname]
        for c in sorted(touched):
            c0, c1 = c * CHUNK, min(n, (c + 1) * CHUNK)
            parr[c0:c1] = P[c0:c1]
            iarr[c0:c1] = I[c0:c1]

    def _write_done(self, starts: Any) -> None:
        arr = self.g["done"]
        n = len(self.done)
        for c0 in starts:
            arr[c0:min(n, c0 + DONE_CHUNK)] = self.done[c0:min(n, c0 + DONE_CHUNK)]

    def record(self, done: list[int], maxima: tuple[NDArray[Any], ...], rows: list[tuple[int, int]],
               cols: list[tuple[int, int]]) -> None:
        rowP, rowI, colP, colI = maxima
        self._write_ranges("rowP", "rowI", rowP, rowI, rows)
        self._write_ranges("colP", "colI", colP, colI, cols)
        self.done[done] = 1
        self._write_done(sorted({(x // DONE_CHUNK) * DONE_CHUNK for x in done}))


# -- reading ------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class StoredProfile:
    """A matrix profile in a zarr store, as :func:`patternlab.open_profile` opens it.

    Attributes
    ----------
    path : str
        The store.
    m, exclusion_zone, self_join, dtype
        As in :class:`~patternlab.MatrixProfile` (``dtype``: the precision of the search).
    out_dtype : str
        The dtype of the stored distances (``"float64"`` or ``"float32"``).
    complete : bool
        Whether the profile was written to the end (only a complete one can be read).
    """

    path: str
    m: int
    exclusion_zone: int
    self_join: bool
    dtype: str
    out_dtype: str
    complete: bool
    n_windows: int
    chunk: int
    group: Any = field(repr=False)
    make: Callable[..., Any] = field(repr=False)  # MatrixProfile (defined above this module)

    def __len__(self) -> int:
        return self.n_windows

    def __repr__(self) -> str:
        kind = "self-join" if self.self_join else "AB-join"
        state = "" if self.complete else ", incomplete"
        return (f"<StoredProfile {self.path!r}: {kind}, {self.n_windows} windows of m={self.m}, "
                f"{self.out_dtype} distances{state}>")

    def read(self, name: str, start: int = 0, stop: int | None = None) -> NDArray[Any]:
        """Windows ``start:stop`` of one stored array (``"P"``, ``"I"``, ``"PL"``, ``"IL"``,
        ``"PR"``, ``"IR"``), every chunk read checked against its digest.

        Raises
        ------
        StoreDataError
            If the profile is incomplete, or a chunk is missing, damaged or not the one written.
        """
        if name not in FIELDS:
            raise InvalidParameterError(f"name={name!r} is not a stored array: pass one of {FIELDS}")
        if not self.complete:
            raise StoreDataError(f"{_where(self.path)} is incomplete (its run stopped before the end): "
                                 "run pl.matrix_profile with the same out= (and client=) again to finish it")
        stop = self.n_windows if stop is None else min(int(stop), self.n_windows)
        start = max(0, int(start))
        arr = self.group[name]
        digests = arr.attrs.get(CHUNK_DIGESTS)
        n_chunks = -(-self.n_windows // self.chunk)
        if not isinstance(digests, list) or len(digests) != n_chunks:
            raise StoreDataError(f"{_where(self.path)}/{name} has no chunk digests: its metadata is "
                                 f"damaged; {_fix(self.path)}")
        parts = []
        for c in range(start // self.chunk, -(-stop // self.chunk)):
            c0, c1 = c * self.chunk, min(self.n_windows, (c + 1) * self.chunk)
            try:
                v = np.asarray(arr[c0:c1])
            except Exception as exc:  # crc32c, decompression and size errors
                raise StoreDataError(f"{_where(self.path)}/{name} chunk {c} cannot be read "
                                     f"({type(exc).__name__}): {_fix(self.path)}") from None
            if chunk_digest(v) != digests[c]:
                raise StoreDataError(f"{_where(self.path)}/{name} chunk {c} does not match its digest "
                                     f"(missing or damaged): {_fix(self.path)}")
            parts.append(v[max(start, c0) - c0:stop - c0])
        return np.concatenate(parts) if parts else np.empty(0, dtype=arr.dtype)

    def load(self) -> Any:
        """The whole profile in memory, checked, as a :class:`~patternlab.MatrixProfile`
        (distances as float64)."""
        v = {name: self.read(name) for name in FIELDS}
        return self.make(*(v[n].astype(np.float64) if n.startswith("P") else v[n] for n in FIELDS),
                         m=self.m, exclusion_zone=self.exclusion_zone, self_join=self.self_join,
                         dtype=self.dtype)


def open_stored(path: str | os.PathLike[str], make: Callable[..., Any]) -> StoredProfile:
    """The profile at ``path`` (see :func:`patternlab.open_profile`), its attributes checked;
    ``make`` builds the in-memory profile of :meth:`StoredProfile.load`."""
    p = _path(path)
    if not os.path.exists(os.path.join(p, "zarr.json")):
        raise StoreError(f"there is no matrix profile at {p!r}: write one with "
                         f"pl.matrix_profile(T, m, out={p!r})")
    try:
        g = zarr.open_group(store=p, mode="r", zarr_format=3)
        attrs: dict[str, Any] = dict(g.attrs.asdict())
    except Exception as exc:  # unreadable metadata
        raise StoreDataError(f"the metadata of {_where(p)} cannot be read ({type(exc).__name__}): "
                             f"{_fix(p)}") from None
    if attrs.get("format") != FORMAT:
        raise StoreError(f"{p!r} is not a matrix profile store (format {attrs.get('format')!r}): "
                         "pass the path given as out= to pl.matrix_profile")
    check_attrs(attrs, _where(p), _fix(p))
    return StoredProfile(path=p, m=int(attrs["m"]), exclusion_zone=int(attrs["exclusion_zone"]),
                         self_join=bool(attrs["self_join"]), dtype=str(attrs["dtype"]),
                         out_dtype=str(attrs["out_dtype"]), complete=bool(attrs["complete"]),
                         n_windows=int(attrs["n_windows"]), chunk=int(attrs["chunk"]), group=g,
                         make=make)
