"""Assertions and inputs shared by the test modules: a library profile against the naive reference,
and random walks carrying a planted sine for the learning and store tests."""

from __future__ import annotations

import math

import numpy as np

import reference as ref

#: Reported distances are computed directly in float64 by the library, like the reference.
ATOL = 1e-8


def assert_distances_equal(got, want, atol: float = ATOL, err_msg: str = "") -> None:
    """Finite distances within ``atol``; infinities exactly in the same places."""
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want), err_msg=f"inf mask {err_msg}")
    assert not np.isnan(got).any(), f"NaN distance {err_msg}"
    np.testing.assert_allclose(got, want, rtol=0, atol=atol, err_msg=err_msg)


def exact_tie(want: ref.Profile, i: int, j: int, k: int, copies: bool = True) -> bool:
    """Whether neighbours ``j`` and ``k`` of window ``i`` are at the same distance by construction,
    not by rounding: through the constant-window rule (``i`` constant: every non-constant window is
    at sqrt(m), every constant one at 0; ``j`` and ``k`` both constant), or, with ``copies``,
    because windows ``j`` and ``k`` hold exactly the same samples."""
    if want.D[i, j] != want.D[i, k]:
        return False
    if want.kind_A[i] == "constant":
        return True
    if want.kind_B[j] == "constant" and want.kind_B[k] == "constant":
        return True
    return copies and bool(np.array_equal(want.W_B[j], want.W_B[k]))


def assert_neighbours_match(
    P, I, want: ref.Profile, side: str = "", atol: float = ATOL, copies: bool = True
) -> None:
    """Distances as the reference's; ``I`` names a neighbour at the reference's best distance
    (rounding may order near-equal distances differently); where that best distance is shared by
    construction (:func:`exact_tie`) it names the smallest such neighbour, as the reference does.

    ``side`` is ``"L"`` (left neighbours: ``PL``/``IL``), ``"R"`` or ``""`` (``P``/``I``).
    """
    want_P, want_I = {"": (want.P, want.I), "L": (want.PL, want.IL), "R": (want.PR, want.IR)}[side]
    P, I = np.asarray(P), np.asarray(I)
    assert I.dtype == np.int64, I.dtype
    assert_distances_equal(P, want_P, atol, err_msg=f"P{side}")
    np.testing.assert_array_equal(I == -1, np.isinf(want_P), err_msg=f"I{side} == -1 where P{side} is inf")
    D = want.D
    for i in np.flatnonzero(I != want_I):
        j, k = int(I[i]), int(want_I[i])
        assert 0 <= j < D.shape[1], f"I{side}[{i}] = {j} out of range"
        if side == "L":
            assert j < i, f"IL[{i}] = {j} is not left of {i}"
        if side == "R":
            assert j > i, f"IR[{i}] = {j} is not right of {i}"
        assert D[i, j] - D[i, k] <= atol, (
            f"I{side}[{i}] = {j} at reference distance {D[i, j]!r}, but {k} is nearer ({D[i, k]!r})"
        )
        assert not exact_tie(want, i, j, k, copies), (
            f"I{side}[{i}] = {j}: an exact tie with {k} (both at {D[i, k]!r}) must go to the smaller index"
        )
    # every reported distance is the reference distance of the reported neighbour
    ok = I >= 0
    np.testing.assert_allclose(
        P[ok], D[np.flatnonzero(ok), I[ok]], rtol=0, atol=atol, err_msg=f"P{side} vs distance to I{side}"
    )


def assert_profile_matches(mp, want: ref.Profile, atol: float = ATOL, copies: bool = True) -> None:
    """A library :class:`~patternlab.MatrixProfile` agrees with the naive reference profile.

    ``copies=False`` accepts any of several exact repeats of a window as its neighbour (for data
    built to repeat itself; the smallest-index rule for repeats has its own test).
    """
    assert len(mp) == want.P.shape[0]
    assert_neighbours_match(mp.P, mp.I, want, "", atol, copies)
    assert_neighbours_match(mp.PL, mp.IL, want, "L", atol, copies)
    assert_neighbours_match(mp.PR, mp.IR, want, "R", atol, copies)


def check_profile_invariants(mp, n_A: int, m: int, n_B: int | None = None) -> None:
    """Structural properties every profile has, whatever the data (no reference needed)."""
    ell = n_A - m + 1
    ell_B = ell if n_B is None else n_B - m + 1
    assert len(mp) == ell and mp.m == m
    assert mp.self_join == (n_B is None)
    for name in ("P", "PL", "PR"):
        arr = getattr(mp, name)
        assert arr.dtype == np.float64 and arr.shape == (ell,), name
        assert not np.isnan(arr).any(), name
        assert (arr >= 0).all(), name
    for name in ("I", "IL", "IR"):
        arr = getattr(mp, name)
        assert arr.dtype == np.int64 and arr.shape == (ell,), name
        assert ((arr >= -1) & (arr < ell_B)).all(), name
    for P, I in ((mp.P, mp.I), (mp.PL, mp.IL), (mp.PR, mp.IR)):
        np.testing.assert_array_equal(I == -1, np.isinf(P))
    if mp.self_join:
        ez = math.ceil(m / 4)
        assert mp.exclusion_zone == ez
        np.testing.assert_array_equal(mp.P, np.minimum(mp.PL, mp.PR))
        idx = np.arange(ell)
        assert (mp.IL[mp.IL >= 0] < idx[mp.IL >= 0] - ez).all()
        assert (mp.IR[mp.IR >= 0] > idx[mp.IR >= 0] + ez).all()
        assert ((mp.I == mp.IL) | (mp.I == mp.IR)).all()
    else:
        assert mp.exclusion_zone == 0
        assert np.isinf(mp.PL).all() and np.isinf(mp.PR).all()
        assert (mp.IL == -1).all() and (mp.IR == -1).all()


def planted_sines(n: int, length: int, seed: int = 0, *, vary: bool = True) -> list[np.ndarray]:
    """``n`` random walks of ``length`` samples, each carrying three copies of one sine period of
    32 samples (amplitude 4, or 4, 4.4, 4.8 in turn with ``vary``)."""
    rng = np.random.default_rng(seed)
    shape = np.sin(np.linspace(0, 2 * np.pi, 32))
    out = []
    for i in range(n):
        T = np.cumsum(rng.standard_normal(length)) * 0.3
        for at in rng.choice(length - 40, 3, replace=False):
            T[at:at + 32] += 4 * shape * (1 + 0.1 * (i % 3)) if vary else 4 * shape
        out.append(T)
    return out
