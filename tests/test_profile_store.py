"""Matrix profiles streamed to zarr (``out=``), read back checked (``pl.open_profile``), and a
distributed run that resumes after its client is killed (a real SIGKILL of a real process, on a
LocalCluster with separate worker processes), bit for bit."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import zarr
from distributed import Client, LocalCluster

import patternlab as pl
import patternlab.profiles.matrix as profile
from patternlab.profiles import _store, _tiling

FIELDS = ("P", "I", "PL", "IL", "PR", "IR")


def assert_identical(a: pl.MatrixProfile, b: pl.MatrixProfile) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.m, a.exclusion_zone, a.self_join, a.dtype) == (b.m, b.exclusion_zone, b.self_join, b.dtype)


def series(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    T = np.cumsum(rng.standard_normal(n))
    T[n // 5:n // 5 + 17] = np.nan  # non-finite and constant stretches straddle chunks
    T[n // 2:n // 2 + 90] = 1.5
    return T


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 1,000 windows: a profile of a few thousand windows spans several."""
    monkeypatch.setattr(_store, "CHUNK", 1000)


# -- out= in process -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_stored_self_join_is_the_in_memory_one(tmp_path: Path, small_chunks: None, dtype: str) -> None:
    T = series(4321, 1)
    mem = pl.matrix_profile(T, 32, dtype=dtype)
    stored = pl.matrix_profile(T, 32, dtype=dtype, out=tmp_path / "mp.zarr")
    assert isinstance(stored, pl.StoredProfile) and stored.complete and len(stored) == len(mem)
    assert_identical(stored.load(), mem)
    again = pl.open_profile(tmp_path / "mp.zarr")
    np.testing.assert_array_equal(again.read("P", 999, 2501), mem.P[999:2501])
    np.testing.assert_array_equal(again.read("IL", 4000), mem.IL[4000:])
    assert "self-join" in repr(again) and "float64 distances" in repr(again)


def test_float32_output_and_ab_join_and_zarr_input(tmp_path: Path, small_chunks: None) -> None:
    A, B = series(3000, 2), np.cumsum(np.random.default_rng(3).standard_normal(2200))
    za = zarr.create_array(tmp_path / "A.zarr", shape=A.shape, dtype=A.dtype, chunks=(700,))
    za[:] = A
    mem = pl.matrix_profile(A, 25, B)
    stored = pl.matrix_profile(za, 25, B, out=str(tmp_path / "ab.zarr"), out_dtype="float32")
    assert stored.out_dtype == "float32" and not stored.self_join
    back = stored.load()
    np.testing.assert_array_equal(back.I, mem.I)
    np.testing.assert_array_equal(back.P, mem.P.astype(np.float32).astype(np.float64))
    assert np.isinf(back.PL).all() and (back.IR == -1).all()
    assert stored.read("P").dtype == np.float32


def test_a_complete_store_is_returned_and_another_profile_refused(tmp_path: Path) -> None:
    T = series(1500, 4)
    path = tmp_path / "mp.zarr"
    first = pl.matrix_profile(T, 20, out=path)
    mtime = os.stat(path / "P" / "zarr.json").st_mtime_ns
    again = pl.matrix_profile(T, 20, out=path)  # the same profile: found, not recomputed
    assert os.stat(path / "P" / "zarr.json").st_mtime_ns == mtime
    assert_identical(first.load(), again.load())
    with pytest.raises(pl.StoreError, match=r"holds another profile.*overwrite=True"):
        pl.matrix_profile(T, 21, out=path)
    with pytest.raises(pl.StoreError, match="holds another profile"):
        pl.matrix_profile(T + 1e-9, 20, out=path)
    assert_identical(pl.matrix_profile(T, 21, out=path, overwrite=True).load(), pl.matrix_profile(T, 21))


