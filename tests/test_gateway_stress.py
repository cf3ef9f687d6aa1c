"""benchmarks/stress_gateway.py, briefly, as a smoke test: 20 concurrent clients for a few seconds
against two real ``patternlab serve`` processes (sharing one LocalCluster and one redis-server);
no errors, and the store's supports add up to what the answers say was published. The figures of
the full 60 s run are in the README (a benchmark, not a timed test)."""

from __future__ import annotations

from benchmarks import stress_gateway


def test_the_stress_script_runs_and_the_supports_add_up() -> None:
    r = stress_gateway.run(seconds=3.0, clients=20, workers=1, replicas=2, length=800, window=32,
                           signals=24)
    assert r["requests"] >= 20
    assert r["error_rate"] == 0.0, r["statuses"]
    assert r["supports_add_up"], r
    assert r["support_sent"] > 0 and r["patterns"] > 0
    assert not r["key_in_logs"]
    assert r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"]
