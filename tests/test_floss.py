"""Streaming segmentation (FLOSS), as STUMPY's ``floss``.

The curve after each update against a naive reference (the profile of the kept samples from
scratch with ``pl.matrix_profile``, arcs counted one at a time, the idealized curve summed term by
term), the idealized curve against its exact expectation and STUMPY's fit, the curve against
``stumpy.floss`` given the same idealized curve, a planted regime change found as the stream
passes it, NaN/inf samples, bad arguments, and save/load resuming bit for bit.
"""

from __future__ import annotations

import importlib
import itertools
import sys
import warnings
from pathlib import Path

import numpy as np
import numpy.testing as npt
import pytest
import stumpy

import patternlab as pl
import redis_servers as rs
import reference_beyond as ref
from patternlab.profiles.segments import idealized_arc_curve

stumpy_floss = importlib.import_module("stumpy.floss")


def naive_iac(k: int, direction: str) -> np.ndarray:
    """The expected arcs over each position when window ``i`` draws its neighbour uniformly among
    the later (``right``) or earlier (``left``) windows, summed term by term."""
    out = np.zeros(k)
    for x in range(k):
        for i in range(k):
            choices = range(i + 1, k) if direction == "right" else range(0, i)
            if len(choices):
                out[x] += sum(min(i, j) <= x < max(i, j) for j in choices) / len(choices)
    return out


def naive_iac_sum(k: int, direction: str) -> np.ndarray:
    """The same expectation as a sum of probabilities (fast enough for a few thousand windows)."""
    right = np.zeros(k)
    for x in range(k - 1):
        right[x] = sum((k - 1 - x) / (k - 1 - i) for i in range(x + 1))
    if direction == "left":
        right[:k - 1] = right[k - 2::-1].copy()
    return right


