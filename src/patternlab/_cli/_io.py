"""What the ``perceive``, ``batch``, ``patterns`` and ``bench`` commands share: reading signal files,
opening libraries and pattern sources, printing patterns, and the exit codes of failures."""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

import patternlab as pl

from ..store._redis_url import mask_url

EXIT_OK = 0
EXIT_FAILURE = 1  # the input was fine but something failed: a server unreachable, a result wrong
EXIT_USAGE = 2  # a user mistake: a bad option, an unreadable file, a store of another run

#: URL schemes that name a Redis pattern store rather than a zarr store.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")
_BLOCKS = "▁▂▃▄▅▆▇█"
_ASCII = "_.-~=*#@"


def is_url(path: str) -> bool:
    """Whether ``path`` is a URL (``memory://``, ``s3://``, ``redis://`` ...) rather than a local path."""
    return "://" in path


def is_redis(path: str) -> bool:
    """Whether ``path`` is the URL of a Redis server."""
    return path.startswith(REDIS_SCHEMES)


def failures_exit_1(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Report a server that cannot be reached (Dask scheduler, Redis, SSH) as a failure: exit code 1
    with the message and no traceback; stop quietly when stdout is closed early (``| head``).
    User mistakes are left to ``main`` (exit code 2)."""

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except BrokenPipeError:  # the reader went away (`... | head`): stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so that the interpreter's final flush is silent
            return EXIT_FAILURE
        except ConnectionError as exc:  # ClusterConnectionError, StoreConnectionError, refused sockets
            print(f"patternlab {args.command}: error: {exc}", file=sys.stderr)
            return EXIT_FAILURE

    return run


def positive(name: str, value: int | None) -> None:
    """Refuse a count option below 1 (``name`` is the option as typed, e.g. ``--workers``)."""
    if value is not None and value < 1:
        raise pl.InvalidParameterError(f"{name}={value}: pass a positive integer")


def engine_config(path: str | None, **overrides: Any) -> pl.EngineConfig:
    """:func:`patternlab.load_config` of a config file (optional) and the options that were given."""
    return pl.load_config(path, **{k: v for k, v in overrides.items() if v is not None})


def library_settings(lib: pl.PatternLibrary, args: argparse.Namespace) -> tuple[pl.EngineConfig, str]:
    """The config and domain of a run that continues the library at ``args.library``: its own,
    or ``args.config`` at its window; ``--window`` must agree with it."""
    if args.window is not None and args.window != lib.window:
        raise pl.InvalidParameterError(
            f"--window={args.window} differs from the window of the library at {args.library} "
            f"({lib.window}): drop --window, or use another --library")
    config = engine_config(args.config, window=lib.window) if args.config else lib.config
    return config, args.domain or lib.domain


# -- signals -----------------------------------------------------------------------------------
@dataclass
class Signals:
    """Signals read from a file, a folder or a corpus.

    ``data`` is what :func:`patternlab.batch_perceive` takes (a corpus path, a 2-D array or a list
    of 1-D arrays); ``names`` labels each signal where the input names them (CSV columns, files).
    """

    data: Any
    count: int
    description: str
    names: list[str] | None = None

    def __len__(self) -> int:
        return self.count

    def name(self, i: int) -> str:
        return self.names[i] if self.names else f"signal {i}"

    def __iter__(self) -> Iterator[NDArray[np.float64]]:
        if isinstance(self.data, str):  # a corpus: read a bounded block at a time
            corpus = pl.ZarrCorpus(self.data)
            for start in range(0, self.count, 256):
                yield from corpus.read(start, min(start + 256, self.count))
        else:
            for x in self.data:
                yield np.asarray(x, dtype=np.float64)


def _exists(path: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    return p


def is_corpus(path: str) -> bool:
    """Whether ``path`` is a zarr group that :func:`patternlab.write_signals` wrote."""
    try:
        pl.ZarrCorpus(path)
    except pl.PatternlabError:
        return False
    return True


def _npy(path: Path) -> NDArray[Any]:
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise pl.InvalidSignalError(f"{path}: not a numeric .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise pl.InvalidSignalError(f"{path}: an .npz archive, not one .npy array: save each signal "
                                    "with numpy.save")
    return arr


def _text(path: Path) -> tuple[NDArray[np.float64], list[str] | None]:
    """A CSV (comma-separated) or whitespace-separated text file, with an optional header line."""
    delimiter = "," if path.suffix == ".csv" else None
    with path.open() as f:
        first = f.readline()
    cells = [c.strip() for c in (first.split(delimiter) if delimiter else first.split())]
    header = None
    try:
        [float(c) for c in cells if c]
    except ValueError:
        header = cells
    try:
        data = np.loadtxt(path, delimiter=delimiter, skiprows=1 if header else 0, ndmin=2,
                          dtype=np.float64)
    except ValueError as exc:
        raise pl.InvalidSignalError(f"{path}: not a table of numbers ({exc}); write one signal per "
                                    "column (an optional header line names them)") from None
    if data.size == 0:
        raise pl.InvalidSignalError(f"{path}: holds no numbers")
    return data, header


def read_signals(path: str, *, batch: bool) -> Signals:
    """The signals of a path, for ``perceive`` (``batch=False``) or ``batch`` (``batch=True``).

    Both read a corpus written by :func:`patternlab.write_signals` (a directory or URL; ``batch``
    tasks read it themselves) and a ``.npy`` array of one signal a row (``perceive`` also takes a
    1-D ``.npy`` signal). ``perceive`` also reads ``.csv`` / ``.txt`` tables, one signal a column
    (a single row is one signal too), with an optional header line of names; ``batch`` also reads
    a directory of ``.npy`` files (sorted by name; 1-D files are one signal, 2-D files one signal
    a row).
    """
    if is_url(path):
        return _corpus(path)
    p = _exists(path)
    if p.is_dir():
        if is_corpus(path) if not batch else (p / "zarr.json").exists():
            return _corpus(path)
        if batch:
            return _npy_directory(path, p)
        raise pl.InvalidSignalError(f"{path}: a directory but not a signal corpus; pass a .npy, .csv or "
                                    ".txt file, or a corpus written by patternlab.write_signals")
    if p.suffix == ".npy":
        arr = _npy(p)
        if arr.ndim == 1 and not batch:
            return Signals([arr], 1, f"{path}: 1 signal of {arr.shape[0]:,} samples", [p.name])
        if arr.ndim == 2:
            return Signals(arr, arr.shape[0], f"{path}: {arr.shape[0]:,} signals (rows) of "
                           f"{arr.shape[1]:,} samples")
        if batch:
            hint = (": that is one signal, perceive it with `patternlab perceive`" if arr.ndim == 1
                    else "")
            raise pl.InvalidSignalError(f"{path}: array of shape {arr.shape}; batch takes a 2-D array of "
                                        f"one signal a row{hint}")
        raise pl.InvalidSignalError(f"{path}: array of shape {arr.shape}; pass a 1-D signal or a 2-D "
                                    "array of one signal a row")
    if p.suffix in (".csv", ".txt") and not batch:
        data, header = _text(p)
        if data.shape[0] == 1 or data.shape[1] == 1:
            sig = data.ravel()
            one = [header[0]] if header and len(header) == 1 else [p.name]
            return Signals([sig], 1, f"{path}: 1 signal of {sig.shape[0]:,} samples", one)
        names = header if header and len(header) == data.shape[1] else None
        return Signals([data[:, j] for j in range(data.shape[1])], data.shape[1],
                       f"{path}: {data.shape[1]} signals (columns) of {data.shape[0]:,} samples", names)
    if batch:
        raise pl.InvalidSignalError(f"{path}: unsupported input; pass a corpus written by "
                                    "patternlab.write_signals, a 2-D .npy array or a directory of .npy "
                                    "files")
    raise pl.InvalidSignalError(f"{path}: unsupported file type {p.suffix or '(none)'!r}; pass a .npy, "
                                ".csv or .txt file, or a corpus written by patternlab.write_signals")


def _npy_directory(path: str, p: Path) -> Signals:
    files = sorted(f for f in p.iterdir() if f.suffix == ".npy" and f.is_file())
    if not files:
        raise pl.InvalidSignalError(f"{path}: a directory with neither a signal corpus nor .npy "
                                    "files; write a corpus with patternlab.write_signals or put "
                                    "one .npy file per signal in it")
    signals: list[NDArray[Any]] = []
    names: list[str] = []
    for f in files:
        arr = _npy(f)
        if arr.ndim == 1:
            signals.append(arr)
            names.append(f.name)
        elif arr.ndim == 2:
            signals.extend(arr)
            names.extend(f"{f.name}[{k}]" for k in range(arr.shape[0]))
        else:
            raise pl.InvalidSignalError(f"{f}: array of shape {arr.shape}; each file must hold one "
                                        "1-D signal or a 2-D array of one signal a row")
    return Signals(signals, len(signals), f"{path}: {len(signals):,} signals from {len(files)} "
                   ".npy files", names)


def _corpus(path: str) -> Signals:
    """A corpus, by absolute path: the workers that read it may run in another directory."""
    where = absolute(path)
    corpus = pl.ZarrCorpus(where)
    return Signals(where, len(corpus), f"{path}: corpus of {len(corpus):,} signals")


def absolute(path: str) -> str:
    """A local path made absolute (workers started elsewhere resolve it alike); URLs as they are."""
    return path if is_url(path) else os.path.abspath(path)


# -- libraries ---------------------------------------------------------------------------------
def open_library(source: str) -> tuple[pl.PatternLibrary, str]:
    """The library of a run store (its merged library) or of a library snapshot; and what it was."""
    if not is_url(source):
        _exists(source)
    try:
        run = pl.open_run(source)
    except pl.StoreError:
        run = None
    if run is not None:  # a run store: its library, or why it has none yet
        try:
            return run.library, f"run store {source}"
        except pl.StoreError as exc:
            raise pl.StoreError(f"{exc} (on the command line: run `patternlab batch` again with "
                                f"--store {source})") from None
    try:
        return pl.PatternLibrary.load(source), f"library {source}"
    except pl.StoreError:
        raise pl.StoreError(f"{source} is neither a run store (patternlab batch --store) nor a library "
                            "(patternlab perceive --library, PatternLibrary.save)") from None


def configured_redis(what: str) -> str:
    """The Redis URL of the configuration (``PATTERNLAB_REDIS_URL``, Dask's ``patternlab.redis-url``)."""
    url = pl.load_cluster_config().redis_url
    if not url:
        raise pl.InvalidParameterError(f"{what}: no Redis URL given and PATTERNLAB_REDIS_URL is not set: "
                                       "pass redis://[:PASSWORD@]HOST:PORT/DB or set the variable")
    return str(url)


def hide_password(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages)."""
    return mask_url(url)


# -- printing ----------------------------------------------------------------------------------
def sparkline(values: Any, width: int = 32) -> str:
    """The shape of ``values`` in ``width`` characters (Unicode blocks, or ASCII where the terminal
    cannot print them)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return ""
    edges = np.linspace(0, x.size, min(width, x.size) + 1).astype(int)
    y = np.array([x[a:b].mean() for a, b in itertools.pairwise(edges)])
    lo, hi = float(y.min()), float(y.max())
    chars = _BLOCKS if _can_print(_BLOCKS) else _ASCII
    if hi - lo <= 0:
        return chars[len(chars) // 2] * y.size
    k = np.clip(((y - lo) / (hi - lo) * (len(chars) - 1)).round().astype(int), 0, len(chars) - 1)
    return "".join(chars[i] for i in k)


def _can_print(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def provenance(p: tuple[Any, int]) -> str:
    """``(signal id, offset)`` as ``signal 3 @ 120``."""
    return f"signal {p[0]} @ {p[1]}"


def pattern_rows(patterns: list[pl.Pattern], width: int = 32) -> list[str]:
    """A table of patterns: id, support, first seen, last updated and the shape."""
    if not patterns:
        return []
    idw = max(2, *(len(p.id) for p in patterns))
    head = f"{'id':<{idw}}  {'support':>7}  {'first seen':<20}  {'last updated':<20}  shape"
    rows = [head]
    for p in patterns:
        rows.append(f"{p.id:<{idw}}  {p.support:>7}  {provenance(p.first_seen):<20}  "
                    f"{provenance(p.last_updated):<20}  {sparkline(p.prototype, width)}")
    return rows


def pattern_dict(p: pl.Pattern, values: bool = False) -> dict[str, Any]:
    """A pattern as JSON-ready values (the prototype only with ``values``)."""
    out: dict[str, Any] = {"id": p.id, "domain": p.domain, "window": p.window, "support": p.support,
                           "first_seen": {"signal": p.first_seen[0], "offset": p.first_seen[1]},
                           "last_updated": {"signal": p.last_updated[0], "offset": p.last_updated[1]}}
    if values:
        out["prototype"] = [float(x) for x in np.asarray(p.prototype)]
    return out
