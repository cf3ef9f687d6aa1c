"""The matrix profile tiled over a real Dask cluster (separate worker processes) equals the
in-process one, bit for bit."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from distributed import Client, LocalCluster

import patternlab as pl
import patternlab.profiles.matrix as profile

FIELDS = ("P", "I", "PL", "IL", "PR", "IR")


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with LocalCluster(n_workers=2, threads_per_worker=2, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as c:
            yield c


def assert_identical(a: pl.MatrixProfile, b: pl.MatrixProfile) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.dtype == b.dtype


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("R", "K"), [(8192, 512), (300, 16), (97, 5)])
def test_self_join_on_cluster_is_identical(client: Client, monkeypatch: pytest.MonkeyPatch, dtype: str,
                                           R: int, K: int) -> None:
    monkeypatch.setitem(profile.TILES, np.dtype(dtype).type, (R, K))
    rng = np.random.default_rng(R + K)
    T = np.cumsum(rng.standard_normal(3000))
    T[700:720] = np.nan  # non-finite and constant stretches straddle tiles and tasks
    T[1500:1600] = 3.0
    local = pl.matrix_profile(T, 40, dtype=dtype)
    remote = pl.matrix_profile(T, 40, dtype=dtype, client=client)
    assert_identical(local, remote)


def test_ab_join_on_cluster_is_identical(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(profile.TILES, np.float64, (211, 13))
    rng = np.random.default_rng(5)
    A, B = np.cumsum(rng.standard_normal(2500)), np.cumsum(rng.standard_normal(1700))
    assert_identical(pl.matrix_profile(A, 30, B), pl.matrix_profile(A, 30, B, client=client))
    assert_identical(pl.matrix_profile(B, 30, A), pl.matrix_profile(B, 30, A, client=client))


def test_tasks_read_only_their_slices(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many bounded tasks, none of them handed the whole series."""
    from patternlab.profiles import _tiling as _dprofile

    monkeypatch.setitem(profile.TILES, np.float64, (500, 50))
    monkeypatch.setattr(_dprofile, "BANDS_PER_TASK", 4)
    seen: list[int] = []
    real_scatter = client.scatter

    def spy(data, *args, **kwargs):
        (slices,) = data  # one task's slices, scattered as one tuple
        seen.append(max(len(a) for a in slices))
        return real_scatter(data, *args, **kwargs)

    monkeypatch.setattr(client, "scatter", spy)
    T = np.cumsum(np.random.default_rng(9).standard_normal(6000))
    remote = pl.matrix_profile(T, 50, client=client)
    assert len(seen) > 20 and max(seen) < 1000
    assert_identical(pl.matrix_profile(T, 50), remote)


@pytest.mark.parametrize("options", [{}, {"k": 3}, {"normalize": False}])
def test_a_worker_killed_mid_run_changes_nothing(monkeypatch: pytest.MonkeyPatch, options: dict) -> None:
    """The nearest-neighbour profile, k nearest neighbours and non-normalized profiles on Dask:
    each task's slices are scattered (never in the graph); SIGKILL to a worker once the first
    batch of tasks has finished, and the tasks whose scattered slices died with it are scattered
    and submitted again: the profile is the in-process one, bit for bit."""
    import os
    import signal

    from patternlab.profiles import _tiling

    monkeypatch.setitem(profile.TILES, np.float64, (500, 50))
    monkeypatch.setattr(_tiling, "BANDS_PER_TASK", 2)
    T = np.cumsum(np.random.default_rng(11 if not options else 12).standard_normal(8000))
    keys: list[str] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        victim = next(iter(c.run(os.getpid).values()))
        real_tasks = _tiling._scattered_tasks
        real_submit = c.submit

        def kill_after_the_first_batch(*args, **kwargs):
            batches = real_tasks(*args, **kwargs)
            yield next(batches)
            os.kill(victim, signal.SIGKILL)
            yield from batches

        def count(fn, *args, **kwargs):  # tasks submitted, by key: a repeated key is a resubmission
            keys.append(kwargs["key"])
            assert not any(isinstance(a, np.ndarray) for a in args)  # slices travel scattered
            return real_submit(fn, *args, **kwargs)

        monkeypatch.setattr(_tiling, "_scattered_tasks", kill_after_the_first_batch)
        monkeypatch.setattr(c, "submit", count)
        remote = pl.matrix_profile(T, 50, client=c, **options)
    local = pl.matrix_profile(T, 50, **options)
    if not options:
        assert_identical(local, remote)
    for f in FIELDS_K:
        np.testing.assert_array_equal(getattr(local, f), getattr(remote, f))
    assert len(keys) > len(set(keys)), "no task lost its inputs: the kill came too late"


def test_bad_client_is_refused() -> None:
    with pytest.raises(pl.InvalidParameterError, match=r"client must be a distributed\.Client"):
        pl.matrix_profile(np.arange(100.0), 10, client="tcp://127.0.0.1:8786")


FIELDS_K = ("P", "I", "PL", "IL", "PR", "IR")


@pytest.mark.parametrize(("options", "R", "K"), [
    ({"k": 3}, 300, 64),
    ({"k": 2, "dtype": "float32"}, 97, 32),
    ({"normalize": False}, 211, 48),
    ({"normalize": False, "p": 1.5, "k": 3}, 8192, 512),
])
def test_neighbour_lists_on_cluster_are_identical(client: Client, monkeypatch: pytest.MonkeyPatch,
                                                  options: dict, R: int, K: int) -> None:
    """k nearest neighbours and non-normalized profiles: self- and AB-joins on Dask equal the
    in-process ones bit for bit (the lists fold in any order to the same result)."""
    monkeypatch.setitem(profile.TILES, np.float64, (R, K))
    monkeypatch.setitem(profile.TILES, np.float32, (R, K))
    rng = np.random.default_rng(R)
    T = np.cumsum(rng.standard_normal(1400))
    T[700:720] = np.nan
    T[1000:1060] = 3.0
    B = np.cumsum(rng.standard_normal(600))
    for args in ((T, 30), (B, 30, T)):
        local = pl.matrix_profile(*args, **options)
        remote = pl.matrix_profile(*args, client=client, **options)
        assert_identical(local, remote)
        assert local.P.ndim == (1 if "k" not in options else 2)


def test_non_normalized_match_on_cluster_is_identical(client: Client,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from patternlab.profiles import search

    monkeypatch.setattr(search, "BLOCK_WINDOWS", 300)
    rng = np.random.default_rng(21)
    series = [np.cumsum(rng.standard_normal(n)) for n in (900, 120, 1500)]
    series[2][[5, 600]] = np.nan
    Q = series[0][100:140]
    for p in (2.0, 3.0):
        assert pl.match(Q, series, normalize=False, p=p, client=client) == \
            pl.match(Q, series, normalize=False, p=p)
        assert pl.match(Q, series[2], 40.0, normalize=False, p=p, client=client) == \
            pl.match(Q, series[2], 40.0, normalize=False, p=p)
