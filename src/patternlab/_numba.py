"""Numba options in one place.

Every kernel in :mod:`patternlab.kernels` takes its decorator options from here, so that the
fastmath, cache and parallel choices are visible and reviewed together.

Notes
-----
* ``FASTMATH_FINITE`` enables ``nnan``/``ninf``. It is used **only** by kernels whose inputs are
  sanitized by the caller so that no NaN or infinity can occur inside them (the matrix-profile
  tile kernel works on pre-computed, finite statistics; non-finite windows are encoded with a
  finite penalty). Kernels that see raw signal values use ``FASTMATH_SAFE``, which keeps IEEE
  semantics for NaN and infinity.
* Nothing here changes :mod:`numba.config` at import time. The thread count is changed only inside
  :func:`numba_threads`, which restores it.
* Threads are chosen by size. Every kernel that uses ``numba.prange`` has a serial twin, compiled
  from the same per-element code (``*_serial`` in :mod:`patternlab.kernels`; both variants give
  the same result bit for bit). Callers estimate a call's work in inner-loop steps and take the
  parallel variant only when :func:`parallel_for` says so: at least :data:`PARALLEL_MIN_WORK`
  steps and more than one numba thread in effect. Small inputs therefore never open a parallel
  region, which is what made the defaults collapse on a busy machine: a region waits for its
  slowest thread, and a thread that the OS parked behind another process costs a whole scheduler
  time slice (milliseconds) on a call of microseconds, while OpenMP's idle workers spin after each
  region and take a core from the caller's own serial code. With one numba thread (Dask tasks run
  under ``numba_threads(1)``) no parallel region opens either, whatever the threading layer.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any

import numba

#: Flags that never assume finiteness: safe on raw data that may hold NaN or inf.
FASTMATH_SAFE: set[str] = set({"contract", "arcp"})

#: Flags for kernels whose inputs are guaranteed finite by construction (see module notes).
#: ``reassoc`` and ``nsz`` let LLVM vectorize max-reductions; max is exact under reassociation.
FASTMATH_FINITE: set[str] = set({"nnan", "ninf", "nsz", "reassoc", "contract", "arcp"})

#: Options for serial kernels.
JIT: dict[str, object] = {"nogil": True, "cache": True, "error_model": "numpy"}

#: Options for kernels that use ``numba.prange``.
JIT_PARALLEL: dict[str, object] = {**JIT, "parallel": True}


#: Inner-loop steps (about one multiply-add each; ~3-10 ms on one core) from which a kernel runs
#: its parallel variant. Below it the fork-join cost and the wait for a descheduled thread on a
#: shared machine outweigh the gain (measured: a 100,000-sample distance profile, 6.4 million
#: steps, ran 1.3x slower on two threads than on one on a loaded 2-core machine); above it a delay
#: of one scheduler time slice is a small part of the call. A distance profile is parallel from
#: about 8.4 million samples x window, a matrix profile from about 16,000 windows.
PARALLEL_MIN_WORK: int = 1 << 23


def parallel_for(work: float) -> bool:
    """Whether a kernel call of about ``work`` inner-loop steps should run in parallel.

    True when ``work >= PARALLEL_MIN_WORK`` and more than one numba thread is in effect in this
    thread (see :func:`numba_threads`).

    Examples
    --------
    >>> from patternlab._numba import numba_threads, parallel_for
    >>> parallel_for(1000)
    False
    >>> with numba_threads(1):
    ...     parallel_for(1e12)
    False
    """
    return work >= PARALLEL_MIN_WORK and numba.get_num_threads() > 1


def pick(parallel: Any, serial: Any, work: float) -> Any:
    """The kernel to call for about ``work`` inner-loop steps: ``serial`` (the serial twin) unless
    :func:`parallel_for` ``(work)``, else ``parallel`` run with dynamic scheduling
    (:func:`dynamic`)."""
    return dynamic(parallel) if parallel_for(work) else serial


def dynamic(kernel: Any) -> Any:
    """``kernel`` called with numba's dynamic scheduling: the iterations of its ``prange`` loops
    (chunks of work) are handed out one at a time to whichever thread is free, instead of one
    equal share per thread, so a thread that the OS parked behind another process holds up at most
    one chunk. The setting is restored after the call (``numba.parallel_chunksize``)."""

    @functools.wraps(kernel)
    def run(*args: Any) -> Any:
        with numba.parallel_chunksize(1):
            return kernel(*args)

    return run


def get_num_threads() -> int:
    """Return the number of threads numba's parallel kernels use in this thread."""
    return int(numba.get_num_threads())


@contextlib.contextmanager
def numba_threads(n: int | None) -> Iterator[int]:
    """Run the enclosed block with ``n`` numba threads, restoring the previous count after.

    Parameters
    ----------
    n : int or None
        Number of threads, between 1 and ``numba.config.NUMBA_NUM_THREADS``. ``None`` keeps the
        current count.

    Yields
    ------
    int
        The number of threads in effect inside the block.

    Examples
    --------
    >>> from patternlab._numba import numba_threads
    >>> with numba_threads(1) as n:
    ...     n
    1
    """
    previous = numba.get_num_threads()
    if n is None:
        yield previous
        return
    numba.set_num_threads(int(n))
    try:
        yield int(n)
    finally:
        numba.set_num_threads(previous)


_WORKQUEUE_LOCK = threading.Lock()


@numba.njit(parallel=True, cache=True)
def _touch(n):  # pragma: no cover - compiled
    acc = 0
    for i in numba.prange(n):
        acc += i
    return acc


def threading_layer() -> str:
    """The threading layer numba's parallel kernels use in this process (starting it if needed)."""
    from numba.np.ufunc import parallel

    if not parallel._is_initialized:
        with _WORKQUEUE_LOCK:
            _touch(2)
    return str(numba.threading_layer())


@contextlib.contextmanager
def parallel_guard() -> Iterator[None]:
    """Make parallel kernels safe to call from several threads at once (Dask's worker threads).

    numba picks the TBB or OpenMP layer when one is installed, and both are thread-safe; only
    its fallback, ``workqueue``, is not -- then calls are serialized through a lock.
    """
    if threading_layer() == "workqueue":
        with _WORKQUEUE_LOCK:
            yield
    else:
        yield
