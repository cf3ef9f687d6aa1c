"""The worker plugin: every worker loads the kernels before its first task, keeps reusing freed
memory, and leaves its long-lived objects out of the garbage collector's passes."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import sys
from typing import Any

import numpy as np
from distributed.diagnostics.plugin import WorkerPlugin

from .._numba import numba_threads, parallel_guard
from ..config import EngineConfig
from ..engine import perceive
from ..library import PatternLibrary

__all__ = ["PatternlabWorkerPlugin", "freeze_long_lived", "register", "tune_allocator", "warm_up"]


class PatternlabWorkerPlugin(WorkerPlugin):
    """Prepares every worker: the kernels are loaded (from numba's on-disk cache, or compiled
    once) before any task, so that no task pays compilation; and glibc's allocator is told to
    keep reusing freed blocks (see :func:`tune_allocator`).

    Registered by :func:`~patternlab.batch_perceive` and :class:`~patternlab.Lab` with
    ``client.register_plugin``; idempotent.

    After the warm-up, the objects alive then (modules, compiled kernels: about 200,000 with
    numba, Dask and scikit-learn loaded) are frozen out of the garbage collector
    (:func:`gc.freeze`). Python's shutdown runs several full collections that visit every
    tracked object; in a worker, that took 1 to 3 s on a loaded 2-core machine, and the nanny,
    which gives a closing worker 4 s, killed workers that were only exiting ("Worker process
    still alive after 4.0 seconds, killing"). Frozen, they are never visited again: a worker
    exits in about 0.1 s, and its full collections during tasks are cheaper too. Those objects
    live as long as the process anyway.
    """

    name = "patternlab"

    async def setup(self, worker: Any = None) -> None:
        tune_allocator()
        # in a thread: loading the kernels takes seconds, and a worker whose event loop is
        # blocked that long misses the scheduler's messages (a retirement among them)
        await asyncio.to_thread(warm_up)
        freeze_long_lived()

    def teardown(self, worker: Any = None) -> None:
        return None


#: glibc ``mallopt`` parameters and the value set on workers: allocations below 64 MiB come
#: from the heap, and up to 64 MiB of freed memory at its top is kept for reuse.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _ALLOCATOR_KEEP = -1, -3, 64 << 20


def tune_allocator() -> bool:
    """Let glibc reuse freed memory in this (worker) process; return whether it applied.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which makes glibc hand
    memory back to the kernel eagerly and, as a side effect, turns off its adaptive mmap
    threshold: every array above 128 KiB is then a fresh ``mmap`` whose pages fault in on first
    touch. A partition allocates such arrays for every signal (library copies, profiles), and
    measured with ``getrusage`` a worker took ~26,000 page faults for 400 signals against ~600
    with these settings, and ~8% more CPU time than the same work in a plain process. Memory
    above 64 MiB is still returned to the kernel. No effect on non-glibc platforms.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mmap_ok = bool(mallopt(_M_MMAP_THRESHOLD, _ALLOCATOR_KEEP))
    return bool(mallopt(_M_TRIM_THRESHOLD, _ALLOCATOR_KEEP)) and mmap_ok


def freeze_long_lived() -> int:
    """Collect the garbage, then move every object still alive into the collector's permanent
    generation (:func:`gc.freeze`), where no collection visits it, at run time or at exit.
    Returns how many objects are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def warm_up() -> None:
    """Load (or compile) the kernels a task uses, on a tiny input: perceive, and the merges of
    partition results (which search and compare prototype sets)."""
    T = np.sin(np.linspace(0, 12 * np.pi, 300)) + np.linspace(0, 1, 300)
    cfg = EngineConfig(window=16)
    lib = PatternLibrary(16, config=cfg)
    other = PatternLibrary(16, config=cfg)
    with parallel_guard(), numba_threads(1):
        perceive(T, "warm-up", lib, cfg)
        perceive(T[::-1].copy(), "warm-up", lib, cfg, signal_id=1)
        perceive(np.cos(np.linspace(0, 9 * np.pi, 300)) * np.linspace(1, 2, 300), "warm-up", other,
                 cfg, signal_id=2)
        lib.merge(other)


def register(client: Any) -> None:
    """Register the plugin on ``client``'s cluster (its workers, and those that join later)."""
    client.register_plugin(PatternlabWorkerPlugin(), name="patternlab")
