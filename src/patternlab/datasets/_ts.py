"""A reader for the ``.ts`` text format of the UCR/UEA time-series archives (sktime, aeon).

A ``.ts`` file holds comment lines (``#...``), header lines (``@tag value``), a ``@data`` line,
then one series a line: ``v1,v2,...,vn:label`` (``v1,...,vn`` when the file has no labels).
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Union

import numpy as np
from numpy.typing import NDArray

from ..errors import DataFormatError

try:
    from importlib.resources.abc import Traversable
except ImportError:  # Python 3.10
    from importlib.abc import Traversable

__all__ = ["LabelledSeries", "read_ts"]

PathLike = Union[str, "os.PathLike[str]", Traversable]

_BOOLEAN_TAGS = ("timestamps", "missing", "univariate", "equallength", "targetlabel")
_INTEGER_TAGS = ("serieslength", "dimensions")


@dataclass
class LabelledSeries:
    """Series with their labels, as read from a ``.ts`` file or returned by a loader.

    Unpacks as ``X, y = data``.

    Attributes
    ----------
    X : ndarray of float64, shape (n_series, length), or list of 1-D ndarray
        The series: a 2-D array when they all have the same length, else a list. Missing values
        (``?`` in the file) are NaN.
    y : ndarray or None
        One label per series: int64 when every class label is an integer, float64 for
        regression targets (``@targetLabel true``), else str; None when the file has no labels.
    name : str
        The problem name (``@problemName``), else the file name.
    classes : tuple
        The class labels the header declares (``@classLabel true 1 2``), in that order.
    header : dict of str to str
        Every header line, tag (lower-cased, without ``@``) to value.
    description : str
        The file's comment lines.
    source, citation, license : str
        Where the data come from and how to cite them (empty for a user's own file).
    split : str
        Which part of a data set (``"train"``, ``"test"``), if any.
    """

    X: NDArray[np.float64] | list[NDArray[np.float64]]
    y: NDArray[Any] | None
    name: str
    classes: tuple[Any, ...] = ()
    header: dict[str, str] = field(default_factory=dict)
    description: str = ""
    source: str = ""
    citation: str = ""
    license: str = ""
    split: str = ""

    def __len__(self) -> int:
        return len(self.X)

    def __iter__(self) -> Iterator[Any]:
        yield self.X
        yield self.y

    def __repr__(self) -> str:
        return f"<LabelledSeries {self.name}{' ' + self.split if self.split else ''}: {self._shape()}>"

    def _shape(self) -> str:
        if isinstance(self.X, np.ndarray):
            text = f"{self.X.shape[0]} series of length {self.X.shape[1]}"
        else:
            lengths = [len(x) for x in self.X]
            text = f"{len(lengths)} series of length {min(lengths)} to {max(lengths)}"
        if self.y is not None:
            values, counts = np.unique(self.y, return_counts=True)
            text += ", labels " + ", ".join(f"{v} (x{c})" for v, c in zip(values.tolist(), counts))
        return text

    def describe(self) -> str:
        """A readable summary: name, split, shape, labels, source and citation."""
        lines = [f"{self.name}{' (' + self.split + ')' if self.split else ''}: {self._shape()}"]
        if self.description:
            lines.append(self.description)
        for key in ("source", "license", "citation"):
            value = getattr(self, key)
            if value:
                lines.append(f"{key.capitalize()}: {value}")
        return "\n".join(lines)


def _open_binary(path: PathLike) -> IO[bytes]:
    name = str(path)
    raw: IO[bytes]
    if isinstance(path, Traversable):
        raw = io.BytesIO(path.read_bytes())
        if name.endswith(".gz"):
            raw = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
    elif name.endswith(".gz"):
        raw = gzip.open(os.fspath(path), "rb")  # type: ignore[assignment]
    else:
        raw = open(os.fspath(path), "rb")  # the caller closes it
    return raw


def _bool(value: str, where: str, tag: str) -> bool:
    v = value.strip().lower()
    if v not in ("true", "false"):
        raise DataFormatError(f"{where}: @{tag} {value!r} must be 'true' or 'false'")
    return v == "true"


def _label_type(labels: list[str], classes: tuple[str, ...], target: bool) -> NDArray[Any]:
    if target:
        return np.asarray(labels, dtype=np.float64)
    names = list(classes) or labels
    try:
        if all(str(int(s)) == s.lstrip("+") for s in names):
            return np.asarray([int(s) for s in labels], dtype=np.int64)
    except (ValueError, OverflowError):  # not integers, or beyond int64: keep them as text
        pass
    return np.asarray(labels, dtype=str)


def read_ts(path: PathLike) -> LabelledSeries:
    """Read a univariate ``.ts`` file (UCR/UEA archive format, as written by sktime and aeon).

    The format: comment lines starting with ``#``; header lines ``@problemName``,
    ``@timeStamps``, ``@missing``, ``@univariate``, ``@equalLength``, ``@seriesLength``,
    ``@classLabel true <labels>`` (or ``@targetLabel true`` for regression); then ``@data`` and
    one series a line, ``v1,v2,...,vn:label``, with ``?`` for a missing value. Files ending in
    ``.gz`` are decompressed on the fly.

    Parameters
    ----------
    path : str, path-like or importlib.resources Traversable
        The file.

    Returns
    -------
    LabelledSeries
        ``X`` (a 2-D float64 array when the series have equal lengths, else a list of arrays),
        ``y`` (the labels, or None) and the header.

    Raises
    ------
    DataFormatError
        When the file is malformed; the message names the file, the line number and what was
        expected there.
    FileNotFoundError
        When there is no such file.

    Examples
    --------
    >>> import pathlib, tempfile, patternlab as pl
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "tiny.ts"
    >>> _ = f.write_text("@problemName tiny\\n@classLabel true a b\\n@data\\n"
    ...                  "1,2,3:a\\n4,5,?:b\\n")
    >>> X, y = pl.datasets.read_ts(f)
    >>> X.tolist(), y.tolist()
    ([[1.0, 2.0, 3.0], [4.0, 5.0, nan]], ['a', 'b'])
    """
    name = str(path)
    header: dict[str, str] = {}
    comments: list[str] = []
    header_line: dict[str, int] = {}
    series: list[NDArray[np.float64]] = []
    labels: list[str] = []
    in_data = False
    lineno = data_line = 0
    spec: dict[str, Any] = {}
    try:
        with _open_binary(path) as f:
            for lineno, raw in enumerate(f, 1):
                try:
                    line = raw.decode("utf-8-sig").strip()
                except UnicodeDecodeError as exc:
                    raise DataFormatError(f"{name}, line {lineno}: not a text .ts file ({exc})") from None
                if not line:
                    continue
                where = f"{name}, line {lineno}"
                if not in_data:
                    if line.startswith("#"):
                        comments.append(line[1:].strip())
                        continue
                    if not line.startswith("@"):
                        raise DataFormatError(
                            f"{where}: expected a header line ('@tag value'), a comment ('#...') or "
                            f"'@data' before the series, got {line[:40]!r}")
                    tag, _, value = line[1:].partition(" ")
                    tag = tag.lower()
                    if tag == "data":
                        in_data, data_line = True, lineno
                        spec = _check_header(header, header_line, name)
                        continue
                    header[tag] = value.strip()
                    header_line[tag] = lineno
                    continue
                values, label = _parse_series(line, where, spec)
                series.append(values)
                if label is not None:
                    labels.append(label)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:  # raised while reading the next line
        raise DataFormatError(f"{name}, line {lineno + 1}: not a text .ts file (broken gzip data: "
                              f"{exc})") from None
    if not in_data:
        raise DataFormatError(f"{name}, line {lineno}: no '@data' line: a .ts file holds header lines, "
                              "then '@data', then one series a line")
    if not series:
        raise DataFormatError(f"{name}, line {lineno}: no series after '@data' (line {data_line}); "
                              "add one series a line")
    lengths = {len(s) for s in series}
    X: NDArray[np.float64] | list[NDArray[np.float64]]
    X = np.stack(series) if len(lengths) == 1 else series
    has_labels = spec["labelled"]
    y = _label_type(labels, spec["classes"], spec["target"]) if has_labels else None
    classes: tuple[Any, ...] = ()
    if spec["classes"]:
        classes = tuple(_label_type(list(spec["classes"]), spec["classes"], False).tolist())
    return LabelledSeries(X=X, y=y, name=header.get("problemname", os.path.basename(name)),
                          classes=classes, header=header, description="\n".join(comments))


def _check_header(header: dict[str, str], header_line: dict[str, int], name: str) -> dict[str, Any]:
    """Validate the header; return what parsing the series needs."""
    flags = {}
    for tag in _BOOLEAN_TAGS:
        if tag in header:
            flags[tag] = _bool(header[tag], f"{name}, line {header_line[tag]}", tag)
    for tag in _INTEGER_TAGS:
        if tag in header:
            value = header[tag]
            # ASCII digits only: str.isdigit also accepts '²' or '١', which int() refuses or reads
            if not (value.isascii() and value.isdigit()) or len(value) > 12 or int(value) < 1:
                raise DataFormatError(f"{name}, line {header_line[tag]}: @{tag} {value[:40]!r} must be a "
                                      "positive integer (ASCII digits, at most 12 of them)")
    where = f"{name}, line {header_line.get('univariate', header_line.get('dimensions', 0))}"
    if not flags.get("univariate", True) or int(header.get("dimensions", "1")) != 1:
        raise DataFormatError(f"{where}: multivariate .ts files are not supported; pass a univariate "
                              "file (one dimension a series)")
    if flags.get("timestamps", False):
        raise DataFormatError(f"{name}, line {header_line['timestamps']}: time-stamped .ts files "
                              "('@timeStamps true') are not supported; pass plain values")
    classes: tuple[str, ...] = ()
    labelled = False
    if "classlabel" in header:
        first, *rest = header["classlabel"].split() or [""]
        labelled = _bool(first, f"{name}, line {header_line['classlabel']}", "classLabel")
        classes = tuple(rest) if labelled else ()
    target = flags.get("targetlabel", False)
    if labelled and target:
        raise DataFormatError(f"{name}, line {header_line['targetlabel']}: both @classLabel and "
                              "@targetLabel are true; keep one")
    length = int(header["serieslength"]) if flags.get("equallength", False) and "serieslength" in header \
        else None
    return {"labelled": labelled or target, "classes": classes, "target": target,
            "missing": flags.get("missing", True), "length": length,
            "classes_line": header_line.get("classlabel")}


def _parse_series(line: str, where: str, spec: dict[str, Any]) -> tuple[NDArray[np.float64], str | None]:
    if line.startswith("@"):
        raise DataFormatError(f"{where}: header line {line[:30]!r} after '@data'; move it above '@data'")
    label: str | None = None
    body = line
    if spec["labelled"]:
        body, sep, label = line.rpartition(":")
        label = label.strip()
        if not sep or not label:
            raise DataFormatError(f"{where}: no label; expected 'v1,...,vn:label' (the header declares "
                                  "labels)")
        if spec["classes"] and label not in spec["classes"]:
            raise DataFormatError(
                f"{where}: class label {label!r} is not one of those declared on line "
                f"{spec['classes_line']} (@classLabel true {' '.join(spec['classes'])})")
        if spec["target"]:
            try:
                float(label)
            except ValueError:
                raise DataFormatError(f"{where}: target {label!r} is not a number") from None
    if ":" in body:
        raise DataFormatError(f"{where}: more than one ':' in the line: multivariate series are not "
                              "supported (and an unlabelled file has no ':')")
    parts = body.split(",")
    try:
        values = np.asarray(parts, dtype=np.float64)
    except ValueError:
        values = np.empty(len(parts))
        for i, p in enumerate(parts):
            p = p.strip()
            if p == "?" and spec["missing"]:
                values[i] = np.nan
                continue
            try:
                values[i] = float(p)
            except ValueError:
                hint = (" ('?' marks a missing value, but the header says '@missing false')"
                        if p == "?" else "")
                raise DataFormatError(f"{where}: value {i + 1} {p!r} is not a number{hint}") from None
    if spec["length"] is not None and values.shape[0] != spec["length"]:
        raise DataFormatError(f"{where}: {values.shape[0]} values, but the header says @seriesLength "
                              f"{spec['length']} (with @equalLength true)")
    return values, label
