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
      pending/     the pending candidates of the pool, same layout (attrs n_pending and the
                   learning counters, ``counters``, are the library's)
      archived/    the archived patterns, same layout (no nested archive)

Run stores (:mod:`patternlab.batch.checkpoint`) hold libraries in this format too.

Integrity (schema version 2): every array is written with the crc32c codec and carries the digest
of its content in its attributes, and the group's attributes carry the digest of the others
(:mod:`._integrity`); a read checks the codec, the digests (so a
missing chunk, which zarr would read as zeros, is found), the shapes the attributes imply, and
the library itself (supports >= 1, finite unit-norm prototypes, string offsets that fit). Any
failure is a :class:`~patternlab.errors.StoreDataError` naming the array (and the chunk where
known). Libraries of schema version 1 (written before digests) are still read: their codecs and
contents are checked, the digest check is skipped.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import zarr
import zarr.storage
from numpy.typing import NDArray

from .._version import __version__
from ..errors import InvalidParameterError, PatternlabError, StoreDataError, StoreError
from ._integrity import check_attrs, create_checked, read_checked, seal_attrs

if TYPE_CHECKING:  # pragma: no cover
    from ..library import PatternLibrary

__all__ = ["StoredLibrary", "library_fingerprint", "open_group", "read_library", "read_library_group",
           "save_library", "write_library_group"]

LIBRARY_FORMAT = "patternlab-library"
SCHEMA_VERSION = 2
#: the first schema whose arrays carry digests
DIGEST_SCHEMA = 2
STRING_COLUMNS = ("ids", "domains", "first_signal", "last_signal")


# -- opening stores ----------------------------------------------------------------------------
def _store_for(url: Any) -> Any:
    """A zarr store for a path or URL (``file://``, ``memory://``, ``s3://`` ... via fsspec), or
    the store object itself."""


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


    return zarr.open_group(store=_store_for(url), mode=mode, zarr_format=3)


def is_shared(url: Any) -> bool:
    """Whether other processes see the same store (false for ``memory://`` and in-memory stores)."""
    if isinstance(url, (str, os.PathLike)):
        return not os.fspath(url).startswith("memory://")


    return not isinstance(url, zarr.storage.MemoryStore)


def describe_url(url: Any) -> str:
    return os.fspath(url) if isinstance(url, (str, os.PathLike)) else type(url).__name__


# -- libraries ---------------------------------------------------------------------------------
_INTS = ("supports", "first_offset", "last_offset")


def encode_strings(strings: list[str]) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
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
    other, UTF-8), ``prototypes`` (stored raw: float noise does not compress) and ``ints``; each
    checksummed (crc32c per chunk, a digest in its attributes)."""
    n = len(np.asarray(arrays["ids"]))
    raw, offsets = encode_strings([x for name in STRING_COLUMNS for x in np.asarray(arrays[name]).tolist()])
    create_checked(group, "strings", raw, chunks=(max(1, min(raw.size, 1 << 24)),))
    create_checked(group, "string_offsets", offsets, chunks=(max(1, min(offsets.size, 1 << 21)),))
    w = int(np.asarray(arrays["window"]))
    Z = np.ascontiguousarray(arrays["prototypes"], dtype=np.float64).reshape(n, w)
    rows = max(1, min(n, (1 << 21) // max(1, w)))  # chunks of at most 16 MB
    create_checked(group, "prototypes", Z, chunks=(rows, max(1, w)), compress=False)
    ints = np.stack([np.asarray(arrays[name], dtype=np.int64).reshape(n) for name in _INTS], axis=1)
    create_checked(group, "ints", ints, chunks=(max(1, min(n, 1 << 20)), len(_INTS)))


def decode_strings(raw: NDArray[np.uint8], offsets: NDArray[np.int64]) -> list[str]:
    data = raw.tobytes()
    if raw.size == 0 or int(raw.max()) < 128:  # ASCII: slice one decoded string
        text = data.decode("ascii")
        return [text[a:b] for a, b in itertools.pairwise(offsets.tolist())]
    return [data[a:b].decode() for a, b in itertools.pairwise(offsets.tolist())]


#: what to do about a damaged library, unless the caller knows better
LIBRARY_FIX = "the library is damaged: restore it from a copy, or save it again"


def _read_arrays(group: Any, window: int, domain: str, n: int | None, where: str, fix: str,
                 verify: bool) -> dict[str, Any]:
    """The arrays of one library group (``n`` patterns, when the attributes record it), checked
    and validated (see the module docstring)."""
    ns = len(STRING_COLUMNS)
    offsets = read_checked(group, "string_offsets", where, fix, dtype=np.int64, verify=verify,
                           shape=(lambda s: len(s) == 1 and s[0] % ns == 1) if n is None else (ns * n + 1,))
    n = (offsets.size - 1) // ns
    raw = read_checked(group, "strings", where, fix, dtype=np.uint8, verify=verify,
                       shape=lambda s: len(s) == 1)
    if offsets[0] != 0 or np.any(np.diff(offsets) < 0) or offsets[-1] != raw.size:
        raise StoreDataError(f"{where}/string_offsets do not fit {where}/strings ({raw.size} bytes): {fix}")
    try:
        strings = decode_strings(raw, offsets)
    except UnicodeDecodeError:
        raise StoreDataError(f"{where}/strings is not UTF-8 text: {fix}") from None
    out: dict[str, Any] = {name: strings[j * n:(j + 1) * n] for j, name in enumerate(STRING_COLUMNS)}
    if len(set(out["ids"])) != n:
        raise StoreDataError(f"{where} holds the same pattern id twice: {fix}")
    ints = read_checked(group, "ints", where, fix, dtype=np.int64, shape=(n, len(_INTS)), verify=verify)
    out.update({name: ints[:, j].copy() for j, name in enumerate(_INTS)})
    if n and int(ints[:, 0].min()) < 1:
        k = int(np.argmin(ints[:, 0]))
        raise StoreDataError(f"{where}/ints: pattern {out['ids'][k]!r} has support {int(ints[k, 0])} "
                             f"(every stored pattern has support >= 1): {fix}")
    Z = read_checked(group, "prototypes", where, fix, dtype=np.float64, shape=(n, window), verify=verify)
    if n:
        finite = np.isfinite(Z).all(axis=1)
        F = np.where(finite[:, None], Z, 0.0)
        norms = np.sqrt(np.einsum("ij,ij->i", F, F))
        bad = ~finite | (np.abs(norms - 1.0) > 1e-6)
        if bad.any():
            k = int(np.argmax(bad))
            raise StoreDataError(f"{where}/prototypes: row {k} (pattern {out['ids'][k]!r}) is not a finite "
                                 f"unit-norm prototype (norm {norms[k]:.6g}): {fix}")
    out["prototypes"] = Z
    out["window"] = np.int64(window)
    out["domain"] = domain
    return out


def save_library(lib: PatternLibrary, url: Any, *, overwrite: bool = False, path: str = "") -> None:
    """Write a library (and its archive) as a zarr v3 group; see the module docstring."""
    group = _create(url, path, overwrite, what="a library")
    write_library_group(group, lib)


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


def _pending_arrays(arrays: Mapping[str, Any]) -> dict[str, Any]:
    """The ``pool_*`` columns of :meth:`PatternLibrary.to_arrays` under the library's own names."""
    out = {k[len("pool_"):]: v for k, v in arrays.items() if k.startswith("pool_")}
    out.update(window=arrays["window"], domain=arrays["domain"])
    return out


