"""Optional dependencies: which extra of ``pip install "patternlab[...]"`` provides each, and the
clear error raised when a feature's dependency is missing.

The core (``numpy``, ``numba``) computes every profile, discord and motif and learns pattern
libraries in memory; clusters, run stores, pattern stores and the dashboard come with extras.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

#: Top-level module -> the extra that installs it.
EXTRAS: dict[str, str] = {
    "dask": "dask", "distributed": "dask", "bokeh": "dask", "tqdm": "dask", "yaml": "dask",
    "zarr": "zarr", "numcodecs": "zarr",
    "redis": "redis",
    "prometheus_client": "dask",
    "aiohttp": "serve",
    "asyncssh": "ssh",
    "dask_kubernetes": "kube",
    "sklearn": "features",
}


def imported(module: str, feature: str, extra: str | None = None) -> ModuleType:
    """``importlib.import_module(module)``; a missing optional dependency becomes a
    :class:`~patternlab.MissingDependencyError` naming the extra that installs it (``extra``:
    the one that installs everything ``feature`` needs, else the missing module's)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise missing(exc, feature, extra) from exc


def missing(exc: ModuleNotFoundError, feature: str, extra: str | None = None) -> Exception:
    """The error for ``exc`` (a failed import while loading ``feature``): a
    :class:`~patternlab.MissingDependencyError` when the module is an optional dependency,
    else ``exc`` itself (a genuine bug must not look like a missing extra)."""
    top = (exc.name or "").split(".")[0]
    if top not in EXTRAS:
        return exc
    extra = extra or EXTRAS[top]
    return MissingDependencyError(
        f"{feature} needs {top!r}, which is not installed: pip install \"patternlab[{extra}]\" "
        f"(or \"patternlab[all]\" for every feature)")
