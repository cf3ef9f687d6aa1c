"""Exact pruning of the matching kernels: the pruned kernels return the brute force's arrays bit
for bit (fixed, seeded random and hypothesis inputs; ties; thresholds exactly at a correlation;
NaN/inf and constant windows), and their bounds hold against the NumPy twins."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference as ref
from patternlab._bounds import PrototypeBounds
from patternlab._validation import unit_scaled
from patternlab.engine import _window_data
from patternlab.kernels import matching, pruning


def _same(a, b) -> None:
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def _signal(rng: np.random.Generator, n: int, special: bool) -> np.ndarray:
    T = np.cumsum(rng.standard_normal(n))
    if special:
        T[n // 4:n // 4 + 50] = -3.0  # constant windows
        T[n // 2] = np.nan
        T[(3 * n) // 4] = -np.inf
        T[n // 3:n // 3 + 30] = 1e6 + 1e-3 * rng.standard_normal(30)  # flat next to the values
    return T


def _prepared(T: np.ndarray, w: int):
    usable, Tm, s = _window_data(unit_scaled(T), w)
    return Tm, s, usable


def _prototypes(rng: np.random.Generator, Tm, usable, w: int, L: int, kind: str) -> np.ndarray:
    if kind == "random":
        return np.stack([matching.unit_normalize(rng.standard_normal(w)) for _ in range(L)])
    if kind == "walk":
        return np.stack([matching.unit_normalize(np.cumsum(rng.standard_normal(w))) for _ in range(L)])
    idx = rng.choice(np.flatnonzero(usable), L)  # windows of the signal: correlations near 1
    return np.stack([matching.unit_normalize(np.ascontiguousarray(Tm[i:i + w])) for i in idx])


def _check(Z, Tm, s, usable, thr) -> tuple[np.ndarray, ...]:
    Z = np.ascontiguousarray(Z)
    want = matching.match_prototypes_serial(Z, Tm, s, usable, thr)
    _same(pruning.match_prototypes_pruned_serial(Z, Tm, s, usable, thr), want)
    _same(pruning.match_prototypes_pruned(Z, Tm, s, usable, thr), want)
    f = PrototypeBounds().features(Z, len(Z))  # the features a library keeps
    for kernel in (pruning.match_prototypes_kept, pruning.match_prototypes_kept_serial):
        _same(kernel(Z, f.P1, f.P2, f.P3, f.q, f.zsum, Tm, s, usable, thr), want)
    return want


@pytest.mark.parametrize("kind", ["random", "walk", "own"])
@pytest.mark.parametrize("w", [3, 16, 37, 64])
@pytest.mark.parametrize("special", [False, True])
def test_pruned_matches_are_the_brute_force_matches(rng: np.random.Generator, kind: str, w: int,
                                                     special: bool) -> None:
    Tm, s, usable = _prepared(_signal(rng, 700, special), w)
    Z = _prototypes(rng, Tm, usable, w, 60, kind)
    found = 0
    for thr in (0.0, 0.5, 0.7, 0.9, 0.99, 1.0):
        found += len(_check(Z, Tm, s, usable, thr)[0])
    assert kind == "random" or found > 0


def test_threshold_exactly_at_a_correlation_and_ties(rng: np.random.Generator) -> None:
    w = 32
    Tm, s, usable = _prepared(_signal(rng, 900, True), w)
    Z = _prototypes(rng, Tm, usable, w, 25, "own")
    Z = np.vstack([Z, Z[:6]])  # duplicated prototypes match the same windows with equal values
    corr = matching.match_prototypes_serial(np.ascontiguousarray(Z), Tm, s, usable, 0.6)[2]
    assert len(corr)
    for thr in np.unique(corr)[:: max(1, len(np.unique(corr)) // 15)]:
        got = _check(Z, Tm, s, usable, float(thr))
        assert float(thr) in got[2]  # the window at exactly the threshold is reported
        assert np.all(got[2] >= thr)


def test_periodic_signal_with_equal_correlations(rng: np.random.Generator) -> None:
    """A periodic signal repeats windows exactly: equal correlations at many offsets."""
    w = 20
    T = np.tile(rng.standard_normal(40), 20)
    Tm, s, usable = _prepared(T, w)
    Z = _prototypes(rng, Tm, usable, w, 30, "own")
    got = _check(Z, Tm, s, usable, 0.95)
    assert len(got[0]) >= 30


def test_agrees_with_the_numpy_correlations(rng: np.random.Generator) -> None:
    """Away from the threshold (a margin far above rounding), the pruned kernel finds the windows
    that the naive correlation finds, with the same values to 1e-12."""
    w = 24
    T = _signal(rng, 400, False)
    T[[50, 51, 300]] = [np.nan, np.inf, np.nan]
    T[100:140] = 3.0
    Tm, s, usable = _prepared(T, w)
    Z = _prototypes(rng, Tm, usable, w, 12, "own")
    thr = 0.8
    pat, off, val = _check(Z, Tm, s, usable, thr)
    V = np.lib.stride_tricks.sliding_window_view(Tm, w)
    for p in range(len(Z)):
        naive = np.where(usable, np.clip((V @ Z[p]) * s, -1.0, 1.0), -np.inf)
        hits = off[pat == p]
        np.testing.assert_allclose(val[pat == p], naive[hits], atol=1e-12)
        clear = np.flatnonzero(naive >= thr + 1e-9)
        for i in clear:  # every clear hit is taken, or blocked by a taken window near it
            assert np.any(np.abs(hits - i) < w)


def test_empty_library_and_no_usable_window() -> None:
    w = 8
    Tm, s, usable = _prepared(np.r_[np.zeros(30), np.arange(10.0)], w)
    Z = np.zeros((0, w))
    assert all(len(x) == 0 for x in pruning.match_prototypes_pruned_serial(Z, Tm, s, usable, 0.5))
    Tc, s0, u0 = _prepared(np.r_[np.ones(40), [np.nan]], w)
    Z1 = np.ascontiguousarray(np.stack([matching.unit_normalize(np.arange(8.0))]))
    _same(pruning.match_prototypes_pruned_serial(Z1, Tc, s0, u0, 0.0),
          matching.match_prototypes_serial(Z1, Tc, s0, u0, 0.0))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 400), w=st.integers(3, 40),
       L=st.integers(1, 40), thr=st.floats(-1.0, 1.0), kind=st.sampled_from(["random", "walk", "own"]),
       special=st.booleans(), at=st.booleans())
def test_hypothesis_pruned_equals_brute_force(seed, n, w, L, thr, kind, special, at) -> None:
    rng = np.random.default_rng(seed)
    w = min(w, n - 1)
    T = _signal(rng, n, special) if n >= 200 or not special else np.cumsum(rng.standard_normal(n))
    Tm, s, usable = _prepared(T, w)
    if not usable.any():
        return
    Z = _prototypes(rng, Tm, usable, w, L, kind)
    if at:  # the threshold at a correlation some pair reaches
        c = matching.match_prototypes_serial(np.ascontiguousarray(Z), Tm, s, usable, -1.0)[2]
        thr = float(c[len(c) // 2]) if len(c) else thr
    _check(Z, Tm, s, usable, thr)


# ------------------------------------------------------------------------------ nearest pattern
@pytest.mark.parametrize("kind", ["random", "walk", "own"])
def test_pruned_nearest_is_the_brute_force_nearest(rng: np.random.Generator, kind: str) -> None:
    w = 40
    Tm, _, usable = _prepared(_signal(rng, 800, False), w)
    Z = _prototypes(rng, Tm, usable, w, 300, kind)
    Z = np.ascontiguousarray(np.vstack([Z, Z[:20]]))  # exact ties
    C = _prototypes(rng, Tm, usable, w, 50, "own")
    C = np.ascontiguousarray(np.vstack([C, Z[:10], np.zeros((2, w))]))  # exact hits, no shape
    for nz in (0, 1, 17, len(Z)):
        want = matching.nearest_prototypes_serial(C, Z, nz)
        _same(pruning.nearest_prototypes_pruned_serial(C, Z, nz), want)
        _same(pruning.nearest_prototypes_pruned(C, Z, nz), want)
    idx, _ = matching.nearest_prototypes_serial(C, Z, len(Z))
    assert np.all(idx[len(C) - 12:len(C) - 2] == np.arange(10))  # the first of equal maxima
    twin = np.array([max(range(len(Z)), key=lambda p, c=c: (round(float(Z[p] @ c), 12), -p))
                     for c in C[:-2]])
    np.testing.assert_array_equal(idx[:-2], twin)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), w=st.integers(3, 70), L=st.integers(1, 60),
       nc=st.integers(1, 20))
def test_hypothesis_pruned_nearest(seed, w, L, nc) -> None:
    rng = np.random.default_rng(seed)
    Z = np.stack([matching.unit_normalize(np.cumsum(rng.standard_normal(w))) for _ in range(L)])
    Z = np.ascontiguousarray(np.vstack([Z, Z[: L // 2]]))
    C = np.stack([matching.unit_normalize(np.cumsum(rng.standard_normal(w))) for _ in range(nc)])
    C = np.ascontiguousarray(np.vstack([C, Z[: min(3, L)]]))
    _same(pruning.nearest_prototypes_pruned_serial(C, Z, len(Z)),
          matching.nearest_prototypes_serial(C, Z, len(Z)))


# ------------------------------------------------------------------------------------- bounds
@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), w=st.integers(3, 90), k=st.sampled_from([1, 2, 4, 8, 16, 32]))
def test_segment_bounds_hold(seed, w, k) -> None:
    rng = np.random.default_rng(seed)
    k = min(k, w)
    a = ref.unit(np.cumsum(rng.standard_normal(w)))
    b = ref.unit(rng.standard_normal(w) if seed % 2 else np.cumsum(rng.standard_normal(w)))
    assert ref.segment_bound(a, b, k) <= math.sqrt(math.fsum((a - b) ** 2)) + 1e-12
    assert math.fsum(a * b) <= ref.angle_bound(a, b, k) + 1e-12


@pytest.mark.parametrize("w", [3, 17, 64, 100])
def test_kernel_features_match_the_twin(rng: np.random.Generator, w: int) -> None:
    V = np.ascontiguousarray(np.stack([ref.unit(np.cumsum(rng.standard_normal(w))) for _ in range(5)]))
    k1, k2, k3 = (min(k, w) for k in pruning.PAA_LEVELS)
    F1, F2, F3, q, E = pruning._features(V, k1, k2, k3)
    for p in range(len(V)):
        for F, k in ((F1, k1), (F2, k2), (F3, k3)):
            y, r = ref.segment_features(V[p], k)
            np.testing.assert_allclose(F[p, :k], y, atol=1e-13)
            assert abs(F[p, k] - r) <= 1e-7  # a residual norm near 0 is a square root of rounding
        assert q[p] == pytest.approx(1.0, abs=1e-13)
        # the energy profile: orthogonal parts, so its squares add up to |v|^2 and it bounds dots
        assert np.all(E[p] >= 0) and float(E[p] @ E[p]) == pytest.approx(q[p], abs=1e-12)
        for o in range(len(V)):
            assert float(V[p] @ V[o]) <= float(E[p] @ E[o]) + 1e-12
        if k3 == 2 * k2 == 4 * k1:  # nested levels: the first part is the 8-segment one
            assert E[p, 0] == pytest.approx(math.hypot(*ref.segment_features(V[p], k1)[0]), abs=1e-12)
