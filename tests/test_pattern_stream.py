"""PatternStream: library matches and left-discords found as a stream arrives, the same however
the samples are batched, against NumPy twins; events through real Redis pub/sub."""

from __future__ import annotations

import numpy as np
import pytest

import patternlab as pl
import redis_servers as rs
import reference as ref

W = 32
SHAPE = np.sin(np.linspace(0, 2 * np.pi, W))


def library() -> pl.PatternLibrary:
    lib = pl.PatternLibrary(window=W, domain="audio")
    lib.add(SHAPE, signal_id=0, offset=0)
    lib.add(np.sign(SHAPE) + 0.1 * np.cos(np.arange(W)), signal_id=0, offset=40)
    return lib


def signal(n: int = 1200, seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    S = np.cumsum(rng.standard_normal(n)) * 0.2
    for at in (420, 700, 1000):
        S[at:at + W] += 6 * SHAPE
    S[850:858] = np.nan
    S[900:940] = S[899]  # constant windows never match
    S[1100:1104] += 30.0  # an anomaly
    return S


def by_sample(ps: pl.PatternStream, values: np.ndarray) -> list[pl.StreamEvent]:
    out: list[pl.StreamEvent] = []
    for x in values:
        out += ps.update(x)
    return out


def test_matches_against_the_twin_and_batching():
    lib, S = library(), signal()
    n0 = 300
    a = pl.PatternStream(lib, S[:n0], threshold=0.8)
    got = by_sample(a, S[n0:])
    b = pl.PatternStream(lib, S[:n0], threshold=0.8)
    batched = b.extend(S[n0:500]) + b.extend(S[500:501]) + b.extend(S[501:])
    assert got == batched  # the same events, however the samples come
    decided = len(S) - W + 1 - (W - 1)  # windows whose following windows have all arrived
    for p, pid in enumerate(lib.ids):
        corr = ref.prototype_correlation(lib.prototypes[p], S)
        want = ref.stream_matches(corr, 0.8, W, n0 - W + 1, decided)
        mine = [e for e in got if e.kind == "match" and e.pattern_id == pid]
        assert [e.position for e in mine] == want
        np.testing.assert_allclose([e.score for e in mine], corr[want], atol=1e-9)
    planted = {e.position for e in got if e.kind == "match" and e.pattern_id == lib.ids[0]}
    assert {420, 700, 1000} <= planted


def left_on_arrival(kept: np.ndarray) -> float:
    """The twin of a new window's left distance on arrival: the newest window of ``kept`` against
    every earlier window outside the exclusion zone."""
    wins = ref.windows(kept, W)
    new = wins[-1]
    far = len(wins) - 1 - ref.exclusion_zone(W)
    return min((ref.znorm_distance(w, new) for w in wins[:far]), default=np.inf)


@pytest.mark.parametrize("egress", [False, True])
def test_discords_are_left_distance_records(egress):
    lib = library()
    S = np.cumsum(np.random.default_rng(8).standard_normal(330)) * 0.2
    S[230:236] = np.nan
    S[260:270] = S[259]
    S[300:302] += 20.0  # a spike: no earlier window is like it
    n0 = 150
    ps = pl.PatternStream(lib, S[:n0], egress=egress)
    got = [e for e in by_sample(ps, S[n0:]) if e.kind == "discord"]
    PL = ref.matrix_profile(S[:n0], W).PL[(n0 - W + 1) // 2:]  # the second half of the history's
    record = float(np.max(PL[np.isfinite(PL)]))
    want = []
    for x in range(n0, len(S)):
        d = left_on_arrival(ref.kept_series(S[:x + 1], n0, egress))
        if np.isfinite(d) and d > record:
            want.append((x + 1 - W, d))
        if np.isfinite(d):
            record = max(record, d)
    assert [e.position for e in got] == [p for p, _ in want]
    np.testing.assert_allclose([e.score for e in got], [d for _, d in want], atol=1e-8)
    assert any(300 - W < e.position <= 302 for e in got)


def test_fixed_discord_threshold_and_errors():
    lib, S = library(), signal()
    ps = pl.PatternStream(lib, S[:300], discord_threshold=4.0)
    ev = ps.extend(S[300:])
    assert all(e.score >= 4.0 for e in ev if e.kind == "discord")
    with pytest.raises(pl.InvalidParameterError):
        pl.PatternStream("lib", S[:300])  # type: ignore[arg-type]
    with pytest.raises(pl.InvalidParameterError):
        pl.PatternStream(lib, S[:300], threshold=2.0)
    with pytest.raises(pl.InvalidParameterError):
        pl.PatternStream(lib, S[:300], discord_threshold=-1.0)
    with pytest.raises(pl.InvalidParameterError):
        ps.update([1.0, 2.0])
    with pytest.raises(pl.InvalidParameterError):
        ps.channel()


def test_events_through_redis_pubsub(tmp_path):
    lib, S = library(), signal()
    with rs.running(tmp_path / "redis") as srv:
        store = pl.RedisPatternStore(srv.url, namespace="lab")
        with pl.PatternStream.subscribe(store, "audio", timeout=5) as sub:
            ps = pl.PatternStream(lib, S[:300], threshold=0.8, store=store, name="mic-1")
            sent = ps.extend(S[300:800]) + ps.extend(S[800:])
            received = list(sub)
        assert sent and received == sent
        assert {e.stream for e in received} == {"mic-1"}
        store.close()
