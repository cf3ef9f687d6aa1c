"""Patterns as features: PatternLibrary.transform against its NumPy twin, PatternFeatures in
scikit-learn pipelines, in process and on Dask, and on GunPoint."""

from __future__ import annotations

import numpy as np
import pytest
from distributed import Client, LocalCluster
from sklearn.base import clone
from sklearn.linear_model import RidgeClassifierCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import patternlab as pl
import reference as ref
from patternlab.datasets.synthetic import planted_corpus

W = 32


@pytest.fixture(scope="module")
def library() -> pl.PatternLibrary:
    corpus = planted_corpus(40, "noise", window=W, min_length=300, max_length=500, seed=4)
    return pl.batch_perceive(corpus.signals, "f", config=pl.EngineConfig(window=W), client=False,
                             batch_size=10, progress=False).library


def signals() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    out = [np.cumsum(rng.standard_normal(int(n))) for n in rng.integers(60, 200, size=6)]
    out[1][10:30] = np.nan
    out[2][:50] = 3.0  # constant windows
    out.append(np.arange(5.0))  # shorter than the window
    out.append(np.full(80, np.nan))  # no finite window
    return out


def test_transform_agrees_with_its_twin(library: pl.PatternLibrary) -> None:
    assert len(library) >= 2
    X = signals()
    F = library.transform(X, counts=True, positions=True)
    n = len(library)
    assert F.shape == (len(X), 3 * n)
    for row, x in zip(F, X[:-2]):
        best, pos, count = ref.best_matches(library.prototypes, x, library.config.cluster_threshold)
        np.testing.assert_allclose(row[:n], np.sqrt(np.maximum(2 * W * (1 - best), 0)), atol=1e-6)
        np.testing.assert_array_equal(row[n:2 * n], count)
        np.testing.assert_array_equal(row[2 * n:], pos)
    for row in F[-2:]:  # too short / nothing finite: a clear row, not an error for the batch
        assert np.isnan(row[:n]).all() and (row[n:2 * n] == 0).all() and (row[2 * n:] == -1).all()
    np.testing.assert_array_equal(library.transform(X), F[:, :n])
    assert library.transform([]).shape == (0, n)


def test_best_matches_kernel_agrees_with_its_twin() -> None:
    from patternlab.kernels.matching import best_matches

    rng = np.random.default_rng(1)
    Z = np.stack([ref.unit(rng.standard_normal(16)) for _ in range(5)])
    T = np.cumsum(rng.standard_normal(300))
    T[40:60] = np.nan
    x = T - np.nanmean(T)
    from patternlab.kernels.stats import window_stats

    Tm, _, sig2, valid, constant = window_stats(x, 16)
    usable = valid & ~constant
    s = np.where(usable, 1 / np.sqrt(np.where(usable, sig2, 1.0)), 0.0)
    b, p, c = best_matches(Z, np.ascontiguousarray(Tm), s, usable, 0.6)
    rb, rp, rc = ref.best_matches(Z, T, 0.6)
    np.testing.assert_allclose(b, rb, atol=1e-9)
    np.testing.assert_array_equal(p, rp)
    np.testing.assert_array_equal(c, rc)


def test_pattern_features_in_a_pipeline() -> None:
    train = planted_corpus(80, "noise", window=W, min_length=300, max_length=500, seed=1)
    test = planted_corpus(40, "noise", window=W, min_length=300, max_length=500, seed=2)
    model = make_pipeline(pl.PatternFeatures(config=pl.EngineConfig(window=W), batch_size=20),
                          StandardScaler(), RidgeClassifierCV())
    model.fit(train.signals, train.labels)
    assert model.score(test.signals, test.labels) >= 0.9
    feats = model[0]
    assert len(feats.get_feature_names_out()) == len(feats.library_)
    twin = clone(feats)
    assert twin.get_params() == feats.get_params() and not hasattr(twin, "library_")


def test_fit_on_a_library(library: pl.PatternLibrary) -> None:
    f = pl.PatternFeatures(library, counts=True).fit(None)
    X = signals()
    np.testing.assert_array_equal(f.transform(X), library.transform(X, counts=True))
    names = f.get_feature_names_out()
    assert names[0] == f"{library.ids[0]}:distance" and names[-1] == f"{library.ids[-1]}:count"


def test_on_dask_by_partitions(library: pl.PatternLibrary) -> None:
    X = signals()
    want = library.transform(X, positions=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cl:
        with Client(cl) as c:
            got = pl.PatternFeatures(library, positions=True, client=c, batch_size=3).fit(X).transform(X)
    np.testing.assert_array_equal(got, want)


def test_bad_use() -> None:
    with pytest.raises(pl.InvalidParameterError, match="not fitted"):
        pl.PatternFeatures().transform([np.zeros(100)])
    with pytest.raises(pl.InvalidParameterError, match="PatternLibrary"):
        pl.PatternFeatures(library="lib").fit(None)
    with pytest.raises(pl.SignalTypeError):
        pl.PatternLibrary(window=8).transform([["a", "b"]])


#: The GunPoint setting: the series are smooth hand movements (every window is simpler than the
#: default min_complexity), and where in the movement a shape occurs matters (no lag alignment).
GUNPOINT = pl.EngineConfig(window=32, min_complexity=0.0, max_lag=0, cluster_threshold=0.95,
                           top_k=10, exploration_rate=1.0)


def test_gunpoint_features_classify_as_well_as_1nn() -> None:
    Xtr, ytr = pl.datasets.gunpoint("train")
    Xte, yte = pl.datasets.gunpoint("test")
    model = make_pipeline(pl.PatternFeatures(config=GUNPOINT, batch_size=10), StandardScaler(),
                          RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)))
    model.fit(Xtr, ytr)
    assert 1.0 - model.score(Xte, yte) <= 0.087  # the 1-NN Euclidean test error
