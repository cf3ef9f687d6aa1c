"""The gateway's work, without HTTP: perceive a signal on the Dask cluster against the shared Redis
library, run batches over corpora into run stores, read patterns from the store, and report health.

:class:`Gateway` is what ``patternlab serve`` puts behind its HTTP API, usable from Python as well.
Its methods block (they wait for the cluster and Redis); the server calls them from a thread pool.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import redis as redis_py
from numpy.typing import NDArray

from ..batch import ZarrCorpus, open_run
from ..config import EngineConfig
from ..errors import InvalidParameterError, PatternlabError, PatternNotFoundError
from ..lab import Lab
from ..lab.api import batch_perceive
from ..store.redis import RedisPatternStore
from .codec import check_domain, pattern_json
from .settings import GatewaySettings
from .tasks import TASK_PREFIX, GatewayStorePlugin, perceive_task, plugin_name

__all__ = ["BATCH_NAME", "BatchJob", "BatchRunningError", "BatchesOffError", "Gateway", "GatewayTimeoutError"]

_log = logging.getLogger("patternlab.gateway")

#: What a batch name may hold: it names the run store ``runs/<name>.zarr`` under the data directory.
BATCH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_SCATTER_FROM = 1 << 20   # bytes


class GatewayTimeoutError(PatternlabError, TimeoutError):
    """The cluster did not answer within the gateway's ``request_timeout`` (answered 504)."""


class BatchRunningError(InvalidParameterError):
    """A batch of that name is running already (answered 409)."""


class BatchesOffError(PatternlabError, PermissionError):
    """Batches were asked of a gateway started without a data directory (answered 403)."""


@dataclass
class BatchJob:
    """A batch this gateway started: its state (``running``, ``done``, ``failed``), run store and
    outcome."""

    name: str
    corpus: str
    store: Path
    domain: str
    window: int
    batch_size: int
    state: str = "running"
    started: float = field(default_factory=time.time)
    finished: float | None = None
    metrics: dict[str, int | float] = field(default_factory=dict)
    patterns: int | None = None
    error: dict[str, str] | None = None


def _window_config(config: EngineConfig, window: int | None) -> EngineConfig:
    return config if window is None or window == config.window else config.replace(window=window)


