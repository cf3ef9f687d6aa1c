"""The HTTP gateway (``patternlab serve``) against a real redis-server and a LocalCluster of worker
processes: perceive (JSON and .npy) equal to ``pl.perceive`` in process, learning into the store
with supports that add up, idempotent retries, patterns, batches, health, metrics, API keys, TLS,
limits, and bad input answered 4xx with nothing stored. Every answer is checked against the
OpenAPI document the gateway serves."""

from __future__ import annotations

import io
import json
import logging
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openapi_spec_validator
import pytest
from distributed import Event, LocalCluster
from hypothesis import HealthCheck, event, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

import patternlab as pl
from gateway_helpers import KEY, OTHER_KEY, call, signal
from patternlab._cli.main import main
from patternlab.dashboard import status
from patternlab.gateway import Gateway, GatewayServer, GatewaySettings, load_api_keys, openapi, service
from patternlab.gateway.tasks import MAX_POOLS, GatewayStorePlugin
from redis_servers import RedisServer, make_certificates, running

CFG = pl.EngineConfig(window=32)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with running(tmp_path_factory.mktemp("gateway-redis")) as srv:
        yield srv


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gateway-data")


@pytest.fixture(scope="module")
def settings(redis_server: RedisServer, data_dir: Path) -> GatewaySettings:
    return GatewaySettings(redis_url=redis_server.url, port=0, api_keys=(KEY, OTHER_KEY), namespace="gw",
                           config=CFG, data_dir=str(data_dir), max_body_bytes=200_000,
                           max_signal_length=5_000)


@pytest.fixture(scope="module")
def gateway(settings: GatewaySettings) -> Iterator[Gateway]:
    """The gateway as ``patternlab serve`` makes it without --scheduler: on an embedded LocalCluster
    of its own (Lab.from_config), closed with it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PATTERNLAB_CLUSTER", raising=False)
        gw = Gateway(settings.replace(n_workers=1))
    with gw:
        cluster = gw.lab.cluster
        yield gw
    assert cluster is not None and cluster.status.name == "closed"


@pytest.fixture(scope="module")
def lab(gateway: Gateway) -> pl.Lab:
    """The gateway's cluster (its LocalCluster of one worker process), for the other gateways."""
    return gateway.lab


@pytest.fixture(scope="module")
def server(settings: GatewaySettings, gateway: Gateway) -> Iterator[GatewayServer]:
    with GatewayServer(settings, gateway) as srv:
        yield srv


@pytest.fixture(scope="module")
def store(redis_server: RedisServer) -> Iterator[pl.RedisPatternStore]:
    with pl.RedisPatternStore(redis_server.url, namespace="gw", sync_interval=0.0) as st:
        yield st


def totals(store: pl.RedisPatternStore, domain: str, window: int = 32) -> tuple[int, int]:
    lib = store.load_library(domain, window, refresh=True)
    return len(lib), int(lib.supports.sum())


