"""A pattern store in a zarr v3 directory or URL: :class:`ZarrPatternStore`.

Layout::

    <root>/                       attrs: format="patternlab-pattern-store", schema_version
      lib-<window>-<digest>/      one per (domain, window); attrs: domain, window, version,
                                  current (the name of the live version), tokens (per shard:
                                  applied token -> time)
        v<version>/               the library, in the format of PatternLibrary.save
                                  (:mod:`.zarr`), plus two arrays in its order: acc (n, window)
                                  float64, the support-weighted prototype sums, and updated (n,)
                                  float64, the time of each pattern's last write
        archive/                  its archive, in the format of the stores' zarr archives
                                  (:mod:`._archive`)
    <root>.lock                   beside it: the lock file (local directories)

Each version is checksummed like a saved library (crc32c per chunk, a digest per array, ``acc``
and ``updated`` included): a damaged or incomplete version is a
:class:`~patternlab.errors.StoreDataError`, never a library with missing patterns.

Every write makes a new version and then switches ``current`` and the tokens in one write of the
library group's metadata, so a reader sees one version or the next, never a mix, and a write
cut short leaves the previous version live. The old version is removed afterwards.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, PatternlabError, StoreDataError, StoreError
from . import zarr as zstore
from ._integrity import ATTRS_DIGEST, check_attrs, create_checked, read_checked, seal_attrs
from ._local import LibraryState, LocalStore
from ._records import Record, record_order, records_to_library

__all__ = ["ZarrPatternStore"]

STORE_FORMAT = "patternlab-pattern-store"
#: 2: the library groups' attributes (current version, tokens) are sealed with a digest
SCHEMA_VERSION = 2


def _local_dir(url: str) -> Path | None:
    if url.startswith("file://"):
        return Path(url[len("file://"):])
    return None if "://" in url else Path(url)


class ZarrPatternStore(LocalStore):
    """Pattern libraries in a zarr v3 hierarchy (a :class:`~patternlab.store.base.PatternStore`),
    one library group per ``(domain, window)`` in the format of :meth:`PatternLibrary.save`, with
    its applied tokens and its archive (see the module docstring for the layout).

    Writers take turns: on a local directory every operation holds a lock file beside it
    (``<path>.lock``; shared to read, exclusive to write), so processes and threads may share
    the store; on other URLs
    (``s3://...``, ``memory://...``) there is no lock: keep to one writer at a time. Each write
    rewrites the library it changes (about 1.6 s for 20,000 patterns of window 64 on a local
    disk), which suits snapshots, batch results and libraries of some 10^4 patterns written now
    and then; use :class:`RedisPatternStore` for many live writers.

    Parameters
    ----------
    path : str or os.PathLike
        A directory, or a URL that zarr opens with fsspec (``s3://bucket/patterns``); created
        when absent.
    token_ttl : float
        Seconds an applied update token is remembered (retries must happen within it).

    Examples
    --------
    >>> import numpy as np, patternlab as pl, tempfile
    >>> lib = pl.PatternLibrary(window=8, domain="audio")
    >>> _ = lib.add(np.sin(np.arange(8.0)), signal_id=0, offset=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with pl.ZarrPatternStore(d + "/patterns.zarr") as store:
    ...         _ = store.publish(None, lib, token="t1")
    ...     with pl.ZarrPatternStore(d + "/patterns.zarr") as again:  # another process, later
    ...         again.load_library("audio", 8).ids == lib.ids
    True
    """

    def __init__(self, path: str | os.PathLike[str], *, token_ttl: float = 7 * 86400.0) -> None:
        super().__init__(token_ttl)
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidParameterError(f"path={path!r} ({type(path).__name__}): pass a directory or a "
                                        "URL such as 's3://bucket/patterns'")
        self._url = os.fspath(path).rstrip("/")
        folder = _local_dir(self._url)
        self._lockfile: Any = None
        self._depth = 0
        if folder is not None:
            folder.parent.mkdir(parents=True, exist_ok=True)
            self._lockfile = open(folder.parent / f"{folder.name}.lock", "a+b")
            weakref.finalize(self, self._lockfile.close)  # a store never closed still frees it
        with self._locked(write=True):
            try:
                self._root = zstore.open_group(self._url, mode="a")
                attrs = self._root.attrs.asdict()
            except Exception as exc:  # a damaged zarr.json at the root
                self._release()
                raise StoreDataError(f"the metadata of the pattern store {self._url} cannot be read "
                                     f"({type(exc).__name__}: {exc}): restore it from a copy") from None
            if not attrs and not len(list(self._root.keys())):
                self._root.attrs.update({"format": STORE_FORMAT, "schema_version": SCHEMA_VERSION})
            elif attrs.get("format") != STORE_FORMAT:
                self._release()
                raise InvalidParameterError(f"{self._url} is not a patternlab pattern store (format "
                                            f"{attrs.get('format')!r}): choose an empty or new path")
            elif not isinstance(attrs.get("schema_version"), int) or attrs["schema_version"] > SCHEMA_VERSION:
                self._release()
                raise StoreDataError(f"{self._url} was written with schema {attrs.get('schema_version')!r}, "
                                     f"not one this patternlab reads (1 to {SCHEMA_VERSION}): "
                                     "upgrade patternlab")
            self._sealed = int(self._root.attrs.get("schema_version", SCHEMA_VERSION)) >= 2

    def __repr__(self) -> str:
        return f"<ZarrPatternStore {self._url!r}>"

    @property
    def path(self) -> str:
        """The store's directory or URL."""
        return self._url

    # -- locking ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, write: bool) -> Iterator[None]:
        with self._lock:
            if self._depth == 0 and self._lockfile is not None:
                fcntl.flock(self._lockfile.fileno(), fcntl.LOCK_EX if write else fcntl.LOCK_SH)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._lockfile is not None:
                    fcntl.flock(self._lockfile.fileno(), fcntl.LOCK_UN)

    def _release(self) -> None:
        if self._lockfile is not None:
            self._lockfile.close()
            self._lockfile = None

    # -- state --------------------------------------------------------------------------------
    @staticmethod
    def _name(domain: str, window: int) -> str:
        digest = hashlib.sha1(f"{domain}\x1f{int(window)}".encode()).hexdigest()[:16]
        return f"lib-{int(window)}-{digest}"

    def _group(self, domain: str, window: int) -> Any:
        name = self._name(domain, window)
        try:
            return self._root[name]
        except KeyError:
            return None
        except Exception as exc:  # damaged metadata
            raise StoreDataError(f"the metadata of {self._url}/{name} cannot be read "
                                 f"({type(exc).__name__}: {exc}): restore the store from a copy") from None

    def _read(self, domain: str, window: int) -> LibraryState | None:
        group = self._group(domain, window)
        if group is None:
            return None
        attrs = group.attrs.asdict()
        where = f"{self._url}/{self._name(domain, window)}"
        if not attrs:  # created, never written (a first write cut short): no library yet
            return None
        if ATTRS_DIGEST in attrs or self._sealed:  # groups written before seals have none
            check_attrs(attrs, where, "restore the store from a copy")
        if attrs.get("domain") != domain or attrs.get("window") != window:
            raise StoreDataError(f"{where} holds {attrs.get('domain')!r}/{attrs.get('window')}, not "
                                 f"{domain!r}/{window}: the group was not written by patternlab")
        try:
            tokens = {int(s): {str(t): float(at) for t, at in toks.items()}
                      for s, toks in attrs.get("tokens", {}).items()}
        except (AttributeError, TypeError, ValueError):
            raise StoreDataError(f"{where}: its tokens attribute is damaged: restore the store from a "
                                 "copy") from None
        current = attrs.get("current")
        if current is None:
            return LibraryState({}, tokens)
        fix = "the store is damaged; restore it from a copy"
        try:
            stored = zstore.read_library(self._url, path=f"{self._name(domain, window)}/{current}")
            a = stored.arrays
            n = len(a["ids"])
            verify = stored.attrs.get("schema_version", 0) >= zstore.DIGEST_SCHEMA
            sub = group[current]
            acc = read_checked(sub, "acc", f"{where}/{current}", fix, dtype=np.float64, shape=(n, window),
                               verify=verify)
            updated = read_checked(sub, "updated", f"{where}/{current}", fix, dtype=np.float64,
                                   shape=(n,), verify=verify)
        except StoreError as exc:  # the live version named by the attributes is gone
            raise StoreDataError(f"{where}/{current} cannot be read ({exc}): {fix}") from None
        except PatternlabError:
            raise
        except Exception as exc:  # whatever else damaged metadata raises
            raise StoreDataError(f"{where}/{current} cannot be read ({type(exc).__name__}: {exc}): "
                                 f"{fix}") from None
        if not np.isfinite(acc).all() or not np.isfinite(updated).all():
            raise StoreDataError(f"{where}/{current}: acc or updated holds NaN or infinity: {fix}")
        records = {}
        for k, pid in enumerate(a["ids"]):
            records[pid] = Record(pid, a["domains"][k], acc[k].copy(), int(a["supports"][k]),
                                  (a["first_signal"][k], int(a["first_offset"][k])),
                                  (a["last_signal"][k], int(a["last_offset"][k])), float(updated[k]))
        return LibraryState(records, tokens)

    def _write(self, domain: str, window: int, state: LibraryState) -> None:
        group = self._group(domain, window)
        if group is None:
            group = self._root.create_group(self._name(domain, window))
        attrs = group.attrs.asdict()
        old = attrs.get("current")
        version = int(attrs.get("version", 0)) + 1
        name = f"v{version:010d}"
        recs = sorted(state.records.values(), key=record_order)
        sub = group.create_group(name, overwrite=True)
        acc = np.stack([r.acc for r in recs]) if recs else np.zeros((0, window))
        create_checked(sub, "acc", np.asarray(acc, dtype=np.float64),
                       chunks=(max(1, min(len(recs), (1 << 21) // window)), window), compress=False)
        create_checked(sub, "updated", np.array([r.updated for r in recs], dtype=np.float64),
                       chunks=(max(1, min(len(recs), 1 << 20)),))
        zstore.write_library_group(sub, records_to_library(recs, domain, window, None))
        seal_attrs(group, {"domain": domain, "window": window, "version": version, "current": name,
                           "tokens": {str(s): toks for s, toks in sorted(state.tokens.items())}})
        if old is not None and old != name:
            with contextlib.suppress(KeyError):
                del group[old]

    def _keys(self) -> list[tuple[str, int]]:
        out = []
        for name in self._root.group_keys():
            try:
                attrs = self._root[name].attrs.asdict()
            except Exception as exc:  # damaged metadata
                raise StoreDataError(f"the metadata of {self._url}/{name} cannot be read "
                                     f"({type(exc).__name__}: {exc}): restore the store from a "
                                     "copy") from None
            if name.startswith("lib-") and "domain" in attrs:
                out.append((str(attrs["domain"]), int(attrs["window"])))
        return out

    def _own_archive(self, domain: str, window: int) -> str:
        return f"{self._url}/{self._name(domain, window)}/archive"
