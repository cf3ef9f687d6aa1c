"""The anytime profile: exact distances at every stage, the exact profile at 100 %, an order that
depends only on the seed, the diagonal kernel against its NumPy twin, checkpoints, and Dask tasks
on a real LocalCluster identical to the in-process result."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from distributed import Client, LocalCluster

import patternlab as pl
import reference as ref
from checks import assert_profile_matches
from patternlab.kernels import anytime as ak
from patternlab.kernels import exact
from patternlab.profiles.anytime import diagonal_order
from test_streaming import CASES, FIELDS, assert_equal_to_batch


def assert_same(a, b) -> None:
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


def assert_exact_distances(ap: pl.ApproximateProfile, want: ref.Profile) -> None:
    """Every neighbour named is at the distance reported (an approximate profile is an upper bound
    made of true distances)."""
    for P, I in ((ap.PL, ap.IL), (ap.PR, ap.IR)):
        ok = I >= 0
        np.testing.assert_allclose(P[ok], want.D[np.flatnonzero(ok), I[ok]], rtol=0, atol=1e-8)
        assert np.isinf(P[~ok]).all()
    assert (ap.P >= want.P - 1e-8).all()


@pytest.mark.parametrize("prescan", [True, False])
@pytest.mark.parametrize("case", ["walk", "nan_inf", "constant", "offset", "repeats"])
def test_refines_to_the_exact_profile(case, prescan):
    T = CASES[case]
    m = 12
    want = ref.matrix_profile(T, m)
    ap = pl.approximate_profile(T, m, percentage=0.2, seed=5, prescan=prescan)
    before = ap.P
    while not ap.exact:
        assert_exact_distances(ap, want)
        ap.update()
        assert (ap.P <= before).all()  # only ever improves
        before = ap.P
    assert ap.progress == 1.0 and ap.diagonals_done == len(diagonal_order(len(ap), m, 5))
    assert_equal_to_batch(ap, T, m)  # the same definition of equal as the streaming profile
    assert_profile_matches(ap.profile(), want)
    n = ap.diagonals_done
    assert ap.update().diagonals_done == n  # nothing left to do


def test_order_depends_only_on_the_seed():
    a, b = diagonal_order(500, 20, 7), diagonal_order(500, 20, 7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, diagonal_order(500, 20, 8))
    assert sorted(a.tolist()) == list(range(6, 500))
    T = CASES["walk"]
    x = pl.approximate_profile(T, 12, percentage=0.1, seed=3)
    y = pl.approximate_profile(T, 12, percentage=0.1, seed=3)
    assert_same(x, y)
    z = pl.approximate_profile(T, 12, percentage=0.1, seed=4)
    assert not np.array_equal(x.PR, z.PR)


@pytest.mark.parametrize("case", ["walk", "nan_inf", "constant"])
def test_diagonal_kernel_against_its_twin(case):
    T = CASES[case][:200]
    m = 10
    ap = pl.approximate_profile(T, m, percentage=1.0, seed=0, prescan=False)
    Tc, mu, s, e, df, dg, q = ap._w
    diags = np.random.default_rng(1).choice(np.arange(4, 191), 40, replace=False).astype(np.int64)
    n = len(ap)
    PL, PR = np.full(n, np.inf), np.full(n, np.inf)
    IL, IR = np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    ak.diagonals_serial(Tc, mu, s, e, df, dg, q, m, diags, PL, IL, PR, IR)
    want = ref.restricted_profile(T, m, diags)
    got = pl.MatrixProfile(*exact.nearest_of(PL, IL, PR, IR), PL, IL, PR, IR, m, 3, True, "float64")
    assert_profile_matches(got, want)
    # the parallel variant, with more threads than chunks and several chunks per thread: the same
    xPL, xPR, xIL, xIR = (np.full(n, np.inf), np.full(n, np.inf), np.full(n, -1, dtype=np.int64),
                          np.full(n, -1, dtype=np.int64))
    ak.diagonals(Tc, mu, s, e, df, dg, q, m, diags, xPL, xIL, xPR, xIR, 3)
    for a, b in ((PL, xPL), (IL, xIL), (PR, xPR), (IR, xIR)):
        np.testing.assert_array_equal(a, b)


def test_save_and_load_resume_the_same_run(tmp_path):
    T = CASES["nan_inf"]
    a = pl.approximate_profile(T, 12, percentage=0.15, seed=9)
    a.update()
    a.save(tmp_path / "ap.zarr")
    b = pl.ApproximateProfile.load(tmp_path / "ap.zarr")
    assert_same(a, b)
    assert (b.seed, b.percentage, b.diagonals_done) == (a.seed, a.percentage, a.diagonals_done)
    a.update()
    b.update()
    assert_same(a, b)
    c = pl.approximate_profile(T, 12, percentage=0.15, seed=9)
    c.update()
    c.update()
    assert_same(a, c)
    with pytest.raises(pl.StoreError):
        pl.StreamingProfile.load(tmp_path / "ap.zarr")  # another kind of checkpoint


@pytest.mark.parametrize("bad", [
    {"percentage": 0}, {"percentage": 1.5}, {"percentage": "1%"}, {"seed": -1}, {"seed": 1.5},
    {"prescan": "yes"}, {"client": "tcp://nowhere:1"},
])
def test_bad_options(bad):
    with pytest.raises(pl.InvalidParameterError):
        pl.approximate_profile(CASES["walk"], 12, **bad)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as c:
            yield c


def test_on_a_cluster_identical_to_in_process(client):
    T = CASES["constant"]
    local = pl.approximate_profile(T, 12, percentage=0.1, seed=2)
    remote = pl.approximate_profile(T, 12, percentage=0.1, seed=2, client=client)
    assert_same(local, remote)
    local.update(0.3)
    remote.update(0.3, client=client)
    assert_same(local, remote)
    local.update(1.0)
    remote.update(1.0, client=client)
    assert remote.exact
    assert_same(local, remote)
