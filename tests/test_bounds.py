"""The features a library keeps of its prototypes for the pruned kernels are, after any history
of changes, those computed from scratch, bit for bit; a library's copies share them safely."""

from __future__ import annotations

import pickle
import threading

import numpy as np

import patternlab as pl
from patternlab._bounds import PrototypeBounds
from patternlab.kernels.matching import unit_normalize
from patternlab.kernels.pruning import prototype_features
from patternlab.kernels.shape import complexity, prefix_sums


def _scratch(Z: np.ndarray, n: int) -> list[np.ndarray]:
    rows = np.arange(n)
    P1, P2, P3, q, zsum = prototype_features(Z, rows)
    PS, QS = prefix_sums(Z, rows)
    return [P1, P2, P3, q, zsum, complexity(np.ascontiguousarray(Z[:n]), n), PS, QS]


def _same(got, want) -> None:
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_kept_features_follow_every_change() -> None:
    rng = np.random.default_rng(0)
    w = 24
    Z = np.stack([unit_normalize(rng.standard_normal(w)) for _ in range(300)])
    b = PrototypeBounds()
    _same(b.features(Z, 0), [a[:0] for a in _scratch(Z, 1)])
    for n in (1, 5, 5, 120, 300, 40, 300):  # grow, hold, shrink, grow again
        _same(b.features(Z, n), _scratch(Z, n))
        k = int(rng.integers(0, n))
        Z[k] = unit_normalize(rng.standard_normal(w))  # a pattern learns
    Z[7, 3] = 0.0
    b.features(Z, 300)
    Z[7, 3] = -0.0  # a change only in the sign of a zero
    _same(b.features(Z, 300), _scratch(Z, 300))
    Z[100:299] = Z[101:300].copy()  # a pattern dropped: the rows after it move up
    _same(b.features(Z, 299), _scratch(Z, 299))
    c = b.copy()
    Z2 = Z.copy()
    Z2[0] = Z2[1]
    _same(c.features(Z2, 299), _scratch(Z2, 299))
    _same(b.features(Z, 299), _scratch(Z, 299))  # the copy did not touch the original
    assert pickle.loads(pickle.dumps(b)).features(Z, 10)[0].shape == (10, 9)


def test_a_library_and_its_copy_share_and_threads_do_not() -> None:
    rng = np.random.default_rng(1)
    lib = pl.PatternLibrary(window=16, config=pl.EngineConfig(window=16, max_patterns=10_000))
    for k in range(50):
        lib.add(rng.standard_normal(16), signal_id=k, offset=0)
    want = _scratch(lib._Z, len(lib))
    _same(lib._kept_features(), want)
    work = lib.copy()
    assert work._bounds is lib._bounds
    work.add(rng.standard_normal(16), signal_id=99, offset=0)
    _same(work._kept_features(), _scratch(work._Z, len(work)))
    _same(lib._kept_features(), want)  # what the copy refreshed, the library refreshes back
    seen: list[object] = []
    t = threading.Thread(target=lambda: seen.append(lib._kept_features() and lib._bounds))
    t.start()
    t.join()
    assert seen[0] is not work._bounds  # another thread works on its own copy
    _same(lib._kept_features(), want)
