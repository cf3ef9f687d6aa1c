"""``patternlab start`` run as a user runs it: a separate process serving a LocalCluster with the
patternlab dashboard until SIGTERM or Ctrl-C (SIGINT), that other processes Lab.connect to."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

import patternlab as pl
from patternlab._cli.main import main
from patternlab.datasets.synthetic import planted_signal

CFG = pl.EngineConfig(window=32, top_k=2)
SIGNALS = [planted_signal(900, 32, seed=i, occurrences=2).signal for i in range(4)]


class Started:
    """A running ``patternlab start`` process and the lines it printed."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self._log = log.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "patternlab", "start", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=self._log, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.printed: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.printed.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} never printed; got {self.printed!r}, exit {self.proc.poll()}")

    def value(self, key: str) -> str:
        return next(ln.split(key, 1)[1].strip() for ln in self.printed if key in ln)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)
        self._reader.join(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self._log.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    started: list[Started] = []

    def _start(*args: str, **env: str) -> Started:
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("PATTERNLAB_", "DASK_PATTERNLAB__"))}
        s = Started(list(args), {**clean, **env}, tmp_path / f"start-{len(started)}.log")
        started.append(s)
        return s

    yield _start
    for s in started:
        s.stop()


def _gone(pids: list[int], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                   for p in pids):
            return True
        time.sleep(0.2)
    return False


def _status(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``patternlab status`` as typed after ``patternlab start``: no --scheduler."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("PATTERNLAB_", "DASK_PATTERNLAB__", "DASK_SCHEDULER_ADDRESS"))}
    return subprocess.run([sys.executable, "-m", "patternlab", "status", *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_start_serves_a_cluster_until_sigterm(start: Any, tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")        # where the scheduler file goes by default
    s = start("--workers", "2", XDG_CACHE_HOME=cache)
    s.wait_for("Press Ctrl-C to stop.")
    address = s.value("Dask scheduler at")
    # `patternlab status` finds the cluster `patternlab start` just launched, with no address given
    scheduler_file = tmp_path / "cache" / "patternlab" / "scheduler.json"
    assert str(scheduler_file) in s.value("status:")
    st = _status({"XDG_CACHE_HOME": cache}, "--json")
    assert st.returncode == 0, st.stdout + st.stderr
    found = json.loads(st.stdout)
    assert found["scheduler"] == address and found["workers"] == 2
    assert found["scheduler_file"] == str(scheduler_file)
    assert json.loads(scheduler_file.read_text())["address"] == address  # Dask's scheduler-file key
    assert address.startswith("tcp://127.0.0.1:")  # loopback unless --host says otherwise
    assert s.value("dashboard:").startswith("http")
    assert s.value("patternlab page:").endswith("/patternlab")
    assert f"pl.Lab.connect({address!r})" in s.value("connect:")
    with pl.Lab.connect(address) as lab:
        assert len(lab.client.scheduler_info()["workers"]) == 2
        preloads = lab.client.run_on_scheduler(
            lambda dask_scheduler: [str(p.name) for p in dask_scheduler.preloads])
        assert "patternlab.dashboard" in preloads
        got = lab.batch_perceive(SIGNALS, config=CFG, batch_size=2, progress=False)
        pids = [int(lab.client.run_on_scheduler(os.getpid)),
                *map(int, lab.client.run(os.getpid).values()),
                *map(int, lab.client.run(os.getpid, nanny=True).values())]
    want = pl.batch_perceive(SIGNALS, config=CFG, client=False, batch_size=2, progress=False)
    assert np.array_equal(got.library.prototypes, want.library.prototypes)
    # the scheduler (and the nannies) run in the start process, the workers in two others
    assert pids[0] == s.proc.pid and len(set(pids)) == 3
    assert s.proc.poll() is None  # still serving after the client left
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(60) == 0
    s.wait_for("patternlab start: stopped", timeout=5)
    assert _gone(pids), "processes survived patternlab start"
    # stopped: the file is gone, and status says where it looked
    assert not scheduler_file.exists()
    st = _status({"XDG_CACHE_HOME": cache})
    assert st.returncode == 2 and f"no scheduler file at {scheduler_file}" in st.stderr, st.stderr


def test_start_adapts_from_the_environment_and_stops_on_ctrl_c(start: Any) -> None:
    s = start(PATTERNLAB_MIN_WORKERS="1", PATTERNLAB_MAX_WORKERS="2")
    s.wait_for("Press Ctrl-C to stop.")
    assert "adaptive 1-2" in s.value("workers:")
    assert s.value("workers:").startswith("1 x 1 thread")
    s.proc.send_signal(signal.SIGINT)
    assert s.proc.wait(60) == 0
    s.wait_for("patternlab start: stopped", timeout=5)


def test_start_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["start", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "patternlab start: error:" in err and "n_workers=0" in err and "Traceback" not in err
    assert main(["start", "--min-workers", "3", "--max-workers", "1"]) == 2
    assert "min_workers=3" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["start", "--help"])
    assert "Lab.connect" in capsys.readouterr().out
