"""Streaming state that survives a restart: zarr and Redis checkpoints, the journal of samples,
damaged checkpoints, and a real SIGKILL of a real process in the middle of a stream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import patternlab as pl
import redis_servers as rs

M, N0 = 16, 200


def stream(n: int = 900, seed: int = 3) -> np.ndarray:
    S = np.cumsum(np.random.default_rng(seed).standard_normal(n))
    S[500:505] = np.nan
    S[600:640] = S[599]  # a plateau
    return S


def assert_same_stream(a: pl.StreamingProfile, b: pl.StreamingProfile) -> None:
    assert a.n_seen == b.n_seen and a.offset == b.offset
    np.testing.assert_array_equal(a.T, b.T)
    for f in ("P", "I", "PL", "IL", "PR", "IR"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with rs.running(tmp_path_factory.mktemp("redis"), appendonly=True) as srv:
        yield srv.url


@pytest.mark.parametrize("egress, normalize", [(True, True), (False, True), (True, False)])
def test_save_load_continues_bit_for_bit(tmp_path, egress, normalize):
    S = stream()
    a = pl.StreamingProfile(S[:N0], M, egress=egress, normalize=normalize)
    a.extend(S[N0:550])
    a.save(tmp_path / "s.zarr")
    a.save(tmp_path / "s.zarr")  # a second save replaces the first
    b = pl.StreamingProfile.load(tmp_path / "s.zarr")
    assert not b.durable and b.egress == egress and b.normalize == normalize
    assert_same_stream(a, b)
    a.extend(S[550:])
    b.extend(S[550:])
    assert_same_stream(a, b)
    c = pl.StreamingProfile(S[:N0], M, egress=egress, normalize=normalize)
    c.extend(S[N0:])
    assert_same_stream(a, c)


def test_memory_url_and_redis_save(redis_url):
    S = stream()
    a = pl.StreamingProfile(S[:N0], M)
    a.extend(S[N0:400])
    a.save("memory://stream-test")
    with pl.RedisPatternStore(redis_url, namespace="t") as store:
        a.save(store, name="ecg")
        b = pl.StreamingProfile.load(store, name="ecg")
    assert_same_stream(a, b)
    a.save(redis_url, name="ecg")  # a URL: the default namespace
    c = pl.StreamingProfile.load(redis_url, name="ecg")
    assert_same_stream(a, c)


def test_durable_stream_journals_every_call(tmp_path):
    S = stream()
    path = tmp_path / "d.zarr"
    a = pl.StreamingProfile(S[:N0], M, store=path, checkpoint_every=64)
    for x in S[N0:700]:
        a.update(x)
    a.extend(S[700:730])
    # the checkpoints (the newest two) and the journal since the older one
    ckpts = sorted(os.listdir(path / "checkpoints"))
    assert len([c for c in ckpts if c.isdigit()]) == 2
    b = pl.StreamingProfile.load(path)  # no close(): as after a crash
    assert b.durable
    assert_same_stream(a, b)
    with pytest.raises(pl.StoreError, match="already kept"):
        pl.StreamingProfile(S[:N0], M, store=path)
    b.extend(S[730:])
    b.close()
    c = pl.StreamingProfile.load(path)
    full = pl.StreamingProfile(S[:N0], M)
    full.extend(S[N0:])
    assert_same_stream(c, full)
    pl.StreamingProfile(S[:N0], M, store=path, overwrite=True)
    assert pl.StreamingProfile.load(path).n_seen == N0


def test_a_damaged_checkpoint_falls_back_and_a_torn_record_is_dropped(tmp_path):
    S = stream()
    path = tmp_path / "d.zarr"
    a = pl.StreamingProfile(S[:N0], M, store=path, checkpoint_every=100)
    for x in S[N0:650]:
        a.update(x)
    newest = max(p for p in os.listdir(path / "checkpoints") if p.isdigit())
    chunk = next((path / "checkpoints" / newest / "F" / "c").rglob("*"))
    if chunk.is_dir():
        chunk = next(p for p in chunk.rglob("*") if p.is_file())
    chunk.unlink()  # zarr would read the missing chunk as zeros: the digest says otherwise
    b = pl.StreamingProfile.load(path)  # the older checkpoint and the journal after it
    assert_same_stream(a, b)
    # a record cut short by a kill in the middle of its write: never acknowledged, ignored
    last = sorted((path / "journal").iterdir())[-1]
    last.write_bytes(last.read_bytes()[:-3])
    c = pl.StreamingProfile.load(path)
    assert c.n_seen == a.n_seen - 1
    for f in (path / "checkpoints").iterdir():
        if f.name.isdigit():
            for z in f.rglob("zarr.json"):
                z.write_text("{}")
    with pytest.raises(pl.StoreDataError, match="no complete, verified stream checkpoint"):
        pl.StreamingProfile.load(path)


def test_load_errors(tmp_path, redis_url):
    with pytest.raises(pl.StoreError):
        pl.StreamingProfile.load(tmp_path / "nothing.zarr")
    lib = pl.PatternLibrary(window=8)
    lib.save(tmp_path / "lib.zarr")
    with pytest.raises(pl.StoreError, match="not a streaming-profile"):
        pl.StreamingProfile.load(tmp_path / "lib.zarr")
    with pytest.raises(pl.InvalidParameterError, match="name="):
        pl.StreamingProfile.load(redis_url)
    with pytest.raises(pl.InvalidParameterError, match="only for Redis"):
        pl.StreamingProfile.load(tmp_path / "x.zarr", name="a")
    with pytest.raises(pl.StoreError, match="no stream"):
        pl.StreamingProfile.load(redis_url, name="never-written")
    with pl.RedisPatternStore(redis_url, namespace="t") as store:
        pl.StreamingProfile(stream()[:N0], M).save(store, name="bad")
        key = "t:stream:{streaming-profile:bad}:ckpt"
        store.client.hset(key, "a:F", b"\x00" * 16)
        with pytest.raises(pl.StoreDataError, match="damaged"):
            pl.StreamingProfile.load(store, name="bad")


CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    import patternlab as pl
    S = np.load(sys.argv[1])
    target, name = sys.argv[2], (sys.argv[3] or None)
    sp = pl.StreamingProfile(S[:{n0}], {m}, store=target, name=name, checkpoint_every=97)
    print("ready", flush=True)
    for x in range({n0}, len(S)):
        sp.update(S[x])
        print(sp.n_seen, flush=True)  # acknowledged: update() returned
        time.sleep(0.001)
""").format(n0=N0, m=M)


