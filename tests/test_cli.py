"""The ``patternlab`` command line, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from patternlab._cli.main import main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "patternlab", *args], capture_output=True, text=True,
                          timeout=300)


def test_demo_is_a_command_with_help() -> None:
    """The demo itself runs end to end in tests/test_demo.py (in process and on a LocalCluster)."""
    out = run_cli("demo", "--help")
    assert out.returncode == 0, out.stderr
    for needle in ("--output", "--no-cluster", "--workers", "-k K", "report.html", "PhysioNet"):
        assert needle in out.stdout, needle
    listed = run_cli("--help")
    assert "demo" in listed.stdout and "real ECG" in listed.stdout


def test_profile_command_reads_npy_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    T = np.sin(np.linspace(0, 30 * np.pi, 1500)) + np.random.default_rng(0).normal(0, 0.05, 1500)
    np.save(tmp_path / "s.npy", T)
    np.savetxt(tmp_path / "s.csv", T[None, :], delimiter=",")
    out = tmp_path / "mp.npz"
    assert main(["profile", str(tmp_path / "s.npy"), "-m", "50", "-o", str(out)]) == 0
    with np.load(out) as f:
        assert f["P"].shape == (1451,) and int(f["m"]) == 50
    assert main(["profile", str(tmp_path / "s.csv"), "-m", "50", "--dtype", "float32"]) == 0
    assert "motifs:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["profile", "missing.npy", "-m", "10"], "no such file"),
        (["profile", "{bad}", "-m", "2"], "m=2 is too short"),
        (["profile", "{bad}", "-m", "5000"], "pass m <="),
        (["profile", "{txt}", "-m", "10"], "unsupported file type"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    np.save(tmp_path / "bad.npy", np.arange(100.0))
    (tmp_path / "x.json").write_text("{}")
    argv = [a.format(bad=tmp_path / "bad.npy", txt=tmp_path / "x.json") for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_help_and_version() -> None:
    assert run_cli("--help").returncode == 0
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("patternlab ")
    bare = run_cli()
    assert bare.returncode == 2 and "demo" in bare.stdout
