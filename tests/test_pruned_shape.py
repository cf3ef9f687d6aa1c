"""The pruned nearest-pattern search of large libraries decides exactly as the brute force:
wherever the best complexity-corrected correlation reaches the threshold, the same pattern and
the same value bit for bit, ties and thresholds included; and the lagged comparison of patterns
(the fold of shifted copies) against its NumPy twin."""

from __future__ import annotations

import numpy as np
import pytest

import reference as ref
from patternlab._bounds import PrototypeBounds
from patternlab.kernels.matching import unit_normalize
from patternlab.kernels.shape import (
    complexity,
    nearest_corrected,
    nearest_corrected_kept,
    nearest_corrected_pruned,
)

W = 32


def _units(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    out = np.empty((n, W))
    for k in range(n):
        if kind == "walk":
            x = np.cumsum(rng.standard_normal(W + 8))
            s = int(rng.integers(0, 9))
            out[k] = unit_normalize(x[s:s + W])
        else:
            out[k] = unit_normalize(rng.standard_normal(W))
    return out


def _library(seed: int, kind: str, n: int = 300) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Z = _units(rng, n, kind)
    Z[10] = Z[3]  # exact ties
    Z[20] = Z[3]
    base = np.cumsum(rng.standard_normal(W + 10))
    for k, d in enumerate((0, 2, 5, 9)):  # shifted copies of one shape
        Z[40 + k] = unit_normalize(base[d:d + W])
    Z[60, : W // 2] = 0.0  # a stretch held constant
    Z[60] = unit_normalize(Z[60])
    return Z


@pytest.mark.parametrize("kind", ["walk", "noise"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nearest_pruned_decides_as_the_brute_force(kind: str, seed: int) -> None:
    Z = _library(seed, kind)
    n = len(Z)
    cz = complexity(Z, n)
    cz[70] = 0.0  # a zero complexity is always measured
    rng = np.random.default_rng(100 + seed)
    C = np.vstack([Z[[3, 41, 60]], _units(rng, 20, kind)])
    C[5] = 0.999 * Z[7] + 0.001 * C[5]
    C = np.array([unit_normalize(c) for c in C])
    cc = complexity(C, len(C))
    idx, val = nearest_corrected(C, cc, Z, cz, n)
    ridx, rval = ref.nearest_corrected(C, cc, Z, cz)
    np.testing.assert_array_equal(idx, ridx)
    np.testing.assert_allclose(val, rval, atol=1e-12)
    assert idx[0] == 3 and val[0] == pytest.approx(1.0)  # a tie of three patterns: the first
    thresholds = [-1.0, 0.3, 0.7, 0.9, float(np.sort(val)[len(val) // 2]), float(val.max())]
    f = PrototypeBounds().features(Z, n)
    for thr in thresholds:
        for m in (n, 257, 1):
            widx, wval = nearest_corrected(C, cc, Z, cz, m)
            reach = wval >= thr
            for pidx, pval in (nearest_corrected_pruned(C, cc, Z, cz, m, thr),
                               nearest_corrected_kept(C, cc, Z, cz, f.P1, f.q, m, thr)):
                np.testing.assert_array_equal(pidx[reach], widx[reach])
                np.testing.assert_array_equal(pval[reach], wval[reach])  # bit for bit
                assert (pval[~reach] < thr).all()  # never a reach the brute force does not see
    assert nearest_corrected_pruned(C, cc, Z, cz, 0, 0.5)[0].tolist() == [-1] * len(C)