def write_library_group(group: Any, lib: PatternLibrary) -> None:
    """Write ``lib`` (its pending candidates and its archive) into the zarr group, attributes
    last."""
    arrays = lib.to_arrays()
    _write_arrays(group, arrays)
    _write_arrays(group.create_group("pending", overwrite=True), _pending_arrays(arrays))
    arch = group.create_group("archived", overwrite=True)
    _write_arrays(arch, lib.archive_arrays())
    # attrs last (and sealed with their digest): a group without them is not a (complete) library
    seal_attrs(group, {"format": LIBRARY_FORMAT, "schema_version": SCHEMA_VERSION,
                        "patternlab_version": __version__, "window": lib.window,
                        "domain": lib.domain, "config": lib.config.to_dict(), "n": len(lib),
                        "n_archived": len(lib.archived), "n_pending": len(lib.pending),
                        "counters": lib.counters})


@dataclass
class StoredLibrary:
    """A library group read back: its attributes and the arrays of its patterns and archive
    (:meth:`PatternLibrary.to_arrays` layout); ``PatternLibrary.from_stored`` rebuilds it."""

    attrs: dict[str, Any]
    arrays: dict[str, Any]
    archived: dict[str, Any]
    where: str = ""  # the group it was read from, for messages


def read_library(url: Any, *, path: str = "") -> StoredLibrary:
    """Read the library group written by :func:`save_library` at ``url`` (``path`` inside it).

    A missing store is a :class:`~patternlab.errors.StoreError`; a damaged one (unreadable
    metadata, a chunk missing or failing its checksum, contents that are no library) a
    :class:`~patternlab.errors.StoreDataError` naming the array.
    """
    where = f"{describe_url(url)}{'/' + path if path else ''}"
    try:
        root = open_group(url, mode="r")
        group = root[path] if path else root
    except (FileNotFoundError, KeyError) as exc:
        raise StoreError(f"no library at {where} ({exc}); write one with library.save(path)") from None
    except PatternlabError:
        raise
    except Exception as exc:  # the metadata of a damaged store (JSON, codecs)
        raise StoreDataError(f"the metadata of {where} cannot be read ({type(exc).__name__}: {exc}): "
                             f"{LIBRARY_FIX}") from None
    return read_library_group(group, describe_url(url))


