"""PatternFeatures: a learned pattern library as features of signals, for scikit-learn.

Each signal becomes one row: for every pattern of the library its best z-normalized Euclidean
distance to a window of the signal (optionally also its number of matches and the offset of its
best window), computed by :meth:`PatternLibrary.transform` in this process or, with ``client=``,
partition by partition on Dask. The transformer fits on a library given to it, or learns one
from the signals it is fitted on (with :func:`batch_perceive`, labels unused).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .batch import SignalsLike, as_collection
from .batch.signals import InMemory, SignalCollection, Slice
from .config import EngineConfig
from .errors import InvalidParameterError
from .lab.api import batch_perceive
from .lab.client import resolve_client
from .library import PatternLibrary

try:  # scikit-learn is optional: without it PatternFeatures keeps the same interface
    from sklearn.base import BaseEstimator, TransformerMixin
except ImportError:  # pragma: no cover - exercised where scikit-learn is not installed
    class BaseEstimator:  # type: ignore[no-redef]
        """The parameter protocol of scikit-learn estimators (``get_params``/``set_params``)."""

        _params = ("library", "config", "domain", "counts", "positions", "client", "batch_size")

        def get_params(self, deep: bool = True) -> dict[str, Any]:
            return {k: getattr(self, k) for k in self._params}

        def set_params(self, **params: Any) -> Any:
            for k, value in params.items():
                if k not in self._params:
                    raise InvalidParameterError(f"unknown parameter {k!r}; valid: {', '.join(self._params)}")
                setattr(self, k, value)
            return self

    class TransformerMixin:  # type: ignore[no-redef]
        """``fit_transform`` as scikit-learn defines it."""

        def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
            return self.fit(X, y, **fit_params).transform(X)  # type: ignore[attr-defined]

__all__ = ["PatternFeatures", "transform"]


def transform(library: PatternLibrary, signals: SignalsLike, *, counts: bool = False,
              positions: bool = False, client: Any = False, batch_size: int = 64) -> NDArray[np.float64]:
    """:meth:`PatternLibrary.transform` of a whole collection, on Dask by partitions.

    ``signals`` is any collection :func:`batch_perceive` takes (a list of arrays, a 2-D array, a
    zarr corpus or its path). ``client``: ``False`` (default) in this process, else as in
    :func:`batch_perceive` (a ``distributed.Client``, a Lab, or ``None`` for the current one).
    Partitions of ``batch_size`` signals are one task each; the rows come back in signal order,
    identical to the in-process result.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> from patternlab.features import transform
    >>> lib = pl.PatternLibrary(window=8)
    >>> _ = lib.add(np.sin(np.arange(8.0)), signal_id=0, offset=0)
    >>> transform(lib, np.sin(np.arange(60.0)).reshape(3, 20), batch_size=2).shape
    (3, 1)
    """
    if not isinstance(library, PatternLibrary):
        raise InvalidParameterError(f"library must be a PatternLibrary; got {type(library).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InvalidParameterError(f"batch_size={batch_size!r} must be a positive integer")
    source = as_collection(signals)
    n = len(source)
    width = len(library) * (1 + int(counts) + int(positions))
    if n == 0:
        return np.empty((0, width))
    bounds = [(s, min(s + int(batch_size), n)) for s in range(0, n, int(batch_size))]
    dask_client, close = resolve_client(client)
    try:
        if dask_client is None:
            blocks = [_block(library, source, s, e, counts, positions) for s, e in bounds]
        else:
            lib = dask_client.scatter(library, broadcast=True, hash=False)
            futures = [dask_client.submit(_block, lib, _part(source, s, e), s, e, counts, positions,
                                          key=f"pattern-features-{k}-{id(library):x}", pure=False)
                       for k, (s, e) in enumerate(bounds)]
            blocks = dask_client.gather(futures)
    finally:
        if close is not None:
            close()
    return np.vstack(blocks)


def _part(source: SignalCollection, s: int, e: int) -> SignalCollection:
    """What a task gets: its own signals when they are held in memory, else the collection
    (a corpus is read by the task itself)."""
    return Slice(source.read(s, e), s, len(source)) if type(source) is InMemory else source


def _block(library: PatternLibrary, source: SignalCollection, s: int, e: int, counts: bool,
           positions: bool) -> NDArray[np.float64]:
    return library.transform(source.read(s, e), counts=counts, positions=positions)


class PatternFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A pattern library as a scikit-learn transformer: signals in, pattern features out.

    Parameters
    ----------
    library : PatternLibrary, optional
        The patterns to use. When omitted, :meth:`fit` learns a library from the signals it is
        given with :func:`batch_perceive` (labels are not used).
    config : EngineConfig, optional
        Settings of that learning (default :class:`EngineConfig`); unused with ``library``.
    domain : str
        Domain tag of the learned patterns.
    counts, positions : bool
        Besides the best distance of each pattern, also its number of matches and the offset of
        its best window (see :meth:`PatternLibrary.transform`).
    client : distributed.Client, Lab, False or None
        Where learning and transforming run: ``False`` (default) in this process; otherwise as
        in :func:`batch_perceive`, by partitions of ``batch_size`` signals.
    batch_size : int
        Signals per partition.

    Attributes
    ----------
    library_ : PatternLibrary
        The library the features come from (after :meth:`fit`).

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import RidgeClassifierCV
    >>> X, y = pl.datasets.gunpoint("train")
    >>> cfg = pl.EngineConfig(window=32, min_complexity=0.0, max_lag=0, cluster_threshold=0.95,
    ...                       top_k=10, exploration_rate=1.0)  # many near shapes: good features
    >>> model = make_pipeline(pl.PatternFeatures(config=cfg), RidgeClassifierCV())
    >>> model.fit(X, y).score(X, y) > 0.8
    True
    """

    def __init__(self, library: PatternLibrary | None = None, *, config: EngineConfig | None = None,
                 domain: str = "default", counts: bool = False, positions: bool = False,
                 client: Any = False, batch_size: int = 64) -> None:
        self.library = library
        self.config = config
        self.domain = domain
        self.counts = counts
        self.positions = positions
        self.client = client
        self.batch_size = batch_size

    def fit(self, X: SignalsLike, y: Any = None) -> PatternFeatures:
        """Take the given library, or learn one from the signals ``X`` (``y`` is ignored)."""
        if self.library is not None:
            if not isinstance(self.library, PatternLibrary):
                raise InvalidParameterError(f"library must be a PatternLibrary; got "
                                            f"{type(self.library).__name__}")
            self.library_ = self.library
        else:
            if self.config is not None and not isinstance(self.config, EngineConfig):
                raise InvalidParameterError(f"config must be an EngineConfig; got "
                                            f"{type(self.config).__name__}")
            cfg = self.config if self.config is not None else EngineConfig()
            out = batch_perceive(X, self.domain, config=cfg, client=self.client,
                                 batch_size=self.batch_size, progress=False)
            self.library_ = out.library
        return self

    def transform(self, X: SignalsLike) -> NDArray[np.float64]:
        """The features of the signals ``X``: ``(n_signals, n_patterns * (1 + counts + positions))``."""
        lib = getattr(self, "library_", None)
        if lib is None:
            raise InvalidParameterError("this PatternFeatures is not fitted yet: call fit(X) first "
                                        "(or pass library= and call fit)")
        return transform(lib, X, counts=self.counts, positions=self.positions, client=self.client,
                         batch_size=self.batch_size)

    def get_feature_names_out(self, input_features: Any = None) -> NDArray[np.str_]:
        """``"<pattern id>:distance"`` for each pattern, then ``":count"`` and ``":position"``."""
        lib = getattr(self, "library_", None)
        if lib is None:
            raise InvalidParameterError("this PatternFeatures is not fitted yet: call fit(X) first")
        kinds = ["distance"] + (["count"] if self.counts else []) + (["position"] if self.positions else [])
        return np.array([f"{pid}:{k}" for k in kinds for pid in lib.ids], dtype=object)
