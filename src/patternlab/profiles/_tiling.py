"""The exact matrix profile's tiles run as bounded tasks: on this process's threads or over a Dask
cluster.

The cells of the canonical decomposition (see :mod:`patternlab.kernels.matrix_profile`) are
grouped into *tasks* of one row block by a run of diagonal bands (:func:`plan`). A task folds its
tiles into maxima of its own rows and columns only (at most ``R + bands * K`` columns), which are
then merged into the full-length maxima with the order-independent rule of
:func:`~patternlab.kernels.matrix_profile.merge_max` (the larger correlation; on a tie the smaller
index). So the result is identical, bit for bit, whatever the grouping, the number of threads or
workers and the order tasks finish in, and the memory of a run is the full-length maxima plus one
task's maxima per thread (flat in the number of threads).

* :func:`triangle_in_threads` runs the tasks on a pool of this process's threads (the kernel
  releases the GIL); the merge into the shared maxima holds a lock.
* :func:`triangle_on_cluster` submits them to Dask: each task receives only the slices of the
  series its tiles read and runs on one numba thread of its worker; the client folds the results
  as they arrive and, with a :class:`Recorder`, records each finished task in a store so that a
  restarted run computes only the tasks missing there.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray

from .._events import PROFILE_EVENT
from ..kernels import absolute as ak
from ..kernels import matrix_profile as mpk
from ..kernels import neighbours as nk

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client


class Windows(NamedTuple):
    """Per-window data of one series, ready for the kernels."""

    Tc: NDArray[np.float64]  # sanitized, power-of-two scaled samples
    mu: NDArray[np.float64]
    s: NDArray[np.float64]  # 1 / sqrt(sum of squared deviations); 0 if constant or non-finite
    e: NDArray[np.float64]  # additive correlation term: 0, CONSTANT_TERM or INVALID_TERM
    df: NDArray[Any]  # recurrence terms, in the search dtype
    dg: NDArray[Any]
    s_d: NDArray[Any]  # s and e in the search dtype (the same arrays for float64)
    e_d: NDArray[Any]


#: Diagonal bands per Dask task, when set; by default it is chosen so that there are about
#: :data:`TASKS_PER_THREAD` tasks per worker thread (fewer, larger tasks cost less to ship and
#: merge; enough of them keep every thread busy to the end), within :data:`MAX_COLUMNS`.
BANDS_PER_TASK: int | None = None
TASKS_PER_THREAD = 4
#: The most columns (windows of B) one task reads: bounds a task's memory on long series.
MAX_COLUMNS = 1 << 21
#: Tasks a worker thread of the cluster has submitted at a time (their inputs are on the workers).
IN_FLIGHT_PER_THREAD = 2
#: Times a task whose inputs were lost with a worker is submitted again before the run fails.
MAX_RESUBMITS = 5
#: The most diagonals of one task on this process's threads (its maxima stay in the L2 cache),
#: and the tasks per thread aimed at (more, smaller tasks even out a loaded machine's threads).
THREAD_TASK_DIAGONALS = 1 << 15
THREAD_TASKS_PER_THREAD = 16


class Task(NamedTuple):
    """One task: row block ``a`` (rows ``r0:r1``), bands ``g0:g1``, columns ``lo:hi``."""

    a: int
    g0: int
    g1: int
    r0: int
    r1: int
    lo: int
    hi: int


def tasks_of(lA: int, lB: int, kmin: int, R: int, K: int, bands_per_task: int) -> Iterator[Task]:
    """The tasks of the canonical decomposition of the cells ``j - i >= kmin`` (tiles ``R x K``)
    in groups of ``bands_per_task`` bands, in a fixed order (row blocks ascending, bands
    ascending); tasks without a cell are left out. A generator: a series of 10 million windows
    has hundreds of thousands of tasks."""
    nrb, nbands = mpk.n_tiles(lA, lB, kmin, R, K)
    for a in range(nrb):
        r0, r1 = a * R, min(a * R + R, lA)
        for g0 in range(0, nbands, bands_per_task):
            g1 = min(g0 + bands_per_task, nbands)
            lo, hi = r0 + kmin + g0 * K, min(lB, r1 + kmin + g1 * K)  # columns read
            if lo < lB:
                yield Task(a, g0, g1, r0, r1, lo, hi)


def plan(lA: int, lB: int, kmin: int, R: int, K: int, bands_per_task: int) -> list[Task]:
    """:func:`tasks_of` as a list (a resumable run numbers its tasks)."""
    return list(tasks_of(lA, lB, kmin, R, K, bands_per_task))


def cells(task: Task, lB: int, kmin: int, K: int) -> int:
    """Number of cells of ``task`` (for progress in cells/s)."""
    k0, k1 = kmin + task.g0 * K, kmin + task.g1 * K
    i = np.arange(task.r0, task.r1, dtype=np.int64)
    return int(np.maximum(np.minimum(k1, lB - i) - k0, 0).sum())


def _maxima(lA: int, lB: int, dtype: Any, index: Any) -> tuple[NDArray[Any], ...]:
    return (np.full(lA, mpk.EMPTY, dtype=dtype), np.full(lA, -1, dtype=index),
            np.full(lB, mpk.EMPTY, dtype=dtype), np.full(lB, -1, dtype=index))


def index_dtype(lA: int, lB: int, dtype: Any) -> type:
    """The dtype of the indices the tile kernel keeps: as wide as the search dtype, so that the
    mask of a vector compare selects the indices directly (int64 for float64; int32 for float32
    wherever the series have fewer than 2**31 windows). A narrower index costs a conversion of
    the mask per vector: about 8% of the float64 kernel's time on AVX2."""
    return np.int32 if np.dtype(dtype) == np.float32 and max(lA, lB) < 2**31 - 2 else np.int64