def metrics(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = call(base, "/metrics").body.decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


# -- perceive ---------------------------------------------------------------------------------------
def test_perceive_is_pl_perceive_on_the_cluster(server: GatewayServer, store: pl.RedisPatternStore) -> None:
    base = server.url
    T = signal(0)
    a = call(base, "/v1/perceive?domain=same&learn=false", T.tolist())
    b = call(base, "/v1/perceive?domain=same&learn=false", T)            # the same signal as .npy
    assert a.status == b.status == 200, a.body
    ra, rb = a.json, b.json
    assert ra["published"] == {"created": 0, "updated": 0, "skipped": 0, "support_added": 0, "token": None}
    for field in ("events", "motifs", "discords", "matches", "window", "domain"):
        assert ra[field] == rb[field], field
    ref = pl.perceive(T, "same", pl.PatternLibrary(config=CFG), CFG, signal_id=ra["signal_id"][2:],
                      learn=False)
    assert ra["events"] == ref.events.tolist()
    assert [(m["a"], m["b"]) for m in ra["motifs"]] == [(m.a, m.b) for m in ref.motifs]
    assert [m["distance"] for m in ra["motifs"]] == [m.distance for m in ref.motifs]
    assert [(d["index"], d["distance"]) for d in ra["discords"]] == [(d.index, d.distance)
                                                                     for d in ref.discords]
    assert totals(store, "same") == (0, 0)          # learn=false stores nothing


def test_a_long_signal_is_scattered_first(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    direct = gateway.perceive(signal(5), "scatter", learn=False)
    monkeypatch.setattr(service, "_SCATTER_FROM", 0)   # every signal counts as long
    scattered = gateway.perceive(signal(5), "scatter", learn=False)
    for field in ("events", "motifs", "discords", "matches"):
        assert scattered[field] == direct[field]


def test_learning_into_the_store_adds_up(server: GatewayServer, store: pl.RedisPatternStore) -> None:
    base = server.url
    added = created = 0
    for k in range(4):
        ans = call(base, "/v1/perceive?domain=audio", signal(10 + k))
        assert ans.status == 200, ans.body
        pub = ans.json["published"]
        assert pub["skipped"] == 0
        added += pub["support_added"]
        created += pub["created"]
        for p in ans.json["new_patterns"] + ans.json["updated_patterns"]:
            assert len(p["prototype"]) == 32
    n, support = totals(store, "audio")
    assert created == n > 0          # the pending pool on the worker turned a recurring shape into patterns
    assert support == added
    # the library the store holds is what the patterns routes serve, prototypes included
    lib = store.load_library("audio", 32, refresh=True)
    page = call(base, "/v1/patterns/audio?prototypes=true&limit=2").json
    assert page["total"] == len(lib) and page["support"] == support and len(page["patterns"]) == min(2, n)
    best = max(lib, key=lambda p: (p.support, [-ord(c) for c in p.id]))
    assert page["patterns"][0]["id"] == best.id
    one = call(base, f"/v1/patterns/audio/{best.id}").json
    assert one["support"] == best.support
    np.testing.assert_array_equal(one["prototype"], best.prototype)
    assert {"domain": "audio", "window": 32, "patterns": n} in call(base, "/v1/patterns").json["libraries"]
    missing = call(base, "/v1/patterns/audio/nope")
    assert missing.status == 404 and "nope" in missing.json["message"]


def test_a_retry_with_the_same_idempotency_key_is_counted_once(server: GatewayServer,
                                                               store: pl.RedisPatternStore) -> None:
    base = server.url
    for k in range(2):   # a pattern to reinforce
        call(base, "/v1/perceive?domain=retry", signal(30 + k))
    before = totals(store, "retry")
    hdr = {"Idempotency-Key": "req-7f3a"}
    first = call(base, "/v1/perceive?domain=retry", signal(40), headers=hdr).json["published"]
    assert first["support_added"] > 0
    mid = totals(store, "retry")
    assert mid[1] == before[1] + first["support_added"]
    again = call(base, "/v1/perceive?domain=retry", signal(40), headers=hdr).json["published"]
    assert again["skipped"] > 0 and again["support_added"] == 0 and again["token"] == first["token"]
    assert totals(store, "retry") == mid
    other = call(base, "/v1/perceive?domain=retry", signal(40), headers={"Idempotency-Key": "req-8"})
    assert other.json["published"]["skipped"] == 0 and totals(store, "retry")[1] > mid[1]


# -- bad input ----------------------------------------------------------------------------------------
def _npy(arr: Any, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


BAD = [
    ("empty body", "/v1/perceive", b"", "application/json", 400, "empty"),
    ("not JSON", "/v1/perceive", b"[1, 2,", "application/json", 400, "not valid JSON"),
    ("NaN token", "/v1/perceive", b"[1, NaN, 3]", "application/json", 400, "not valid JSON"),
    ("an object", "/v1/perceive", b'{"signal": [1, 2]}', "application/json", 400, "not an array"),
    ("strings", "/v1/perceive", b'[1, "2", 3]', "application/json", 400, "not a number"),
    ("booleans", "/v1/perceive", b"[true, false]", "application/json", 400, "not a number"),
    ("nested", "/v1/perceive", b"[[1, 2], [3, 4]]", "application/json", 400, "not a number"),
    ("huge integer", "/v1/perceive", b"[" + b"9" * 400 + b"]", "application/json", 400, "too large"),
    ("too short", "/v1/perceive", json.dumps(list(range(20))).encode(), "application/json", 400,
     "needs at least 41"),
    ("constant", "/v1/perceive", json.dumps([1.0] * 200).encode(), "application/json", 200, ""),
    ("too long", "/v1/perceive", json.dumps([0.5] * 6000).encode(), "application/json", 413, "at most 5000"),
    ("body over the limit", "/v1/perceive", b"[" + b"1," * 150_000 + b"1]", "application/json", 413,
     "200000 bytes"),
    ("pickled npy", "/v1/perceive", _npy(np.array([1, "a", None], dtype=object), allow_pickle=True),
     "application/x-npy", 400, "object"),
    ("2-D npy", "/v1/perceive", _npy(np.zeros((3, 100))), "application/x-npy", 400, "shape (3, 100)"),
    ("truncated npy", "/v1/perceive", _npy(np.zeros(100))[:-8], "application/x-npy", 400, "bytes of data"),
    ("not npy", "/v1/perceive", b"\x00\x01garbage", "application/x-npy", 400, "not a .npy file"),
    ("complex npy", "/v1/perceive", _npy(np.zeros(100, dtype=complex)), "application/x-npy", 400, "complex"),
    ("bad domain", "/v1/perceive?domain=a%7Bb%7D", json.dumps([0.1] * 100).encode(), "application/json",
     400, "domain="),
    ("bad window", "/v1/perceive?window=2", json.dumps([0.1] * 100).encode(), "application/json", 400,
     "window=2"),
    ("window not a number", "/v1/perceive?window=abc", b"[1]", "application/json", 400, "integer"),
    ("bad learn", "/v1/perceive?learn=maybe", b"[1]", "application/json", 400, "true or false"),
    ("unknown parameter", "/v1/perceive?windwo=32", b"[1]", "application/json", 400, "'windwo'"),
    ("bad limit", "/v1/patterns/audio?limit=-1", None, None, 400, "limit=-1"),
    ("bad pattern domain", "/v1/patterns/a%20b", None, None, 400, "domain="),
    ("unknown route", "/v1/nothing", None, None, 404, "openapi.json"),
    ("wrong method", "/v1/openapi.json", b"{}", "application/json", 405, "method"),
]


@pytest.mark.parametrize("what, path, body, ctype, status, needle", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_are_4xx_with_the_reason_and_store_nothing(
        server: GatewayServer, store: pl.RedisPatternStore, what: str, path: str, body: bytes | None,
        ctype: str | None, status: int, needle: str) -> None:
    before = sorted(store.libraries())
    ans = call(server.url, path, body, content_type=ctype)
    assert ans.status == status, ans.body[:300]
    if status >= 400:
        assert ans.json["status"] == status and needle in ans.json["message"], ans.json
    if status == 200:   # constant: a signal without usable windows learns nothing
        assert ans.json["published"]["support_added"] == 0
    assert sorted(store.libraries()) == before


# -- API keys --------------------------------------------------------------------------------------------
def test_every_route_but_health_needs_a_key(server: GatewayServer, caplog: pytest.LogCaptureFixture) -> None:
    base = server.url
    wrong = "wrong-key-that-must-not-be-echoed-42"
    caplog.set_level(logging.DEBUG)
    assert call(base, "/health", key=None).status == 200
    for path in ("/metrics", "/v1/openapi.json", "/v1/patterns", "/v1/patterns/audio", "/v1/batches",
                 "/v1/batches/x", "/v1/nothing"):
        for key in (None, wrong, KEY[:-1], ""):
            ans = call(base, path, key=key)
            assert ans.status == 401, (path, key)
            assert ans.headers["WWW-Authenticate"].startswith("Bearer")
            assert wrong.encode() not in ans.body and KEY[:-1].encode() not in ans.body
    assert call(base, "/v1/perceive", b"[1]", key=wrong, content_type="application/json").status == 401
    assert call(base, "/v1/patterns", key=KEY).status == 200
    assert call(base, "/v1/patterns", key=OTHER_KEY).status == 200      # a second key: rotation
    basic = call(base, "/v1/patterns", key=None, headers={"Authorization": f"Basic {KEY}"})
    assert basic.status == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/v1/patterns" in logged   # the access log is there...
    assert KEY not in logged and wrong not in logged and OTHER_KEY not in logged   # ...without keys


def test_settings_refuse_weak_or_missing_keys(tmp_path: Path, redis_server: RedisServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    url = redis_server.url
    with pytest.raises(pl.ConfigError, match="no API key"):
        GatewaySettings(redis_url=url)
    with pytest.raises(pl.ConfigError, match="only on loopback"):
        GatewaySettings(redis_url=url, host="0.0.0.0", auth=False)
    with pytest.raises(pl.ConfigError, match="at least 16") as err:
        GatewaySettings(redis_url=url, api_keys=("short",))
    assert "short" not in str(err.value)
    with pytest.raises(pl.ConfigError, match="Redis pattern store"):
        GatewaySettings(redis_url="", auth=False)
    with pytest.raises(pl.ConfigError, match="certfile and --keyfile"):
        GatewaySettings(redis_url=url, auth=False, certfile=str(tmp_path))
    keys = tmp_path / "keys"
    keys.write_text(f"# rotated monthly\n{KEY}\n\n{OTHER_KEY}\n")
    assert load_api_keys(keys) == (KEY, OTHER_KEY)
    keys.write_text("# nothing\n")
    with pytest.raises(pl.ConfigError, match="holds no key"):
        load_api_keys(keys)
    with pytest.raises(pl.ConfigError, match="cannot be read"):
        load_api_keys(tmp_path / "missing")
    monkeypatch.setenv("PATTERNLAB_API_KEY", KEY)
    assert load_api_keys() == (KEY,)
    s = GatewaySettings(redis_url="redis://:hunter2@127.0.0.1:1/0", api_keys=(KEY,))
    assert KEY not in repr(s) and "hunter2" not in repr(s) and "***" in repr(s)


def test_tls_and_loopback_without_auth(settings: GatewaySettings, gateway: Gateway, tmp_path: Path) -> None:
    certs = make_certificates(tmp_path / "certs")
    tls = settings.replace(certfile=str(certs.cert), keyfile=str(certs.key))
    with GatewayServer(tls, gateway) as srv:
        assert srv.url.startswith("https://127.0.0.1:")
        ctx = ssl.create_default_context(cafile=str(certs.ca))
        assert call(srv.url, "/v1/patterns", context=ctx).status == 200
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            call(srv.url, "/health", context=ssl.create_default_context())   # an untrusted certificate
        with pytest.raises((urllib.error.URLError, ConnectionError)):   # plain HTTP to the TLS port
            call(srv.url.replace("https", "http"), "/health", timeout=5)
    with GatewayServer(settings.replace(auth=False, api_keys=()), gateway) as srv:
        assert call(srv.url, "/v1/patterns", key=None).status == 200


# -- batches ---------------------------------------------------------------------------------------------
def test_a_batch_over_a_corpus_learns_into_the_store(server: GatewayServer, data_dir: Path,
                                                     store: pl.RedisPatternStore, settings: GatewaySettings,
                                                     lab: pl.Lab) -> None:
    base = server.url
    pl.write_signals(data_dir / "corpora" / "walks.zarr", [signal(100 + k) for k in range(12)])
    spec = {"name": "walks-1", "corpus": "corpora/walks.zarr", "domain": "batch", "batch_size": 4}
    started = call(base, "/v1/batches", spec)
    assert started.status == 202, started.body
    deadline = 120
    t0 = time.monotonic()
    while (st := call(base, "/v1/batches/walks-1").json)["state"] == "running":
        assert time.monotonic() - t0 < deadline
        time.sleep(0.2)
    assert st["state"] == "done", st
    assert st["progress"] == {"partitions_done": 3, "partitions": 3}
    assert st["metrics"]["signals"] == 12
    assert st["patterns"] == len(store.load_library("batch", 32, refresh=True))
    assert (data_dir / "runs" / "walks-1.zarr").is_dir()
    assert [b["name"] for b in call(base, "/v1/batches").json["batches"]] == ["walks-1"]
    # the same batch again resumes from its run store and publishes nothing twice
    before = totals(store, "batch")
    assert call(base, "/v1/batches", spec).status == 202
    while (again := call(base, "/v1/batches/walks-1").json)["state"] == "running":
        time.sleep(0.2)
    assert again["state"] == "done" and again["metrics"]["partitions_resumed"] == 3
    assert totals(store, "batch") == before
    # other work under the same name: the job fails with the reason, the store is left alone
    pl.write_signals(data_dir / "corpora" / "other.zarr", [signal(200 + k) for k in range(4)])
    assert call(base, "/v1/batches", {**spec, "corpus": "corpora/other.zarr"}).status == 202
    while (failed := call(base, "/v1/batches/walks-1").json)["state"] == "running":
        time.sleep(0.2)
    assert failed["state"] == "failed" and failed["error"]["error"] == "RunMismatchError", failed
    assert "overwrite" in failed["error"]["message"] and totals(store, "batch") == before
    # another replica, sharing the data directory, follows the batch by its run store
    with Gateway(settings, lab=lab) as gw2, GatewayServer(settings, gw2) as replica:
        seen = call(replica.url, "/v1/batches/walks-1").json
        assert seen["state"] == "done" and seen["progress"] == {"partitions_done": 3, "partitions": 3}
        assert seen["metrics"]["signals"] == 12 and "corpus" not in seen


@pytest.mark.parametrize("spec, status, needle", [
    ({"name": "x", "corpus": "../outside.zarr"}, 400, "leaves the gateway's data directory"),
    ({"name": "x", "corpus": "/etc/passwd"}, 400, "relative to the gateway's data directory"),
    ({"name": "x", "corpus": "s3://bucket/c.zarr"}, 400, "relative"),
    ({"name": "x", "corpus": "corpora/none.zarr"}, 400, "no such corpus"),
    ({"name": "../x", "corpus": "corpora/walks.zarr"}, 400, "name="),
    ({"name": "x"}, 400, "needs 'corpus'"),
    ({"name": "x", "corpus": "c", "batchsize": 3}, 400, "unknown field 'batchsize'"),
    ({"name": "x", "corpus": "c", "batch_size": True}, 400, "pass a int"),
    ([1, 2], 400, "JSON object"),
])
def test_bad_batches_are_refused(server: GatewayServer, spec: Any, status: int, needle: str) -> None:
    ans = call(server.url, "/v1/batches", spec)
    assert ans.status == status and needle in ans.json["message"], ans.json
    assert call(server.url, "/v1/batches/nope").status == 404


def test_batches_are_off_without_a_data_directory(settings: GatewaySettings, lab: pl.Lab) -> None:
    s = settings.replace(data_dir=None)
    with Gateway(s, lab=lab) as gw, GatewayServer(s, gw) as srv:
        ans = call(srv.url, "/v1/batches", {"name": "x", "corpus": "c"})
        assert ans.status == 403 and "--data-dir" in ans.json["message"]


# -- health, metrics, OpenAPI -------------------------------------------------------------------------------
def test_metrics_count_requests_errors_and_what_was_learned(server: GatewayServer) -> None:
    base = server.url
    m0 = metrics(base)
    ok = call(base, "/v1/perceive?domain=metrics", signal(200)).json
    call(base, "/v1/perceive?domain=metrics", b"[1]", content_type="application/json")
    call(base, "/v1/patterns", key=None)
    m = metrics(base)

    def delta(name: str, **labels: str) -> float:
        k = (name, tuple(sorted(labels.items())))
        return m.get(k, 0.0) - m0.get(k, 0.0)

    perceive = {"method": "POST", "route": "/v1/perceive"}
    assert delta("patternlab_gateway_requests_total", **perceive, status="200") == 1
    assert delta("patternlab_gateway_requests_total", **perceive, status="400") == 1
    assert delta("patternlab_gateway_requests_total", method="GET", route="/v1/patterns", status="401") == 1
    assert delta("patternlab_gateway_errors_total", route="/v1/perceive", error="InvalidWindowError") == 1
    assert delta("patternlab_gateway_request_duration_seconds_count", **perceive) == 2
    assert delta("patternlab_gateway_signals_total") == 1
    assert delta("patternlab_gateway_support_published_total") == ok["published"]["support_added"]
    assert m[("patternlab_gateway_scheduler_up", ())] == m[("patternlab_gateway_redis_up", ())] == 1
    assert m[("patternlab_gateway_workers", ())] == 1
    assert m[("patternlab_gateway_requests_in_flight", ())] == 1   # this scrape


def test_health_says_what_is_down(settings: GatewaySettings, lab: pl.Lab, tmp_path: Path) -> None:
    with running(tmp_path / "r") as rs:
        s = settings.replace(redis_url=rs.url)
        with Gateway(s, lab=lab) as gw, GatewayServer(s, gw) as srv:
            assert call(srv.url, "/health", key=None).json == {"status": "ok", "scheduler": True,
                                                                "redis": True, "workers": 1}
            rs.stop(kill=True)
            down = call(srv.url, "/health", key=None)
            assert down.status == 503 and down.json["redis"] is False and down.json["scheduler"] is True
            ans = call(srv.url, "/v1/perceive?domain=x", signal(1))
            assert ans.status == 503 and ans.json["error"] == "StoreConnectionError", ans.json
            assert "***" in ans.json["message"] or ":" in ans.json["message"]


def test_probes_answer_while_every_request_waits_for_the_cluster(settings: GatewaySettings, gateway: Gateway,
                                                                 lab: pl.Lab) -> None:
    """The one request thread waits for a worker that is busy: /health and /metrics still answer,
    and the waiting request counts in the scheduler's patternlab queue depth."""
    go = Event("gateway-go", client=lab.client)
    blocker = lab.client.submit(Event.wait, go, 60, key="gateway-blocker")
    with GatewayServer(settings.replace(max_in_flight=1), gateway) as srv:
        answers: list[int] = []
        waiting = threading.Thread(target=lambda: answers.append(
            call(srv.url, "/v1/perceive?domain=busy&learn=false", signal(7)).status))
        waiting.start()
        try:
            deadline = time.monotonic() + 60
            while status(lab.client)["queue_depth"] < 1:
                assert time.monotonic() < deadline, "the request never reached the scheduler"
                time.sleep(0.1)
            t0 = time.monotonic()
            assert call(srv.url, "/health", key=None).status == 200
            assert call(srv.url, "/metrics").status == 200
            assert time.monotonic() - t0 < 10
            assert answers == []   # still waiting
        finally:
            go.set()
            waiting.join(120)
    assert blocker.result() is True and answers == [200]


def test_an_embedded_local_cluster_by_default(gateway: Gateway) -> None:
    """No scheduler and no PATTERNLAB_CLUSTER: the gateway started its own LocalCluster (the
    module's fixture checks that closing the gateway closes it)."""
    assert gateway.lab.kind == "local" and gateway.health()["workers"] == 1
    assert isinstance(gateway.lab.cluster, LocalCluster)


def test_the_openapi_document_is_the_servers_routes(server: GatewayServer) -> None:
    doc = call(server.url, "/v1/openapi.json").json
    assert doc == json.loads(json.dumps(openapi()))
    openapi_spec_validator.validate(doc)   # a valid OpenAPI 3.1 document
    app = server.http.app() if server.http is not None else None
    assert app is not None
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None
              and r.method != "HEAD"}
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert routes == documented
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["operationId"] and op["responses"], (method, path)


def test_two_gateways_share_one_library(settings: GatewaySettings, gateway: Gateway, server: GatewayServer,
                                        lab: pl.Lab, store: pl.RedisPatternStore) -> None:
    """Two replicas in front of one store, requests on both at once, the second replica starting
    (and registering its worker plugin) while the first serves: the store's supports are the sum
    of what every answer says it added."""
    added: list[int] = []
    errors: list[Any] = []

    def client(base: str, seeds: range) -> None:
        for k in seeds:
            ans = call(base, "/v1/perceive?domain=shared", signal(k))
            if ans.status != 200:
                errors.append(ans.body)
            else:
                added.append(ans.json["published"]["support_added"])

    first = [threading.Thread(target=client, args=(server.url, range(300 + 10 * i, 304 + 10 * i)))
             for i in range(2)]
    for t in first:
        t.start()
    with Gateway(settings, lab=lab) as gw2, GatewayServer(settings, gw2) as second:
        more = [threading.Thread(target=client, args=(second.url, range(400 + 10 * i, 403 + 10 * i)))
                for i in range(2)]
        for t in more:
            t.start()
        for t in first + more:
            t.join(300)
    assert errors == []
    assert len(added) == 14
    assert totals(store, "shared")[1] == sum(added) > 0


def test_a_replaced_worker_plugin_leaves_its_store_open_and_its_pools_behind(
        redis_server: RedisServer) -> None:
    """Another replica registering the plugin replaces it on every worker (Dask tears the old one
    down first): a task still holding the old plugin's store must be able to finish, and the
    candidates pending on the worker carry over to the new plugin."""
    old_store = pl.RedisPatternStore(redis_server.url, namespace="gw")
    old = GatewayStorePlugin(old_store, "patternlab-gateway-replaced")
    key = ("d", CFG)
    lib = pl.PatternLibrary(config=CFG)
    old.keep(key, lib)
    old.teardown(None)
    assert old_store.ping() >= 0 and old_store.count("audio", 32) >= 0   # still usable
    new = GatewayStorePlugin(pl.RedisPatternStore(redis_server.url, namespace="gw"),
                             "patternlab-gateway-replaced")
    assert new.pool(key) is lib and new.lock(key) is old.lock(key)
    for k in range(MAX_POOLS + 5):   # the pools kept are bounded
        new.keep((f"d{k}", CFG), lib)
    assert new.pool(key) is None and new.pool((f"d{MAX_POOLS + 4}", CFG)) is lib
    old_store.close()
    new.store.close()


# -- fuzz --------------------------------------------------------------------------------------------
_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
                     lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_text, inner, max_size=5),
                     max_leaves=30)
_number = st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=64),
                    st.integers(-10 ** 30, 10 ** 30))
