"""Optional dependencies: which extra of ``pip install "patternlab[...]"`` provides each, and the
clear error raised when a feature's dependency is missing.

The core (``numpy``, ``numba``) computes every profile, discord and motif and learns pattern
libraries in memory; clusters, run stores, pattern stores and the dashboard come with extras.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, NoReturn

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


class Unavailable:
    """Stands for a public name whose optional dependency is not installed (``pl.Lab`` without
    Dask): it stays an attribute of ``patternlab`` (``from patternlab import *``, ``hasattr`` and
    ``dir`` keep working), and calling it or reading its attributes raises ``error``, a
    :class:`~patternlab.MissingDependencyError`. Nothing is an instance of it."""

    def __init__(self, name: str, error: MissingDependencyError) -> None:
        self.__name__ = name
        self.__qualname__ = name
        self.__doc__ = str(error)
        self._error = error

    def _raise(self) -> NoReturn:
        raise MissingDependencyError(str(self._error))

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._raise()

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):  # protocols (copy, pickle, inspect) probe these
            raise AttributeError(attr)
        self._raise()

    def __instancecheck__(self, obj: object) -> bool:
        return False

    def __subclasscheck__(self, cls: type) -> bool:
        return False

    def __mro_entries__(self, bases: tuple[Any, ...]) -> NoReturn:
        self._raise()

    def __repr__(self) -> str:
        return f"<patternlab.{self.__name__}, unavailable: {self._error}>"
