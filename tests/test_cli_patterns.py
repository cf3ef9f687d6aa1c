"""``patternlab patterns list|show|export`` over a run store, a library snapshot and a real Redis
server: what it prints and writes is the library the API reads."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr

import patternlab as pl
from patternlab._cli.main import main
from patternlab.datasets.synthetic import planted_signal

W = 32
# one pattern per unmatched candidate: these tests are about listing, exporting and archiving
# patterns, so they want libraries with patterns (and an archive) from a handful of signals
PLAIN = {"min_complexity": 0.0, "min_support": 1, "max_lag": 0}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "patternlab", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def run_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete run store of 12 signals (in process)."""
    path = tmp_path_factory.mktemp("patterns") / "run.zarr"
    signals = [planted_signal(700, W, occurrences=1, anomalies=1, seed=k).signal for k in range(12)]
    pl.batch_perceive(signals, "ecg", config=pl.EngineConfig(window=W, **PLAIN), client=False, batch_size=4,
                      progress=False, store=path)
    return path


def _by_support(lib: pl.PatternLibrary) -> list[str]:
    return [p.id for p in sorted(lib, key=lambda p: -p.support)]


def _same(a: pl.PatternLibrary, b: pl.PatternLibrary) -> bool:
    x, y = a.to_arrays(), b.to_arrays()
    return all(np.array_equal(x[k], y[k]) for k in x)


