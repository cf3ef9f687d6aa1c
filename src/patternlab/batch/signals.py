"""Collections of signals: in memory (list, 2-D array, dask array) or an on-disk zarr corpus.

The on-disk corpus format, written by :func:`write_signals`, is a zarr v3 group holding one flat
float64 array ``values`` (all signals end to end) and an int64 array ``offsets`` of length
``n + 1``: signal ``i`` is ``values[offsets[i]:offsets[i + 1]]``. A reader of a range of signals
touches one slice of ``offsets`` and one slice of ``values``, so a Dask task reads its own signals
from the store and nothing passes through the client.

Integrity (format version 2): every chunk carries a crc32c checksum, and a uint32 array ``crc32``
holds the CRC-32 of each signal's bytes, checked on every read with the offsets' consistency: a
missing chunk (which zarr would read as zeros) or a damaged one is a
:class:`~patternlab.errors.StoreDataError` naming the corpus and the signals, never different
signals. Corpora of format version 1 are read without the per-signal check.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import zlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import InvalidParameterError, InvalidSignalError, PatternlabError, StoreDataError
from ..store._integrity import checked_compressors

if TYPE_CHECKING:  # pragma: no cover
    import dask.array

__all__ = ["SignalCollection", "SignalsLike", "ZarrCorpus", "as_collection", "write_signals"]

FORMAT = "patternlab.corpus"
FORMAT_VERSION = 2  # 2: crc32c on every chunk, a CRC-32 per signal


class SignalCollection:
    """An indexable collection of 1-D signals that can read a range of them at once."""

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, start: int, stop: int) -> list[NDArray[np.float64]]:  # pragma: no cover
        """The signals from ``start`` to ``stop - 1``, as float64 arrays."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        """A content hash of the signals (lengths and float64 values), read a block at a time."""
        h = _Hasher()
        for s in range(0, len(self), 4096):
            for T in self.read(s, min(s + 4096, len(self))):
                h.add(T)
        return h.hexdigest()

    def describe(self) -> str:
        """A short description for errors and fingerprints."""
        return f"{type(self).__name__} of {len(self)} signals"


class _Hasher:
    """Content hash of a sequence of signals: each signal's length, then its float64 bytes."""

    def __init__(self) -> None:
        self._h = hashlib.blake2b(digest_size=16)

    def add(self, T: Any) -> None:
        a = np.ascontiguousarray(T, dtype=np.float64)
        self._h.update(np.int64(a.shape[0]).tobytes())
        self._h.update(a.tobytes())

    def hexdigest(self) -> str:
        return self._h.hexdigest()


class InMemory(SignalCollection):
    """A list of 1-D arrays (ragged allowed) or the rows of a 2-D array."""

    def __init__(self, signals: Sequence[Any] | NDArray[Any]) -> None:
        self._signals = signals

    def __len__(self) -> int:
        return len(self._signals)

    def read(self, start: int, stop: int) -> list[NDArray[np.float64]]:
        return [np.asarray(self._signals[i], dtype=np.float64) for i in range(start, stop)]


class Slice(SignalCollection):
    """Signals ``offset .. offset + len(signals) - 1`` of a larger collection, held in memory:
    what one partition task receives, so that no worker is sent signals it does not use."""

    def __init__(self, signals: list[NDArray[np.float64]], offset: int, total: int) -> None:
        self._signals = signals
        self._offset = offset
        self._total = total

    def __len__(self) -> int:
        return self._total

    def read(self, start: int, stop: int) -> list[NDArray[np.float64]]:
        lo, hi = start - self._offset, stop - self._offset
        if lo < 0 or hi > len(self._signals):
            raise IndexError(f"signals {start}..{stop - 1} are not in this slice")
        return self._signals[lo:hi]


class DaskRows(SignalCollection):
    """The rows of a 2-D dask array, computed one range at a time."""

    def __init__(self, array: Any) -> None:
        self._array = array

    def __len__(self) -> int:
        return int(self._array.shape[0])

    def read(self, start: int, stop: int) -> list[NDArray[np.float64]]:
        block = np.asarray(self._array[start:stop].compute(scheduler="sync"), dtype=np.float64)
        return list(block)

    def fingerprint(self) -> str:
        from dask.base import tokenize

        return f"dask-{tokenize(self._array)}"