def run_and_kill(tmp_path: Path, target: str, name: str, kill_after: int) -> int:
    """Stream in a child process, SIGKILL it once it has acknowledged ``kill_after`` samples;
    returns the last acknowledged sample count."""
    S = stream(1400)
    np.save(tmp_path / "S.npy", S)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "S.npy"), target, name],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    acked = 0
    deadline = time.monotonic() + 240
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip().isdigit():
                acked = int(line)
                if acked >= kill_after:
                    os.kill(proc.pid, signal.SIGKILL)  # no clean-up, no last checkpoint
                    break
            elif line.strip() != "ready":
                raise AssertionError(line)
            assert time.monotonic() < deadline
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return acked


@pytest.mark.parametrize("where", ["zarr", "redis"])
def test_sigkill_loses_no_acknowledged_sample(tmp_path, redis_url, where):
    target = str(tmp_path / "live.zarr") if where == "zarr" else redis_url
    name = "" if where == "zarr" else f"live-{tmp_path.name}"
    acked = run_and_kill(tmp_path, target, name, kill_after=N0 + 150)
    S = np.load(tmp_path / "S.npy")
    sp = pl.StreamingProfile.load(target, name=name or None)
    # every acknowledged sample is there; the call in flight at the kill is there whole or not at all
    assert acked <= sp.n_seen <= acked + 1
    sp.extend(S[sp.n_seen:])  # the source resumes where the stream says
    full = pl.StreamingProfile(S[:N0], M)
    full.extend(S[N0:])
    assert_same_stream(sp, full)
    sp.close()


def test_approximate_profile_in_redis(redis_url):
    T = stream()[:400]
    a = pl.approximate_profile(T, M, percentage=0.2, seed=4)
    with pl.RedisPatternStore(redis_url, namespace="t") as store:
        a.save(store, name="walk")
        b = pl.ApproximateProfile.load(store, name="walk")
    assert b.diagonals_done == a.diagonals_done
    a.update()
    b.update()
    for f in ("P", "I", "PL", "IL", "PR", "IR"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


def test_a_durable_stream_rebuilt_at_a_new_scale(tmp_path):
    S = stream()
    S[700:] *= 1e150  # far beyond the first samples' scale: the state is rebuilt
    a = pl.StreamingProfile(S[:N0], M, store=tmp_path / "d.zarr", checkpoint_every=1000)
    a.extend(S[N0:690])
    for x in S[690:720]:
        a.update(x)
    b = pl.StreamingProfile.load(tmp_path / "d.zarr")
    assert_same_stream(a, b)
    records = sorted(p.name for p in (tmp_path / "d.zarr" / "journal").iterdir())
    assert len(records) == len(set(r.split("-")[0] for r in records)) == 31  # each call once