_numbers = st.lists(_number, max_size=40) | st.lists(_number, min_size=41, max_size=300) | st.builds(
    lambda seed, scale, spikes: (signal(seed, 300) * scale).tolist() + spikes,
    st.integers(0, 10), st.sampled_from([1.0, 1e-300, 1e300, -1e12]), st.lists(_number, max_size=3))


@st.composite
def _requests(draw: st.DrawFn) -> tuple[str, str, bytes | None, str | None, dict[str, str]]:
    seg = draw(st.sampled_from(["audio", "shared", "", "x" * 200]) | _text)
    q = urllib.parse.quote
    route = draw(st.sampled_from(["perceive"] * 5 + ["patterns", "pattern", "batches", "batch", "libraries"]))
    names = st.sampled_from(["domain", "window", "learn", "limit", "offset", "prototypes", "x"]) | _text
    values = st.sampled_from(["32", "3", "0", "-1", "true", "no", "9" * 30]) | _text
    params = {} if draw(st.booleans()) else draw(st.dictionaries(names, values, max_size=3))
    query = ("?" + urllib.parse.urlencode(params)) if params else ""
    method, body, ctype = "GET", None, None
    if route == "perceive":
        method, path = "POST", "/v1/perceive"
        kind = draw(st.sampled_from(["numbers", "json", "bytes", "npy"]))
        if kind == "numbers":
            body, ctype = json.dumps(draw(_numbers)).encode(), "application/json"
        elif kind == "json":
            body = json.dumps(draw(_json)).encode()
            ctype = draw(st.sampled_from(["application/json", "text/plain"]))
        elif kind == "bytes":
            body, ctype = draw(st.binary(max_size=300)), draw(st.sampled_from(["application/json",
                                                                               "application/x-npy", ""]))
        else:
            dtype = draw(st.sampled_from(["<f8", ">f4", "<i2", "|u1", "<c16", "|b1", "<M8[s]", "<U3"]))
            n = draw(st.integers(0, 250))
            arr = np.frombuffer(draw(st.binary(min_size=n * np.dtype(dtype).itemsize,
                                               max_size=n * np.dtype(dtype).itemsize)), dtype=dtype)
            raw = _npy(arr)
            cut = draw(st.integers(0, len(raw)))
            body, ctype = raw[:cut] if draw(st.booleans()) else raw, "application/x-npy"
    elif route == "patterns":
        path = f"/v1/patterns/{q(seg, safe='')}"
    elif route == "pattern":
        path = f"/v1/patterns/{q(seg, safe='')}/{q(draw(_text), safe='')}"
    elif route == "batch":
        path = f"/v1/batches/{q(seg, safe='')}"
    elif route == "libraries":
        path = "/v1/patterns"
    else:
        method, path = "POST", "/v1/batches"
        body, ctype = json.dumps(draw(_json)).encode(), "application/json"
    headers = {}
    if draw(st.integers(0, 3)) == 0:
        headers["Idempotency-Key"] = draw(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                                                  max_size=250))
    return method, path + query, body, ctype, headers


