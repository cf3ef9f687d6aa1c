"""Agreement with STUMPY's ``stump`` (self-joins and AB-joins).

STUMPY compiles for about 20 s on first use, so all comparisons live in this one module and use
few, small inputs. Distances agree within 1e-6 (STUMPY computes them by a running recurrence);
indices agree except where the two neighbours are a genuine tie, i.e. at the same distance in the
naive reference.
"""

from __future__ import annotations

import numpy as np
import pytest
import stumpy

import patternlab as pl
import reference as ref

TOL = 1e-6


def _rng():
    return np.random.default_rng(41)


def _self_cases():
    rng = _rng()
    walk = np.cumsum(rng.standard_normal(250))
    nan = rng.standard_normal(200)
    nan[[0, 60, 61, 62, 63, 150, 199]] = [np.nan, np.nan, np.inf, np.nan, -np.inf, np.nan, np.inf]
    const = np.concatenate([rng.standard_normal(40), np.zeros(20), rng.standard_normal(40), np.full(12, 3.0)])
    return {
        "random m=20": (rng.standard_normal(300), 20),
        "random m=3": (rng.standard_normal(120), 3),
        "walk m=31": (walk, 31),
        "nonfinite m=10": (nan, 10),
        "constant stretches m=6": (const, 6),
        "zeros20+ones5 m=4": (np.concatenate([np.zeros(20), np.ones(5)]), 4),
        "zeros10+ones10 m=3": (np.concatenate([np.zeros(10), np.ones(10)]), 3),
        "wide m=3": (np.array([584.0, -11, 23, 79, 1001, 0, -19]), 3),
        "uniform1000 n=8": (rng.uniform(-1000, 1000, 8), 3),
        "uniform1000 n=64": (rng.uniform(-1000, 1000, 64), 5),
    }


def _ab_cases():
    rng = _rng()
    A = rng.standard_normal(90)
    B = rng.standard_normal(70)
    A_nan, B_nan = A.copy(), B.copy()
    A_nan[[5, 40, 41]] = np.nan
    B_nan[[0, 33, 69]] = [np.inf, np.nan, np.nan]
    z20o5 = np.concatenate([np.zeros(20), np.ones(5)])
    z10o10 = np.concatenate([np.zeros(10), np.ones(10)])
    wide_A = np.array([9.0, 8100, -60, 7])
    wide_B = np.array([584.0, -11, 23, 79, 1001, 0, -19])
    return {
        "random": (A, B, 12),
        "nonfinite": (A_nan, B_nan, 7),
        "wide AB": (wide_A, wide_B, 3),
        "wide BA": (wide_B, wide_A, 3),
        "constant AB": (z20o5, z10o10, 4),
        "constant BA": (z10o10, z20o5, 4),
        "uniform1000": (rng.uniform(-1000, 1000, 64), rng.uniform(-1000, 1000, 8), 3),
    }


SELF = _self_cases()
AB = _ab_cases()


def _same_or_tie(ours, theirs, D, label):
    """Equal indices, or two neighbours at the same reference distance."""
    np.testing.assert_array_equal(ours == -1, theirs == -1, err_msg=f"{label}: -1 positions")
    for i in np.flatnonzero(ours != theirs):
        a, b = int(ours[i]), int(theirs[i])
        assert abs(D[i, a] - D[i, b]) <= TOL, (
            f"{label}[{i}]: patternlab says {a} (reference distance {D[i, a]!r}), "
            f"stumpy says {b} ({D[i, b]!r}): not a tie"
        )


def _compare(mp, st, want, self_join):
    P_st = st[:, 0].astype(np.float64)
    I_st = st[:, 1].astype(np.int64)
    IL_st = st[:, 2].astype(np.int64)
    IR_st = st[:, 3].astype(np.int64)
    np.testing.assert_array_equal(np.isinf(mp.P), np.isinf(P_st))
    np.testing.assert_allclose(mp.P, P_st, rtol=0, atol=TOL)
    _same_or_tie(mp.I, I_st, want.D, "I")
    if self_join:
        _same_or_tie(mp.IL, IL_st, want.D, "IL")
        _same_or_tie(mp.IR, IR_st, want.D, "IR")
    else:
        assert (IL_st == -1).all() and (IR_st == -1).all()
        assert (mp.IL == -1).all() and (mp.IR == -1).all()


@pytest.mark.parametrize("name", list(SELF))
def test_self_join_matches_stumpy(name):
    T, m = SELF[name]
    mp = pl.matrix_profile(T, m)
    st = stumpy.stump(T, m)
    _compare(mp, st, ref.matrix_profile(T, m), self_join=True)


# STUMPY warns when many distances of an AB-join are ~0 (it suspects a self-join); the constant
# cases are meant to be like that.
@pytest.mark.filterwarnings("ignore:A large number of values in `P` are smaller than:UserWarning")
@pytest.mark.parametrize("name", list(AB))
def test_ab_join_matches_stumpy(name):
    TA, TB, m = AB[name]
    mp = pl.matrix_profile(TA, m, T_B=TB)
    st = stumpy.stump(TA, m, TB, ignore_trivial=False)
    _compare(mp, st, ref.matrix_profile(TA, m, TB), self_join=False)


def test_exclusion_zone_matches_stumpy():
    # same convention: |i - j| <= ceil(m / 4)
    for m in (3, 4, 5, 8, 9, 17, 100):
        assert pl.matrix_profile(
            np.random.default_rng(m).standard_normal(4 * m + 10), m
        ).exclusion_zone == int(np.ceil(m / stumpy.config.STUMPY_EXCL_ZONE_DENOM))