def test_bad_out_arguments_are_refused(tmp_path: Path) -> None:
    T = series(500, 5)
    with pytest.raises(pl.InvalidParameterError, match="out must be a path"):
        pl.matrix_profile(T, 20, out=123)  # type: ignore[call-overload]
    with pytest.raises(pl.InvalidParameterError, match=r"dtype=int64"):
        pl.matrix_profile(T, 20, out=tmp_path / "x.zarr", out_dtype="int64")
    with pytest.raises(pl.InvalidParameterError, match="True or False"):
        pl.matrix_profile(T, 20, out=tmp_path / "x.zarr", overwrite="yes")  # type: ignore[call-overload]
    with pytest.raises(pl.StoreError, match="no matrix profile"):
        pl.open_profile(tmp_path / "nothing.zarr")
    zarr.open_group(str(tmp_path / "other.zarr"), mode="w")
    with pytest.raises(pl.StoreError, match="not a matrix profile store"):
        pl.open_profile(tmp_path / "other.zarr")


# -- nothing silently wrong ----------------------------------------------------------------------
@pytest.fixture
def stored(tmp_path: Path, small_chunks: None) -> tuple[Path, pl.MatrixProfile]:
    T = series(3500, 6)
    pl.matrix_profile(T, 30, out=tmp_path / "mp.zarr")
    return tmp_path / "mp.zarr", pl.matrix_profile(T, 30)


def _chunk_file(path: Path, name: str, c: int) -> Path:
    return path / name / "c" / str(c)


@pytest.mark.parametrize("name", FIELDS)
def test_a_missing_chunk_is_found(stored: tuple[Path, pl.MatrixProfile], name: str) -> None:
    path, mem = stored
    _chunk_file(path, name, 2).unlink()  # zarr would read it as fill values
    sp = pl.open_profile(path)
    np.testing.assert_array_equal(sp.read(name, 0, 2000), getattr(mem, name)[:2000])  # chunks 0, 1
    with pytest.raises(pl.StoreDataError, match=rf"{name} chunk 2 does not match its digest"):
        sp.read(name)
    with pytest.raises(pl.StoreDataError, match="overwrite=True"):
        sp.load()