class Gateway:
    """The cluster and the Redis pattern store behind ``patternlab serve``.

    Parameters
    ----------
    settings : GatewaySettings
    lab : Lab, optional
        The cluster to use (left open by :meth:`close`); by default one is opened from the
        settings: :meth:`Lab.connect <patternlab.Lab.connect>` to ``settings.scheduler``, else
        :meth:`Lab.from_config <patternlab.Lab.from_config>` (an embedded LocalCluster unless
        ``PATTERNLAB_CLUSTER`` says otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> from patternlab.gateway import Gateway, GatewaySettings
    >>> settings = GatewaySettings(redis_url="redis://localhost:6379/0", auth=False)
    >>> with Gateway(settings) as gw:                                     # doctest: +SKIP
    ...     res = gw.perceive(np.random.default_rng(0).standard_normal(2000), domain="audio")
    ...     res["published"]["support_added"], gw.health()["status"]
    """

    def __init__(self, settings: GatewaySettings, *, lab: Lab | None = None) -> None:
        self.settings = settings
        self.store = RedisPatternStore(settings.redis_url, settings.namespace, retries=2, backoff=0.05)
        self._own_lab = lab is None
        try:
            if lab is None:
                if settings.scheduler is not None:
                    lab = Lab.connect(settings.scheduler)
                else:
                    overrides: dict[str, Any] = ({} if settings.n_workers is None
                                                 else {"n_workers": settings.n_workers})
                    lab = Lab.from_config(**overrides)
            self.lab = lab
            self.plugin = plugin_name(self.store)
            # every worker (and every worker that joins later) holds the store; replicas of the
            # gateway in front of the same store register the same plugin under the same name
            lab.client.register_plugin(GatewayStorePlugin(self.store, self.plugin), name=self.plugin)
        except BaseException:
            if self._own_lab and lab is not None:
                lab.close()
            self.store.close()
            raise
        self._jobs: dict[str, BatchJob] = {}
        self._jobs_lock = threading.Lock()
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the store's connections, and the cluster if this gateway opened it."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._own_lab:
                self.lab.close()
        finally:
            self.store.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- perceive -----------------------------------------------------------------------------
    def perceive(self, signal: NDArray[np.float64], domain: str = "default", *, window: int | None = None,
                 learn: bool = True, idempotency_key: str | None = None) -> dict[str, Any]:
        """Perceive ``signal`` on the cluster against the store's library of ``(domain, window)``
        and publish what it learned.

        The publish token is ``idempotency_key`` (scoped by domain and window) when given, so a
        retried request is counted once; else a fresh one. The signal's id (provenance of the
        patterns it founds) derives from the token.

        Returns
        -------
        dict
            The perception as JSON (:func:`~patternlab.gateway.codec.perception_json`) and
            ``published``: ``created``, ``updated``, ``skipped``, ``support_added``, ``token``.
        """
        domain = check_domain(domain)
        config = _window_config(self.settings.config, window)
        if idempotency_key is not None:
            if not _KEY.match(idempotency_key):
                raise InvalidParameterError("the Idempotency-Key header must be 1 to 200 visible ASCII "
                                            "characters (e.g. a UUID)")
            digest = hashlib.sha256(f"{idempotency_key}\0{domain}\0{config.window}".encode()).hexdigest()
        else:
            digest = uuid.uuid4().hex
        token = f"gateway/{digest[:32]}"
        client = self.lab.client
        # a long signal travels to a worker on its own rather than inside the task's message
        data: Any = client.scatter(signal, hash=False) if signal.nbytes > _SCATTER_FROM else signal
        fut = client.submit(perceive_task, self.plugin, data, domain, config, learn, token,
                            f"gw:{digest[:24]}", key=f"{TASK_PREFIX}-{uuid.uuid4().hex}", pure=False)
        try:
            out: dict[str, Any] = fut.result(timeout=self.settings.request_timeout)
        except TimeoutError:
            fut.cancel()
            raise GatewayTimeoutError(f"the cluster did not perceive the signal within "
                                      f"{self.settings.request_timeout:g} s: it is busy or has no "
                                      "workers; retry later (with the same Idempotency-Key)") from None
        if isinstance(out.get("error"), BaseException):
            raise out["error"]
        return out

    # -- patterns -----------------------------------------------------------------------------
    def libraries(self) -> list[dict[str, Any]]:
        """The ``(domain, window)`` libraries in the store, with their sizes."""
        return [{"domain": d, "window": w, "patterns": self.store.count(d, w)}
                for d, w in self.store.libraries()]

    def patterns(self, domain: str, window: int | None = None, *, limit: int = 100, offset: int = 0,
                 prototypes: bool = False) -> dict[str, Any]:
        """The patterns of ``(domain, window)`` in the store, highest support first (then id)."""
        domain = check_domain(domain)
        config = _window_config(self.settings.config, window)
        lib = self.store.load_library(domain, config.window, config, skip_damaged=True)
        order = sorted(lib, key=lambda p: (-p.support, p.id))
        page = order[offset: offset + limit]
        return {"domain": domain, "window": config.window, "total": len(order), "offset": offset,
                "limit": limit, "support": int(sum(p.support for p in order)),
                "patterns": [pattern_json(p, prototype=prototypes) for p in page]}

    def pattern(self, domain: str, pattern_id: str, window: int | None = None) -> dict[str, Any]:
        """One pattern of ``(domain, window)``, with its prototype."""
        domain = check_domain(domain)
        config = _window_config(self.settings.config, window)
        lib = self.store.load_library(domain, config.window, config, skip_damaged=True)
        if pattern_id not in lib:
            raise PatternNotFoundError(f"no pattern {pattern_id[:80]!r} in the library {domain!r}/"
                                       f"{config.window}: list them with GET /v1/patterns/{domain}")
        return pattern_json(lib[pattern_id])

    # -- batches ------------------------------------------------------------------------------
    def _data_dir(self) -> Path:
        if self.settings.data_dir is None:
            raise BatchesOffError("batches are off on this gateway: start it with --data-dir DIR (the "
                                  "directory of the corpora and run stores)")
        return Path(self.settings.data_dir).resolve()

    def _inside(self, relative: Any, what: str) -> Path:
        root = self._data_dir()
        if not isinstance(relative, str) or not relative or "://" in relative or relative.startswith("/") \
                or "\0" in relative:
            raise InvalidParameterError(f"{what}={str(relative)[:80]!r}: pass a path relative to the "
                                        "gateway's data directory, e.g. 'corpora/ecg.zarr'")
        path = (root / relative).resolve()
        if not path.is_relative_to(root):
            raise InvalidParameterError(f"{what}={relative[:80]!r} leaves the gateway's data directory: "
                                        "pass a path inside it")
        return path

    def start_batch(self, name: str, corpus: str, domain: str = "default", *, window: int | None = None,
                    batch_size: int = 64, overwrite: bool = False) -> BatchJob:
        """Start :func:`patternlab.batch_perceive` over the corpus ``corpus`` (a path in the data
        directory, written by :func:`patternlab.write_signals`) into the run store
        ``runs/<name>.zarr``, learning into the Redis store; returns at once. A run store of the
        same work resumes; of other work, the job fails with ``RunMismatchError`` unless
        ``overwrite``."""
        if not isinstance(name, str) or not BATCH_NAME.match(name):
            raise InvalidParameterError(f"name={str(name)[:80]!r}: pass 1 to 64 letters, digits, '.', '_' "
                                        "or '-', starting with a letter or digit")
        domain = check_domain(domain)
        config = _window_config(self.settings.config, window)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) \
                or not 1 <= batch_size <= 1_000_000:
            raise InvalidParameterError(f"batch_size={batch_size!r}: pass an integer in 1 .. 1000000")
        path = self._inside(corpus, "corpus")
        if not path.exists():
            raise InvalidParameterError(f"corpus={corpus[:80]!r}: no such corpus in the data directory; "
                                        "write one with patternlab.write_signals")
        signals = ZarrCorpus(path)   # checks it is a corpus
        store = self._data_dir() / "runs" / f"{name}.zarr"
        job = BatchJob(name, corpus, store, domain, config.window, batch_size)
        with self._jobs_lock:
            old = self._jobs.get(name)
            if old is not None and old.state == "running":
                raise BatchRunningError(f"the batch {name!r} is running: follow it with "
                                            f"GET /v1/batches/{name}, or pick another name")
            self._jobs[name] = job
        store.parent.mkdir(parents=True, exist_ok=True)

        def run() -> None:
            try:
                out = batch_perceive(signals, domain, config=config, client=self.lab.client,
                                     batch_size=batch_size, progress=False, store=str(store),
                                     overwrite=overwrite, redis=self.store)
                job.metrics = {k: v for k, v in out.metrics.items() if isinstance(v, (int, float))}
                job.patterns = len(out.library)
                job.state = "done"
            except Exception as exc:  # reported in the job's state; the gateway goes on
                job.error = {"error": type(exc).__name__, "message": str(exc)}
                job.state = "failed"
                if not isinstance(exc, PatternlabError):
                    _log.exception("batch %s failed", name)
            finally:
                job.finished = time.time()

        threading.Thread(target=run, name=f"patternlab-batch-{name}", daemon=True).start()
        return job

    def batch(self, name: str) -> dict[str, Any]:
        """The state of the batch ``name``: this gateway's job, else what its run store says
        (another replica may have started it)."""
        if not isinstance(name, str) or not BATCH_NAME.match(name):
            raise InvalidParameterError(f"name={str(name)[:80]!r} is not a batch name")
        with self._jobs_lock:
            job = self._jobs.get(name)
        store = self._data_dir() / "runs" / f"{name}.zarr"
        out: dict[str, Any] = {"name": name, "store": f"runs/{name}.zarr"}
        if job is not None:
            out.update(state=job.state, corpus=job.corpus, domain=job.domain, window=job.window,
                       batch_size=job.batch_size, started=job.started, finished=job.finished)
        elif not store.exists():
            raise PatternNotFoundError(f"no batch {name!r}: start one with POST /v1/batches")
        progress = None
        try:
            run = open_run(str(store))
            done, total = run.progress
            progress = {"partitions_done": done, "partitions": total}
            if job is None:
                out.update(state="done" if run.complete else "incomplete", domain=run.domain)
                if run.complete:
                    out["metrics"] = {k: v for k, v in run.metrics.items() if isinstance(v, (int, float))}
        except PatternlabError:
            if job is None:
                raise
        out["progress"] = progress
        if job is not None:
            if job.state == "done":
                out["metrics"] = job.metrics
                out["patterns"] = job.patterns
            if job.error is not None:
                out["error"] = job.error
        return out

    def batches(self) -> list[dict[str, Any]]:
        """The batches this gateway started, newest first."""
        with self._jobs_lock:
            jobs = sorted(self._jobs.values(), key=lambda j: -j.started)
        return [{"name": j.name, "state": j.state, "corpus": j.corpus, "domain": j.domain,
                 "started": j.started, "finished": j.finished} for j in jobs]

    def batch_states(self) -> dict[str, int]:
        """How many of this gateway's batches are in each state."""
        with self._jobs_lock:
            states = [j.state for j in self._jobs.values()]
        return {s: states.count(s) for s in ("running", "done", "failed")}

    # -- health -------------------------------------------------------------------------------
    def health(self, timeout: float = 3.0) -> dict[str, Any]:
        """Whether the scheduler and Redis answer: ``status`` (``ok`` or ``unavailable``),
        ``scheduler`` and ``redis`` (booleans), ``workers`` (connected to the scheduler)."""
        workers: int | None = None
        client = self.lab.client
        try:
            ident = client.sync(client.scheduler.identity, n_workers=0, callback_timeout=timeout)
            workers = int(ident.get("n_workers", 0))
            scheduler_ok = True
        except Exception:  # any failure to answer is "unreachable"
            scheduler_ok = False
        try:
            redis_ok = bool(self.store.client.ping())
        except (redis_py.RedisError, OSError):
            redis_ok = False
        ok = scheduler_ok and redis_ok
        return {"status": "ok" if ok else "unavailable", "scheduler": scheduler_ok, "redis": redis_ok,
                "workers": workers}
