"""Threads chosen by size: every parallel kernel has a serial twin with the same bits, small
inputs never open a parallel region, and the thread count is restored after each block."""

from __future__ import annotations

import numba
import numpy as np
import pytest

import patternlab as pl
from patternlab import _numba
from patternlab._validation import unit_scaled
from patternlab.engine import _window_data
from patternlab.kernels import exact, matching, pruning, stats
from patternlab.kernels import matrix_profile as mpk
from patternlab.profiles._tiling import triangle_in_threads
from patternlab.profiles.matrix import _prepare


def _same(a, b) -> None:
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def _walk(rng: np.random.Generator, n: int, nonfinite: bool = True) -> np.ndarray:
    T = np.cumsum(rng.standard_normal(n))
    if nonfinite:
        T[n // 3:n // 3 + 40] = 2.5  # constant windows
        T[n // 2] = np.nan
        T[n // 2 + 7] = np.inf
    return T


def test_parallel_for_needs_work_and_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _numba.parallel_for(_numba.PARALLEL_MIN_WORK - 1)
    with _numba.numba_threads(1):
        assert not _numba.parallel_for(10 * _numba.PARALLEL_MIN_WORK)
    assert _numba.parallel_for(_numba.PARALLEL_MIN_WORK) == (numba.get_num_threads() > 1)
    assert _numba.pick("par", "ser", 0) == "ser"


def test_numba_threads_restores_the_count_after_an_error() -> None:
    before = numba.get_num_threads()
    with pytest.raises(RuntimeError), _numba.numba_threads(1):
        assert numba.get_num_threads() == 1
        raise RuntimeError("boom")
    assert numba.get_num_threads() == before


def test_importing_patternlab_leaves_numba_config_alone() -> None:
    import subprocess
    import sys

    code = ("import numba; before = (numba.config.NUMBA_NUM_THREADS, numba.config.THREADING_LAYER); "
            "import patternlab; "
            "assert (numba.config.NUMBA_NUM_THREADS, numba.config.THREADING_LAYER) == before")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("n", [40, 255, 256, 257, 700, 1300])
def test_window_stats_twins_agree(rng: np.random.Generator, n: int) -> None:
    T = _walk(rng, n)
    _same(stats.window_stats(T, 16), stats.window_stats_serial(T, 16))


@pytest.mark.parametrize("n", [300, 600, 1100])
def test_profile_twins_agree(rng: np.random.Generator, n: int) -> None:
    m = 16
    T, B = _walk(rng, n), _walk(rng, n // 2 + 40, nonfinite=False)
    (A, Bw), _ = _prepare([T, B], m, np.float64)
    R, K = 64, 16  # small tiles: many of them, dealt to both threads
    idx = np.empty(0, dtype=np.int32)
    par = triangle_in_threads(A, A, m, 5, (R, K), 2)
    ser = mpk.upper_triangle_serial(A.Tc, A.mu, A.df, A.dg, A.s_d, A.e_d, A.Tc, A.mu, A.df, A.dg,
                                    A.s_d, A.e_d, m, 5, len(A.s), R, K, idx)
    _same(par, ser)
    rowP, rowI, colP, colI = ser
    args = (A.Tc, A.mu, A.s, A.e, A.Tc, A.mu, A.s, A.e, m, 5)
    valid = exact.valid_prefix(A.e)
    for lo, hi in ((0, len(A.s)), (7, len(A.s) // 2)):
        rng_ = (valid, lo, hi)
        _same(exact.resolve_rows(*args, rowP, rowI, *rng_),
              exact.resolve_rows_serial(*args, rowP, rowI, *rng_))
        _same(exact.resolve_columns(*args, colP, colI, *rng_),
              exact.resolve_columns_serial(*args, colP, colI, *rng_))
    q = (Bw.Tc, Bw.mu, Bw.s, Bw.e, A.Tc, A.mu, A.s, A.e, m)
    np.testing.assert_array_equal(exact.distance_profile(*q), exact.distance_profile_serial(*q))


def test_matching_twins_agree(rng: np.random.Generator) -> None:
    w = 24
    usable, Tm, s = _window_data(unit_scaled(_walk(rng, 900)), w)
    Z = np.stack([matching.unit_normalize(np.ascontiguousarray(Tm[i:i + w]))
                  for i in rng.choice(np.flatnonzero(usable), 40)])
    Z = np.ascontiguousarray(np.vstack([Z, Z[:5]]))  # repeated prototypes: ties
    for thr in (0.5, 0.8, float(matching.match_prototypes_serial(Z, Tm, s, usable, 0.9)[2][0])):
        ref_ = matching.match_prototypes_serial(Z, Tm, s, usable, thr)
        _same(matching.match_prototypes(Z, Tm, s, usable, thr), ref_)
        _same(pruning.match_prototypes_pruned(Z, Tm, s, usable, thr), ref_)
        _same(pruning.match_prototypes_pruned_serial(Z, Tm, s, usable, thr), ref_)
    C = np.ascontiguousarray(Z[::3] * 0.5 + Z[1::3][: len(Z[::3])] * 0.5)
    C = np.stack([matching.unit_normalize(c) for c in C])
    near = matching.nearest_prototypes_serial(C, Z, len(Z))
    for kernel in (matching.nearest_prototypes, pruning.nearest_prototypes_pruned,
                   pruning.nearest_prototypes_pruned_serial):
        _same(kernel(C, Z, len(Z)), near)
    np.testing.assert_array_equal(matching.gram(Z, len(Z)), matching.gram_serial(Z, len(Z)))


def test_results_do_not_depend_on_the_threads_chosen(rng: np.random.Generator,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The public functions give the same bits whether their kernels run serially (the
    default on small inputs, and always under ``threads=1``) or in parallel (forced here)."""
    T = _walk(rng, 1500)
    lib = pl.PatternLibrary(32, config=pl.EngineConfig(window=32, max_patterns=5000))
    for k in range(30):
        pl.perceive(_walk(rng, 600, nonfinite=False), "t", lib, signal_id=k)
    serial = (pl.matrix_profile(T, 32), pl.distance_profile(T[5:37], T),
              pl.perceive(T, "t", lib.copy(), signal_id=99))
    monkeypatch.setattr(_numba, "PARALLEL_MIN_WORK", 0)
    parallel = (pl.matrix_profile(T, 32), pl.distance_profile(T[5:37], T),
                pl.perceive(T, "t", lib.copy(), signal_id=99))
    for name in ("P", "I", "PL", "IL", "PR", "IR"):
        np.testing.assert_array_equal(getattr(serial[0], name), getattr(parallel[0], name))
    np.testing.assert_array_equal(serial[1], parallel[1])
    assert serial[2].matches == parallel[2].matches
    assert serial[2].new_patterns == parallel[2].new_patterns
    assert serial[2].updated_patterns == parallel[2].updated_patterns
    assert len(serial[2].matches) > 0
