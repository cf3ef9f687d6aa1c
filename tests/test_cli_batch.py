"""``patternlab batch INPUT --store PATH``: a checkpointed batch_perceive on a real LocalCluster that
resumes, refuses another run's store, and learns what the API learns."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr

import patternlab as pl
from patternlab._cli.batch import supports_redis
from patternlab._cli.main import main
from patternlab.datasets.synthetic import planted_signal

W = 32
CFG = pl.EngineConfig(window=W)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "patternlab", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def _signals(n: int, length: int = 700, seed: int = 0) -> list[np.ndarray]:
    return [planted_signal(length, W, occurrences=1, anomalies=1, seed=seed + k).signal for k in range(n)]


def _expected(signals: object, batch_size: int, domain: str = "default") -> pl.PatternLibrary:
    return pl.batch_perceive(signals, domain, config=CFG, client=False, batch_size=batch_size,
                             progress=False).library


def _same(a: pl.PatternLibrary, b: pl.PatternLibrary) -> bool:
    x, y = a.to_arrays(), b.to_arrays()
    return all(np.array_equal(x[k], y[k]) for k in x)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_batch_on_a_local_cluster_resumes_and_refuses_another_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signals = _signals(24)
    corpus = tmp_path / "corpus.zarr"
    pl.write_signals(corpus, signals)
    store = tmp_path / "run.zarr"
    argv = ["batch", str(corpus), "--store", str(store), "-m", str(W), "-b", "6", "--no-progress"]

    # a real command on a LocalCluster of 2 worker processes
    out = run_cli(*argv, "--workers", "2")
    assert out.returncode == 0, out.stderr
    assert "cluster: local, 2 worker(s)" in out.stdout and "computed 4 partitions" in out.stdout
    assert f"patternlab patterns list {store}" in out.stdout
    run = pl.open_run(store)
    assert run.complete and run.progress == (4, 4)
    expected = _expected(signals, 6)
    assert _same(run.library, expected)  # the same library as in process, whatever the workers

    # the same command again: everything is read back (no cluster needed)
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "found, 4 of 4 partitions done" in text and "resumed 4 of 4 partitions" in text
    assert "cluster:" not in text

    # an interrupted run (the last two partitions never finished) resumes where it stopped
    group = zarr.open_group(str(store), mode="r+")
    group["partitions/done"][2:] = 0
    group.attrs["complete"] = False
    assert main([*argv, "--no-cluster"]) == 0
    text = capsys.readouterr().out
    assert "found, 2 of 4 partitions done" in text
    assert "resumed 2 of 4 partitions from" in text and "computed 2" in text
    assert _same(pl.open_run(store).library, expected)

    # another window is another run: refused, exit code 2, the store left as it was
    assert main([*argv[:-3], "-m", "40", "-b", "6", "--no-cluster", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "belongs to a different run" in err and "config.window: stored 32, given 40" in err
    assert "--overwrite" in err and "Traceback" not in err
    assert _same(pl.open_run(store).library, expected)
    # a different batch size too; --overwrite starts over
    assert main([*argv[:-3], "-b", "8", "--no-cluster", "--no-progress"]) == 2
    assert "batch_size: stored 6, given 8" in capsys.readouterr().err
    assert main([*argv[:-3], "-b", "8", "--no-cluster", "--no-progress", "--overwrite"]) == 0
    assert "computed 3 partitions" in capsys.readouterr().out
    assert _same(pl.open_run(store).library, _expected(signals, 8))


def test_npy_array_and_directory_inputs_learn_what_the_api_learns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signals = _signals(10, seed=100)
    np.save(tmp_path / "all.npy", np.array(signals))
    assert main(["batch", str(tmp_path / "all.npy"), "-s", str(tmp_path / "a.zarr"), "-m", str(W),
                 "-b", "4", "--domain", "ecg", "--no-cluster", "--no-progress"]) == 0
    assert "10 signals (rows) of 700 samples" in capsys.readouterr().out
    assert _same(pl.open_run(tmp_path / "a.zarr").library, _expected(np.array(signals), 4, "ecg"))
    assert pl.open_run(tmp_path / "a.zarr").domain == "ecg"

    # a directory: files sorted by name, 1-D files one signal, 2-D files one signal a row
    d = tmp_path / "files"
    d.mkdir()
    np.save(d / "a.npy", signals[0])
    np.save(d / "b.npy", np.array(signals[1:4]))
    np.save(d / "c.npy", signals[4])
    (d / "notes.txt").write_text("not a signal")
    assert main(["batch", str(d), "-s", str(tmp_path / "d.zarr"), "-m", str(W), "-b", "2",
                 "--no-cluster", "--no-progress"]) == 0
    assert "5 signals from 3 .npy files" in capsys.readouterr().out
    assert _same(pl.open_run(tmp_path / "d.zarr").library, _expected(signals[:5], 2))

    # ragged signals, one too short to perceive: skipped, named by its file, not fatal
    np.save(d / "d.npy", np.arange(20.0))
    assert main(["batch", str(d), "-s", str(tmp_path / "r.zarr"), "-m", str(W), "-b", "2",
                 "--no-cluster", "--no-progress"]) == 0
    cap = capsys.readouterr()
    assert "6 signals, 1 skipped" in cap.out and "skipped d.npy:" in cap.err

    # starting from a saved library (its window and domain)
    start = pl.PatternLibrary(W, "ecg", config=CFG)
    pl.perceive(signals[9], "ecg", start, signal_id="seed")
    start.save(tmp_path / "start.zarr")
    assert main(["batch", str(tmp_path / "all.npy"), "-s", str(tmp_path / "l.zarr"), "-b", "5",
                 "--library", str(tmp_path / "start.zarr"), "--no-cluster", "--no-progress"]) == 0
    want = pl.batch_perceive(np.array(signals), "ecg", start, client=False, batch_size=5,
                             progress=False).library
    assert _same(pl.open_run(tmp_path / "l.zarr").library, want)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["batch", "{d}/one.npy", "-s", "{d}/r.zarr"], "perceive it with `patternlab perceive`"),
        (["batch", "{d}/missing", "-s", "{d}/r.zarr"], "no such file or directory"),
        (["batch", "{d}/empty", "-s", "{d}/r.zarr"], "neither a signal corpus nor .npy files"),
        (["batch", "{d}/many.npy", "-s", "{d}/r.zarr", "-b", "0"], "--batch-size=0"),
        (["batch", "{d}/many.npy", "-s", "{d}/r.zarr", "--workers", "0"], "--workers=0"),
        (["batch", "{d}/many.npy", "-s", "{d}/r.zarr", "--no-cluster", "--workers", "2"],
         "--no-cluster runs in this process"),
        (["batch", "{d}/many.npy", "-s", "{d}/corpus.zarr", "--no-cluster"],
         "holds something other than a patternlab run"),
        (["batch", "{d}/many.npy", "-s", "{d}/r.zarr", "--cluster", "nowhere"],
         "cluster='nowhere' is neither"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    d = tmp_path
    np.save(d / "one.npy", _signals(1)[0])
    np.save(d / "many.npy", np.array(_signals(3)))
    (d / "empty").mkdir()
    pl.write_signals(d / "corpus.zarr", [np.arange(50.0)])
    assert main([a.format(d=d) for a in [*argv, "--no-progress"]]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert len(pl.ZarrCorpus(d / "corpus.zarr")) == 1  # another store is never overwritten


def test_unreachable_scheduler_is_a_failure_exit_1(tmp_path: Path) -> None:
    np.save(tmp_path / "many.npy", np.array(_signals(2)))
    out = run_cli("batch", str(tmp_path / "many.npy"), "-s", str(tmp_path / "r.zarr"),
                  "--cluster", f"tcp://127.0.0.1:{_free_port()}", "--no-progress",
                  env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"})
    assert out.returncode == 1, out.stderr
    assert "cannot reach the Dask scheduler" in out.stderr and "Traceback" not in out.stderr


def test_redis_option_publishes_the_learned_library(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis_servers as rs

    np.save(tmp_path / "many.npy", np.array(_signals(6, seed=50)))

    def batch(store: str, *more: str) -> int:
        return main(["batch", str(tmp_path / "many.npy"), "-s", str(tmp_path / store), "-m", str(W),
                     "-b", "3", "--domain", "ecg", "--no-cluster", "--no-progress", *more])

    if not supports_redis():  # pragma: no cover - an older batch_perceive without redis=
        assert batch("r.zarr", "--redis", "redis://127.0.0.1:1/0") == 2
        assert "cannot use a Redis store" in capsys.readouterr().err
        return
    with rs.running(tmp_path / "redis", password="s3cret") as server:
        assert batch("r.zarr", "--redis", server.url) == 0
        out = capsys.readouterr().out
        assert "published to redis://:***@127.0.0.1" in out and "s3cret" not in out
        lib = pl.open_run(tmp_path / "r.zarr").library
        with pl.RedisPatternStore(server.url) as store:
            stored = store.load_library("ecg", W, refresh=True)
        assert sorted(stored.ids) == sorted(lib.ids) and len(stored) > 0
        # --redis without a URL: the configured one (PATTERNLAB_REDIS_URL)
        monkeypatch.setenv("PATTERNLAB_REDIS_URL", server.url)
        assert batch("r2.zarr", "--redis") == 0
        monkeypatch.delenv("PATTERNLAB_REDIS_URL")
        assert "published to redis://:***@" in capsys.readouterr().out
    # the server is gone: a failure, exit code 1, and the password is not printed
    assert batch("r3.zarr", "--redis", f"redis://:s3cret@127.0.0.1:{_free_port()}/0") == 1
    err = capsys.readouterr().err
    assert "s3cret" not in err and "Traceback" not in err


def test_help_shows_examples_and_resume() -> None:
    out = run_cli("batch", "--help")
    assert out.returncode == 0
    assert "examples:" in out.stdout and "resumes" in out.stdout and "--overwrite" in out.stdout
