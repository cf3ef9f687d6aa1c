"""Archives of pattern stores in zarr, and restore: one format and one procedure for every store.

An archive is a zarr v3 group (attrs ``format="patternlab-redis-archive"`` -- the name of its
first user, kept so that existing archives stay readable --, ``domain``, ``window``) holding one
library group (the format of ``PatternLibrary.save``) per archive call, named
``batch-<time>-<random>``; its patterns are that library's ``archived`` patterns. Existing
batches are never rewritten: an archive call only adds a batch, and a restore removes a batch
only after its patterns are back in the store (a partial restore first writes the remainder as a
new batch). Each archived pattern carries a restore token (``attrs["restore_tokens"]``), so a
restore interrupted and run again never adds a pattern twice.

A store provides three steps (:class:`ArchiveHost`): find the candidates, remove the archived
patterns that nobody wrote meanwhile, and apply changes with per-change tokens.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from ..errors import InvalidParameterError, PatternNotFoundError, StoreDataError
from ..library import Pattern, PatternLibrary
from . import zarr as zstore
from ._integrity import seal_attrs
from ._records import (
    Change,
    Record,
    check_ids,
    check_library_key,
    check_number,
    records_to_library,
    restore_change,
)
from .base import PublishResult

ARCHIVE_FORMAT = "patternlab-redis-archive"


class ArchiveHost(Protocol):
    """The store-specific steps of :func:`archive` and :func:`restore`."""

    def _archive_candidates(self, domain: str, window: int, min_support: int,
                            idle_seconds: float) -> list[Record]: ...

    def _archive_remove(self, domain: str, window: int, records: list[Record]) -> set[str]: ...

    def _apply(self, domain: str, window: int, changes: list[Change], token: str,
               per_change_tokens: Sequence[str] | None = None) -> PublishResult: ...


def open_root(path: Any, domain: str, window: int, create: bool, write: bool = True) -> Any:
    """The archive group at ``path`` (``None`` when there is none and ``create`` is false)."""
    where = zstore.describe_url(path)
    try:
        root = zstore.open_group(path, mode="a" if create else ("r+" if write else "r"))
        attrs = root.attrs.asdict()
    except (FileNotFoundError, KeyError):
        if create:
            raise
        return None
    except Exception as exc:  # a damaged zarr.json: never "no archive"
        raise StoreDataError(f"the metadata of the pattern archive {where} cannot be read "
                             f"({type(exc).__name__}: {exc}): restore it from a copy") from None
    if not attrs:
        if not create:
            return None
        if len(list(root.keys())):
            raise InvalidParameterError(f"{where} holds other data: choose an empty or new path for the "
                                        "archive")
        root.attrs.update({"format": ARCHIVE_FORMAT, "schema_version": 1, "domain": domain,
                           "window": int(window)})
        return root
    if attrs.get("format") != ARCHIVE_FORMAT:
        raise InvalidParameterError(f"{where} is not a pattern archive (format {attrs.get('format')!r}): "
                                    "choose another path")
    if attrs.get("domain") != domain or int(attrs.get("window", -1)) != int(window):
        raise InvalidParameterError(
            f"{where} archives {attrs.get('domain')!r}/{attrs.get('window')}, not {domain!r}/{window}: "
            "use one archive path per (domain, window)")
    return root


def write_batch(path: Any, root: Any, lib: PatternLibrary, tokens: dict[str, str]) -> str:
    name = f"batch-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
    zstore.save_library(lib, path, path=name)
    seal_attrs(root[name], {"restore_tokens": tokens})  # the library's seal covers its tokens
    return name


def archive(store: ArchiveHost, domain: str, window: int, *, min_support: int, idle_seconds: float,
            path: Any) -> list[str]:
    """Archive ``store``'s weak, idle patterns of ``(domain, window)`` at ``path``: written to the
    archive first, then removed from the store if unchanged. Returns the archived ids."""
    check_library_key(domain, window)
    check_number("min_support", min_support, 1, integer=True)
    check_number("idle_seconds", idle_seconds, 0.0)
    window = int(window)
    open_root(path, domain, window, create=False, write=False)  # a wrong path fails before any work
    recs = store._archive_candidates(domain, window, int(min_support), float(idle_seconds))
    if not recs:
        return []
    root = open_root(path, domain, window, create=True)
    lib = PatternLibrary(window, domain)
    lib.set_archive(records_to_library(recs, domain, window, None))
    tokens = {r.pid: f"restore:{uuid.uuid4().hex}:{r.pid}" for r in recs}
    name = write_batch(path, root, lib, tokens)  # archived first ...
    deleted = store._archive_remove(domain, window, recs)  # ... then removed, if unchanged
    if len(deleted) < len(recs):  # some were updated meanwhile: they stay live, out of the archive
        kept = PatternLibrary(window, domain)
        kept.set_archive(p for p in lib.archived if p.id in deleted)
        if kept.archived:
            write_batch(path, root, kept, {p: tokens[p] for p in deleted})
        del root[name]
    return sorted(deleted)


def archived_ids(path: Any, domain: str, window: int) -> list[str]:
    """Ids of the patterns in the archive at ``path``."""
    root = open_root(path, domain, window, create=False, write=False)
    if root is None:
        return []
    ids: set[str] = set()
    for name in sorted(root.group_keys()):
        ids.update(p.id for p in PatternLibrary.from_stored(zstore.read_library(path, path=name)).archived)
    return sorted(ids)


def restore(store: ArchiveHost, domain: str, window: int, *, path: Any, ids: Sequence[str] | None = None,
            missing_ok: bool = False) -> list[str]:
    """Bring archived patterns (all, or ``ids``) from the archive at ``path`` back into ``store``,
    then remove them from the archive. Returns the restored ids. No archive at ``path`` is an
    error, or (``missing_ok``, for a store's own archive) an empty archive."""
    check_library_key(domain, window)
    wanted_ids = check_ids(ids)
    window = int(window)
    root = open_root(path, domain, window, create=False)
    if root is None and not missing_ok:
        raise InvalidParameterError(f"no pattern archive at {zstore.describe_url(path)}: pass the path "
                                    "given to store.archive(...)")
    batches: list[tuple[str, list[Pattern], dict[str, str]]] = []
    for name in sorted(root.group_keys()) if root is not None else ():
        lib = PatternLibrary.from_stored(zstore.read_library(path, path=name))
        tokens = dict(root[name].attrs.asdict().get("restore_tokens", {}))
        batches.append((name, lib.archived, tokens))
    latest: dict[str, tuple[Pattern, str]] = {}
    for name, pats, tokens in batches:
        for p in pats:
            latest[p.id] = (p, str(tokens.get(p.id, f"restore:{name}:{p.id}")))
    wanted = set(latest) if wanted_ids is None else set(wanted_ids)
    missing = sorted(wanted - set(latest))
    if missing:
        raise PatternNotFoundError(f"{len(missing)} pattern(s) not in the archive of {domain!r}/{window}, "
                                   f"e.g. {missing[:3]}: the archive holds {len(latest)} pattern(s)")
    changes, toks = [], []
    for pid in sorted(wanted):
        p, tok = latest[pid]
        changes.append(restore_change(p.id, p.domain, p.support, p.prototype, p.first_seen, p.last_updated))
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
            write_batch(path, root, lib, {p.id: tokens.get(p.id, f"restore:{name}:{p.id}") for p in rest})
        try:
            del root[name]
        except KeyError:  # pragma: no cover - removed by a concurrent restore
            pass
    return sorted(wanted)
