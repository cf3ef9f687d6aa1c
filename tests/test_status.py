"""``patternlab status`` and ``Lab.status()``: what they print, their JSON, their exit codes."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from distributed import Client, LocalCluster, Scheduler

import patternlab as pl
from monitoring_helpers import CONFIG, dashboard_base, free_port, get, monitored_cluster, signals
from patternlab._cli.main import main
from patternlab.dashboard import (
    EXIT_HEALTHY,
    EXIT_UNHEALTHY,
    EXIT_UNREACHABLE,
    ClusterStatus,
    install,
    status,
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, Any]]:
    """A monitored LocalCluster (1 worker process) after one batch."""
    with monitored_cluster() as (cl, client):
        out = pl.batch_perceive(signals(12), config=CONFIG, client=client, batch_size=4, progress=False)
        yield {"address": cl.scheduler_address, "client": client, "metrics": out.metrics}


def run_cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(["status", *args])
    return rc, capsys.readouterr().out


def test_cli_prints_the_report_and_exits_0(cluster: dict[str, Any]) -> None:
    """The installed entry point, as a person types it."""
    proc = subprocess.run([sys.executable, "-m", "patternlab", "status", "--scheduler", cluster["address"]],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == EXIT_HEALTHY, proc.stderr
    text = proc.stdout
    m = cluster["metrics"]
    assert text.startswith(f"patternlab status of {cluster['address']}: healthy")
    for line in ("workers              1 (1 thread)", f"tasks processed      {int(m['tasks_processed'])}",
                 f"signals              {int(m['signals'])}",
                 f"patterns discovered  {int(m['patterns_discovered'])} (in 1 batch)",
                 "queue depth          0 patternlab tasks not finished", "health               ok"):
        assert line in text, (line, text)
    base = dashboard_base(cluster["client"])
    assert f"dashboard            {base}/status" in text
    assert f"patternlab page      {base}/patternlab" in text


def test_cli_json_matches_the_run(cluster: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = run_cli("--scheduler", cluster["address"], "--json", capsys=capsys)
    st = json.loads(out)
    m = cluster["metrics"]
    assert rc == st["exit_code"] == EXIT_HEALTHY
    assert st["reachable"] and st["healthy"] and st["monitoring"] and st["problems"] == []
    assert (st["workers"], st["threads"]) == (1, 1)
    assert st["tasks_processed"] == m["tasks_processed"] == 3
    assert st["signals"] == m["signals"] and st["patterns_discovered"] == m["patterns_discovered"]
    assert st["throughput_per_sec"] == pytest.approx(m["throughput_per_sec"], rel=1e-9)
    assert st["avg_latency_ms"] == pytest.approx(m["avg_latency_ms"], rel=1e-9)
    assert st["queue_depth"] == 0 and st["queue"] == {"waiting": 0, "queued": 0, "no-worker": 0,
                                                      "processing": 0}
    assert st["health"] == "ok"
    status_code, page = get(st["patternlab_page"])          # the link works
    assert status_code == 200 and "bokeh" in page.lower()


def test_cli_exit_codes_for_scripts(cluster: dict[str, Any], capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scheduler_file = tmp_path / "scheduler.json"   # never the user's own
    monkeypatch.setenv("PATTERNLAB_SCHEDULER_FILE", str(scheduler_file))
    # fewer workers than required: unhealthy, and says why
    rc, out = run_cli("--scheduler", cluster["address"], "--min-workers", "2", capsys=capsys)
    assert rc == EXIT_UNHEALTHY == 4
    assert "UNHEALTHY: 1 worker, fewer than min_workers=2" in out
    # nothing listening: unreachable
    addr = f"tcp://127.0.0.1:{free_port()}"
    rc, out = run_cli("--scheduler", addr, "--timeout", "0.5", "--json", capsys=capsys)
    st = json.loads(out)
    assert rc == st["exit_code"] == EXIT_UNREACHABLE == 3 and st["reachable"] is False
    assert st["problems"][0].startswith(f"cannot reach the scheduler at {addr}")
    # the address from the environment, as Dask's own tools read it
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster["address"])
    assert run_cli(capsys=capsys)[0] == EXIT_HEALTHY
    # usage errors: 2, with a message naming the fix
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert "pass --scheduler" in err and f"no scheduler file at {scheduler_file}" in err
    # the scheduler file `patternlab start` writes: read when no address is given
    scheduler_file.write_text(json.dumps({"address": cluster["address"], "pid": 1}))
    rc, out = run_cli("--json", capsys=capsys)
    assert rc == EXIT_HEALTHY and json.loads(out)["scheduler_file"] == str(scheduler_file)
    # a stale file (its cluster stopped without removing it): unreachable, and says where it read it
    scheduler_file.write_text(json.dumps({"address": addr}))
    rc, out = run_cli("--timeout", "0.5", capsys=capsys)
    assert rc == EXIT_UNREACHABLE and f"the address was read from {scheduler_file}" in out
    assert main(["status", "--scheduler", "tcp://", "--timeout", "1"]) == 2
    assert "not valid" in capsys.readouterr().err


def test_health_endpoint_failure_is_unhealthy() -> None:
    """The scheduler answers but its HTTP server (``/health``) does not: exit code 4."""
    async def check() -> ClusterStatus:
        async with Scheduler(host="127.0.0.1", port=0, dashboard_address="127.0.0.1:0",
                             preload=["patternlab.dashboard"]) as s:
            assert (await asyncio.to_thread(status, s.address, min_workers=0)).exit_code == EXIT_HEALTHY
            s.http_server.stop()
            return await asyncio.to_thread(status, s.address, min_workers=0, timeout=2)

    st = asyncio.run(check())
    assert st["reachable"] and not st["healthy"] and st.exit_code == EXIT_UNHEALTHY
    assert st["problems"][0].startswith("health check failed:") and "/health unreachable" in st["health"]


def test_lab_status_is_the_schedulers_status(cluster: dict[str, Any]) -> None:
    lab = pl.Lab(cluster["client"])     # not entered: closing it would close the shared client
    st = lab.status()
    assert isinstance(st, ClusterStatus) and isinstance(st, dict)
    assert st["tasks_processed"] == 3 and st["workers"] == 1 and st["monitoring"]
    assert st["dashboard"] == lab.dashboard_link
    text = repr(st)
    assert "patterns discovered" in text and "queue depth" in text and lab.dashboard_link in text
    assert json.loads(json.dumps(st))["signals"] == 12


def test_scheduler_without_the_preload() -> None:
    """status says monitoring is missing; install() (and Lab.status()) equip the scheduler."""
    with LocalCluster(n_workers=0, processes=True, dashboard_address="127.0.0.1:0") as cl, \
            Client(cl) as client:
        st = status(client, min_workers=0)
        assert st.exit_code == EXIT_HEALTHY and st["monitoring"] is False and st["patternlab_page"] is None
        assert re.search(r"monitoring +not installed: start the scheduler with --preload", repr(st))
        st = pl.Lab(client).status()          # installs it
        assert st["monitoring"] is True and "0 workers, fewer than min_workers=1" in st["problems"]
        assert get(st["patternlab_page"])[0] == 200
        install(client)                        # idempotent
        assert client.run_on_scheduler(lambda dask_scheduler: sum(
            getattr(a, "_patternlab_page", False) for a in dask_scheduler.http_application.applications)) == 1


def test_dask_scheduler_command_with_preload() -> None:
    """``dask scheduler --preload patternlab.dashboard``: the way SSH and Kubernetes start it."""
    with tempfile.TemporaryDirectory() as tmp:
        sfile = Path(tmp) / "scheduler.json"
        env = {**os.environ, "DASK_PATTERNLAB__DASHBOARD__INTERVAL": "200ms"}
        proc = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                                 "--host", "127.0.0.1", "--port", "0", "--dashboard-address", "127.0.0.1:0",
                                 "--scheduler-file", str(sfile), "--preload", "patternlab.dashboard"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        try:
            deadline = time.monotonic() + 60
            while not sfile.exists() or not sfile.read_text().strip():
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr and proc.stderr.read()
                time.sleep(0.1)
            address = json.loads(sfile.read_text())["address"]
            st = status(address, min_workers=0)
            assert st.exit_code == EXIT_HEALTHY and st["monitoring"] and st["health"] == "ok"
            assert st["patternlab_page"].endswith("/patternlab") and get(st["patternlab_page"])[0] == 200
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()


def test_bad_arguments_raise_clear_errors() -> None:
    for bad, fix in ((123, "pass a scheduler address"), ("", "is empty"), ("tcp://", "not valid")):
        with pytest.raises(pl.PatternlabError, match=fix):
            status(bad)
    with pytest.raises(ValueError, match="timeout=-1"):
        status("tcp://127.0.0.1:1", timeout=-1)


def _profile_readings(dask_scheduler: Any) -> tuple[list[dict[str, Any]], str]:
    """The monitor's profile runs and the page's table of them, read on the scheduler."""
    from patternlab.dashboard._page import PatternlabPage

    page = PatternlabPage(dask_scheduler)
    page.update()
    return dask_scheduler.plugins["patternlab"].profiles(), page.profiles.text


def test_a_profile_run_on_the_cluster_shows_on_the_page_and_in_status(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A matrix profile with ``client=`` logs its progress in tile tasks and cells: the monitor
    keeps it, the page draws it, ``patternlab status`` prints it; the profile is the in-process one."""
    from patternlab._events import PROFILE_EVENT
    from patternlab.profiles import _tiling

    monkeypatch.setattr(_tiling, "BANDS_PER_TASK", 1)
    T = np.cumsum(np.random.default_rng(5).standard_normal(3_000))
    m = 50
    with monitored_cluster(n_workers=2) as (cluster, client):
        mp = pl.matrix_profile(T, m, client=client)
        runs, table = client.run_on_scheduler(_profile_readings)
        events = [e for _, e in client.get_events(PROFILE_EVENT)]
        report = status(cluster.scheduler_address)
    ref = pl.matrix_profile(T, m)
    assert np.array_equal(mp.P, ref.P) and np.array_equal(mp.I, ref.I)
    ell, kmin = len(T) - m + 1, ref.exclusion_zone + 1
    assert len(runs) == 1
    r = runs[0]
    assert r["finished"] and r["tasks_done"] == r["tasks_total"] > 1
    assert r["cells_done"] == r["cells_computed"] == r["cells_total"] == (ell - kmin) * (ell - kmin + 1) // 2
    assert r["percent"] == 100.0 and r["cells_per_sec"] > 0 and r["windows"] == ell and r["m"] == m
    # the first event comes before any task finished, the last one says finished; done only grows
    assert events[0]["tasks_done"] == 0 and not events[0]["finished"] and events[-1]["finished"]
    assert all(a["tasks_done"] <= b["tasks_done"] for a, b in itertools.pairwise(events))
    assert f">{r['run']}<" in table and "100.0%" in table and "finished" in table
    assert report["profile_runs"][0]["run"] == r["run"]
    line = next(x for x in report.to_text().splitlines() if "matrix profile" in x)
    assert f"{ell:,} windows (m = {m})" in line and "100.0% of the cells" in line and "finished" in line
