"""The entry point that chooses where a batch runs: :func:`batch_perceive` resolves the Dask client
(a given one, the current Lab's, Dask's default or an embedded LocalCluster) and hands the run to
the driver in :mod:`patternlab.batch`."""

from __future__ import annotations

from typing import Any, Literal

from distributed import Client

from ..batch import BatchResult, SignalsLike, run_batch
from ..config import EngineConfig
from ..library import PatternLibrary
from ..store.redis import RedisPatternStore
from .client import HasClient, resolve_client

__all__ = ["batch_perceive"]



def batch_perceive(
    signals: SignalsLike,
    domain: str = "default",
    library: PatternLibrary | None = None,
    config: EngineConfig | None = None,
    *,
    client: Client | HasClient | Literal[False] | None = None,
    batch_size: int = 64,
    progress: bool = True,
    store: Any = None,
    overwrite: bool = False,
    redis: str | RedisPatternStore | None = None,
    publish_token: str | None = None,
    publish_retry_seconds: float | None = None,
) -> BatchResult:
    """Run :func:`perceive` over a collection of signals on Dask and merge what was learned.

    Parameters
    ----------
    signals : list of arrays, 2-D array, 2-D dask array, ZarrCorpus or corpus path
        The collection; signal ``i`` gets ``signal_id=i``. A corpus is read by the tasks
        themselves, a partition at a time.
    domain : str
        Domain tag of the signals.
    library : PatternLibrary, optional
        The snapshot every partition starts from (left untouched; the merged library is in the
        result). A fresh library when omitted.
    config : EngineConfig, optional
        Defaults to the library's config.
    client : distributed.Client, Lab, False or None
        Where to run: the given client (or :class:`~patternlab.Lab`); ``None``: the current
        Lab or default Dask client if there is one, else an embedded ``LocalCluster`` that is
        closed afterwards; ``False``: in this process, without Dask.
    batch_size : int
        Signals per partition (one task each).
    progress : bool
        Show a progress bar (in Jupyter a widget when ipywidgets is installed).
    store : str, path or zarr store, optional
        Checkpoint the run into this zarr v3 store (a local path, ``file://``, ``memory://``,
        ``s3://`` with s3fs): every partition's summaries and library delta, then the merged
        library (layout in :mod:`patternlab.store.zarr`; read back with
        :func:`patternlab.open_run`). A rerun with the same store skips the partitions already
        done and gives the same library as an uninterrupted run.
    overwrite : bool
        Replace a store that holds a different run (other input, config, domain or batch size)
        instead of refusing it.
    redis : str or RedisPatternStore, optional
        Start from the library of ``(domain, config.window)`` in this Redis pattern store
        (instead of ``library``) and publish what the run learned into it when it ends. The
        publish token is derived from the work (the signals' content, the library it starts
        from, the config, domain and batch size), so a retry of the same work -- a resumed run,
        a rerun after a failed publish, with or without ``store`` -- is counted once. When the
        final publish fails, the error (a :class:`~patternlab.StoreConnectionError`) carries
        the result as ``exc.result`` (with ``exc.before`` and ``exc.token``) and its message
        says how to publish it later.
    publish_token : str, optional
        Publish under this token instead of the derived one (e.g. to publish the same signals
        again on purpose, as new evidence).
    publish_retry_seconds : float, optional
        How long the final publish keeps retrying a Redis server that cannot be reached.
        Default: as long as the run took to compute, at least 60 s and at most 15 minutes.

    Returns
    -------
    BatchResult
        The merged library, per-signal summaries, skipped signals and metrics. Identical,
        bit for bit, however many workers ran it and whatever failed and was retried.

    Examples
    --------
    >>> import numpy as np, patternlab as pl
    >>> signals = [np.cumsum(np.random.default_rng(i).standard_normal(400)) for i in range(6)]
    >>> out = pl.batch_perceive(signals, config=pl.EngineConfig(window=32), client=False,
    ...                         batch_size=2, progress=False)
    >>> int(out.metrics["tasks_processed"]), len(out.summaries["ok"])
    (3, 6)
    """
    return run_batch(signals, domain, library, config, connect=lambda: resolve_client(client),
                     batch_size=batch_size, progress=progress, store=store, overwrite=overwrite,
                     redis=redis, publish_token=publish_token, publish_retry_seconds=publish_retry_seconds)
