"""The matching kernels (``patternlab.kernels.matching``) against their naive twins in
``reference.py``: prototype normalization, nearest prototypes, the Gram matrix, prototype
matching in a signal and edge detection."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import patternlab as pl
import reference as ref
from patternlab.kernels import matching

EPS = float(np.finfo(np.float64).eps)
#: Correlations of unit vectors of a few hundred samples: a few ulps of 1, with room.
TOL = 1e-12


def _random_unit(rng: np.random.Generator, k: int, w: int) -> np.ndarray:
    return np.array([ref.unit_normalize(rng.standard_normal(w)) for _ in range(k)]).reshape(k, w)


# ---------------------------------------------------------------------------- unit_normalize


def _assert_unit_agrees(x) -> None:
    """The kernel's unit window is the twin's, to the rounding of the window's mean."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    got = matching.unit_normalize(x)
    want = ref.unit_normalize(x)
    assert got.shape == want.shape and got.dtype == np.float64
    if not want.any():
        np.testing.assert_array_equal(got, 0.0)  # exactly zeros: callers test ``z.any()``
        return
    y = ref.pow2_scaled(x)
    spread = math.hypot(*(y - math.fsum(y) / len(y)))
    # the mean is rounded (to ~len(x) ulps of the largest value): every output moves by that
    # error over the spread
    atol = 1e-13 + 16 * len(x) * EPS / spread
    np.testing.assert_allclose(got, want, rtol=0, atol=atol)
    assert abs(math.fsum(got)) <= len(x) * atol and abs(math.hypot(*got) - 1.0) <= 1e-12


def _unit_case(kind: str) -> np.ndarray:
    rng = np.random.default_rng(11)
    x = rng.standard_normal(37)
    return {
        "normal": x,
        "offset_1e6": 1e6 + x,
        "tiny": 1e-300 * x,
        "huge": 1e300 * x,
        "near_max": np.where(x > 0, 1.7e308, -1.7e308) * np.abs(np.tanh(x)),  # sums overflow
        "subnormal": 5e-324 * np.round(3 * x),
        "steps": np.repeat([0.0, 3.0, -1.0, 3.0], 9),
        "two": np.array([2.0, -7.0]),
        "ulp_jitter": np.array([1.0, 1.0, 1.0 + EPS, 1.0]),  # a shape here, unlike is_constant
    }[kind]


@pytest.mark.parametrize(
    "kind", ["normal", "offset_1e6", "tiny", "huge", "near_max", "subnormal", "steps", "two", "ulp_jitter"]
)
def test_unit_normalize_matches_reference(kind):
    x = _unit_case(kind)
    assert ref.unit_normalize(x).any()
    _assert_unit_agrees(x)


@pytest.mark.parametrize(
    "x",
    [[3.0] * 8, [0.0] * 5, [7.5], [-1e300] * 4, [1.0, np.nan, 2.0], [np.inf, 1.0, 2.0],
     [1.0, 2.0, -np.inf], [np.nan] * 3, []],
    ids=["constant", "zeros", "one", "huge_constant", "nan", "inf", "-inf", "all_nan", "empty"],
)
def test_unit_normalize_is_zero_without_a_shape(x):
    assert not ref.unit_normalize(x).any()
    _assert_unit_agrees(x)


def test_unit_normalize_is_scale_and_offset_free():
    x = np.random.default_rng(12).standard_normal(50)
    z = matching.unit_normalize(x)
    for k in (-900, -20, 3, 700):  # a power of two is exact: the same bits
        np.testing.assert_array_equal(matching.unit_normalize(np.ldexp(x, k)), z)
    np.testing.assert_allclose(matching.unit_normalize(3.7 * x - 12.0), z, rtol=0, atol=1e-13)
    np.testing.assert_allclose(matching.unit_normalize(-x), -z, rtol=0, atol=1e-13)


# ------------------------------------------------------------------------ nearest_prototypes


