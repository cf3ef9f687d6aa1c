"""patternlab.datasets: the shipped ECG and GunPoint data, the .ts reader, and the wheel that
carries the files."""

from __future__ import annotations

import gzip
import os
import shutil
import site
import subprocess
import sys
import zipfile
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

import patternlab as pl
from patternlab.datasets import DataFormatError, read_ts

ROOT = Path(__file__).resolve().parents[1]
DATA_FILES = ("ecg_mitbih208.npz", "GunPoint_TRAIN.ts.gz", "GunPoint_TEST.ts.gz", "README.md")


# -- the ECG ------------------------------------------------------------------------------------
def test_ecg_is_the_documented_signal_in_millivolts() -> None:
    rec = pl.datasets.ecg()
    T = rec.signal
    assert T.dtype == np.float64 and T.shape == (108_000,)
    # the documented statistics of record 208, 19:35-24:35, (adc - 1024) / 200
    assert abs(T.mean() - (-0.16510875)) < 5e-9
    assert abs(T.std() - 0.59924740) < 5e-9
    assert (T.min(), T.max()) == (-3.485, 3.65)
    assert np.allclose(T * 200, np.round(T * 200), rtol=0, atol=1e-9)  # whole ADC steps of 5 uV
    assert rec.sampling_rate == 360.0 and rec.units == "mV" and rec.duration == 300.0
    assert len(rec) == 108_000 and rec.seconds(720) == 2.0 and rec.times[360] == 1.0
    assert np.asarray(rec) is T
    assert repr(rec) == "<Recording MIT-BIH 208: 108,000 samples at 360 Hz (300 s), mV>"


def test_ecg_metadata_and_attribution() -> None:
    rec = pl.datasets.ecg()
    text = rec.describe()
    for needle in ("108,000 samples at 360 Hz", "mean -0.1651", "MIT-BIH Arrhythmia Database, record 208",
                   "Open Data Commons Attribution", "Moody GB, Mark RG", "Goldberger AL",
                   "physionet.org"):
        assert needle in text, needle
    assert "Moody" in (pl.datasets.ecg.__doc__ or "") and "Dau HA" in (pl.datasets.gunpoint.__doc__ or "")


def test_ecg_returns_a_fresh_array_each_call() -> None:
    a = pl.datasets.ecg().signal
    a[:] = 0.0
    assert pl.datasets.ecg().signal.mean() < -0.16


def test_data_files_are_package_resources() -> None:
    data = files("patternlab.datasets").joinpath("data")
    for name in DATA_FILES:
        assert data.joinpath(name).is_file(), name
    assert "Moody GB" in data.joinpath("README.md").read_text()


# -- GunPoint -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("split", "n", "counts"),
                         [("train", 50, (24, 26)), ("test", 150, (76, 74)), ("all", 200, (100, 100))])
def test_gunpoint_shapes_and_labels(split: str, n: int, counts: tuple[int, int]) -> None:
    data = pl.datasets.gunpoint(split)
    X, y = data
    assert isinstance(X, np.ndarray) and y is not None
    assert X.shape == (n, 150) and X.dtype == np.float64 and np.isfinite(X).all()
    assert y.dtype == np.int64 and (int(np.sum(y == 1)), int(np.sum(y == 2))) == counts
    assert data.classes == (1, 2) and data.split == split and len(data) == n
    # UCR series are z-normalized one by one
    assert np.abs(X.mean(axis=1)).max() < 1e-6 and np.abs(X.std(axis=1, ddof=1) - 1).max() < 1e-3
    assert "Dau HA" in data.citation and "GunPoint" in data.describe()


def test_gunpoint_reproduces_the_published_1nn_euclidean_error() -> None:
    Xtr, ytr = pl.datasets.gunpoint("train")
    Xte, yte = pl.datasets.gunpoint("test")
    d = ((Xte[:, None, :] - Xtr[None, :, :]) ** 2).sum(axis=-1)
    error = float(np.mean(ytr[d.argmin(axis=1)] != yte))
    assert error == 13 / 150 and round(error, 3) == pl.datasets.GUNPOINT_1NN_EUCLIDEAN_ERROR


def test_gunpoint_all_is_train_then_test() -> None:
    X, y = pl.datasets.gunpoint("all")
    Xtr, ytr = pl.datasets.gunpoint("train")
    Xte, _ = pl.datasets.gunpoint("TEST")
    assert np.array_equal(X[:50], Xtr) and np.array_equal(X[50:], Xte) and np.array_equal(y[:50], ytr)


