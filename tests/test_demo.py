"""``patternlab demo`` on the real signals: where its motifs and discords land in the ECG, the
GunPoint library learned on a LocalCluster with a run store, the report, and resuming.

Where things are in the ECG (record 208, 19:35-24:35, seconds from the start of the excerpt) was
established by plotting the whole five minutes in 10-second rows (matplotlib, PNG) and looking at
every row, then zooming on the windows of interest:

* ARTIFACTS: stretches without a clean beat morphology -- noise bursts, motion artifacts,
  baseline jumps and excursions. They were listed from the full-record plot, before asking where
  the discords fall.
* PVC_PEAKS: premature ventricular contractions (wide QRS, about 0.15 s, no P wave, a large T
  wave of opposite polarity, a compensatory pause) at the peak of their QRS; record 208 holds
  hundreds of them, of one shape. Listed here: those the motifs land on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import patternlab as pl
from patternlab._cli.demo import ECG_WINDOW, DemoResult, default_output, partitions_wording, run_demo
from patternlab._cli.main import main

FS = 360.0

#: (start s, stop s, what the plot shows)
ARTIFACTS = [
    (19.5, 20.1, "noise with two malformed, notched complexes at 19.8-19.9 s"),
    (28.1, 30.0, "broadband noise burst over the beats"),
    (42.2, 44.5, "baseline excursion to saturation (3.65 mV) and its slow decay"),
    (52.8, 55.3, "noise burst: irregular deflections between distorted beats"),
    (85.0, 87.2, "baseline drop of about 1.5 mV and a motion artifact at 85.9-86.0 s"),
    (96.6, 100.0, "slow baseline drift ending in large noise (98.6-99.9 s)"),
    (125.9, 127.3, "noise burst"),
    (135.6, 136.8, "noise burst"),
    (138.2, 138.9, "noise over the pause after two PVCs (137.6 and 138.05 s), no beat"),
    (188.0, 193.5, "low-amplitude noise"),
    (209.3, 213.5, "baseline excursion to saturation and its slow exponential decay"),
]
#: QRS peaks of premature ventricular contractions (seconds)
PVC_PEAKS = [81.55, 204.14, 207.52, 224.01, 227.88, 245.71, 258.61, 276.94]
#: The slow, smooth decay after the excursion at 209 s: z-normalized, any two stretches of it look
#: alike, so the matrix profile finds it as a motif too.
BASELINE_DECAY = (209.4, 213.5)


def _overlap(a: float, b: float, c: float, d: float) -> float:
    return max(0.0, min(b, d) - max(a, c))


def _on_artifact(start: float, stop: float) -> str | None:
    for a, b, what in ARTIFACTS:
        if _overlap(start, stop, a, b) >= 0.5 * (stop - start):
            return what
    return None


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, list[str]]:
    lines: list[str] = []
    out = run_demo(tmp_path_factory.mktemp("demo") / "out", k=5, cluster=False, progress=False,
                   echo=lines.append)
    return out, lines


def test_discords_fall_on_artifacts(in_process: tuple[DemoResult, list[str]]) -> None:
    res, lines = in_process
    assert res.profile.m == ECG_WINDOW and len(res.discords) == 5
    for d in res.discords:
        start, stop = d.index / FS, (d.index + ECG_WINDOW) / FS
        assert _on_artifact(start, stop), f"discord {start:.2f}-{stop:.2f} s is on no documented artifact"
        assert any(f"{start:7.2f} s to {stop:7.2f} s" in ln for ln in lines)  # printed in seconds
    # and no discord sits on a stretch of ordinary beats: the distances are far above the motifs'
    assert min(d.distance for d in res.discords) > 10 * max(m.distance for m in res.motifs)


def test_motifs_are_ventricular_beats_or_the_baseline_decay(in_process: tuple[DemoResult, list[str]]) -> None:
    res, lines = in_process
    assert len(res.motifs) == 5
    top = res.motifs[0]
    for x in (top.a, top.b):  # the closest pair: two premature ventricular contractions
        assert any(x / FS <= p <= (x + ECG_WINDOW) / FS for p in PVC_PEAKS), x / FS
    for mo in res.motifs:
        for x in (mo.a, mo.b):
            start, stop = x / FS, (x + ECG_WINDOW) / FS
            pvc = any(start <= p <= stop for p in PVC_PEAKS)
            decay = BASELINE_DECAY[0] <= start and stop <= BASELINE_DECAY[1]
            assert pvc or decay, f"motif window {start:.2f}-{stop:.2f} s"
        assert any(f"{mo.a / FS:7.2f} s and {mo.b / FS:7.2f} s" in ln for ln in lines)


def test_motif_windows_do_not_overlap_each_other(in_process: tuple[DemoResult, list[str]]) -> None:
    res, _ = in_process
    assert all(mo.b - mo.a >= ECG_WINDOW for mo in res.motifs)


def _span_labels(svg: str) -> list[tuple[float, float, str]]:
    return [(float(x), float(y), text) for x, y, text in
            re.findall(r"<text x='([\d.]+)' y='([\d.]+)' style='fill:#\w+' class='span-label'>([^<]*)</text>",
                       svg)]


def test_report_labels_never_run_into_each_other(in_process: tuple[DemoResult, list[str]]) -> None:
    res, _ = in_process
    html = res.report.read_text()
    first = html[html.index("<svg"):html.index("</svg>")]      # the whole recording
    labels = _span_labels(first)
    assert len(labels) == 2 * len(res.motifs) + len(res.discords)
    # 11-px labels: "M" is 9.5 px wide and a digit 7 px in DejaVu Sans (the widest common font)
    width = {"M": 9.5, "D": 8.5}
    for i, (x, y, t) in enumerate(labels):
        for x2, y2, t2 in labels[i + 1:]:
            if y == y2:
                a, b = sorted([(x, t), (x2, t2)])
                assert a[0] + width[a[1][0]] + 7.0 * (len(a[1]) - 1) <= b[0], (a, b)
    # a row of labels sits above the plot, never over it
    plot_top = float(re.search(r"<rect x='46' y='(\d+)'", first).group(1))
    assert all(y < plot_top for _, y, _ in labels)


def test_gunpoint_library_report_and_summary(in_process: tuple[DemoResult, list[str]]) -> None:
    res, lines = in_process
    lib = res.batch.library
    assert res.batch.metrics["signals"] == 200 and res.batch.metrics["tasks_processed"] == 8
    assert isinstance(res.batch.metrics["tasks_processed"], int)
    assert len(lib) >= 2 and lib.window == 50 and not res.batch.errors
    run = pl.open_run(res.output / "gunpoint.zarr")
    assert run.complete and run.progress == (8, 8)
    assert run.library.ids == lib.ids and np.array_equal(run.library.prototypes, lib.prototypes)
    # every pattern is held by at least one series, by class counts no larger than the classes
    for c1, c2 in res.class_counts.values():
        assert 0 < c1 + c2 and c1 <= 100 and c2 <= 100
    html = res.report.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 2 + 5 + 5 + 2 + len(lib)
    for needle in ("M1: windows at", "D5:", "Moody GB", "Dau HA", lib.ids[0], "A pattern is a shape of 50"):
        assert needle in html, needle
    # the library once: one table, by support, and a plot of each pattern in the same order
    assert html.count("<table") == 1 and "PatternLibrary" not in html
    order = [lib.ids[i] for i in np.argsort(-lib.supports, kind="stable")]
    assert [html.index(f"<td>{pid}</td>") for pid in order] == sorted(html.index(f"<td>{pid}</td>")
                                                                      for pid in order)
    for n, pid in enumerate(order, 1):
        assert html.count(pid) == 2 and f"<figcaption>P{n}: support {lib[pid].support}, held by" in html
    assert "8 partitions run now (all of them)" in html and "read back" not in html
    assert f"pl.open_run(&#x27;{res.output / 'gunpoint.zarr'}&#x27;).library" in html
    summary = json.loads((res.output / "summary.json").read_text())
    assert summary == json.loads(json.dumps(res.summary))
    starts = [d["start_s"] for d in summary["ecg"]["discords"]]
    assert starts == [round(d.index / FS, 2) for d in res.discords]
    assert summary["gunpoint"]["patterns"] == len(lib)
    assert any("run store:" in ln and "8 of 8 partitions" in ln for ln in lines)
    assert any(f"learned {len(lib)} patterns (window 50) in" in ln and ln.endswith("8 partitions run now "
                                                                                     "(all of them)")
               for ln in lines)
    assert summary["gunpoint"]["metrics"]["tasks_processed"] == 8  # counts stay integers in the JSON
    assert '"tasks_processed": 8,' in (res.output / "summary.json").read_text()


@pytest.mark.slow
def test_demo_command_on_a_local_cluster_learns_the_same_library(
        tmp_path: Path, in_process: tuple[DemoResult, list[str]]) -> None:
    """The command as a user runs it: a real LocalCluster (2 worker processes x 1 thread)."""
    cwd, cache = tmp_path / "cwd", tmp_path / "cache"
    cwd.mkdir()
    out = subprocess.run([sys.executable, "-m", "patternlab", "demo", "-k", "5", "--no-progress"],
                         capture_output=True, text=True, timeout=300, cwd=cwd,
                         env={**os.environ, "XDG_CACHE_HOME": str(cache)})
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    # by default the demo writes into the user's cache folder, nothing into the current one
    assert list(cwd.iterdir()) == []
    tmp_path = cache / "patternlab" / "demo"
    assert f"report: {tmp_path / 'report.html'}" in text
    # the workers exit by themselves when the cluster closes: none has to be killed
    assert "still alive" not in out.stderr and "killing" not in out.stderr, out.stderr[-3000:]
    assert "LocalCluster (2 workers x 1 thread); dashboard: http" in text
    assert "8 of 8 partitions checkpointed" in text and "report: " in text
    res, _ = in_process
    for d in res.discords:
        assert f"{d.index / FS:7.2f} s to" in text
    cluster_lib = pl.open_run(tmp_path / "gunpoint.zarr").library
    assert cluster_lib.ids == res.batch.library.ids
    assert np.array_equal(cluster_lib.prototypes, res.batch.library.prototypes)
    assert (tmp_path / "report.html").stat().st_size > 50_000


def test_demo_resumes_from_its_store(tmp_path: Path, in_process: tuple[DemoResult, list[str]]) -> None:
    res, _ = in_process
    shutil.copytree(res.output / "gunpoint.zarr", tmp_path / "gunpoint.zarr")
    lines: list[str] = []
    again = run_demo(tmp_path, k=1, cluster=False, progress=False, echo=lines.append)
    assert again.batch.metrics["tasks_processed"] == 0
    assert any("resumed" in ln for ln in lines)
    assert any("none run now, 8 partitions read back from the run store" in ln for ln in lines)
    assert "none run now" in again.report.read_text()
    assert again.batch.library.ids == res.batch.library.ids


def test_default_output_is_the_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_output() == tmp_path / "patternlab" / "demo"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_output() == Path.home() / ".cache" / "patternlab" / "demo"


def test_partitions_wording() -> None:
    assert partitions_wording({"tasks_processed": 1, "partitions_resumed": 0}, 1) == "1 partition run now"
    assert partitions_wording({"tasks_processed": 3, "partitions_resumed": 5}, 8) == (
        "3 partitions run now, 5 read back from the run store")
    assert partitions_wording({"tasks_processed": 0, "partitions_resumed": 1}, 1) == (
        "none run now, 1 partition read back from the run store")


def test_demo_help_and_user_mistakes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for needle in ("--output", "--no-cluster", "--workers", "MIT-BIH", "GunPoint", "report.html"):
        assert needle in text, needle
    assert main(["demo", "-k", "0"]) == 2
    err = capsys.readouterr().err
    assert "-k=0: pass a positive integer" in err and "Traceback" not in err