def _assert_nearest_agrees(C, Z, nz: int) -> None:
    """Correlations as the twin's; the index is the twin's, or one within rounding of the best
    correlation -- but never a later copy of the same prototype (an exact tie: smallest wins)."""
    C = np.ascontiguousarray(C, dtype=np.float64)
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    idx, val = matching.nearest_prototypes(C, Z, nz)
    want_idx, want_val = ref.nearest_prototypes(C, Z, nz)
    assert idx.dtype == np.int64 and val.dtype == np.float64 and idx.shape == val.shape == (len(C),)
    np.testing.assert_array_equal(idx == -1, want_idx == -1)
    np.testing.assert_allclose(val, want_val, rtol=0, atol=TOL)
    for c in np.flatnonzero(idx != want_idx):
        j, k = int(idx[c]), int(want_idx[c])
        assert 0 <= j < nz, (c, j, nz)
        assert ref.gram(np.stack([C[c], Z[j]]), 2)[0, 1] >= want_val[c] - TOL, (c, j, k)
        assert not np.array_equal(Z[j], Z[k]), f"candidate {c}: prototypes {k} and {j} are copies: {k} wins"


def test_nearest_prototypes_on_fixed_inputs():
    rng = np.random.default_rng(13)
    w = 24
    Z = np.full((8, w), np.nan)  # capacity 8, 5 prototypes: the spare rows must not be read
    Z[:5] = _random_unit(rng, 5, w)
    Z[3] = Z[1]  # a duplicate prototype: ties go to index 1
    near4 = ref.unit_normalize(Z[4] + 0.1 * rng.standard_normal(w))
    C = np.stack([Z[0], Z[1], Z[3], -Z[2], np.zeros(w), near4, *_random_unit(rng, 4, w)])
    _assert_nearest_agrees(C, Z, 5)
    idx, val = matching.nearest_prototypes(C, Z, 5)
    assert idx[:3].tolist() == [0, 1, 1] and idx[5] == 4
    assert np.all(val[:3] <= 1.0) and np.all(val[:3] >= 1.0 - TOL)  # clipped, never above 1
    assert idx[3] != 2 and val[3] < 1.0
    assert idx[4] == 0 and val[4] == 0.0  # no shape: 0 with everything, the first index


def test_nearest_prototypes_empty_library_and_no_candidates():
    w = 6
    C = _random_unit(np.random.default_rng(14), 3, w)
    idx, val = matching.nearest_prototypes(C, np.full((4, w), np.nan), 0)
    assert idx.tolist() == [-1, -1, -1] and val.tolist() == [-np.inf] * 3
    _assert_nearest_agrees(C, np.zeros((0, w)), 0)
    idx, val = matching.nearest_prototypes(np.zeros((0, w)), C, 3)
    assert idx.shape == val.shape == (0,)


