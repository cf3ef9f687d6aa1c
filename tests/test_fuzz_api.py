"""Odd values thrown at the public API (EngineConfig, perceive, matrix_profile, distance_profile,
motifs, discords, ClusterConfig): whatever comes in, what escapes is a result or a PatternlabError,
never a bare OverflowError, MemoryError, TypeError or numba error. Bounded examples, small signals."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import patternlab as pl
from patternlab.errors import NoFiniteWindowWarning

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: Values that break naive validation: huge and tiny integers, non-finite floats, wrong types.
ODD = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([0, 1, -1, 2**31, 2**40, 2**63, 2**64, 10**400, -(10**400)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([True, False, None, "", "3", "nan", b"1", [], {}, (), 1j, Fraction(1, 3),
                     np.int64(7), np.float32(0.5), np.nan, object()]),
)

FIELDS = pl.EngineConfig.fields()


def _only_patternlab_errors(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn``'s answer, or None where it raised a patternlab error; its one documented warning
    (a series without a finite window: all-inf distances, as STUMPY) is allowed, no other."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoFiniteWindowWarning)
            return fn(*args, **kwargs)
    except pl.PatternlabError:
        return None


@FUZZ
@given(st.dictionaries(st.sampled_from([*FIELDS, "windw", "top-k", "topk", "seeed"]), ODD, max_size=3))
def test_engine_config_raises_only_patternlab_errors(values: dict[str, Any]) -> None:
    cfg = _only_patternlab_errors(pl.EngineConfig, **values)
    if cfg is not None:  # what was accepted is sane: bounded integers, finite floats
        assert 3 <= cfg.window <= 2**24 and 1 <= cfg.top_k <= 10_000 and 0 <= cfg.seed < 2**63
        assert all(math.isfinite(getattr(cfg, f)) for f in ("edge_threshold", "cluster_threshold",
                                                             "learning_rate", "exploration_rate",
                                                             "min_complexity"))


def test_a_misspelt_keyword_names_the_close_match() -> None:
    with pytest.raises(pl.UnknownSettingError, match="did you mean 'top_k'") as info:
        pl.EngineConfig(topk=3)  # type: ignore[call-arg]
    assert isinstance(info.value, TypeError) and isinstance(info.value, pl.ConfigError)
    with pytest.raises(pl.UnknownSettingError, match="did you mean 'max_workers'"):
        pl.ClusterConfig(max_worker=3)  # type: ignore[call-arg]
    with pytest.raises(pl.ConfigError, match="top_k=1099511627776 is beyond 10,000"):
        pl.EngineConfig(top_k=2**40)
    with pytest.raises(pl.InvalidParameterError, match="edge_threshold=<an integer of about 401 digits>"):
        pl.EngineConfig(edge_threshold=10**400)


SIGNAL = st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=0, max_size=80),
    st.lists(st.integers(min_value=-(2**70), max_value=2**70), min_size=0, max_size=40),
    st.sampled_from([None, "abc", [[1.0, 2.0], [3.0]], [1j, 2j, 3j, 4j], np.zeros((2, 3)), 5.0,
                     np.array(["a", "b", "c", "d"]), np.full(50, 1e308), np.full(50, 5e-324)]),
)


@FUZZ
@given(SIGNAL, ODD)
def test_matrix_profile_and_friends_raise_only_patternlab_errors(T: Any, m: Any) -> None:
    _only_patternlab_errors(pl.matrix_profile, T, m)
    _only_patternlab_errors(pl.motifs, T, m)
    _only_patternlab_errors(pl.discords, T, m, k=2)


@FUZZ
@given(SIGNAL, SIGNAL)
def test_distance_profile_raises_only_patternlab_errors(Q: Any, T: Any) -> None:
    _only_patternlab_errors(pl.distance_profile, Q, T)


@FUZZ
@given(SIGNAL, st.sampled_from([8, 12, 3]), ODD)
def test_perceive_raises_only_patternlab_errors(T: Any, window: int, signal_id: Any) -> None:
    cfg = pl.EngineConfig(window=window, top_k=2)
    _only_patternlab_errors(pl.perceive, T, "fuzz", config=cfg, signal_id=signal_id)


URL_TEXT = st.text(alphabet=st.sampled_from(list("redis+clustr:/@[]?#=&,.0123456789x-_%\u00b2 ")),
                   max_size=40)
URL = st.one_of(URL_TEXT, st.builds(lambda a, b: f"redis://{a}{b}", URL_TEXT, URL_TEXT),
                st.builds(lambda a: f"redis+cluster://{a}", URL_TEXT),
                st.builds(lambda a: f"redis://localhost:6379/0?{a}", URL_TEXT))


@FUZZ
@given(URL)
def test_redis_urls_raise_only_patternlab_errors(url: str) -> None:
    try:
        store = pl.RedisPatternStore(url, socket_timeout=0.2)
    except pl.PatternlabError as exc:
        assert "hunter2" not in str(exc)
        return
    try:  # a URL accepted is one redis-py's connections take too (made here, not connected)
        if not store.is_cluster:
            store.client.connection_pool.make_connection().disconnect()
    finally:
        store.close()


@FUZZ
@given(ODD, ODD)
def test_perceive_with_odd_domain_and_library(domain: Any, library: Any) -> None:
    _only_patternlab_errors(pl.perceive, np.sin(np.arange(200) / 5.0), domain,
                            library if library is not None else None, pl.EngineConfig(window=16, top_k=2))
