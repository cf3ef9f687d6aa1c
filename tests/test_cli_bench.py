"""``patternlab bench``: both runs happen for real (in process and on a LocalCluster), the figures are
consistent and the libraries identical. No speed is asserted: figures come from real runs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import patternlab as pl
from patternlab._cli.bench import signals
from patternlab._cli.main import main


@pytest.mark.slow
def test_bench_measures_in_process_and_on_a_local_cluster() -> None:
    out = subprocess.run([sys.executable, "-m", "patternlab", "bench", "--signals", "30", "--workers", "1",
                          "--batch-size", "10", "--length", "500", "--window", "24", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["identical_library"] is True and doc["tasks"] == 3 and doc["patterns"] > 0
    ip, lc = doc["in_process"], doc["local_cluster"]
    assert ip["numba_threads"] == 1 and lc["workers"] == 1 and lc["threads_per_worker"] == 1
    for run in (ip, lc):
        assert run["seconds"] > 0 and run["signals_per_sec"] == pytest.approx(30 / run["seconds"])
    assert doc["ratio"] == pytest.approx(ip["seconds"] / lc["seconds"])
    # the library it learned is the one batch_perceive learns from the same generated signals
    want = pl.batch_perceive(signals(30, 500, 24, 0), config=pl.EngineConfig(window=24), client=False,
                             batch_size=10, progress=False)
    assert doc["patterns"] == len(want.library)


def test_generated_signals_are_seeded() -> None:
    a, b = signals(3, 500, 24, 7), signals(3, 500, 24, 7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], a[1])
    assert not np.array_equal(signals(1, 500, 24, 8)[0], a[0])


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["bench", "--signals", "0"], "--signals=0"),
        (["bench", "--workers", "0"], "--workers=0"),
        (["bench", "--threads", "0"], "--threads=0"),
        (["bench", "--length", "100"], "--length=100 with --window=64"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_text_output_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--signals", "8", "--workers", "1", "--batch-size", "4", "--length", "400",
                 "--window", "16"]) == 0
    out = capsys.readouterr().out
    assert "8 signals of 400 samples, window 16, batch size 4 (2 tasks)" in out
    assert "in process, 1 numba thread:" in out and "LocalCluster, 1 worker x 1 thread:" in out
    assert "vs in process" in out and "identical library in process and on the cluster: yes" in out
    helped = subprocess.run([sys.executable, "-m", "patternlab", "bench", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert helped.returncode == 0 and "examples:" in helped.stdout and "Exit codes" in helped.stdout