@fuzz_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(req=_requests())
def test_fuzzed_requests_are_never_a_server_error(server: GatewayServer, redis_server: RedisServer,
                                                  req: tuple[str, str, bytes | None, str | None,
                                                             dict[str, str]]) -> None:
    """Whatever a client sends: never a 5xx (Redis and the cluster are up), a JSON error naming the
    problem for a 4xx, the answer one the OpenAPI document describes, and nothing written to
    Redis by a refused request."""
    method, path, body, ctype, headers = req
    with redis_server.client() as admin:
        keys = admin.dbsize()
        ans = call(server.url, path, body, method=method, content_type=ctype, headers=headers)
        event(f"{method} {path.split('/')[2].split('?')[0]} {ans.status}")
        assert ans.status < 500, (path, ans.body[:300])
        if ans.status >= 400:
            assert ans.json["message"] and ans.json["status"] == ans.status
            if path.startswith("/v1/perceive"):
                assert admin.dbsize() == keys


def test_names_with_braces_reach_their_handler(server: GatewayServer) -> None:
    """A path name holding a brace (which aiohttp's default route pattern refuses as "no such
    route") is refused by its handler with the documented 400 (or 404 for a well-formed one)."""
    for path in ("/v1/patterns/%7B", "/v1/patterns/%7Bx%7D/abc", "/v1/patterns/demo/%7D",
                 "/v1/batches/%7B"):
        ans = call(server.url, path)  # checked against the OpenAPI document
        assert ans.status in (400, 404) and ans.json["message"], (path, ans.status)


