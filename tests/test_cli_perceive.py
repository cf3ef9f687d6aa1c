"""``patternlab perceive FILE``: what it prints and learns is what ``pl.perceive`` finds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import patternlab as pl
from patternlab._cli.main import main
from patternlab.datasets.synthetic import planted_signal

W = 32


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "patternlab", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def _signal(seed: int, n: int = 1200) -> pl.synthetic.Planted:
    return planted_signal(n, W, occurrences=2, anomalies=1, seed=seed)


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


def test_perceive_prints_events_motifs_discords_as_a_real_command(tmp_path: Path) -> None:
    p = _signal(1)
    np.save(tmp_path / "ecg.npy", p.signal)
    out = run_cli("perceive", "ecg.npy", "-m", str(W), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    res = pl.perceive(p.signal, config=pl.EngineConfig(window=W))
    assert f"ecg.npy: 1,200 samples: {len(res.events)} events, {len(res.motifs)} motifs" in text
    d1 = res.discords[0]
    assert f"discord #1  window  {d1.index:>7,}" in text
    assert abs(d1.index - p.anomalies[0]) < W  # the planted anomaly is the top discord
    m1 = res.motifs[0]
    assert f"motif   #1  windows {m1.a:>7,} and {m1.b:>7,}" in text
    assert "library: " in text and "saved" not in text  # no --library: nothing written
    assert not any(tmp_path.glob("*.zarr"))


def test_library_is_learned_saved_and_recognized(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _signal(2), _signal(3)
    np.save(tmp_path / "a.npy", a.signal)
    np.save(tmp_path / "b.npy", b.signal)
    lib_path = str(tmp_path / "lib.zarr")
    # one signal founds patterns only without the pool (the defaults wait for a second signal)
    plain = {"window": W, "min_complexity": 0.0, "min_support": 1, "max_lag": 0}
    (tmp_path / "plain.json").write_text(json.dumps(plain))
    assert main(["perceive", str(tmp_path / "a.npy"), "-m", str(W), "--domain", "ecg",
                 "--library", lib_path, "--config", str(tmp_path / "plain.json")]) == 0
    assert f"saved to {lib_path}" in capsys.readouterr().out
    expected = pl.PatternLibrary(W, "ecg", config=pl.EngineConfig(**plain))
    pl.perceive(a.signal, "ecg", expected)
    saved = pl.PatternLibrary.load(lib_path)
    assert saved.ids == expected.ids and np.array_equal(saved.prototypes, expected.prototypes)
    assert saved.domain == "ecg"

    # recognize only: the JSON matches are pl.perceive's, and the stored library is unchanged
    assert main(["perceive", str(tmp_path / "b.npy"), "--library", lib_path, "--no-learn", "--json"]) == 0
    doc = _json(capsys)
    want = pl.perceive(b.signal, "ecg", saved.copy(), learn=False)
    got = doc["signals"][0]
    assert doc["domain"] == "ecg" and doc["window"] == W and doc["library"]["saved"] is False
    assert [(m["pattern"], m["offset"]) for m in got["matches"]] == [(m.pattern_id, m.offset)
                                                                     for m in want.matches]
    assert got["matches"], "the shapes planted in both signals are recognized"
    assert got["new_patterns"] == [] and got["events"] == [int(e) for e in want.events]
    assert pl.PatternLibrary.load(lib_path).ids == saved.ids

    # learning again grows the stored library exactly as the API does
    assert main(["perceive", str(tmp_path / "b.npy"), "--library", lib_path]) == 0
    pl.perceive(b.signal, "ecg", expected)
    assert pl.PatternLibrary.load(lib_path).ids == expected.ids


def test_csv_columns_with_a_header_and_a_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sigs = [_signal(s, 900).signal for s in (4, 5, 6)]
    np.savetxt(tmp_path / "sensors.csv", np.array(sigs).T, delimiter=",", header="left,right,top",
               comments="")
    assert main(["perceive", str(tmp_path / "sensors.csv"), "-m", str(W), "--json"]) == 0
    doc = _json(capsys)
    assert [s["name"] for s in doc["signals"]] == ["left", "right", "top"]
    lib = pl.PatternLibrary(W, config=pl.EngineConfig(window=W))
    for k, T in enumerate(sigs):
        res = pl.perceive(np.loadtxt(tmp_path / "sensors.csv", delimiter=",", skiprows=1)[:, k],
                          library=lib, signal_id=k)
        assert doc["signals"][k]["new_patterns"] == res.new_patterns
        assert doc["signals"][k]["samples"] == len(T)

    corpus = tmp_path / "corpus.zarr"
    pl.write_signals(corpus, sigs[:2])
    assert main(["perceive", str(corpus), "-m", str(W)]) == 0
    text = capsys.readouterr().out
    assert "corpus of 2 signals" in text and "signal 0: 900 samples" in text and "signal 1: 900" in text

    # one signal in a single CSV row, and a whitespace-separated .txt column
    np.savetxt(tmp_path / "row.csv", sigs[0][None, :], delimiter=",")
    np.savetxt(tmp_path / "col.txt", sigs[0])
    for name in ("row.csv", "col.txt"):
        assert main(["perceive", str(tmp_path / name), "-m", str(W), "--json"]) == 0
        doc = _json(capsys)
        assert len(doc["signals"]) == 1 and doc["signals"][0]["samples"] == 900


def test_a_bad_signal_in_a_collection_is_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arr = np.stack([_signal(7, 900).signal, np.full(900, np.nan)])  # no finite window: skipped
    np.save(tmp_path / "two.npy", arr)
    assert main(["perceive", str(tmp_path / "two.npy"), "-m", str(W)]) == 0
    out = capsys.readouterr().out
    assert "signal 1: skipped:" in out and "1 signal skipped" in out
    np.save(tmp_path / "flat.npy", np.full((2, 900), np.nan))
    assert main(["perceive", str(tmp_path / "flat.npy"), "-m", str(W)]) == 2
    assert "none of the 2 signals" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["perceive", "{d}/missing.npy"], "no such file"),
        (["perceive", "{d}/x.json"], "unsupported file type '.json'"),
        (["perceive", "{d}/cube.npy"], "shape (2, 3, 400)"),
        (["perceive", "{d}/words.csv"], "not a table of numbers"),
        (["perceive", "{d}/short.npy", "-m", "64"], "at most 31 samples, which fits 40: -m 31."),
        (["perceive", "{d}/ok.npy", "-m", "16", "--library", "{d}/lib.zarr"], "--window=16 differs"),
        (["perceive", "{d}/ok.npy", "--library", "{d}/corpus.zarr"], "is not a patternlab library"),
        (["perceive", "{d}/ok.npy", "-m", "0"], "--window=0"),
        (["perceive", "{d}/ok.npy", "--config", "{d}/missing.yaml"], "does not exist"),
        (["perceive", "{d}/nodir"], "not a signal corpus"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    d = tmp_path
    np.save(d / "ok.npy", _signal(8, 900).signal)
    np.save(d / "short.npy", np.arange(40.0))
    np.save(d / "cube.npy", np.zeros((2, 3, 400)))
    (d / "x.json").write_text("{}")
    (d / "words.csv").write_text("1,2,3\n4,five,6\n")
    (d / "nodir").mkdir()
    pl.write_signals(d / "corpus.zarr", [np.arange(50.0)])
    lib = pl.PatternLibrary(W)
    lib.add(np.sin(np.arange(W)), signal_id=0, offset=0)
    lib.save(d / "lib.zarr")
    before = sorted(p.name for p in (d / "corpus.zarr").rglob("*"))
    assert main([a.format(d=d) for a in argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert sorted(p.name for p in (d / "corpus.zarr").rglob("*")) == before  # never overwritten
    assert pl.PatternLibrary.load(d / "lib.zarr").ids == lib.ids


def test_help_shows_examples() -> None:
    out = run_cli("perceive", "--help")
    assert out.returncode == 0
    assert "examples:" in out.stdout and "--library" in out.stdout and "--no-learn" in out.stdout
