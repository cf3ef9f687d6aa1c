"""Lab.ssh end to end, against a real SSH server on loopback (tests/ssh_server.py): the scheduler and
the workers start over SSH as separate processes in the server's sessions, a batch gives the same
library as in process, adapt adds and retires workers over SSH, TLS works, and close leaves no
process behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import numpy as np
import psutil
import pytest
import yaml
from distributed import Security

import patternlab as pl
from patternlab.datasets.synthetic import planted_signal
from ssh_server import LoopbackSSHServer

CFG = pl.EngineConfig(window=32, top_k=2)
SIGNALS = [planted_signal(900, 32, seed=i, occurrences=2).signal for i in range(6)]
SCHEDULER = {"port": 0, "dashboard_address": ":0"}


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[LoopbackSSHServer]:
    server = LoopbackSSHServer(tmp_path / "sshd").start()
    try:
        yield server
    finally:
        deadline = time.monotonic() + 20
        while server.leftover_pids() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = server.stop()  # kills whatever is still running
        assert not left, f"processes left running in the SSH sessions: {left}"


def _ssh_lab(sshd: LoopbackSSHServer, n_workers: int, **kwargs: Any) -> pl.Lab:
    return pl.Lab.ssh(["127.0.0.1"] * (n_workers + 1), connect_options=sshd.connect_options,
                      worker_options={"nthreads": 1}, scheduler_options=dict(SCHEDULER),
                      remote_python=sys.executable, **kwargs)


def _dask_pids(lab: pl.Lab) -> list[int]:
    c = lab.client
    return [int(c.run_on_scheduler(os.getpid)), *map(int, c.run(os.getpid).values()),
            *map(int, c.run(os.getpid, nanny=True).values())]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_gone(pids: list[int], sshd: LoopbackSSHServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if _alive(p)]
        if not alive and not sshd.leftover_pids():
            return
        time.sleep(0.2)
    left = sshd.leftover_pids()
    what = []
    for q in left:
        try:
            what.append(" ".join(psutil.Process(q).cmdline())[:300])
        except psutil.NoSuchProcess:
            what.append("gone")
    raise AssertionError(f"still running after close: dask processes {alive}, SSH sessions "
                         f"{left}: {what}")


def _same_library(a: pl.PatternLibrary, b: pl.PatternLibrary) -> None:
    assert a.ids == b.ids
    np.testing.assert_array_equal(a.supports, b.supports)
    assert np.array_equal(a.prototypes, b.prototypes)  # bit for bit


def test_ssh_lab_runs_over_ssh_matches_in_process_and_leaves_nothing(sshd: LoopbackSSHServer) -> None:
    with _ssh_lab(sshd, 2) as lab:
        assert lab.kind == "ssh" and pl.Lab.current() is lab
        info = lab.client.scheduler_info()
        assert len(info["workers"]) == 2
        assert sorted(w["name"] for w in info["workers"].values()) == [0, 1]
        pids = _dask_pids(lab)
        # every process is another process, started by the SSH server: in one of its sessions
        assert os.getpid() not in pids
        assert all(os.getpgid(p) in sshd.session_pids for p in pids), (pids, sshd.session_pids)
        assert sum("distributed.cli.dask_spec" in c for c in sshd.commands) == 3  # scheduler + 2
        preloads = lab.client.run_on_scheduler(
            lambda dask_scheduler: [str(p.name) for p in dask_scheduler.preloads])
        assert "patternlab.dashboard" in preloads

        got = lab.batch_perceive(SIGNALS, config=CFG, batch_size=2, progress=False)
        want = pl.batch_perceive(SIGNALS, config=CFG, client=False, batch_size=2, progress=False)
        _same_library(got.library, want.library)
        assert got.metrics["tasks_processed"] == 3
    assert lab.cluster.status.name == "closed"
    _wait_gone(pids, sshd)


def test_ssh_adapt_scales_up_and_down_over_tls(sshd: LoopbackSSHServer) -> None:
    security = Security.temporary()
    with _ssh_lab(sshd, 1, security=security) as lab:
        address = lab.scheduler_address
        assert address.startswith("tls://")
        pids = _dask_pids(lab)
        with pytest.raises(pl.ClusterConnectionError, match="TLS"):
            pl.Lab.connect(address, timeout="5s")
        adaptive = lab.adapt(1, 2, queue_depth_per_worker=1, interval="200ms", wait_count=2)
        assert adaptive.queue_depth_per_worker == 1
        futures = [lab.client.submit(time.sleep, 1.5, pure=False) for _ in range(6)]
        seen = 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and seen < 2:
            workers = lab.client.scheduler_info()["workers"].values()
            seen = max(seen, len(workers))
            time.sleep(0.1)
        assert seen == 2, "adapt did not start a second worker over SSH"
        # the new worker carries its spec name (1), so that Dask can retire it by name
        assert sorted(w["name"] for w in workers) == [0, 1]
        pids += list(map(int, lab.client.run(os.getpid).values()))
        pids += list(map(int, lab.client.run(os.getpid, nanny=True).values()))
        lab.client.gather(futures)
        del futures
        while time.monotonic() < deadline and len(lab.client.scheduler_info()["workers"]) > 1:
            time.sleep(0.1)
        assert len(lab.client.scheduler_info()["workers"]) == 1, "idle workers were not retired"
        assert len(lab.cluster.worker_spec) == 1  # retired from the plan too, not only from Dask

        with pl.Lab.connect(address, security=security) as other:
            got = other.batch_perceive(SIGNALS, config=CFG, batch_size=3, progress=False)
        want = pl.batch_perceive(SIGNALS, config=CFG, client=False, batch_size=3, progress=False)
        _same_library(got.library, want.library)
    _wait_gone(pids, sshd)


def test_a_worker_still_starting_when_the_cluster_closes_exits(sshd: LoopbackSSHServer) -> None:
    """Closed while adapt's second worker is starting (its command sent, not yet registered): the
    scheduler cannot tell that worker to stop and the SSH signal reaches only the remote shell;
    the worker exits on its own once its scheduler is gone (DEATH_TIMEOUT)."""
    lab = _ssh_lab(sshd, 1)
    try:
        pids = _dask_pids(lab)
        lab.adapt(1, 2, queue_depth_per_worker=1, interval="100ms", wait_count=2)
        futures = [lab.client.submit(time.sleep, 5, pure=False) for _ in range(4)]
        deadline = time.monotonic() + 60
        while sum("distributed.cli.dask_spec" in c for c in sshd.commands) < 3:
            assert time.monotonic() < deadline, "adapt did not start a second worker"
            time.sleep(0.02)
    finally:
        del futures
        lab.close()
    _wait_gone(pids, sshd, timeout=45)


def test_ssh_bad_arguments_and_unreachable_host(sshd: LoopbackSSHServer) -> None:
    with pytest.raises(pl.InvalidParameterError, match="at least two host"):
        pl.Lab.ssh(["127.0.0.1"], connect_options=sshd.connect_options)
    with pytest.raises(pl.InvalidParameterError, match="n_workers"):
        pl.Lab.ssh(["127.0.0.1"] * 2, connect_options=sshd.connect_options, worker_options={"n_workers": 2})
    with pytest.raises(pl.InvalidParameterError, match="connect_options has 1 entries for 2 hosts"):
        pl.Lab.ssh(["127.0.0.1"] * 2, connect_options=[sshd.connect_options])
    refused = {**sshd.connect_options, "port": _closed_port()}
    t0 = time.monotonic()
    with pytest.raises(pl.ClusterConnectionError, match="cannot start the SSH cluster"):
        pl.Lab.ssh(["127.0.0.1"] * 2, connect_options=refused, scheduler_options=dict(SCHEDULER))
    assert time.monotonic() - t0 < 30
    stranger = sshd.directory / "stranger_key"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(stranger))
    with pytest.raises(pl.ClusterConnectionError, match="PermissionDenied"):
        pl.Lab.ssh(["127.0.0.1"] * 2, scheduler_options=dict(SCHEDULER),
                   connect_options={**sshd.connect_options, "client_keys": [str(stranger)]})
    assert not sshd.session_pids  # nothing ever ran


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_deploy_ssh_example_runs(sshd: LoopbackSSHServer, tmp_path: Path) -> None:
    """deploy/ssh: its Dask configuration, pointed at the loopback server, and its script."""
    deploy = Path(__file__).resolve().parents[1] / "deploy" / "ssh"
    config = yaml.safe_load((deploy / "patternlab.yaml").read_text())
    section = config["patternlab"]
    assert section["cluster"] == "ssh" and len(section["ssh"]["hosts"]) >= 2
    section.update({"min-workers": 1, "max-workers": 2})
    section["ssh"].update({"hosts": ["127.0.0.1"] * 2, "connect-options": sshd.connect_options,
                           "scheduler-options": dict(SCHEDULER), "worker-options": {"nthreads": 1},
                           "remote-python": sys.executable})
    (tmp_path / "dask").mkdir()
    (tmp_path / "dask" / "patternlab.yaml").write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PATTERNLAB_", "DASK_"))}
    env["DASK_CONFIG"] = str(tmp_path / "dask")
    out = subprocess.run([sys.executable, str(deploy / "run.py"), "--signals", "4", "--window", "32"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ssh cluster at tcp://" in out.stdout and "4 signals in" in out.stdout, out.stdout
    assert sum("distributed.cli.dask_spec" in c for c in sshd.commands) == 2