# -- the command line -------------------------------------------------------------------------------
def test_serve_refuses_bad_settings_with_exit_code_2(tmp_path: Path, redis_server: RedisServer,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATTERNLAB_API_KEY", raising=False)
    monkeypatch.delenv("PATTERNLAB_REDIS_URL", raising=False)
    keys = tmp_path / "keys"
    keys.write_text(KEY + "\n")
    cases = [
        (["--redis", redis_server.url], "no API key"),
        (["--redis", redis_server.url, "--host", "0.0.0.0", "--no-auth"], "only on loopback"),
        (["--api-key-file", str(keys)], "needs a Redis pattern store"),
        (["--redis", "redis://localhost:notaport/0", "--api-key-file", str(keys)], "port"),
        (["--redis", redis_server.url, "--api-key-file", str(tmp_path / "none")], "cannot be read"),
        (["--redis", redis_server.url, "--api-key-file", str(keys), "--max-body-bytes", "0"],
         "max_body_bytes=0"),
    ]
    for argv, needle in cases:
        assert main(["serve", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert needle in err and KEY not in err, (argv, err)
    with pytest.raises(SystemExit) as done:
        main(["serve", "--help"])
    assert done.value.code == 0 and "--api-key-file" in capsys.readouterr().out


def test_serve_without_the_serve_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """aiohttp missing: the other commands work (the gateway is imported only by serve), serve
    says which extra to install."""
    for name in [m for m in sys.modules if m.startswith("patternlab.gateway")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(pl, "gateway", raising=False)
    monkeypatch.setitem(sys.modules, "aiohttp", None)   # import aiohttp fails
    assert main(["serve", "--no-auth", "--redis", "redis://127.0.0.1:6379/0"]) == 2
    assert "pip install 'patternlab[serve]'" in capsys.readouterr().err