def test_a_flipped_or_truncated_chunk_is_found(stored: tuple[Path, pl.MatrixProfile]) -> None:
    path, _ = stored
    f = _chunk_file(path, "I", 1)
    raw = bytearray(f.read_bytes())
    raw[len(raw) // 2] ^= 0x40
    f.write_bytes(bytes(raw))
    with pytest.raises(pl.StoreDataError, match="I chunk 1 cannot be read"):
        pl.open_profile(path).read("I")
    g = _chunk_file(path, "PR", 0)
    g.write_bytes(g.read_bytes()[:10])
    with pytest.raises(pl.StoreDataError, match="PR chunk 0 cannot be read"):
        pl.open_profile(path).read("PR")


def test_damaged_attributes_and_an_unfinished_profile_are_found(
        stored: tuple[Path, pl.MatrixProfile]) -> None:
    path, _ = stored
    g = zarr.open_group(str(path), mode="r+")
    g.attrs["m"] = 31  # without the digest
    with pytest.raises(pl.StoreDataError, match="do not match their digest"):
        pl.open_profile(path)
    g.attrs["m"] = 30
    _store.seal_attrs(g, {"complete": False})
    with pytest.raises(pl.StoreDataError, match="incomplete"):
        pl.open_profile(path).read("P")
    g["P"].attrs[_store.CHUNK_DIGESTS] = []
    _store.seal_attrs(g, {"complete": True})
    with pytest.raises(pl.StoreDataError, match="no chunk digests"):
        pl.open_profile(path).read("P")


# -- resumable on a cluster ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c


RUN = textwrap.dedent("""
    import sys
    import numpy as np
    from distributed import Client
    import patternlab as pl
    import patternlab.profiles.matrix as profile
    from patternlab.profiles import _store, _tiling

    address, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    profile.TILES[np.float64] = (128, 8)
    _store.CHUNK = 1000
    _tiling.BANDS_PER_TASK = 16
    rng = np.random.default_rng(1)
    T = np.cumsum(rng.standard_normal(n)); T[n // 5:n // 5 + 17] = np.nan; T[n // 2:n // 2 + 90] = 1.5
    with Client(address) as client:
        pl.matrix_profile(T, 30, client=client, out=path)
    print("finished")
""")


def _done(path: Path) -> tuple[int, int]:
    try:
        d = zarr.open_group(str(path), mode="r")["state/0/done"]
        flags = np.asarray(d[:])
        return int(flags.sum()), len(flags)
    except Exception:  # not created yet
        return 0, 1


def _patched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(profile.TILES, np.float64, (128, 8))
    monkeypatch.setattr(_store, "CHUNK", 1000)
    monkeypatch.setattr(_tiling, "BANDS_PER_TASK", 16)


def test_a_killed_client_resumes_bit_for_bit(cluster: LocalCluster, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    n = 3000
    path = tmp_path / "mp.zarr"
    proc = subprocess.Popen([sys.executable, "-c", RUN, cluster.scheduler_address, str(path), str(n)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done, total = _done(path)
        if done >= 0.4 * total or proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, (out, err)  # killed, not finished
    done_at_kill, total = _done(path)
    assert 0 < done_at_kill < total
    assert not pl.open_profile(path).complete

    _patched(monkeypatch)
    rng = np.random.default_rng(1)
    T = np.cumsum(rng.standard_normal(n))
    T[n // 5:n // 5 + 17] = np.nan
    T[n // 2:n // 2 + 90] = 1.5
    submitted: list[int] = []
    with Client(cluster) as client:
        real_submit = client.submit

        def count(fn, *args, **kwargs):
            submitted.append(1)
            return real_submit(fn, *args, **kwargs)

        monkeypatch.setattr(client, "submit", count)
        resumed = pl.matrix_profile(T, 30, client=client, out=path, progress=True)
    # only the tasks not recorded (a batch may have finished after the last poll, before the kill)
    assert 0 < len(submitted) <= total - done_at_kill
    assert _done(path) == (total, total)
    assert_identical(resumed.load(), pl.matrix_profile(T, 30))


def test_lost_state_chunks_are_recomputed(cluster: LocalCluster, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A state chunk that is missing or torn (a kill during its write) is reset, and every task
    that reached it runs again; the result is the uninterrupted one."""
    _patched(monkeypatch)
    T = series(2500, 7)
    path = tmp_path / "mp.zarr"
    with Client(cluster) as client:
        pl.matrix_profile(T, 30, client=client, out=path)
        g = zarr.open_group(str(path), mode="r+")
        _store.seal_attrs(g, {"complete": False})  # as if killed before the output was written
        (path / "state" / "0" / "colP" / "c" / "1").unlink()
        f = path / "state" / "0" / "rowI" / "c" / "0"
        f.write_bytes(f.read_bytes()[:-3])
        total = len(np.asarray(g["state/0/done"][:]))
        submitted: list[int] = []
        real_submit = client.submit

        def count(fn, *args, **kwargs):
            submitted.append(1)
            return real_submit(fn, *args, **kwargs)

        monkeypatch.setattr(client, "submit", count)
        resumed = pl.matrix_profile(T, 30, client=client, out=path)
    assert 0 < len(submitted) < total
    assert_identical(resumed.load(), pl.matrix_profile(T, 30))


def test_ab_join_on_a_cluster_to_a_store(cluster: LocalCluster, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _patched(monkeypatch)
    A, B = series(1800, 8), series(1300, 9)
    with Client(cluster) as client:
        stored = pl.matrix_profile(A, 24, B, client=client, out=tmp_path / "ab.zarr")
    assert_identical(stored.load(), pl.matrix_profile(A, 24, B))
    shutil.rmtree(tmp_path / "ab.zarr")