@pytest.mark.parametrize("split", ["validation", "", 1, None])
def test_gunpoint_bad_split_names_the_value(split: object) -> None:
    with pytest.raises(pl.PatternlabError, match="is not a GunPoint split") as info:
        pl.datasets.gunpoint(split)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError) and f"split={split!r}" in str(info.value)
    assert "split='train'" in str(info.value)


# -- the .ts reader -----------------------------------------------------------------------------
HEADER = "#a comment\n@problemName Tiny\n@missing true\n@univariate true\n@classLabel true a b\n@data\n"


def _write(tmp_path: Path, text: str | bytes, name: str = "tiny.ts") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_read_ts_labels_missing_values_and_header(tmp_path: Path) -> None:
    data = read_ts(_write(tmp_path, HEADER + "1,2,3:a\n\n4, 5,?:b\n-1e3,0.5,7:a\n"))
    X, y = data
    assert isinstance(X, np.ndarray) and y is not None
    assert X.shape == (3, 3) and np.isnan(X[1, 2]) and X[2, 0] == -1000.0
    assert y.tolist() == ["a", "b", "a"] and data.classes == ("a", "b")
    assert data.name == "Tiny" and data.header["missing"] == "true" and data.description == "a comment"
    assert "Tiny: 3 series of length 3, labels a (x2), b (x1)" in data.describe()


def test_read_ts_unequal_lengths_unlabelled_targets_and_gzip(tmp_path: Path) -> None:
    ragged = read_ts(_write(tmp_path, "@equalLength false\n@classLabel false\n@data\n1,2,3\n4,5\n"))
    assert isinstance(ragged.X, list) and [x.tolist() for x in ragged.X] == [[1, 2, 3], [4, 5]]
    assert ragged.y is None and ragged.name == "tiny.ts"
    reg = read_ts(_write(tmp_path, "@targetLabel true\n@data\n1,2:0.25\n3,4:-2\n", "reg.ts"))
    assert reg.y is not None and reg.y.dtype == np.float64 and reg.y.tolist() == [0.25, -2.0]
    text = (HEADER.replace("a b", "1 2 10") + "1,2:10\n3,4:2\n").encode()
    gz = _write(tmp_path, gzip.compress(text), "ints.ts.gz")
    X, y = read_ts(str(gz))
    assert y is not None and y.dtype == np.int64 and y.tolist() == [10, 2] and X.tolist() == [[1, 2], [3, 4]]


def test_read_ts_windows_line_ends_and_byte_order_mark(tmp_path: Path) -> None:
    text = "\ufeff@problemName x\r\n@classLabel true 1 2\r\n@data\r\n1,2,3:1\r\n4,5,6:2\r\n"
    X, y = read_ts(_write(tmp_path, text.encode("utf-8")))
    assert X.tolist() == [[1, 2, 3], [4, 5, 6]] and y is not None and y.tolist() == [1, 2]


def test_read_ts_reads_ucr_files_the_same_as_gunpoint(tmp_path: Path) -> None:
    raw = files("patternlab.datasets").joinpath("data").joinpath("GunPoint_TRAIN.ts.gz").read_bytes()
    X, y = read_ts(_write(tmp_path, gzip.decompress(raw), "GunPoint_TRAIN.ts"))
    Xg, yg = pl.datasets.gunpoint("train")
    assert np.array_equal(X, Xg) and np.array_equal(y, yg)


# (contents, line number named, words of the message): each corruption of a small file
CORRUPT = [
    (HEADER + "1,2,3:a\n1,abc,3:b\n", 8, "value 2 'abc' is not a number"),
    (HEADER + "1,2,3:a\n1,2,3\n", 8, "no label"),
    (HEADER + "1,2,3:a\n1,2,3:\n", 8, "no label"),
    (HEADER + "1,2,3:c\n", 7, "class label 'c' is not one of those declared on line 5"),
    (HEADER + "1,2,3:a\n1,,3:a\n", 8, "value 2 '' is not a number"),
    (HEADER.replace("@data", "@equalLength true\n@seriesLength 3\n@data") + "1,2,3:a\n1,2:b\n", 10,
     "2 values, but the header says @seriesLength 3"),
    (HEADER.replace("@missing true", "@missing false") + "1,?,3:a\n", 7, "'@missing false'"),
    (HEADER.replace("@missing true", "@missing maybe"), 3, "@missing 'maybe' must be 'true' or 'false'"),
    (HEADER.replace("@data\n", ""), 5, "no '@data' line"),
    (HEADER, 6, "no series after '@data'"),
    ("@problemName x\n1,2,3\n@data\n", 2, "expected a header line"),
    (HEADER + "1,2:a\n@classLabel true a\n", 8, "after '@data'"),
    (HEADER + "1,2:3,4:a\n", 7, "multivariate"),
    (HEADER.replace("@univariate true", "@univariate false") + "1,2:3,4:a\n", 4, "multivariate .ts files"),
    ("@seriesLength ten\n@data\n1:a\n", 1, "@serieslength 'ten' must be a positive integer"),
    ("@seriesLength 1\u00b2\n@data\n1:a\n", 1, "@serieslength '1\u00b2' must be a positive integer"),
    ("@seriesLength \u0661\u0662\n@data\n1:a\n", 1, "must be a positive integer"),
    ("@seriesLength " + "9" * 5000 + "\n@data\n1:a\n", 1, "at most 12"),
    ("@dimensions 1\u00b2\n@data\n1:a\n", 1, "@dimensions '1\u00b2' must be a positive integer"),
    ("@timeStamps true\n@data\n(0,1):a\n", 1, "time-stamped"),
    (b"@data\n1,2\n\xff\xfe\x00garbage\n", 3, "not a text .ts file"),
]


