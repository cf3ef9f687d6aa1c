"""batch_perceive: a collection of signals cut into partitions (:mod:`.signals`), each learning
from the same snapshot into a delta (:mod:`.partition`), combined by one fixed-shape tree
reduction in process or as a Dask graph (:mod:`.graph`), checkpointed into a run store
(:mod:`.checkpoint`); :mod:`.driver` ties them together. The public
:func:`patternlab.batch_perceive` (:mod:`patternlab.lab.api`) chooses the Dask client and calls it."""

from __future__ import annotations

from .checkpoint import Run, RunStore, open_run
from .driver import BatchResult, Connect, run_batch
from .signals import SignalCollection, SignalsLike, ZarrCorpus, as_collection, write_signals

__all__ = ["BatchResult", "Connect", "Run", "RunStore", "SignalCollection", "SignalsLike", "ZarrCorpus",
           "as_collection", "open_run", "run_batch", "write_signals"]