@pytest.mark.parametrize(("nc", "nz", "w"), [(1, 1, 3), (7, 30, 16), (64, 200, 50), (300, 9, 129)])
def test_nearest_prototypes_random(nc, nz, w):
    rng = np.random.default_rng(nc * 1000 + nz)
    Z = _random_unit(rng, nz, w)
    C = _random_unit(rng, nc, w)
    C[: min(nc, nz) // 2] = Z[: min(nc, nz) // 2]  # some candidates are prototypes
    _assert_nearest_agrees(C, Z, nz)
    _assert_nearest_agrees(C, Z, nz // 2)  # only the first half of the library


# ------------------------------------------------------------------------------------- gram


@pytest.mark.parametrize(("n", "w"), [(0, 5), (1, 5), (2, 3), (17, 40), (120, 64)])
def test_gram_matches_reference(n, w):
    rng = np.random.default_rng(15 + n)
    Z = np.full((n + 3, w), np.nan)  # spare rows: never read
    Z[:n] = _random_unit(rng, n, w)
    if n > 2:
        Z[2] = -Z[0]  # an opposite shape: -1, clipped
    G = matching.gram(Z, n)
    assert G.shape == (n, n) and G.dtype == np.float64
    np.testing.assert_allclose(G, ref.gram(Z, n), rtol=0, atol=TOL)
    assert np.all(np.abs(G) <= 1.0)
    np.testing.assert_allclose(np.diag(G), 1.0, rtol=0, atol=TOL)
    np.testing.assert_allclose(G, G.T, rtol=0, atol=TOL)
    if n > 2:
        assert G[0, 2] <= -1.0 + TOL


# -------------------------------------------------------------------------- match_prototypes


class Case:
    """One signal and window length, prepared once: the kernel's inputs as ``perceive`` hands the
    signal to ``match_prototypes``, and both sides' correlations per prototype (memoized; the
    twins are slow)."""

    def __init__(self, T, w: int) -> None:
        self.T, self.w = np.asarray(T, dtype=np.float64), w
        # scaled by a power of two, centred on the mean of the finite samples, non-finite samples
        # set to 0; usable: finite and not constant (the reference's flags on the signal's own
        # windows); s = 1 / ||x - mean(x)|| where usable, else 0
        S = ref.pow2_scaled(self.T)
        finite = np.isfinite(S)
        centre = math.fsum(S[finite]) / finite.sum() if finite.any() else 0.0
        self.Tc = np.ascontiguousarray(np.where(finite, S - centre, 0.0))
        valid, constant = ref.window_flags(self.T, w)
        self.usable = valid & ~constant
        self.s = np.zeros(len(self.usable))
        # perceive's one numerical rule beyond the flags: a window that centring flattens (its
        # squared deviations from the window mean vanish in float64: subnormal steps beside a
        # large value) is not usable; the twin's exact arithmetic would still see its shape
        self.flattened = np.zeros(len(self.usable), dtype=bool)
        for i in np.flatnonzero(self.usable):
            x = self.Tc[i : i + w]
            d = x - math.fsum(x) / w
            if math.fsum(d * d) == 0.0:
                self.usable[i] = False
                self.flattened[i] = True
                continue
            self.s[i] = 1.0 / math.hypot(*d)
        #: how far the kernel's correlation of each window may be from the exact one: the rounding
        #: of the centred samples, over the window's spread
        self.tol = 1e-12 + 32 * w * EPS * self.s
        self._got: dict[bytes, np.ndarray] = {}
        self._want: dict[bytes, np.ndarray] = {}

    def match(self, Z, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        Z = np.ascontiguousarray(np.reshape(Z, (-1, self.w)), dtype=np.float64)
        return matching.match_prototypes(Z, self.Tc, self.s, self.usable, threshold)

    def kernel_correlation(self, z) -> np.ndarray:
        z = np.ascontiguousarray(z, dtype=np.float64)
        if z.tobytes() not in self._got:
            out = np.empty(len(self.s))
            matching._correlate_one(z, self.Tc, self.s, self.usable, out)
            self._got[z.tobytes()] = out
        return self._got[z.tobytes()]

    def reference_correlation(self, z) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        if z.tobytes() not in self._want:
            self._want[z.tobytes()] = ref.prototype_correlation(z, self.T)
        return self._want[z.tobytes()]

    def assert_correlation_agrees(self, z) -> np.ndarray:
        """The kernel's sliding correlation is the twin's Pearson correlation, to :attr:`tol`;
        NO_MATCH in exactly the unusable windows. Returns the kernel's correlations."""
        got, want = self.kernel_correlation(z), self.reference_correlation(z)
        want = np.where(self.flattened, ref.NO_MATCH, want)
        np.testing.assert_array_equal(got == ref.NO_MATCH, want == ref.NO_MATCH)
        np.testing.assert_array_equal(got == ref.NO_MATCH, ~self.usable)
        ok = self.usable
        assert np.all(np.abs(got[ok]) <= 1.0)
        err = np.abs(got[ok] - want[ok]) - self.tol[ok]
        assert np.all(err <= 0), (np.flatnonzero(ok)[np.argmax(err)], err.max())
        return got

    def assert_follows_the_rule(self, Z, threshold: float) -> None:
        """``match_prototypes`` is the twin's selection (:func:`reference.peaks`) applied to the
        kernel's own correlations, exactly, assembled by pattern then offset."""
        Z = np.reshape(Z, (-1, self.w))
        pat, off, val = self.match(Z, threshold)
        assert pat.dtype == off.dtype == np.int64 and val.dtype == np.float64
        want_pat: list[int] = []
        want_off: list[int] = []
        for p in range(len(Z)):
            corr = self.kernel_correlation(Z[p])
            hits = ref.peaks(corr, threshold, self.w)
            assert _kernel_peaks(corr, threshold, self.w) == hits
            want_pat += [p] * len(hits)
            want_off += hits
        assert pat.tolist() == want_pat and off.tolist() == want_off
        np.testing.assert_array_equal(val, [self.kernel_correlation(Z[p])[o] for p, o in zip(pat, off)])

    def assert_matches_reference(self, Z, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Kernel and twin (the twin's selection on the twin's correlations): the same occurrences,
        correlations to :attr:`tol` (for inputs without near-ties: random data, or ties that are
        exact in both)."""
        Z = np.reshape(Z, (-1, self.w))
        got = self.match(Z, threshold)
        want_pat: list[int] = []
        want_off: list[int] = []
        for p in range(len(Z)):
            hits = ref.peaks(self.reference_correlation(Z[p]), threshold, self.w)
            want_pat += [p] * len(hits)
            want_off += hits
        assert got[0].tolist() == want_pat and got[1].tolist() == want_off
        want_val = np.array([self.reference_correlation(Z[p])[o] for p, o in zip(*got[:2])])
        assert np.all(np.abs(got[2] - want_val) <= self.tol[got[1]])
        return got


def _kernel_peaks(corr, threshold: float, w: int) -> list[int]:
    corr = np.asarray(corr, dtype=np.float64)
    n = len(corr)
    return matching._peaks(corr, threshold, w, np.empty(n, dtype=np.int64), np.empty(n)).tolist()


def _plant(T, shape, at: int, amplitude: float = 1.0, level: float = 0.0) -> None:
    T[at : at + len(shape)] = level + amplitude * shape


def test_peaks_rule_on_chosen_correlations():
    NO = ref.NO_MATCH
    corr = [0.5, 0.7, 0.7, 0.2, 0.9, 0.7, NO, 0.7, 0.7]
    # 4 first (strongest), then the 0.7s by offset: 1 (clear of 4), 2 overlaps 1, 5 overlaps 4,
    # 7 is clear, 8 overlaps 7
    assert ref.peaks(corr, 0.7, 2) == _kernel_peaks(corr, 0.7, 2) == [1, 4, 7]
    # the threshold exactly hit counts; one ulp above it does not
    assert ref.peaks(corr, 0.9, 2) == _kernel_peaks(corr, 0.9, 2) == [4]
    above = float(np.nextafter(0.9, 1.0))
    assert ref.peaks(corr, above, 2) == _kernel_peaks(corr, above, 2) == []
    # offsets exactly w apart do not overlap; w - 1 apart they do
    for w, want in [(2, [0, 2]), (3, [0])]:
        assert ref.peaks([1.0, 0.0, 1.0], 0.5, w) == _kernel_peaks([1.0, 0.0, 1.0], 0.5, w) == want
    # of two equal overlapping peaks the earlier wins
    assert ref.peaks([0.8, 0.8], 0.0, 2) == _kernel_peaks([0.8, 0.8], 0.0, 2) == [0]
    # threshold -1: every usable window qualifies, NO_MATCH never
    corr = [-1.0, NO, -1.0, NO]
    assert ref.peaks(corr, -1.0, 1) == _kernel_peaks(corr, -1.0, 1) == [0, 2]
    assert ref.peaks([], 0.5, 3) == _kernel_peaks([], 0.5, 3) == []
    assert ref.peaks([NO] * 4, 0.0, 1) == _kernel_peaks([NO] * 4, 0.0, 1) == []


def test_planted_shapes_are_matched_as_the_reference_matches_them():
    rng = np.random.default_rng(16)
    w = 40
    A, B = rng.standard_normal(w), rng.standard_normal(w)
    T = 0.3 * rng.standard_normal(1500)
    _plant(T, A, 100, 3.0)
    _plant(T, A, 500, 40.0, 1e3)  # scale and offset do not matter
    _plant(T, A, 700, -3.0)  # the opposite shape is no match
    _plant(T, B, 300, 2.0)
    _plant(T, B, 1100, 5.0, -8.0)
    _plant(T, A, 1300, 3.0)
    T[1310] = np.nan  # this copy of A cannot match: every window over it holds NaN
    T[850:950] = 4.0  # constant windows never match, whatever the threshold
    T[1000] = np.inf
    Z = np.stack([ref.unit_normalize(A), ref.unit_normalize(B)])
    case = Case(T, w)
    for threshold in (0.9, 0.6, 0.0, -1.0):
        pat, off, val = case.assert_matches_reference(Z, threshold)
        case.assert_follows_the_rule(Z, threshold)
        for p in range(2):  # one prototype's occurrences never overlap
            assert np.all(np.diff(off[pat == p]) >= w)
        for bad in (1310, 1000):
            assert not np.any((off > bad - w) & (off <= bad))
        assert not np.any((off >= 850) & (off <= 950 - w))
    # the whole twin, from the raw signal
    want = ref.match_prototypes(Z, T, 0.9)
    pat, off, val = case.match(Z, 0.9)
    assert pat.tolist() == want[0].tolist() and off.tolist() == want[1].tolist()
    assert list(zip(pat.tolist(), off.tolist())) == [(0, 100), (0, 500), (1, 300), (1, 1100)]
    assert np.all(val >= 0.9) and np.all(val <= 1.0)


def test_thresholds_exactly_hit():
    """A window whose correlation equals the threshold matches; one ulp above, it does not."""
    rng = np.random.default_rng(17)
    w = 16
    T = np.cumsum(rng.standard_normal(600))
    Z = np.stack([ref.unit_normalize(T[300 : 300 + w]), ref.unit_normalize(rng.standard_normal(w))])
    case = Case(T, w)
    pat, off, val = case.match(Z, 0.5)
    assert len(val) > 5
    for k in range(len(val)):
        c = float(val[k])
        p2, o2, _ = case.match(Z, c)
        mine = o2[p2 == pat[k]]
        assert off[k] in mine.tolist()  # exactly hit: still an occurrence
        # the occurrences at threshold c: those at 0.5 with correlation >= c (a stronger window
        # was never blocked by a weaker one)
        keep = (pat == pat[k]) & (val >= c)
        assert mine.tolist() == off[keep].tolist()
        case.assert_follows_the_rule(Z, c)
        p3, o3, _ = case.match(Z, float(np.nextafter(c, 2.0)))
        assert off[k] not in o3[p3 == pat[k]].tolist()


def test_exact_repeats_tie_and_the_earliest_wins():
    """A periodic signal: every window is an exact repeat of the one a period earlier, so its
    correlation ties bit for bit; overlapping repeats go to the earliest, wherever the windows
    fall in the kernel's blocks."""
    rng = np.random.default_rng(18)
    period, w = 7, 12  # repeats overlap: |i - j| = 7 < 12
    T = np.tile(rng.standard_normal(period), 300)  # 2100 samples: windows in three blocks
    z = ref.unit_normalize(T[3 : 3 + w] + 0.3 * rng.standard_normal(w))  # below 1: no clipping
    case = Case(T, w)
    corr = case.assert_correlation_agrees(z)
    phase = int(np.argmax(corr[:period]))
    reps = corr[phase::period]
    assert np.all(reps == reps[0]) and reps[0] < 1.0
    # from the first repeat, every second one (the one between overlaps the one taken), at the
    # threshold exactly hit; and just below it, where the twin's correlations (rounded their
    # own way) qualify too
    case.assert_follows_the_rule(z, float(reps[0]))
    every_other = list(range(phase, len(corr), 2 * period))
    assert case.match(z, float(reps[0]))[1].tolist() == every_other
    assert case.assert_matches_reference(z, float(reps[0]) - 1e-9)[1].tolist() == every_other


def test_two_prototypes_may_claim_the_same_window():
    rng = np.random.default_rng(19)
    w = 10
    shape = rng.standard_normal(w)
    T = rng.standard_normal(200)
    _plant(T, shape, 50, 4.0)
    Z = np.stack([ref.unit_normalize(shape), ref.unit_normalize(shape + 0.2 * rng.standard_normal(w))])
    pat, off, _ = Case(T, w).assert_matches_reference(Z, 0.8)
    assert 50 in off[pat == 0].tolist() and 50 in off[pat == 1].tolist()


def test_empty_library_matches_nothing():
    T = np.random.default_rng(20).standard_normal(100)
    case = Case(T, 8)
    for threshold in (-1.0, 0.0, 0.7):
        pat, off, val = case.match(np.zeros((0, 8)), threshold)
        assert pat.shape == off.shape == val.shape == (0,)
        assert (pat.dtype, off.dtype, val.dtype) == (np.int64, np.int64, np.float64)
        assert all(len(x) == 0 for x in ref.match_prototypes(np.zeros((0, 8)), T, threshold))


def test_signal_without_usable_windows_matches_nothing():
    z = ref.unit_normalize(np.arange(6.0))
    for T in (np.full(50, 2.0), np.full(50, np.nan), np.where(np.arange(50) % 5, 1.0, np.nan)):
        case = Case(T, 6)
        assert not case.usable.any()
        assert len(case.assert_matches_reference(z, -1.0)[0]) == 0
        assert len(ref.match_prototypes(z[None, :], T, -1.0)[0]) == 0


@pytest.mark.parametrize("kind", ["normal", "walk", "offset", "nonfinite", "constant_runs", "integers"])
@pytest.mark.parametrize("w", [3, 8, 33])
def test_match_prototypes_random(kind, w):
    rng = np.random.default_rng(21)
    T = rng.standard_normal(1100)  # more than one block of the sliding correlation
    if kind == "walk":
        T = np.cumsum(T)
    if kind == "offset":
        T = 1e4 + T
    if kind == "nonfinite":
        T[rng.integers(0, len(T), 30)] = np.nan
        T[[7, 1030]] = [np.inf, -np.inf]
    if kind == "constant_runs":
        T[100:300] = 0.0
        T[1000:1060] = 5.0
    if kind == "integers":
        T = np.round(2 * T)
    shapes = [T[o : o + w] for o in (40, 500, 1020)]
    shapes = [x for x in shapes if ref.is_valid(x) and not ref.is_constant(x)] + [rng.standard_normal(w)]
    Z = np.stack([ref.unit_normalize(x) for x in shapes])
    case = Case(T, w)
    for z in Z:
        case.assert_correlation_agrees(z)
    for threshold in (0.3, 0.8, 0.95):
        case.assert_follows_the_rule(Z, threshold)
        if kind != "integers":  # rounded data repeats windows: near-ties the twin may order apart
            case.assert_matches_reference(Z, threshold)


# ------------------------------------------------------------------------------------- edges


def _assert_edges_agree(T, threshold: float, radius: int) -> None:
    """The kernel's events are the twin's, except where a decision is within rounding: a jump
    within a few ulps of the threshold, or of a different jump it is compared with (a jump of
    exactly the same size is an exact tie in both, and must be decided as the twin does)."""
    T = np.ascontiguousarray(T, dtype=np.float64)
    got = matching.edges(T, threshold, radius)
    want = ref.edges(T, threshold, radius)
    assert got.dtype == np.int64
    if got.tolist() == want.tolist():
        return
    d = ref.jumps(T)
    S = ref.pow2_scaled(T)
    steps = np.where(np.isfinite(S[1:]) & np.isfinite(S[:-1]), np.abs(np.diff(S)), 0.0)
    close = 8 * EPS * np.maximum(d, threshold)
    for e in set(got.tolist()) ^ set(want.tolist()):
        i = e - 1
        near = range(max(0, i - radius), min(len(d), i + radius + 1))
        ambiguous = abs(d[i] - threshold) <= close[i] or any(
            steps[u] != steps[i] and abs(d[u] - d[i]) <= close[i] for u in near)
        assert ambiguous, f"event {e}: kernel {e in got.tolist()}, reference {e in want.tolist()}"


def test_edges_thresholds_exactly_hit():
    # [0, 0, 1, 1]: std 1/2, one jump of exactly 2 standard deviations
    T = np.array([0.0, 0.0, 1.0, 1.0])
    assert ref.jumps(T).tolist() == [0.0, 2.0, 0.0]
    for threshold, want in [(2.0, []), (float(np.nextafter(2.0, 0.0)), [2]), (0.0, [2])]:
        assert matching.edges(T, threshold, 1).tolist() == ref.edges(T, threshold, 1).tolist() == want
    # four samples at 0, four at 4: std 2, a jump of exactly 2
    T = np.repeat([0.0, 4.0], 4)
    assert matching.edges(T, 2.0, 3).tolist() == ref.edges(T, 2.0, 3).tolist() == []
    assert matching.edges(T, 1.5, 3).tolist() == ref.edges(T, 1.5, 3).tolist() == [4]


def test_edges_ties_go_to_the_earliest_jump():
    T = np.repeat(np.arange(6.0), 2)  # a staircase: equal jumps every 2 samples
    d = ref.jumps(T)
    assert len(set(d[d > 0].tolist())) == 1  # exactly equal jumps
    steps = [2, 4, 6, 8, 10]
    assert ref.edges(T, 0.1, 1).tolist() == matching.edges(T, 0.1, 1).tolist() == steps
    # radius 2: each step sees the one before it, equal and earlier: only the first survives
    assert ref.edges(T, 0.1, 2).tolist() == matching.edges(T, 0.1, 2).tolist() == [2]
    # radius 0: every jump above the threshold, even adjacent equal ones
    T = np.array([0.0, 1.0, 2.0, 3.0, 3.0])
    assert ref.edges(T, 0.1, 0).tolist() == matching.edges(T, 0.1, 0).tolist() == [1, 2, 3]
    assert ref.edges(T, 0.1, 1).tolist() == matching.edges(T, 0.1, 1).tolist() == [1]
    # a larger jump later in the radius wins over an earlier smaller one
    T = np.array([0.0, 1.0, 3.0, 3.0, 3.0, 3.0])
    assert ref.edges(T, 0.1, 1).tolist() == matching.edges(T, 0.1, 1).tolist() == [2]


@pytest.mark.parametrize(
    "T",
    [[], [1.0], [1.0, 2.0], [np.nan, 1.0], [np.nan] * 5, [3.0] * 10, [2.0, 2.0, np.nan, 2.0],
     [0.0, np.inf, 0.0, 1.0, 1.0], [0.0, 1.0, np.nan, 50.0, 50.0, 1.0], [-np.inf, np.inf, np.nan, 0.0, 1.0]],
    ids=["empty", "one", "two", "one_finite", "all_nan", "constant", "constant_nan", "inf", "nan_between",
         "mixed"],
)
def test_edges_nonfinite_and_degenerate_signals(T):
    T = np.array(T, dtype=np.float64)
    for threshold in (0.0, 0.5):
        got = matching.edges(T, threshold, 2)
        assert got.tolist() == ref.edges(T, threshold, 2).tolist()
        finite = np.isfinite(T)
        for e in got:  # never at a jump to or from a non-finite sample
            assert finite[e] and finite[e - 1]


def test_edges_are_scale_free():
    rng = np.random.default_rng(22)
    T = np.cumsum(rng.standard_normal(500))
    T[[10, 11, 300]] = np.nan
    want = matching.edges(T, 0.3, 8)
    assert len(want) > 3
    assert want.tolist() == ref.edges(T, 0.3, 8).tolist()
    for k in (-1000, -300, 400, 1000):
        assert matching.edges(np.ldexp(T, k), 0.3, 8).tolist() == want.tolist()
        assert ref.edges(np.ldexp(T, k), 0.3, 8).tolist() == want.tolist()


@pytest.mark.parametrize("kind", ["normal", "walk", "steps", "nonfinite", "offset"])
@pytest.mark.parametrize("radius", [0, 1, 8, 100])
def test_edges_random(kind, radius):
    rng = np.random.default_rng(23)
    T = rng.standard_normal(1500)
    if kind == "walk":
        T = np.cumsum(T)
    if kind == "steps":
        T = 0.01 * T + np.repeat(rng.integers(0, 5, 15), 100)
    if kind == "nonfinite":
        T[rng.integers(0, len(T), 30)] = np.nan
        T[[5, 700]] = [np.inf, -np.inf]
    if kind == "offset":
        T = 1e7 + T
    for threshold in (0.0, 0.1, 0.5, 1.0, 2.5):
        assert matching.edges(T, threshold, radius).tolist() == ref.edges(T, threshold, radius).tolist()


# ------------------------------------------------------------------------------- via perceive


def test_perceive_reports_the_twins_matches_and_events():
    rng = np.random.default_rng(24)
    w = 32
    A, B = rng.standard_normal(w), rng.standard_normal(w)
    T = 0.2 * rng.standard_normal(4000)
    for at, shape, amp in [(200, A, 2.0), (1000, B, 3.0), (1900, A, -2.0), (2500, A, 6.0), (3300, B, 1.5)]:
        _plant(T, shape, at, amp)
    T[3000:3010] = np.nan
    cfg = pl.EngineConfig(window=w, cluster_threshold=0.75, edge_threshold=0.4)
    lib = pl.PatternLibrary(config=cfg)
    ids = [lib.add(A, signal_id="ref", offset=0).id, lib.add(B, signal_id="ref", offset=1).id]
    res = pl.perceive(T, library=lib, learn=False)
    Z = np.stack([lib[pid].prototype for pid in ids])
    pat, off, val = ref.match_prototypes(Z, T, cfg.cluster_threshold)
    assert [(m.pattern_id, m.offset) for m in res.matches] == [(ids[p], o) for p, o in zip(pat, off)]
    np.testing.assert_allclose([m.correlation for m in res.matches], val, rtol=0, atol=1e-11)
    assert {(m.pattern_id, m.offset) for m in res.matches} >= {(ids[0], 200), (ids[1], 1000), (ids[0], 2500)}
    assert res.events.tolist() == ref.edges(T, cfg.edge_threshold, w // 2).tolist()
    assert len(res.events) > 0


# -------------------------------------------------------------------------------- hypothesis

_finite_values = st.one_of(
    st.integers(-3, 3).map(float),  # repeats, exact ties, constant stretches
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
)
_values = st.one_of(_finite_values, st.sampled_from([np.nan, np.inf, -np.inf]))


def _signal(data, n: int, nonfinite: bool = True) -> np.ndarray:
    elements = _values if nonfinite else _finite_values
    T = np.array(data.draw(st.lists(elements, min_size=n, max_size=n)), dtype=np.float64)
    return np.ldexp(T, data.draw(st.integers(-200, 200)))  # any magnitude, exactly


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_hypothesis_unit_normalize(data):
    w = data.draw(st.integers(1, 20))
    _assert_unit_agrees(_signal(data, w, nonfinite=data.draw(st.booleans())))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_hypothesis_nearest_prototypes_and_gram(data):
    w = data.draw(st.integers(2, 12))
    nz = data.draw(st.integers(0, 6))
    shapes = [ref.unit_normalize(_signal(data, w, nonfinite=False)) for _ in range(nz)]
    Z = np.full((nz + data.draw(st.integers(0, 2)), w), np.nan)
    if nz:
        Z[:nz] = shapes
    C = []
    for _ in range(data.draw(st.integers(0, 5))):
        how = data.draw(st.sampled_from(["new", "copy", "opposite"] if nz else ["new"]))
        if how == "new":
            C.append(ref.unit_normalize(_signal(data, w, nonfinite=False)))
        else:
            z = Z[data.draw(st.integers(0, nz - 1))]
            C.append(z.copy() if how == "copy" else -z)
    _assert_nearest_agrees(np.array(C).reshape(len(C), w), Z, nz)
    np.testing.assert_allclose(matching.gram(np.ascontiguousarray(Z), nz), ref.gram(Z, nz), rtol=0, atol=TOL)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_hypothesis_match_prototypes(data):
    w = data.draw(st.integers(3, 10))
    T = _signal(data, data.draw(st.integers(w, w + 60)))
    protos = []
    for _ in range(data.draw(st.integers(0, 3))):
        if data.draw(st.booleans()):  # a window of the signal itself: it will match
            o = data.draw(st.integers(0, len(T) - w))
            z = ref.unit_normalize(T[o : o + w])
        else:
            z = ref.unit_normalize(_signal(data, w, nonfinite=False))
        if z.any():
            protos.append(z)
    Z = np.array(protos).reshape(len(protos), w)
    case = Case(T, w)
    corr = [case.assert_correlation_agrees(z) for z in Z]
    finite = [c for row in corr for c in row if c != ref.NO_MATCH]
    if finite and data.draw(st.booleans()):
        threshold = float(data.draw(st.sampled_from(finite)))  # exactly hit
    else:
        threshold = data.draw(st.floats(-1.0, 1.0))
    case.assert_follows_the_rule(Z, threshold)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_hypothesis_edges(data):
    T = _signal(data, data.draw(st.integers(0, 60)))
    threshold = data.draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0, 2.0]), st.floats(0.0, 3.0)))
    _assert_edges_agree(T, threshold, data.draw(st.integers(0, 6)))