def naive_floss(T: np.ndarray, m: int, L: int, excl_factor: int, n_regimes: int, direction: str,
                iac: np.ndarray | None = None, normalize: bool = True
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arcs, corrected arc curve and regimes of ``T`` from scratch."""
    mp = pl.matrix_profile(T, m, normalize=normalize)
    arcs = mp.IR if direction == "right" else mp.IL
    k = arcs.shape[0]
    ideal = naive_iac_sum(k, direction) if iac is None else iac
    cac = ref.corrected_arc_curve(arcs, L, excl_factor, ideal)
    return arcs, cac, ref.regimes(cac, n_regimes, L, excl_factor)


def stumpy_mp(T: np.ndarray, m: int) -> np.ndarray:
    """``stumpy.stump``'s output (object array of P, I, IL, IR) from our profile: ``floss`` reads
    only the right neighbours from it (and compiling ``stump`` would take most of a minute)."""
    mp = pl.matrix_profile(T, m)
    out = np.empty((mp.P.shape[0], 4), dtype=object)
    out[:, 0] = mp.P
    for c, idx in enumerate((mp.I, mp.IL, mp.IR), start=1):
        out[:, c] = idx.tolist()
    return out


def quiet(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """A STUMPY call without its own NumPy warning (an uninitialized ``where=`` output it ignores)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'where' used without 'out'", UserWarning)
        return fn(*args, **kwargs)


def two_regimes(n: int, change: int, seed: int, background: str = "walk") -> np.ndarray:
    """A sine of period 50, then a square wave of period 80 from ``change``, on a background."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    T = np.where(t < change, np.sin(2 * np.pi * t / 50), np.sign(np.sin(2 * np.pi * t / 80)))
    if background == "walk":
        return T + rng.normal(0, 0.2, n) + np.cumsum(rng.normal(0, 0.02, n))
    return T + rng.normal(0, 0.3, n)


# ---------------------------------------------------------------------------- idealized curve


@pytest.mark.parametrize("direction", ["right", "left"])
def test_idealized_curve_is_the_exact_expectation(direction: str) -> None:
    for k in range(1, 14):
        npt.assert_allclose(idealized_arc_curve(k, direction), naive_iac(k, direction), rtol=1e-13,
                            atol=1e-13)
    npt.assert_allclose(idealized_arc_curve(3000, direction), naive_iac_sum(3000, direction), rtol=1e-12)


def test_idealized_curve_against_stumpy_fit() -> None:
    """STUMPY fits a beta density to one random draw of right neighbours: within a few percent of
    the exact expectation away from the edges."""
    k = 600
    theirs = quiet(stumpy_floss._iac, k, bidirectional=False)
    ours = idealized_arc_curve(k, "right")
    mid = slice(k // 10, 9 * k // 10)
    assert np.max(np.abs(theirs[mid] - ours[mid]) / ours[mid]) < 0.08
    assert abs(int(np.argmax(theirs)) - int(np.argmax(ours))) < k // 20
    assert int(np.argmax(ours)) == pytest.approx((1 - np.exp(-1)) * k, abs=2)


# ----------------------------------------------------------------------------- naive reference


@pytest.mark.parametrize(("direction", "egress", "L", "excl_factor", "n_regimes", "normalize"),
                         [("right", True, 20, 5, 2, True), ("left", True, 10, 1, 3, True),
                          ("right", False, 20, 0, 2, True), ("left", False, 5, 2, 2, True),
                          ("right", True, 10, 2, 3, False)])
def test_against_naive_reference(direction: str, egress: bool, L: int, excl_factor: int,
                                 n_regimes: int, normalize: bool) -> None:
    m = 20
    S = two_regimes(900, 600, seed=1)
    S[:400] = S[:400] * 0.5 + np.cumsum(np.random.default_rng(2).standard_normal(400)) * 0.1
    fs = pl.StreamingSegmentation(S[:300], m, L, n_regimes=n_regimes, excl_factor=excl_factor,
                                  direction=direction, egress=egress, normalize=normalize)
    checked = 0
    for i, x in enumerate(S[300:], start=300):
        fs.update(x)
        if i % 83 == 0 or i == S.shape[0] - 1:
            kept = S[i + 1 - 300:i + 1] if egress else S[:i + 1]
            npt.assert_array_equal(fs.T, kept)
            arcs, cac, regimes = naive_floss(kept, m, L, excl_factor, n_regimes, direction,
                                             normalize=normalize)
            npt.assert_array_equal(fs.arcs, arcs)
            npt.assert_allclose(fs.cac, cac, rtol=1e-12, atol=0)
            npt.assert_array_equal(fs.regimes, regimes)
            assert fs.regime_boundary == int(np.argmin(cac))
            assert np.all((fs.cac >= 0) & (fs.cac <= 1))
            checked += 1
    assert checked == 8


def test_extend_equals_updates_and_custom_iac() -> None:
    m, k = 16, 400 - 16 + 1
    S = two_regimes(700, 550, seed=4, background="noise")
    iac = np.linspace(1.0, 50.0, k)
    one = pl.StreamingSegmentation(S[:400], m, excl_factor=2, iac=iac)
    many = pl.StreamingSegmentation(S[:400], m, excl_factor=2, iac=iac)
    for x in S[400:]:
        one.update(x)
    many.extend(S[400:])
    npt.assert_array_equal(one.cac, many.cac)
    npt.assert_array_equal(one.iac, iac)
    _, cac, regimes = naive_floss(S[-400:], m, m, 2, 2, "right", iac)
    npt.assert_allclose(many.cac, cac, rtol=1e-12, atol=0)
    seg = many.segmentation()
    npt.assert_allclose(seg.cac, cac, rtol=1e-12, atol=0)
    npt.assert_array_equal(seg.regimes, regimes)
    assert "L=16, excl_factor=2, arcs right" in repr(many)


# ------------------------------------------------------------------------------------ STUMPY


def test_against_stumpy_floss() -> None:
    """The same idealized curve to both: the same arcs, except that STUMPY's ``floss`` lets a new
    window be the right neighbour of the window exactly ``ceil(m / 4)`` before it (its exclusion
    zone is one shorter than that of its ``stump``, and of ours); whenever those extra arcs lie
    in the excluded right edge, the curves are equal bit for bit, and STUMPY's ``_cac`` of our
    arcs is ours at every step."""
    m, hist, excl_factor = 20, 600, 1
    rng = np.random.default_rng(3)
    t = np.arange(1100)
    T = np.where(t < 900, np.sin(2 * np.pi * t / 20), np.sign(np.sin(2 * np.pi * t / 32)))
    T = T + rng.normal(0, 0.1, t.shape[0])
    k = hist - m + 1
    excl = int(np.ceil(m / 4))
    iac = idealized_arc_curve(k, "right")
    theirs = quiet(stumpy.floss, stumpy_mp(T[:hist], m), T[:hist], m, L=m, excl_factor=excl_factor,
                   custom_iac=iac.copy())
    ours = pl.StreamingSegmentation(T[:hist], m, L=m, excl_factor=excl_factor, iac=iac)
    edge_only = 0
    for i, x in enumerate(T[hist:]):
        quiet(theirs.update, x)
        ours.update(x)
        I = theirs.I_ - (i + 1)
        I[theirs.I_ < 0] = -1
        differ = np.flatnonzero(I != ours.IR)
        npt.assert_array_equal(I[differ] - differ, excl)
        ref_cac = stumpy_floss._cac(ours.IR, m, bidirectional=False, excl_factor=excl_factor,
                                    custom_iac=iac.copy())
        npt.assert_array_equal(ours.cac, ref_cac)
        if (differ >= k - m * excl_factor).all():
            edge_only += 1
            npt.assert_array_equal(ours.cac, theirs.cac_1d_)
        npt.assert_array_equal(ours.T, theirs.T_)
    assert edge_only > 150


# ------------------------------------------------------------------------ a planted regime change


@pytest.mark.parametrize(("background", "direction", "within"),
                         [("walk", "right", 250), ("noise", "right", 250), ("walk", "left", 400)])
def test_planted_change_found_as_the_stream_passes_it(background: str, direction: str, within: int) -> None:
    """Right arcs put the lowest point at the last window before the change (``change - m``),
    left arcs at the change; right arcs see it sooner."""
    m, change, history = 50, 5000, 3000
    S = two_regimes(6200, change, seed=7, background=background)
    fs = pl.StreamingSegmentation(S[:history], m, direction=direction)
    fs.extend(S[history:change])
    before = fs.cac.min()  # one regime so far: no deep low point
    assert before > 0.4
    fs.extend(S[change:change + within])
    found = fs.offset + fs.regime_boundary
    assert change - m - m // 4 <= found <= change + m // 4
    assert fs.cac[fs.regime_boundary] < min(0.3, before / 2)
    lows = []
    for x in S[change + within:]:  # it stays found while the change crosses the kept window
        fs.update(x)
        lows.append(fs.offset + fs.regime_boundary)
    assert np.all(np.abs(np.array(lows) - found) <= m // 4)


# ----------------------------------------------------------------------------------- NaN and inf


@pytest.mark.parametrize("direction", ["right", "left"])
def test_nan_and_inf_samples(direction: str) -> None:
    m = 12
    S = two_regimes(700, 450, seed=5, background="noise")
    S[[50, 320, 321, 505]] = [np.nan, np.inf, -np.inf, np.nan]
    fs = pl.StreamingSegmentation(S[:250], m, L=6, excl_factor=2, direction=direction)
    for i, x in enumerate(S[250:], start=250):
        fs.update(x)
        if i in (320, 330, 505, 600, 699):
            arcs, cac, regimes = naive_floss(S[i + 1 - 250:i + 1], m, 6, 2, 2, direction)
            npt.assert_array_equal(fs.arcs, arcs)
            npt.assert_allclose(fs.cac, cac, rtol=1e-12, atol=0)
            npt.assert_array_equal(fs.regimes, regimes)
            assert np.isfinite(fs.cac).all()


# ------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"L": 0}, "L must be an integer >= 1"),
    ({"L": 2.5}, "L must be an integer"),
    ({"n_regimes": 0}, "n_regimes must be an integer >= 1"),
    ({"excl_factor": -1}, "excl_factor must be an integer >= 0"),
    ({"excl_factor": True}, "excl_factor must be an integer"),
    ({"direction": "both"}, "direction must be 'right'"),
    ({"direction": None}, "direction must be 'right'"),
    ({"iac": np.ones(10)}, "iac must be 91 finite numbers"),
    ({"iac": np.r_[np.ones(90), np.nan]}, "iac must be 91 finite numbers"),
    ({"iac": -np.ones(91)}, ">= 0"),
    ({"iac": "abc"}, "iac must be 91 numbers"),
    ({"iac": np.ones(91), "egress": False}, "iac= needs egress=True"),
])
def test_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    T = np.sin(np.arange(100) / 3)
    with pytest.raises(pl.InvalidParameterError, match=match):
        pl.StreamingSegmentation(T, 10, **kwargs)  # type: ignore[arg-type]


def test_bad_series_and_samples() -> None:
    with pytest.raises(pl.InvalidWindowError):
        pl.StreamingSegmentation(np.arange(10.0), 20)
    with pytest.raises(pl.SignalTypeError):
        pl.StreamingSegmentation(["a"] * 50, 5)
    fs = pl.StreamingSegmentation(np.sin(np.arange(100) / 3), 10)
    with pytest.raises(pl.InvalidParameterError, match="update takes one sample"):
        fs.update([1.0, 2.0])
    with pytest.raises(pl.SignalTypeError):
        fs.extend("12")


# ---------------------------------------------------------------------------------- save / load


def test_save_load_resumes_bit_for_bit(tmp_path: Path) -> None:
    m = 16
    S = two_regimes(900, 650, seed=6)
    iac = idealized_arc_curve(400 - m + 1, "right") * 1.1
    fs = pl.StreamingSegmentation(S[:400], m, L=8, n_regimes=3, excl_factor=3, iac=iac)
    fs.extend(S[400:600])
    fs.save(tmp_path / "floss.zarr")
    back = pl.StreamingSegmentation.load(tmp_path / "floss.zarr")
    assert (back.L, back.n_regimes, back.excl_factor, back.direction) == (8, 3, 3, "right")
    npt.assert_array_equal(back.iac, iac)
    npt.assert_array_equal(back.cac, fs.cac)
    for x in S[600:]:
        fs.update(x)
        back.update(x)
    npt.assert_array_equal(back.cac, fs.cac)
    npt.assert_array_equal(back.regimes, fs.regimes)
    with pytest.raises(pl.StoreError, match="streaming-segmentation"):
        pl.StreamingProfile.load(tmp_path / "floss.zarr")
    pl.StreamingProfile(S[:100], m).save(tmp_path / "profile.zarr")
    with pytest.raises(pl.StoreError, match="streaming-profile"):
        pl.StreamingSegmentation.load(tmp_path / "profile.zarr")


def test_durable_stream_resumes_after_a_restart(tmp_path: Path) -> None:
    m = 16
    S = two_regimes(800, 600, seed=8, background="noise")
    where = tmp_path / "durable.zarr"
    fs = pl.StreamingSegmentation(S[:300], m, direction="left", egress=False, store=where,
                                  checkpoint_every=120)
    for x in S[300:500]:
        fs.update(x)
    back = pl.StreamingSegmentation.load(where)  # checkpoint at 420 samples, the journal after it
    assert back.durable and back.n_seen == 500 and back.direction == "left" and not back.egress
    npt.assert_array_equal(back.cac, fs.cac)
    fs.close()
    back.extend(S[500:])
    _, cac, _ = naive_floss(S, m, m, 5, 2, "left")
    npt.assert_allclose(back.cac, cac, rtol=1e-12, atol=0)
    back.close()
    with pytest.raises(pl.StoreError, match=r"StreamingSegmentation\.load"):
        pl.StreamingSegmentation(S[:300], m, store=where)


def test_durable_stream_in_redis(tmp_path: Path) -> None:
    m = 16
    S = two_regimes(700, 500, seed=9, background="noise")
    iac = idealized_arc_curve(300 - m + 1, "left") + 1.0
    with rs.running(tmp_path / "redis", appendonly=True) as srv:
        fs = pl.StreamingSegmentation(S[:300], m, L=8, direction="left", iac=iac, store=srv.url,
                                      name="floss", checkpoint_every=150)
        fs.extend(S[300:460])
        back = pl.StreamingSegmentation.load(srv.url, name="floss")  # checkpoint, then the journal
        assert back.durable and back.n_seen == 460 and (back.L, back.direction) == (8, "left")
        npt.assert_array_equal(back.iac, iac)
        fs.close()
        back.extend(S[460:])
        _, cac, regimes = naive_floss(S[-300:], m, 8, 5, 2, "left", iac)
        npt.assert_allclose(back.cac, cac, rtol=1e-12, atol=0)
        npt.assert_array_equal(back.regimes, regimes)
        back.close()


# ------------------------------------------------------------------------------------- benchmark


def test_compare_script_small_mode(capsys: pytest.CaptureFixture[str]) -> None:
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks import compare_floss

    assert compare_floss.main(["--history", "400", "--m", "20", "--updates", "60", "--no-stump"]) == 0
    out = capsys.readouterr().out
    assert "stumpy.floss" in out and "curves agree" in out


def test_regime_boundary_of_a_flat_curve() -> None:
    """Nothing below 1 (every position excluded): the first position, with the value 1 saying so."""
    fs = pl.StreamingSegmentation(np.sin(np.arange(120) / 4), 10, excl_factor=6)
    assert fs.regime_boundary == 0 and fs.cac[0] == 1.0
    assert list(itertools.islice(fs.regimes, 1)) == [0]
