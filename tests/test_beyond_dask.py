"""The multi-dimensional profile, the consensus motif and the pan matrix profile on a real Dask
cluster (one LocalCluster with two worker processes for the whole module): identical, bit for
bit, to the in-process results, in many small tasks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from distributed import Client, LocalCluster

import patternlab as pl
import patternlab.profiles.consensus as consensus
import patternlab.profiles.multi as multi


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as c:
            yield c


def _walks(d: int, n: int, seed: int) -> np.ndarray:
    return np.cumsum(np.random.default_rng(seed).standard_normal((d, n)), axis=1)


def test_multi_profile_on_cluster_is_identical(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(multi, "TILES", (97, 13))  # small tiles: many tasks, edges everywhere
    monkeypatch.setattr(multi, "BANDS_PER_TASK", 8)
    T = _walks(3, 700, 97)
    T[1, 300:320] = np.nan  # non-finite and constant stretches straddle tiles and tasks
    T[2, 500:600] = 1.0
    submitted: list[int] = []
    real_submit = client.submit

    def counting_submit(fn, *args, **kw):  # type: ignore[no-untyped-def]
        submitted.append(max(a.Tc.shape[1] for a in args[:2]))
        return real_submit(fn, *args, **kw)

    monkeypatch.setattr(client, "submit", counting_submit)
    for kw in ({}, {"include": [2, 0], "discords": True}):
        local = pl.matrix_profile(T, 40, **kw)  # type: ignore[call-overload]
        remote = pl.matrix_profile(T, 40, client=client, **kw)  # type: ignore[call-overload]
        np.testing.assert_array_equal(local.P, remote.P)
        np.testing.assert_array_equal(local.I, remote.I)
    assert len(submitted) > 30 and max(submitted) < 300  # many tasks, none handed the whole series


@pytest.mark.parametrize(("fraction", "tasks_per_thread"), [(1.0, 16), (0.5, 2)])
def test_consensus_motif_on_cluster_is_identical(client: Client, monkeypatch: pytest.MonkeyPatch,
                                                 fraction: float, tasks_per_thread: int) -> None:
    monkeypatch.setattr(consensus, "TASKS_PER_THREAD", tasks_per_thread)  # 2: ten series a task
    rng = np.random.default_rng(int(fraction * 10))
    shape = np.sin(np.linspace(0, 3 * np.pi, 30)) * 3
    Ts = [rng.standard_normal(int(rng.integers(150, 250))) * 0.3 for _ in range(40)]
    for k, T in enumerate(Ts[:30]):  # in 30 of the 40 series
        T[k + 10:k + 40] += shape
    local = pl.consensus_motif(Ts, 30, fraction=fraction)
    remote = pl.consensus_motif(Ts, 30, fraction=fraction, client=client)
    assert local == remote
    if fraction < 1:
        assert local.series < 30 and abs(local.index - (local.series + 10)) <= 2


def test_pan_profile_on_cluster_is_identical(client: Client) -> None:
    T = np.cumsum(np.random.default_rng(3).standard_normal(1200))
    T[500:510] = np.nan
    local = pl.pan_profile(T, 10, 200, step=10, n=7)
    remote = pl.pan_profile(T, 10, 200, step=10, n=7, client=client)
    for a, b in zip(local.P, remote.P):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(local.run().pan(), remote.run().pan())

