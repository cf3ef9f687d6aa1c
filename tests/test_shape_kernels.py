"""The library's shape kernels against their NumPy twins (tests/reference.py): the complexity
estimate, the complexity-corrected nearest prototype, lag-aligned correlations and the shifted
candidate windows, on seeded inputs with constant rows, NaN and edge cases."""

from __future__ import annotations

import numpy as np
import pytest

import reference as ref
from patternlab.kernels.matching import unit_normalize
from patternlab.kernels.shape import (
    complexity,
    lagged_correlations,
    lagged_correlations_pruned,
    nearest_corrected,
    shifted_units,
)


def units(rng: np.random.Generator, n: int, w: int, walk: bool = False) -> np.ndarray:
    rows = [np.cumsum(rng.standard_normal(w)) if walk else rng.standard_normal(w) for _ in range(n)]
    return np.stack([ref.unit(r) for r in rows])


@pytest.mark.parametrize("w", [3, 8, 64])
def test_complexity(w: int) -> None:
    rng = np.random.default_rng(w)
    Z = np.vstack([units(rng, 5, w), units(rng, 5, w, walk=True), np.zeros((1, w))])
    got = complexity(Z, len(Z))
    want = [ref.complexity(z) for z in Z]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    t = np.linspace(0, 1, 64)
    line, step = complexity(np.stack([ref.unit(t), ref.unit(t > 0.5)]), 2)
    assert line == pytest.approx(np.sqrt(12 / 64), rel=0.01) and step == pytest.approx(2.0)


def test_nearest_corrected() -> None:
    rng = np.random.default_rng(1)
    C, Z = units(rng, 6, 16), units(rng, 9, 16, walk=True)
    cc, cz = complexity(C, 6), complexity(Z, 9)
    for nz in (0, 1, 9):
        idx, val = nearest_corrected(C, cc, Z, cz, nz)
        ridx, rval = ref.nearest_corrected(C, cc, Z[:nz], cz[:nz])
        np.testing.assert_array_equal(idx, ridx)
        np.testing.assert_allclose(val, rval, atol=1e-12)
    assert ref.corrected(0.9, 2.0, 2.0) == pytest.approx(0.9)
    assert ref.corrected(0.9, 1.0, 2.0) == pytest.approx(0.6)


@pytest.mark.parametrize("lag, use_cid", [(0, False), (3, False), (4, True)])
def test_lagged_correlations(lag: int, use_cid: bool) -> None:
    rng = np.random.default_rng(lag)
    A, B = units(rng, 4, 16, walk=True), units(rng, 5, 16, walk=True)
    A[1] = np.roll(B[2], 2)  # a shifted copy: found at lag -2 (B's row moved right by 2)
    ca, cb = complexity(A, 4), complexity(B, 5)
    R, D = lagged_correlations(A, ca, B, cb, 5, lag, use_cid)
    rR, rD = ref.lagged_correlations(A, ca, B, cb, lag, 0, use_cid)
    np.testing.assert_allclose(R, rR, atol=1e-9)
    np.testing.assert_array_equal(D, rD)
    if lag >= 2 and not use_cid:
        assert D[1, 2] == 2 and R[1, 2] > 0.999


@pytest.mark.parametrize("lag, use_cid", [(0, False), (3, False), (6, True), (16, True), (32, True),
                                          (32, False)])
def test_lagged_correlations_pruned_keeps_every_value_that_reaches_the_threshold(lag: int,
                                                                                 use_cid: bool) -> None:
    rng = np.random.default_rng(10 + lag)
    w = 64
    A = np.concatenate([units(rng, 6, w, walk=True), units(rng, 3, w)])
    B = np.concatenate([units(rng, 40, w, walk=True), units(rng, 40, w)])
    A[1] = np.roll(B[2], 3)  # shifted copies, and a row flat but for one end (tiny overlaps' variance)
    A[2] = unit_normalize(np.r_[np.zeros(w - 4), 1.0, -1.0, 2.0, 0.5])
    B[5] = unit_normalize(np.r_[1.0, -2.0, 0.5, np.zeros(w - 3)])
    B[6] = A[0] + 1e-9 * rng.standard_normal(w)
    B[7] = 0.0  # no complexity: corrected to -1 against any shape
    ca, cb = complexity(A, len(A)), complexity(B, len(B))
    R, D = lagged_correlations(A, ca, B, cb, len(B), lag, use_cid)
    for thr in (0.5, 0.7, 0.9, float(np.sort(R, axis=None)[-5]), float(np.median(R))):
        Rp, Dp = lagged_correlations_pruned(A, ca, B, cb, len(B), lag, use_cid, thr)
        hit = R >= thr
        assert hit.any()
        np.testing.assert_array_equal(Rp[hit], R[hit])  # bit for bit
        np.testing.assert_array_equal(Dp[hit], D[hit])
        assert np.all(Rp[~hit] == -np.inf) and np.all(Dp[~hit] == 0)


def test_shifted_units() -> None:
    rng = np.random.default_rng(5)
    T = np.cumsum(rng.standard_normal(40))
    T[30:33] = np.nan
    for at, lag in [(0, 3), (10, 4), (24, 6), (5, 0)]:
        C, d = shifted_units(T, at, 8, lag)
        rC, rd = ref.shifted_units(T, at, 8, lag)
        np.testing.assert_array_equal(d, rd)
        np.testing.assert_allclose(C, rC, atol=1e-12)
        assert d[0] == 0
