"""Arrays that never read back silently wrong: checksummed zarr writes and verified reads (for the
stores of :mod:`patternlab.store` and the matrix profiles :mod:`patternlab.profiles` streams to zarr).

Two checks guard every array patternlab writes to zarr:

- the ``crc32c`` codec closes each chunk's codec pipeline (each inner chunk of a sharded
  array; the shard index has its own), so a flipped or truncated chunk fails to decode;
- a digest of the whole array (BLAKE2b of its dtype, shape, bytes and other attributes) is
  recorded in the array's attributes (``"patternlab_digest"``) when it is written and compared
  after it is read, which catches what the codec cannot: a chunk that is missing (zarr reads it
  as the fill value), a chunk from another write, a changed shape, dtype or attribute in the
  metadata.

The attributes of groups are sealed the same way (:func:`seal_attrs`, :func:`check_attrs`: a
digest of the other attributes, ``"patternlab_attrs_digest"``; keys ``patternlab_...digest`` are
digests and left out), so that a damaged config, count or token in a group's metadata is found
too.

Arrays written in pieces by several writers (the summaries of a run store) record one digest
per piece elsewhere (:mod:`patternlab.batch.checkpoint`); :func:`digest` and :func:`read_rows`
serve them. Every failure is a :class:`~patternlab.errors.StoreDataError` naming the array, the
chunk when it is known, and what to do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from zarr.codecs import Crc32cCodec, ZstdCodec
from zarr.core.sync import sync

from .errors import PatternlabError, StoreDataError

__all__ = ["ATTRS_DIGEST", "DIGEST_ATTR", "attrs_digest", "attrs_ok", "check_attrs", "checked_compressors",
           "create_checked", "digest", "open_array", "read_checked", "read_rows", "seal_attrs",
           "storage_keys"]

DIGEST_ATTR = "patternlab_digest"
ATTRS_DIGEST = "patternlab_attrs_digest"


def _is_digest(key: str) -> bool:
    return key.startswith("patternlab_") and key.endswith("digest")


def _canonical(attrs: Mapping[str, Any], keys: Collection[str] | None = None,
               exclude: Collection[str] = ()) -> bytes:
    chosen = {k: v for k, v in attrs.items()
              if (k in keys if keys is not None else not _is_digest(k)) and k not in exclude}
    return json.dumps(chosen, sort_keys=True, separators=(",", ":")).encode()


def digest(a: NDArray[Any], attrs: Mapping[str, Any] | None = None) -> str:
    """BLAKE2b (128 bits) of an array's dtype, shape and bytes (and of ``attrs``, as JSON, less
    the digests themselves)."""
    a = np.ascontiguousarray(a)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{a.dtype.str}|{a.shape}|".encode())
    h.update(a.data if a.size else b"")
    if attrs is not None:
        h.update(b"|" + _canonical(attrs))
    return h.hexdigest()


def attrs_digest(attrs: Mapping[str, Any], keys: Collection[str] | None = None,
                 exclude: Collection[str] = ()) -> str:
    """BLAKE2b (128 bits) of attributes as canonical JSON: ``keys``, or all but ``exclude`` and
    the digests themselves."""
    return hashlib.blake2b(_canonical(attrs, keys, exclude), digest_size=16).hexdigest()


def seal_attrs(group: Any, updates: Mapping[str, Any], *, name: str = ATTRS_DIGEST,
               keys: Collection[str] | None = None, exclude: Collection[str] = ()) -> dict[str, Any]:
    """Update a group's attributes and record, as attribute ``name``, the digest of them (of
    ``keys``, or all but ``exclude``) as a reader will see them, in one write of its metadata.
    Returns the attributes."""
    new = json.loads(json.dumps(dict(updates)))  # the JSON form, as stored
    attrs = {**group.attrs.asdict(), **new}
    new[name] = attrs[name] = attrs_digest(attrs, keys, exclude)
    group.attrs.update(new)
    return attrs


def attrs_ok(attrs: Mapping[str, Any], *, name: str = ATTRS_DIGEST, keys: Collection[str] | None = None,
             exclude: Collection[str] = ()) -> bool:
    """Whether ``attrs`` match the digest :func:`seal_attrs` recorded in them."""
    try:
        return attrs.get(name) == attrs_digest(attrs, keys, exclude)
    except (TypeError, ValueError):  # not JSON (cannot happen for attributes read from JSON)
        return False


def check_attrs(attrs: Mapping[str, Any], where: str, fix: str, **how: Any) -> None:
    """Raise :class:`StoreDataError` unless ``attrs`` match their digest (see :func:`attrs_ok`)."""
    if not attrs_ok(attrs, **how):
        what = "have no digest" if how.get("name", ATTRS_DIGEST) not in attrs else "do not match their digest"
        raise StoreDataError(f"the attributes of {where} {what}: its metadata is damaged; {fix}")


def checked_compressors(compress: bool = True) -> list[Any]:
    """The bytes-to-bytes codecs of a checksummed array: zstd (unless ``compress`` is false),
    then crc32c over the compressed bytes."""
    return [ZstdCodec(level=0), Crc32cCodec()] if compress else [Crc32cCodec()]


def create_checked(group: Any, name: str, data: NDArray[Any], *, chunks: tuple[int, ...],
                   compress: bool = True, attributes: dict[str, Any] | None = None) -> Any:
    """Write ``data`` as the array ``name`` of ``group`` (replacing one there), with crc32c on
    every chunk and its digest in the attributes."""
    data = np.ascontiguousarray(data)
    attrs = json.loads(json.dumps(dict(attributes or {})))  # as a reader will see them
    attrs[DIGEST_ATTR] = digest(data, attrs)
    return group.create_array(name, data=data, chunks=chunks, compressors=checked_compressors(compress),
                              overwrite=True, attributes=attrs)


def storage_keys(arr: Any) -> Iterator[tuple[tuple[int, ...], str]]:
    """The chunk (or shard) coordinates of an array and their keys in its store."""
    grid = arr.metadata.chunk_grid
    for coords in grid.all_chunk_coords(arr.shape):
        yield coords, arr.metadata.encode_chunk_key(coords)


def _full_key(arr: Any, key: str) -> str:
    path = arr.store_path.path
    return f"{path}/{key}" if path else key


def _locate(arr: Any) -> str:
    """Which stored chunks are missing or fail to decode (a description, for messages)."""
    missing, bad = [], []
    store = arr.store_path.store
    for coords, key in storage_keys(arr):
        if not sync(store.exists(_full_key(arr, key))):
            missing.append(key)
            continue
        sel = tuple(slice(c * s, min((c + 1) * s, n))
                    for c, s, n in zip(coords, arr.metadata.chunk_grid.chunk_shape, arr.shape))
        try:
            arr[sel]
        except Exception:  # any decoding failure marks the chunk as damaged
            bad.append(key)
    parts = []
    if missing:
        parts.append(f"chunk {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} missing")
    if bad:
        parts.append(f"chunk {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''} damaged")
    return "; ".join(parts)


def open_array(group: Any, name: str, where: str, fix: str) -> Any:
    """The array ``name`` of ``group``, or a StoreDataError if it is missing or its metadata is
    unreadable."""
    try:
        arr = group[name]
    except KeyError:
        raise StoreDataError(f"{where}/{name} is missing: {fix}") from None
    except PatternlabError:
        raise
    except Exception as exc:  # JSON, codec and metadata errors of a damaged store
        raise StoreDataError(f"the metadata of {where}/{name} cannot be read ({type(exc).__name__}: "
                             f"{_short(exc)}): {fix}") from None
    if not hasattr(arr, "shape"):
        raise StoreDataError(f"{where}/{name} is a group, not an array: {fix}")
    return arr


def read_checked(group: Any, name: str, where: str, fix: str, *, dtype: Any,
                 shape: Callable[[tuple[int, ...]], bool] | tuple[int, ...] | None = None,
                 verify: bool = True) -> NDArray[Any]:
    """Read the whole array ``name`` of ``group``, checked: dtype, ``shape`` (a tuple, or a test
    of the stored shape, run before any data is read), every chunk's crc32c and, with ``verify``,
    the digest recorded when it was written.

    ``verify=False`` is for stores written before digests existed (their format version says
    so): the codec checks that they have still run, the completeness check is skipped.
    """
    arr = open_array(group, name, where, fix)
    label = f"{where}/{name}"
    ok = (shape is None or (shape(tuple(arr.shape)) if callable(shape) else tuple(arr.shape) == tuple(shape)))
    if arr.dtype != np.dtype(dtype) or not ok:
        want = str(np.dtype(dtype)) + ("" if shape is None or callable(shape) else f", {tuple(shape)}")
        raise StoreDataError(f"{label} has dtype {arr.dtype} and shape {tuple(arr.shape)}, not what its "
                             f"group records ({want}): its metadata is damaged; {fix}")
    expected = arr.attrs.get(DIGEST_ATTR) if verify else None
    if verify and not isinstance(expected, str):
        raise StoreDataError(f"{label} has no checksum ({DIGEST_ATTR!r} attribute missing): its "
                             f"metadata is damaged; {fix}")
    try:
        data = np.asarray(arr[...])
    except PatternlabError:
        raise
    except Exception as exc:  # checksum, decompression and size errors of a chunk
        where_bad = _locate(arr) or f"{type(exc).__name__}: {_short(exc)}"
        raise StoreDataError(f"{label} cannot be read ({where_bad}): {fix}") from None
    if expected is not None and digest(data, arr.attrs.asdict()) != expected:
        found = _locate(arr)
        raise StoreDataError(f"{label} does not match its checksum"
                             f"{f' ({found})' if found else ''}: {fix}")
    return data


def read_rows(arr: Any, start: int, stop: int, label: str, fix: str) -> NDArray[Any]:
    """Rows ``start:stop`` of an array, any decoding failure a StoreDataError."""
    try:
        return np.asarray(arr[start:stop])
    except PatternlabError:
        raise
    except Exception as exc:  # checksum, decompression and size errors of a chunk
        raise StoreDataError(f"{label} rows {start}:{stop} cannot be read ({type(exc).__name__}: "
                             f"{_short(exc)}): {fix}") from None


def _short(exc: BaseException, limit: int = 120) -> str:
    s = str(exc)
    return s if len(s) <= limit else s[:limit - 3] + "..."