def read_library_group(group: Any, where: str, fix: str = LIBRARY_FIX) -> StoredLibrary:
    """The stored library of a zarr group, checked (format, schema version, checksums, contents:
    see the module docstring); ``where`` names its store, ``fix`` says what to do about damage."""
    if getattr(group, "path", ""):
        where = f"{where}/{group.path}"
    try:
        return _read_library_group(group, where, fix)
    except PatternlabError:
        raise
    except Exception as exc:  # whatever else damaged metadata can raise
        raise StoreDataError(f"{where} cannot be read ({type(exc).__name__}: {exc}): {fix}") from None


def subgroup(group: Any, name: str, where: str, fix: str) -> Any:
    """The group ``name`` inside ``group``; missing or unreadable, a StoreDataError."""
    try:
        sub = group[name]
    except KeyError:
        raise StoreDataError(f"{where}/{name} is missing: {fix}") from None
    except Exception as exc:  # damaged metadata
        raise StoreDataError(f"the metadata of {where}/{name} cannot be read ({type(exc).__name__}: "
                             f"{exc}): {fix}") from None
    if hasattr(sub, "shape"):
        raise StoreDataError(f"{where}/{name} is an array, not a group: {fix}")
    return sub


def _count(attrs: Mapping[str, Any], key: str, where: str, fix: str) -> int | None:
    v = attrs.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise StoreDataError(f"{where}: attribute {key}={v!r} is not a count: {fix}")
    return v


def _read_library_group(group: Any, where: str, fix: str) -> StoredLibrary:
    attrs = group.attrs.asdict()
    if attrs.get("format") != LIBRARY_FORMAT:
        raise StoreError(f"{where} is not a patternlab library (format {attrs.get('format')!r}); "
                         "write one with library.save(path)")
    version = attrs.get("schema_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise StoreDataError(f"{where}: schema_version={version!r} is not a version: {fix}")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{where} was written with schema {attrs['schema_version']}, newer than "
                         f"this patternlab reads ({SCHEMA_VERSION}): upgrade patternlab")
    verify = version >= DIGEST_SCHEMA
    if verify:
        check_attrs(attrs, where, fix)
    window, domain = attrs.get("window"), attrs.get("domain")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1 or not isinstance(domain, str):
        raise StoreDataError(f"{where}: window={window!r}, domain={domain!r} are not a library's: {fix}")
    arrays = _read_arrays(group, window, domain, _count(attrs, "n", where, fix), where, fix, verify)
    if verify or "pending" in group:  # libraries of schema 1 written before the pool have none
        pending = _read_arrays(subgroup(group, "pending", where, fix), window, domain,
                               _count(attrs, "n_pending", where, fix), f"{where}/pending", fix, verify)
        arrays.update({f"pool_{k}": v for k, v in pending.items() if k not in ("window", "domain")})
    if "counters" in attrs:
        counters = attrs["counters"]
        if not isinstance(counters, dict) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                     for v in counters.values()):
            raise StoreDataError(f"{where}: attribute counters={counters!r} is not a mapping of "
                                 f"counts: {fix}")
        arrays["counters"] = dict(counters)  # by name
    archived = _read_arrays(subgroup(group, "archived", where, fix), window, domain,
                            _count(attrs, "n_archived", where, fix), f"{where}/archived", fix, verify)
    return StoredLibrary(attrs, arrays, archived, where)


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
