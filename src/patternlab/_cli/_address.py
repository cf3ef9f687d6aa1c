"""Where ``patternlab start`` leaves its scheduler's address for ``patternlab status`` (and for
``distributed.Client(scheduler_file=...)``, which reads the same ``"address"`` key)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["ENV", "default_scheduler_file", "read_scheduler_file", "remove_scheduler_file",
           "write_scheduler_file"]

#: Environment variable naming the scheduler file (both commands read it).
ENV = "PATTERNLAB_SCHEDULER_FILE"


def default_scheduler_file() -> Path:
    """``$PATTERNLAB_SCHEDULER_FILE``, else ``patternlab/scheduler.json`` in the user's cache
    folder (``$XDG_CACHE_HOME``, else ``~/.cache``)."""
    named = os.environ.get(ENV)
    if named:
        return Path(named)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "patternlab" / "scheduler.json"


def write_scheduler_file(path: Path, address: str, dashboard: str | None) -> None:
    """Write ``{"address", "dashboard", "pid"}`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"address": address, "dashboard": dashboard, "pid": os.getpid()}, indent=2))
    os.replace(tmp, path)


def read_scheduler_file(path: Path) -> dict[str, Any] | None:
    """The file's contents, or None where there is none (or it is not a scheduler file)."""
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and isinstance(info.get("address"), str) else None


def remove_scheduler_file(path: Path, address: str) -> None:
    """Remove the file if it still names ``address`` from this process (a later ``start`` may have
    replaced it: then it stays)."""
    info = read_scheduler_file(path)
    if info is not None and info.get("address") == address and info.get("pid") == os.getpid():
        try:
            path.unlink()
        except OSError:
            pass