@pytest.mark.parametrize(("text", "line", "needle"), CORRUPT)
def test_read_ts_malformed_file_names_file_and_line(tmp_path: Path, text: str | bytes, line: int,
                                                    needle: str) -> None:
    path = _write(tmp_path, text, "broken.ts")
    with pytest.raises(DataFormatError) as info:
        read_ts(path)
    msg = str(info.value)
    assert isinstance(info.value, pl.PatternlabError) and isinstance(info.value, ValueError)
    assert f"{path}, line {line}:" in msg and needle in msg, msg


def test_read_ts_corrupt_gzip_and_missing_file(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\x1f\x8b\x08\x00 not really gzip", "broken.ts.gz")
    with pytest.raises(DataFormatError, match=r"broken\.ts\.gz, line 1: not a text \.ts file"):
        read_ts(path)
    with pytest.raises(FileNotFoundError):
        read_ts(tmp_path / "nowhere.ts")


# -- packaging ----------------------------------------------------------------------------------
def _site_dirs() -> list[str]:
    """Where this interpreter finds installed packages: its environment's site-packages (a virtual
    environment's own, and its base's when it was made with ``--system-site-packages``) and, when
    enabled, the user's."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


@pytest.mark.slow
def test_wheel_carries_the_data_files_and_loads_them_installed(tmp_path: Path) -> None:
    """``python -m build --wheel`` (isolated, as a user runs it) of a copy of the source tree; the
    wheel holds the data files, and installed into a fresh virtual environment it loads them, far
    from the source tree.

    The fresh environment takes its dependencies from the interpreter running the tests, whether
    that is a virtual environment or not: a ``.pth`` file adds this interpreter's site directories
    *after* its own site-packages, so the wheel's copy of patternlab comes first even where an
    editable install of the source tree is among them. ``PYTHONPATH`` (which may name the source
    tree) is not passed on.
    """
    src = tmp_path / "src-copy"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.nbi", "*.nbc"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(src)],
                           capture_output=True, text=True, timeout=300, env=env)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (wheel,) = dist.glob("patternlab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in DATA_FILES:
        assert f"patternlab/datasets/data/{name}" in names, name
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, env=env)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True, env=env, timeout=60).stdout.strip()
    assert purelib.startswith(str(venv)), purelib
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   timeout=120, capture_output=True, env=env)
    # after the install: pip sees a fresh environment, not the packages (patternlab too) added here
    outer = _site_dirs()
    assert outer, "this interpreter has no site directory to take the dependencies from"
    Path(purelib, "_test_dependencies.pth").write_text(
        "".join(f"import site; site.addsitedir({d!r})\n" for d in outer))
    code = ("import numba, patternlab, patternlab.datasets as d, patternlab.kernels.matching as k; "
            "print(patternlab.__file__); print(k.__file__); "
            "print(round(float(d.ecg().signal.mean()), 8), d.gunpoint('test').X.shape)")
    out = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    where, kernels, values = out.stdout.splitlines()
    assert where.startswith(purelib) and kernels.startswith(purelib), (where, kernels, purelib)
    assert values == "-0.16510875 (150, 150)"


def test_read_ts_labels_beyond_int64_stay_text(tmp_path: Path) -> None:
    big = "9" * 30
    data = read_ts(_write(tmp_path, f"@classLabel true 1 {big}\n@data\n1,2,3:1\n4,5,6:{big}\n", "big.ts"))
    assert data.y is not None and data.y.tolist() == ["1", big]
