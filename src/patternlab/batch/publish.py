"""The final publish of a batch run into a Redis store: a token derived from the work itself (so a
retry of the same work never counts twice, with or without a run store), a retry budget sized for
the work at stake, and a failed publish that keeps the result (attached to the exception) and says
how to publish it later."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from ..errors import InvalidParameterError, PatternlabError
from ..library import PatternLibrary
from ..store.redis import RedisPatternStore

__all__ = [
    "DEFAULT_MAX_RETRY_SECONDS",
    "DEFAULT_MIN_RETRY_SECONDS",
    "batch_token",
    "publish_result",
    "retry_budget",
]

#: The final publish of a run is retried for as long as the run took to compute, at least this ...
DEFAULT_MIN_RETRY_SECONDS = 60.0
#: ... and at most this (unless ``publish_retry_seconds=`` says otherwise).
DEFAULT_MAX_RETRY_SECONDS = 900.0


def batch_token(signals_fingerprint: str, origin: str, config: dict[str, Any], domain: str,
                batch_size: int) -> str:
    """The publish token of a batch: a digest of its input (the signals' content hash and the
    library it starts from), its config, domain and batch size. The same work publishes under
    the same token, so the store counts it once however often it is run or retried (within the
    store's ``token_ttl``).

    Examples
    --------
    >>> a = batch_token("sig", "redis:ns/audio/64", {"window": 64}, "audio", 8)
    >>> a == batch_token("sig", "redis:ns/audio/64", {"window": 64}, "audio", 8), a[:6]
    (True, 'batch:')
    >>> a == batch_token("sig", "redis:ns/audio/64", {"window": 64}, "audio", 16)
    False
    """
    ident = json.dumps({"signals": signals_fingerprint, "library": origin, "config": config,
                        "domain": domain, "batch_size": int(batch_size)}, sort_keys=True, default=str)
    return "batch:" + hashlib.sha256(ident.encode()).hexdigest()[:32]


def retry_budget(wall_seconds: float, publish_retry_seconds: float | None) -> float:
    """Seconds the final publish keeps retrying a store that cannot be reached: the given
    ``publish_retry_seconds``, else the run's own wall time clamped to
    [:data:`DEFAULT_MIN_RETRY_SECONDS`, :data:`DEFAULT_MAX_RETRY_SECONDS`].

    Examples
    --------
    >>> retry_budget(5.0, None), retry_budget(3600.0, None), retry_budget(3600.0, 10)
    (60.0, 900.0, 10.0)
    """
    if publish_retry_seconds is not None:
        return check_retry_seconds(publish_retry_seconds)
    return float(min(DEFAULT_MAX_RETRY_SECONDS, max(DEFAULT_MIN_RETRY_SECONDS, wall_seconds)))


def check_retry_seconds(value: Any) -> float:
    """``publish_retry_seconds`` validated: a finite number of seconds >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= 86400 * 7:
        raise InvalidParameterError(f"publish_retry_seconds={value!r}: pass a number of seconds in "
                                    "[0, 604800] (0: no retry beyond the store's own), or None (as long "
                                    "as the run took, 60 s .. 15 min)")
    return float(value)


def publish_result(store: RedisPatternStore, before: PatternLibrary, result: Any, token: str,
                   retry_seconds: float, store_path: Any = None) -> None:
    """Publish ``result.library`` (learned from ``before``) under ``token``; on failure, raise the
    same kind of error with ``.result``, ``.before`` and ``.token`` attached and a message that
    says how to publish it later."""
    try:
        store.publish(before, result.library, token=token, retry_seconds=retry_seconds)
    except PatternlabError as exc:
        later = (f"the run's result is attached to this exception as .result (with .before and .token); "
                 f"publish it later with pl.RedisPatternStore(URL).publish(exc.before, exc.result.library, "
                 f"token={token!r}) -- the same token, so whatever this attempt wrote is not counted twice")
        if store_path is not None:
            later += (f"; or run batch_perceive again with store={str(store_path)!r}: it resumes the "
                      "finished run and publishes it under the same token")
        else:
            later += ("; running the same batch again also publishes under the same token (and recomputes "
                      "it: pass store= to keep a run's result on disk)")
        err = type(exc)(f"{exc}. Nothing is lost: {later}")
        err.result = result  # type: ignore[attr-defined]
        err.before = before  # type: ignore[attr-defined]
        err.token = token  # type: ignore[attr-defined]
        raise err from None