class ZarrCorpus(SignalCollection):
    """A corpus written by :func:`write_signals`, opened lazily (only its URL travels to tasks).

    Parameters
    ----------
    url : str or path
        A local path or any URL zarr opens (``file://``, ``memory://``, ``s3://`` with s3fs).
    """

    def __init__(self, url: str | os.PathLike[str]) -> None:
        self.url = os.fspath(url)
        self._group: Any = None
        self._n = int(self._open()["offsets"].shape[0]) - 1

    def _open(self) -> Any:
        if self._group is None:
            import zarr

            try:
                group = zarr.open_group(self.url, mode="r")
            except (FileNotFoundError, KeyError) as exc:
                raise InvalidSignalError(f"{self.url!r} is not a signal corpus ({exc}); write one "
                                         "with patternlab.write_signals(path, signals)") from None
            except Exception as exc:  # a damaged zarr.json
                raise StoreDataError(f"the metadata of the corpus {self.url} cannot be read "
                                     f"({type(exc).__name__}: {exc}): write it again with "
                                     "patternlab.write_signals") from None
            if group.attrs.get("format") != FORMAT:
                raise InvalidSignalError(f"{self.url!r} is a zarr group but not a patternlab corpus; "
                                         "write one with patternlab.write_signals(path, signals)")
            meta: Any = group  # its metadata is checked here, whatever zarr's types say
            try:
                arrays = set(meta.array_keys())
                n = int(meta.attrs["n_signals"])
                ok = {"values", "offsets"} <= arrays and meta["offsets"].shape == (n + 1,) and (
                    meta.attrs.get("format_version", 1) < 2 or meta["crc32"].shape == (n,))
            except Exception:  # damaged metadata of an array
                ok = False
            if not ok:
                raise StoreDataError(f"the corpus {self.url} is damaged (an array is missing or its "
                                     "metadata unreadable): write it again with patternlab.write_signals")
            self._group = group
        return self._group

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "_n": self._n, "_group": None}

    def __len__(self) -> int:
        return self._n

    def read(self, start: int, stop: int) -> list[NDArray[np.float64]]:
        g = self._open()
        fix = "the corpus is damaged: write it again with patternlab.write_signals"
        try:
            offs = np.asarray(g["offsets"][start:stop + 1], dtype=np.int64)
            if offs.size != stop - start + 1 or np.any(np.diff(offs) < 0) or offs[0] < 0 \
                    or offs[-1] > g["values"].shape[0]:
                raise StoreDataError(f"{self.url}/offsets {start}:{stop + 1} are not the offsets of "
                                     f"signals in {self.url}/values: {fix}")
            values = np.asarray(g["values"][int(offs[0]):int(offs[-1])], dtype=np.float64)
            crc = (np.asarray(g["crc32"][start:stop], dtype=np.uint32)
                   if g.attrs.get("format_version", 1) >= 2 else None)
        except PatternlabError:
            raise
        except Exception as exc:  # a chunk failing its checksum, damaged metadata
            raise StoreDataError(f"signals {start}:{stop} of {self.url} cannot be read "
                                 f"({type(exc).__name__}: {exc}): {fix}") from None
        base = offs[0]
        out = [values[a - base:b - base] for a, b in itertools.pairwise(offs)]
        if crc is not None:
            for i, T in enumerate(out):
                if zlib.crc32(np.ascontiguousarray(T, dtype="<f8").tobytes()) != int(crc[i]):
                    raise StoreDataError(f"signal {start + i} of {self.url} does not match its CRC-32 (a "
                                         f"chunk of {self.url}/values, offsets or crc32 is missing or "
                                         f"damaged): {fix}")
        return out

    def describe(self) -> str:
        return f"zarr corpus {self.url!r} of {len(self)} signals"

    def fingerprint(self) -> str:
        stored = self._open().attrs.get("fingerprint")
        return str(stored) if stored else super().fingerprint()


#: What collections are accepted as "signals": a sequence of 1-D arrays (ragged allowed), a 2-D
#: array or dask array (one signal a row), a :class:`ZarrCorpus`, or a corpus path or URL.
SignalsLike = Union[Sequence[ArrayLike], NDArray[Any], "dask.array.Array", "SignalCollection", str,
                    "os.PathLike[str]"]