def thread_bands(nrb: int, nbands: int, K: int, nthreads: int) -> int:
    """Bands per task on ``nthreads`` threads: about :data:`THREAD_TASKS_PER_THREAD` tasks per
    thread, at most :data:`THREAD_TASK_DIAGONALS` diagonals per task."""
    groups = max(1, -(-THREAD_TASKS_PER_THREAD * nthreads // max(nrb, 1)))
    return max(1, min(-(-nbands // groups), THREAD_TASK_DIAGONALS // K))


def triangle_in_threads(A: Windows, B: Windows, m: int, kmin: int, tiles: tuple[int, int],
                        nthreads: int) -> tuple[NDArray[Any], ...]:
    """:func:`patternlab.kernels.matrix_profile.upper_triangle_serial` on ``nthreads`` threads of
    this process: the tasks of :func:`plan` go to whichever thread is free, each folds into its
    own bounded maxima, merged into the shared ones under a lock. Same result, bit for bit."""
    R, K = tiles
    lA, lB = len(A.s), len(B.s)
    nrb, nbands = mpk.n_tiles(lA, lB, kmin, R, K)
    tasks = tasks_of(lA, lB, kmin, R, K, thread_bands(nrb, nbands, K, nthreads))
    dtype = A.s_d.dtype
    index = index_dtype(lA, lB, dtype)
    rowP, rowI, colP, colI = _maxima(lA, lB, dtype, index)
    spB = mpk.special_prefix(B.e_d)
    lock = threading.Lock()
    failed: list[BaseException] = []

    def work() -> None:
        # each thread takes the next task when it is free (no queue of futures: a long series
        # has hundreds of thousands of tasks)
        while True:
            with lock:
                t = None if failed else next(tasks, None)
            if t is None:
                return
            try:
                tP, tI, cP, cI = _maxima(t.r1 - t.r0, t.hi - t.lo, dtype, index)
                mpk.task(A.Tc, A.mu, A.df, A.dg, A.s_d, A.e_d, B.Tc, B.mu, B.df, B.dg, B.s_d, B.e_d, spB,
                         m, kmin, R, K, t.a, t.g0, t.g1, tP, tI, cP, cI, t.lo)
                with lock:
                    mpk.merge_max(rowP[t.r0:t.r1], rowI[t.r0:t.r1], tP, tI)
                    mpk.merge_max(colP[t.lo:t.hi], colI[t.lo:t.hi], cP, cI)
            except BaseException as exc:  # reported in the calling thread
                with lock:
                    failed.append(exc)
                return

    workers = [threading.Thread(target=work, name=f"matrix-profile-{x}", daemon=True)
               for x in range(max(1, nthreads))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if failed:
        raise failed[0]
    return rowP, rowI, colP, colI


def _scatter(client: Client, args: tuple[Any, ...]) -> Any:
    """``args`` scattered to a worker as one value. A worker that has just died may still be
    chosen as the target (the scheduler has not noticed yet): the scatter then fails with a
    closed connection and is tried again, a bounded number of times."""
    for attempt in range(MAX_RESUBMITS + 1):
        try:
            [packed] = client.scatter([args], hash=False)
            return packed
        except OSError:  # distributed's CommClosedError is one
            if attempt == MAX_RESUBMITS:
                raise
            time.sleep(0.25 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _scattered_tasks(client: Client, todo: list[int], inputs_of: Callable[[int], tuple[Any, ...]],
                     submit: Callable[[int, Any], Any], what: str) -> Iterator[list[tuple[int, Any]]]:
    """Run tasks ``todo`` on ``client``: each one's inputs (``inputs_of(x)``) scattered to a
    worker as one value (not put in the task graph, where the scheduler would hold them until
    the task ran) and the task submitted by ``submit(x, scattered)``, with at most
    ``IN_FLIGHT_PER_THREAD`` tasks a worker thread in flight, so the cluster holds a bounded
    amount whatever the input. A task whose scattered inputs were lost with a worker (a
    scattered value cannot be recomputed) is scattered and submitted again, at most
    ``MAX_RESUBMITS`` times. Yields each batch of finished tasks as ``(x, result)`` (possibly
    empty, when every task of the batch was resubmitted)."""
    from concurrent.futures import CancelledError

    from distributed import as_completed
    from distributed.client import FutureCancelledError

    limit = max(2, IN_FLIGHT_PER_THREAD * sum(client.nthreads().values()))
    queue = iter(todo)
    pending = as_completed()
    futures: dict[Any, int] = {}
    scattered: dict[Any, Any] = {}
    lost: dict[int, int] = {}

    def submit_next(again: int | None = None) -> None:
        x = next(queue, None) if again is None else again
        if x is None:
            return
        packed = _scatter(client, inputs_of(x))
        fut = submit(x, packed)
        futures[fut] = x
        scattered[fut] = packed
        pending.add(fut)

    for _ in range(limit):
        submit_next()
    for batch in pending.batches():
        finished: list[tuple[int, Any]] = []
        for fut in batch:
            x = futures.pop(fut)
            packed = scattered.pop(fut)
            try:
                result = fut.result()
            except (CancelledError, FutureCancelledError):
                lost[x] = lost.get(x, 0) + 1
                if lost[x] > MAX_RESUBMITS:
                    raise RuntimeError(f"{what} task {x} lost its inputs {lost[x]} times "
                                       "(workers keep dying): check the cluster's workers") from None
                fut.release()
                packed.release()
                submit_next(again=x)
                continue
            fut.release()
            packed.release()
            submit_next()
            finished.append((x, result))
        yield finished


def _packed_task(packed: tuple[NDArray[Any], ...], m: int, kmax: int, R: int,
                 K: int) -> tuple[NDArray[Any], ...]:
    """:func:`_slice_task` on the slices scattered as one tuple."""
    TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB = packed
    return _slice_task(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, kmax, R, K)


def _slice_task(TA: NDArray[Any], muA: NDArray[Any], dfA: NDArray[Any], dgA: NDArray[Any],
                sA: NDArray[Any], eA: NDArray[Any], TB: NDArray[Any], muB: NDArray[Any],
                dfB: NDArray[Any], dgB: NDArray[Any], sB: NDArray[Any], eB: NDArray[Any], m: int,
                kmax: int, R: int, K: int) -> tuple[NDArray[Any], ...]:
    """Run one task's tiles on local slices (diagonals ``0 <= k < kmax`` in local coordinates),
    on one numba thread: the Dask worker's threads are the parallelism."""
    idx: NDArray[Any] = np.empty(0, dtype=index_dtype(len(sA), len(sB), sA.dtype))
    return mpk.upper_triangle_serial(TA, muA, dfA, dgA, sA, eA, TB, muB, dfB, dgB, sB, eB, m, 0,
                                     kmax, R, K, idx)


class Recorder(Protocol):
    """Where a resumable run keeps its maxima and which tasks are folded into them."""

    def load(self, tasks: list[Task]) -> tuple[NDArray[np.bool_], tuple[NDArray[Any], ...]]:
        """The tasks already recorded and the maxima ``(rowP, rowI, colP, colI)`` holding them."""

    def record(self, done: list[int], maxima: tuple[NDArray[Any], ...],
               rows: list[tuple[int, int]], cols: list[tuple[int, int]]) -> None:
        """Write the ranges of the maxima that tasks ``done`` changed, then mark them done."""


def cluster_bands(client: Client, nrb: int, nbands: int, R: int, K: int) -> int:
    """Bands per Dask task for ``client``'s cluster (see :data:`BANDS_PER_TASK`)."""
    if BANDS_PER_TASK is not None:
        return BANDS_PER_TASK
    threads = max(1, sum(client.nthreads().values()))
    groups = max(1, -(-TASKS_PER_THREAD * threads // max(nrb, 1)))
    return max(1, min(-(-nbands // groups), (MAX_COLUMNS - R) // K))


def triangle_on_cluster(client: Client, A: Windows, B: Windows, m: int, kmin: int,
                        tiles: tuple[int, int], bands_per_task: int | None = None, *,
                        recorder: Recorder | None = None,
                        progress: Callable[[int, int, int], None] | None = None,
                        ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    """:func:`patternlab.kernels.matrix_profile.upper_triangle_serial` as Dask tasks on
    ``client``.

    With ``recorder``, tasks it has recorded are not submitted again (their maxima are loaded
    from it), and every batch of finished tasks is recorded before the next is folded.
    ``progress(tasks_done, cells_done, tasks_total)`` is called after each batch.
    """
    R, K = tiles
    lA, lB = len(A.s), len(B.s)
    nrb, nbands = mpk.n_tiles(lA, lB, kmin, R, K)
    if bands_per_task is None:
        bands_per_task = cluster_bands(client, nrb, nbands, R, K)
    tasks = plan(lA, lB, kmin, R, K, bands_per_task)
    if recorder is not None:
        done, maxima = recorder.load(tasks)
    else:
        done = np.zeros(len(tasks), dtype=np.bool_)
        maxima = _maxima(lA, lB, A.s_d.dtype, np.int64)
    rowP, rowI, colP, colI = maxima
    run = uuid.uuid4().hex[:8]
    todo = [x for x in range(len(tasks)) if not done[x]]

    def inputs_of(x: int) -> tuple[NDArray[Any], ...]:
        t = tasks[x]
        return (A.Tc[t.r0:t.r1 + m - 1], A.mu[t.r0:t.r1], A.df[t.r0:t.r1], A.dg[t.r0:t.r1],
                A.s_d[t.r0:t.r1], A.e_d[t.r0:t.r1], B.Tc[t.lo:t.hi + m - 1], B.mu[t.lo:t.hi],
                B.df[t.lo:t.hi], B.dg[t.lo:t.hi], B.s_d[t.lo:t.hi], B.e_d[t.lo:t.hi])

    def submit(x: int, packed: Any) -> Any:
        t = tasks[x]
        return client.submit(_packed_task, packed, m, K * (t.g1 - t.g0), R, K,
                             key=f"matrix-profile-tile-{t.a}-{t.g0}-{run}", pure=False)

    n_done = int(done.sum())
    n_cells = 0
    if progress is not None:
        progress(n_done, 0, len(tasks))
    report = _ProfileReport(client, run, lA, m, [cells(t, lB, kmin, K) for t in tasks], done)
    for batch in _scattered_tasks(client, todo, inputs_of, submit, "matrix-profile"):
        finished, rows, cols = [], [], []
        for x, (tP, tI, cP, cI) in batch:
            t = tasks[x]
            r = slice(t.r0, t.r0 + len(tP))
            c = slice(t.lo, t.lo + len(cP))
            tI = tI.astype(np.int64)
            cI = cI.astype(np.int64)
            mpk.merge_max(rowP[r], rowI[r], tP, np.where(tI >= 0, tI + t.lo, -1))
            mpk.merge_max(colP[c], colI[c], cP, np.where(cI >= 0, cI + t.r0, -1))
            finished.append(x)
            rows.append((r.start, r.stop))
            cols.append((c.start, c.stop))
            n_cells += report.task_cells[x]
        if recorder is not None:
            recorder.record(finished, maxima, rows, cols)
        n_done += len(finished)
        if progress is not None:
            progress(n_done, n_cells, len(tasks))
        report.finished(finished)
    report.send(final=True)
    return rowP, rowI, colP, colI


class _ProfileReport:
    """Progress of a profile run on a cluster, logged on the scheduler as
    :data:`patternlab._events.PROFILE_EVENT` events (at most one a second, and the last one)
    for the dashboard page and ``patternlab status``."""

    def __init__(self, client: Client, run: str, windows: int, m: int, task_cells: list[int],
                 done: NDArray[np.bool_]) -> None:
        self.client = client
        self.msg: dict[str, Any] = {
            "run": run, "windows": int(windows), "m": int(m), "tasks_done": int(done.sum()),
            "tasks_total": len(task_cells), "cells_total": int(sum(task_cells)),
            "cells_done": int(sum(c for c, d in zip(task_cells, done) if d)),
            "cells_computed": 0, "seconds": 0.0, "finished": False}
        self.task_cells = task_cells
        self.t0 = time.perf_counter()
        self.sent = -1.0
        self.send()

    def finished(self, tasks: list[int]) -> None:
        work = sum(self.task_cells[x] for x in tasks)
        self.msg["tasks_done"] += len(tasks)
        self.msg["cells_done"] += work
        self.msg["cells_computed"] += work
        if time.perf_counter() - self.sent >= 1.0:
            self.send()

    def send(self, final: bool = False) -> None:
        now = time.perf_counter()
        self.sent = now
        self.msg["seconds"] = now - self.t0
        self.msg["finished"] = final
        try:
            self.client.log_event(PROFILE_EVENT, dict(self.msg))
        except Exception:  # pragma: no cover - monitoring never fails a profile (client closing)
            pass


#: The serial list kernels by name: a task names its kernel (a numba dispatcher shipped by value
#: would be compiled again on every worker instead of loaded from numba's cache).
LIST_KERNELS = {"neighbours": nk.upper_triangle_serial, "absolute": ak.upper_triangle_serial}


def _lists_task(kernel: str, A: tuple[Any, ...], B: tuple[Any, ...], m: int, kmax: int, R: int,
                K: int, nn: int, extra: tuple[Any, ...]) -> tuple[NDArray[Any], ...]:
    """One task of :func:`lists_on_cluster`: the serial list kernel on local slices."""
    out: tuple[NDArray[Any], ...] = LIST_KERNELS[kernel](*A, *B, m, 0, kmax, R, K, nn, *extra)
    return out


def _packed_lists_task(kernel: str, packed: tuple[tuple[Any, ...], tuple[Any, ...]], m: int, kmax: int,
                       R: int, K: int, nn: int, extra: tuple[Any, ...]) -> tuple[NDArray[Any], ...]:
    """:func:`_lists_task` on the slices scattered as one tuple ``(A part, B part)``."""
    a_part, b_part = packed
    return _lists_task(kernel, a_part, b_part, m, kmax, R, K, nn, extra)


def lists_on_cluster(client: Client, kernel: str, A: tuple[NDArray[Any], ...],
                     B: tuple[NDArray[Any], ...], m: int, kmin: int, tiles: tuple[int, int],
                     nn: int, extra: tuple[Any, ...] = (), bands_per_task: int | None = None
                     ) -> tuple[NDArray[Any], NDArray[np.int64], NDArray[Any], NDArray[np.int64]]:
    """The ``nn``-best row and column lists of a list kernel (``LIST_KERNELS[kernel](*A, *B, m,
    kmin, kmax, R, K, nn, *extra)``, e.g. :func:`patternlab.kernels.neighbours.upper_triangle_serial`)
    as Dask tasks of the canonical tiles, folded on the client as they finish.

    ``A`` and ``B`` are each a series' samples followed by its per-window arrays; a task receives
    only the slices its tiles read, scattered to a worker (not inside the task graph), with at
    most ``IN_FLIGHT_PER_THREAD`` tasks a worker thread in flight, and is scattered and submitted
    again when a worker dies with its inputs, as in :func:`triangle_on_cluster`. Lists rank by a
    strict total order, so the folded lists are the in-process ones bit for bit, whatever order
    tasks finish in.
    """
    R, K = tiles
    lA, lB = len(A[1]), len(B[1])
    nrb, nbands = nk.n_tiles(lA, lB, kmin, R, K)
    if bands_per_task is None:
        bands_per_task = cluster_bands(client, nrb, nbands, R, K)
    like = A[-1]
    rowP, rowI, rowT = nk.empty_lists(lA, nn, like)
    colP, colI, colT = nk.empty_lists(lB, nn, like)
    run = uuid.uuid4().hex[:8]
    work: list[tuple[int, int, int, int, int, int, int]] = []
    for a in range(nrb):
        r0, r1 = a * R, min(a * R + R, lA)
        for g0 in range(0, nbands, bands_per_task):
            g1 = min(g0 + bands_per_task, nbands)
            k0, k1 = kmin + g0 * K, kmin + g1 * K
            lo, hi = r0 + k0, min(lB, r1 + k1)
            if lo < lB:
                work.append((a, g0, r0, r1, lo, hi, k1 - k0))

    def inputs_of(x: int) -> tuple[Any, ...]:
        _, _, r0, r1, lo, hi, _ = work[x]
        return ((A[0][r0:r1 + m - 1], *(v[r0:r1] for v in A[1:])),
                (B[0][lo:hi + m - 1], *(v[lo:hi] for v in B[1:])))

    def submit(x: int, packed: Any) -> Any:
        a, g0, _, _, _, _, kmax = work[x]
        return client.submit(_packed_lists_task, kernel, packed, m, kmax, R, K, nn, extra,
                             key=f"neighbour-lists-tile-{a}-{g0}-{run}", pure=False)

    for batch in _scattered_tasks(client, list(range(len(work))), inputs_of, submit, "neighbour-lists"):
        for x, (tP, tI, cP, cI) in batch:
            _, _, r0, _, lo, _, _ = work[x]
            rows = slice(r0, r0 + len(tP))
            cols = slice(lo, lo + len(cP))
            nk.merge_lists(rowP[rows], rowI[rows], rowT[rows], tP, np.where(tI >= 0, tI + lo, -1))
            nk.merge_lists(colP[cols], colI[cols], colT[cols], cP, np.where(cI >= 0, cI + r0, -1))
    return rowP, rowI, colP, colI


class Progress:
    """A text (or notebook) progress bar in tiles, with cells/s; a no-op when disabled."""

    def __init__(self, enabled: bool, desc: str = "matrix profile") -> None:
        self._bar: Any = None
        self._t0 = time.perf_counter()
        self._enabled = enabled
        self._desc = desc

    def __call__(self, done: int, cells_done: int, total: int) -> None:
        if not self._enabled:
            return
        if self._bar is None:
            import sys

            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=done, desc=self._desc, unit="tile", file=sys.stderr,
                             dynamic_ncols=True)
            self._t0 = time.perf_counter()
            return
        self._bar.update(done - self._bar.n)
        rate = cells_done / max(time.perf_counter() - self._t0, 1e-9)
        self._bar.set_postfix_str(f"{_si(rate)} cells/s", refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _si(x: float) -> str:
    if x <= 0 or not math.isfinite(x):
        return "0"
    k = min(4, int(math.log10(x) // 3))
    return f"{x / 10 ** (3 * k):.3g}{' kMGT'[k].strip()}"