def test_list_and_show_a_run_store(run_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lib = pl.open_run(run_store).library
    assert main(["patterns", "list", str(run_store), "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert f"run store {run_store}: {len(lib)} patterns, 0 archived (domain 'ecg', window {W})" in out
    rows = [ln.split() for ln in out.splitlines() if ln.startswith("ecg-")]
    assert [r[0] for r in rows] == _by_support(lib)[:5]
    assert [int(r[1]) for r in rows] == [lib[r[0]].support for r in rows]

    assert main(["patterns", "list", str(run_store), "--top", "0", "--sort", "id", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["id"] for p in doc["listed"]] == sorted(lib.ids)
    assert doc["patterns"] == len(lib) and doc["domain"] == "ecg" and doc["window"] == W

    best = lib[_by_support(lib)[0]]
    assert main(["patterns", "show", str(run_store), best.id[:-4], "--values"]) == 0
    out = capsys.readouterr().out
    assert f"pattern {best.id}" in out and f"support       {best.support}  (rank 1 of {len(lib)})" in out
    assert f"first seen    signal {best.first_seen[0]} @ {best.first_seen[1]}" in out
    values = [float(x) for ln in out.split("unit standard deviation):")[1].splitlines() for x in ln.split()]
    assert np.allclose(values, np.asarray(best.prototype) * np.sqrt(W), atol=1e-4)

    assert main(["patterns", "show", str(run_store), best.id, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["id"] == best.id and doc["prototype"] == [float(x) for x in best.prototype]
    assert doc["archived"] is False


def test_export_round_trips(run_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lib = pl.open_run(run_store).library
    for name in ("p.csv", "p.json", "p.npz", "p.zarr", "p.data"):
        extra = ["--format", "json"] if name == "p.data" else []
        assert main(["patterns", "export", str(run_store), "-o", str(tmp_path / name), *extra]) == 0
        assert f"wrote {len(lib)} patterns" in capsys.readouterr().out
    assert _same(pl.PatternLibrary.load(tmp_path / "p.zarr"), lib)
    with np.load(tmp_path / "p.npz", allow_pickle=False) as f:
        assert _same(pl.PatternLibrary.from_arrays(dict(f)), lib)
    for name in ("p.json", "p.data"):
        doc = json.loads((tmp_path / name).read_text())
        assert [p["id"] for p in doc["patterns"]] == lib.ids
        assert np.array_equal([p["prototype"] for p in doc["patterns"]], lib.prototypes)
    with open(tmp_path / "p.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["id", "domain", "support"] and len(rows[0]) == 7 + W
    assert [r[0] for r in rows[1:]] == lib.ids
    assert np.array_equal(np.array([[float(x) for x in r[7:]] for r in rows[1:]]), lib.prototypes)
    assert [int(r[2]) for r in rows[1:]] == lib.supports.tolist()

    # an existing file is kept unless --overwrite
    assert main(["patterns", "export", str(run_store), "-o", str(tmp_path / "p.csv")]) == 2
    assert "already exists: pass --overwrite" in capsys.readouterr().err
    assert main(["patterns", "export", str(run_store), "-o", str(tmp_path / "p.zarr"), "--overwrite"]) == 0


def test_library_snapshot_with_an_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = pl.EngineConfig(window=W, max_patterns=3, **PLAIN)
    lib = pl.PatternLibrary(W, "audio", config=cfg)
    for k in range(3):
        pl.perceive(planted_signal(700, W, occurrences=1, anomalies=1, seed=40 + k).signal, "audio", lib,
                    signal_id=k)
    assert lib.archived, "a full library archives its weakest patterns"
    lib.save(tmp_path / "lib.zarr")
    out = run_cli("patterns", "list", str(tmp_path / "lib.zarr"), "--archived", "--top", "0")
    assert out.returncode == 0, out.stderr
    assert f"{len(lib)} patterns, {len(lib.archived)} archived" in out.stdout
    listed = [ln.split()[0] for ln in out.stdout.splitlines() if ln.startswith("audio-")]
    assert sorted(listed) == sorted(p.id for p in lib.archived)
    gone = lib.archived[0]
    assert main(["patterns", "show", str(tmp_path / "lib.zarr"), gone.id]) == 0
    assert f"pattern {gone.id} (archived)" in capsys.readouterr().out


def test_redis_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis_servers as rs

    libs = {}
    for domain, window in (("ecg", W), ("audio", 24)):
        cfg = pl.EngineConfig(window=window, **PLAIN)
        lib = pl.PatternLibrary(window, domain, config=cfg)
        pl.perceive(planted_signal(700, window, occurrences=1, anomalies=1, seed=60).signal, domain, lib)
        libs[domain] = lib
    with rs.running(tmp_path / "redis", password="pw-123") as server:
        with pl.RedisPatternStore(server.url, namespace="lab") as store:
            store.publish(None, libs["ecg"], token="t-ecg")
            # a real command: the only library of the namespace
            out = run_cli("patterns", "list", server.url, "--namespace", "lab", "--top", "0")
            assert out.returncode == 0, out.stderr
            assert "Redis redis://:***@127.0.0.1" in out.stdout and "pw-123" not in out.stdout
            listed = [ln.split()[0] for ln in out.stdout.splitlines() if ln.startswith("ecg-")]
            assert sorted(listed) == sorted(libs["ecg"].ids)

            store.publish(None, libs["audio"], token="t-audio")
            assert main(["patterns", "list", server.url, "--namespace", "lab"]) == 0
            out = capsys.readouterr().out
            assert "holds 2 libraries" in out and f"--domain ecg --window {W}" in out
            assert "--domain audio --window 24" in out
            assert main(["patterns", "show", server.url, "--namespace", "lab", libs["ecg"].ids[0]]) == 2
            assert "pick one with" in capsys.readouterr().err

            monkeypatch.setenv("PATTERNLAB_REDIS_URL", server.url)  # SOURCE `redis`
            dest = tmp_path / "audio.zarr"
            assert main(["patterns", "export", "redis", "--namespace", "lab", "--domain", "audio",
                         "-o", str(dest)]) == 0
            assert "pw-123" not in capsys.readouterr().out
            assert _same(pl.PatternLibrary.load(dest), store.load_library("audio", 24, refresh=True))
            assert main(["patterns", "list", server.url, "--namespace", "empty"]) == 2
            assert "holds no library" in capsys.readouterr().err
        wrong = server.url.replace("pw-123", "wrong")
        assert main(["patterns", "list", wrong, "--namespace", "lab"]) == 1
        err = capsys.readouterr().err
        assert "wrong" not in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["patterns", "list", "{d}/missing.zarr"], "no such file or directory"),
        (["patterns", "list", "{d}/corpus.zarr"], "is neither a run store"),
        (["patterns", "list", "{d}/partial.zarr"], "is not complete (1 of 2 partitions done)"),
        (["patterns", "list", "{d}/partial.zarr"], "run `patternlab batch` again"),
        (["patterns", "list", "{run}", "--domain", "ecg"], "choose a library in a Redis store"),
        (["patterns", "list", "{run}", "--top", "-1"], "--top=-1"),
        (["patterns", "show", "{run}", "nope"], "no pattern with id 'nope'"),
        (["patterns", "show", "{run}", "ecg-"], "pattern ids start with 'ecg-'"),
        (["patterns", "export", "{run}", "-o", "{d}/out"], "cannot tell the format"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(
    run_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    pl.write_signals(tmp_path / "corpus.zarr", [np.arange(50.0)])
    partial = tmp_path / "partial.zarr"
    signals = [planted_signal(700, W, occurrences=1, anomalies=1, seed=k).signal for k in range(4)]
    pl.batch_perceive(signals, config=pl.EngineConfig(window=W, **PLAIN), client=False, batch_size=2,
                      progress=False, store=partial)
    group = zarr.open_group(str(partial), mode="r+")
    group["partitions/done"][1] = 0
    group.attrs["complete"] = False
    assert main([a.format(d=tmp_path, run=run_store) for a in argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_help_shows_examples() -> None:
    out = run_cli("patterns", "export", "--help")
    assert out.returncode == 0
    assert "examples:" in out.stdout and ".csv, .json, .npz, .zarr" in out.stdout