def as_collection(signals: SignalsLike) -> SignalCollection:
    """Wrap what users pass as "signals": a list of 1-D arrays, a 2-D array, a 2-D dask array, a
    :class:`ZarrCorpus`, or the path of one."""
    if isinstance(signals, SignalCollection):
        return signals
    if isinstance(signals, (str, os.PathLike)):
        return ZarrCorpus(signals)
    if type(signals).__module__.startswith("dask.array") or hasattr(signals, "dask"):
        if getattr(signals, "ndim", None) != 2:
            raise InvalidSignalError(f"a dask array of signals must be 2-D (one signal a row); got "
                                     f"shape {getattr(signals, 'shape', '?')}")
        return DaskRows(signals)
    if isinstance(signals, np.ndarray):
        if signals.ndim == 1:
            raise InvalidSignalError("got one 1-D signal where a collection was expected: pass "
                                     "[signal] (or use pl.perceive for a single signal)")
        if signals.ndim != 2:
            raise InvalidSignalError(f"an array of signals must be 2-D (one signal a row); got shape "
                                     f"{signals.shape}")
        return InMemory(signals)
    if isinstance(signals, (list, tuple)):
        if signals and np.ndim(signals[0]) == 0:
            raise InvalidSignalError("got a list of numbers where a collection was expected: pass a "
                                     "list of 1-D signals, e.g. [signal]")
        return InMemory(signals)
    raise InvalidParameterError(f"cannot read signals from {type(signals).__name__}: pass a list of "
                                "1-D arrays, a 2-D numpy or dask array, or a corpus path")


def write_signals(url: str | os.PathLike[str], signals: Iterable[Any], *,
                  chunk_values: int = 1 << 20, overwrite: bool = False) -> ZarrCorpus:
    """Write signals as an on-disk corpus (flat ``values`` + int64 ``offsets``, zarr v3).

    Signals are streamed: memory stays bounded by one chunk whatever the number of signals.

    Parameters
    ----------
    url : str or path
        Where to write (a directory path, or a zarr URL).
    signals : iterable of array_like
        1-D numeric signals; ragged lengths are fine.
    chunk_values : int
        Samples per chunk of ``values``.
    overwrite : bool
        Replace an existing store.

    Returns
    -------
    ZarrCorpus

    Examples
    --------
    >>> import numpy as np, patternlab as pl, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "corpus.zarr")
    >>> corpus = pl.write_signals(path, [np.arange(5.0), np.ones(3)])
    >>> len(corpus), corpus.read(1, 2)[0].tolist()
    (2, [1.0, 1.0, 1.0])
    """
    import zarr

    url = os.fspath(url)
    if not overwrite:
        try:
            zarr.open_group(url, mode="r")
        except (FileNotFoundError, ValueError, KeyError):
            pass
        else:
            raise InvalidParameterError(f"{url!r} already exists: pass overwrite=True to replace it")
    group = zarr.open_group(url, mode="w")
    values = group.create_array("values", shape=(0,), dtype="f8", chunks=(chunk_values,),
                                compressors=checked_compressors())
    buf: list[NDArray[np.float64]] = []
    buffered = 0
    written = 0
    offsets = [0]
    hasher = _Hasher()
    crcs: list[int] = []
    for k, s in enumerate(signals):
        arr = np.ascontiguousarray(s, dtype=np.float64)
        if arr.ndim != 1:
            raise InvalidSignalError(f"signal {k} has shape {arr.shape}: each signal must be 1-D")
        hasher.add(arr)
        crcs.append(zlib.crc32(arr.astype("<f8", copy=False).tobytes()))
        buf.append(arr)
        buffered += arr.shape[0]
        offsets.append(offsets[-1] + arr.shape[0])
        if buffered >= chunk_values:
            written = _flush(values, buf, written)
            buf, buffered = [], 0
    written = _flush(values, buf, written)
    group.create_array("offsets", data=np.asarray(offsets, dtype=np.int64),
                       chunks=(max(1, min(len(offsets), 1 << 20)),), compressors=checked_compressors())
    group.create_array("crc32", data=np.asarray(crcs, dtype=np.uint32),
                       chunks=(max(1, min(len(crcs), 1 << 20)),), compressors=checked_compressors())
    group.attrs.update({"format": FORMAT, "format_version": FORMAT_VERSION, "n_signals": len(offsets) - 1,
                         "fingerprint": hasher.hexdigest()})
    return ZarrCorpus(url)


def _flush(values: Any, buf: list[NDArray[np.float64]], written: int) -> int:
    if not buf:
        return written
    block = np.concatenate(buf)
    values.resize((written + block.shape[0],))
    values[written:written + block.shape[0]] = block
    return written + block.shape[0]
