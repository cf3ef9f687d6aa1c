"""RedisPatternStore against real single-node servers: publish/load, idempotent tokens, events,
the local cache, hostile values, credentials, TLS, restarts, concurrent writers, archival."""

from __future__ import annotations

import multiprocessing
import pickle
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import redis

import patternlab as pl
import redis_servers as rs
from patternlab.errors import InvalidParameterError, PatternlabError, StoreConnectionError, StoreDataError
from patternlab.store.redis import SHARDS, RedisPatternStore, shard_of

#: Store mechanics, not learning rules: every candidate updates its nearest pattern or founds one
#: (no complexity filter, pool or lag alignment), as the tests' expectations assume.
PLAIN_LEARNING = pl.EngineConfig(window=16, min_complexity=0.0, min_support=1, max_lag=0)


W = 16


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rs.RedisServer]:
    with rs.running(tmp_path_factory.mktemp("redis")) as srv:
        yield srv


@pytest.fixture
def ns() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def store(server: rs.RedisServer, ns: str) -> Iterator[RedisPatternStore]:
    with RedisPatternStore(server.url, ns, sync_interval=0.0) as st:
        yield st


def make_library(n: int, seed: int = 0, domain: str = "audio", window: int = W,
                 first: int = 0) -> pl.PatternLibrary:
    """``n`` patterns founded in signals ``first ...`` (ids derive from them)."""
    rng = np.random.default_rng(seed)
    lib = pl.PatternLibrary(window=window, domain=domain, config=pl.EngineConfig(window=window))
    for k in range(n):
        lib.add(np.cumsum(rng.standard_normal(window)), signal_id=first + k if k % 3 else f"sig-{first + k}",
                offset=7 * k, support=1 + k % 4)
    return lib


def raw_state(client: redis.Redis, ns: str) -> dict[bytes, object]:
    """Every key of a namespace with its content (tokens and times excluded), for comparisons."""
    out: dict[bytes, object] = {}
    for key in client.scan_iter(match=f"{ns}:*", count=1000):
        kind = client.type(key)
        if key.endswith((b":tokens", b":published")):
            continue
        if kind == b"hash":
            h = client.hgetall(key)
            out[key.split(b"}", 1)[1]] = {k: v for k, v in h.items() if k not in (b"created", b"updated")}
        elif kind == b"zset":
            out[key.split(b"}", 1)[1] + key.split(b"}", 1)[0][-3:]] = sorted(client.zrange(key, 0, -1))
    return out


def assert_consistent(store: RedisPatternStore, client: redis.Redis, domain: str, window: int) -> None:
    """Every index entry has its pattern hash and every pattern hash is indexed."""
    indexed = set()
    for s in range(SHARDS):
        indexed |= {p.decode() for p in client.zrange(store._key(domain, window, s, "idx"), 0, -1)}
    hashes = {k.decode().rsplit(":p:", 1)[1] for k in client.scan_iter(match=f"{store.namespace}:*:p:*")}
    assert indexed == hashes


# -- publish and load ------------------------------------------------------------------------------
def test_publish_then_load_round_trip(store: RedisPatternStore, server: rs.RedisServer, ns: str) -> None:
    lib = make_library(40)
    res = store.publish(None, lib, token="run/0")
    assert (res.created, res.updated, res.skipped) == (40, 0, 0)
    got = store.load_library("audio", W)
    assert sorted(got.ids) == sorted(lib.ids) and got.domain == "audio" and got.window == W
    for p in lib:
        q = got[p.id]
        np.testing.assert_allclose(q.prototype, p.prototype, atol=1e-14)
        assert (q.support, q.first_seen, q.last_updated) == (p.support, p.first_seen, p.last_updated)
    # another process's view: a fresh store on the same namespace loads the same library, same order
    with RedisPatternStore(server.url, ns) as other:
        again = other.load_library("audio", W)
    assert again.ids == got.ids and np.array_equal(again.prototypes, got.prototypes)
    assert store.count("audio", W) == 40 and store.libraries() == [("audio", W)]
    assert store.load_library("audio", 32).ids == [] and store.count("speech", W) == 0


def test_update_adds_support_and_weighted_prototype(store: RedisPatternStore, server: rs.RedisServer) -> None:
    lib = make_library(5)
    store.publish(None, lib, token="a")
    before = store.load_library("audio", W)
    after = before.copy()
    pid = before.ids[2]
    z0, s0 = before[pid].prototype.copy(), before[pid].support
    inst = z0 + 0.3 * np.sin(np.arange(W))
    kind, got_id = after.learn(inst, signal_id=99, offset=5, config=PLAIN_LEARNING)
    assert (kind, got_id) == ("updated", pid)
    key = store._pkey("audio", W, pid)
    acc0 = np.frombuffer(server.client().hget(key, "acc"), "<f8")
    np.testing.assert_allclose(acc0, s0 * z0, atol=1e-14)
    res = store.publish(before, after, token="b")
    assert (res.created, res.updated) == (0, 1)
    # the stored sum is exactly acc0 + 1 * z_after, added in the server with IEEE doubles
    acc = np.frombuffer(server.client().hget(key, "acc"), "<f8")
    np.testing.assert_array_equal(acc, acc0 + 1.0 * after[pid].prototype)
    now = store.load_library("audio", W)
    assert now[pid].support == s0 + 1 and now[pid].last_updated == (99, 5)
    expect = acc - acc.mean()
    np.testing.assert_allclose(now[pid].prototype, expect / np.linalg.norm(expect), atol=1e-14)
    assert now[pid].first_seen == before[pid].first_seen
    # a new pattern founded locally is created; unchanged ones are not written
    after2 = now.copy()
    after2.add(np.cos(np.arange(W) / 2.0), signal_id="new", offset=1)
    assert store.publish(now, after2, token="c").created == 1
    assert store.publish(after2, after2, token="d") == pl.store.redis.PublishResult(0, 0, 0, "d")


def test_same_token_twice_is_a_no_op(store: RedisPatternStore, server: rs.RedisServer, ns: str) -> None:
    lib = make_library(30)
    first = store.publish(None, lib, token="run-1/partition-7")
    state = raw_state(server.client(), ns)
    again = store.publish(None, lib, token="run-1/partition-7")
    assert again.created == again.updated == 0 and again.skipped == len({shard_of(p) for p in lib.ids})
    assert first.skipped == 0 and raw_state(server.client(), ns) == state
    assert store.load_library("audio", W).supports.sum() == lib.supports.sum()


def test_partial_publish_then_retry_equals_one_full_publish(server: rs.RedisServer, ns: str) -> None:
    """A publish cut short (some shards applied, the others not) and retried with its token ends
    exactly as a single complete publish (compared key by key, bytes included)."""
    base = make_library(30, seed=1)
    after = base.copy()
    rng = np.random.default_rng(3)
    for k in range(60):
        pid = after.ids[k % len(after)]
        after.learn(after[pid].prototype + 0.05 * rng.standard_normal(W), signal_id=1000 + k, offset=k,
                    config=PLAIN_LEARNING)
    from patternlab.store.redis import _diff

    ref_ns, cut_ns = f"{ns}-ref", f"{ns}-cut"
    with RedisPatternStore(server.url, ref_ns) as ref, RedisPatternStore(server.url, cut_ns) as cut:
        for st in (ref, cut):
            st.publish(None, base, token="base")
        ref.publish(base, after, token="p")
        changes = _diff(base, after)
        half = [c for c in changes if shard_of(c[0]) % 2 == 0]
        cut._apply("audio", W, half, "p")  # the first half of the shards, as if the link broke here
        assert raw_state(server.client(), cut_ns) != raw_state(server.client(), ref_ns).__class__()
        res = cut.publish(base, after, token="p")
        assert res.skipped == len({shard_of(c[0]) for c in half})
        a = {k: v for k, v in raw_state(server.client(), ref_ns).items()}
        b = {k: v for k, v in raw_state(server.client(), cut_ns).items()}
        assert a == b
        assert cut.load_library("audio", W).ids == ref.load_library("audio", W).ids


def test_bad_arguments_are_clear(store: RedisPatternStore, server: rs.RedisServer) -> None:
    lib = make_library(2)
    with pytest.raises(InvalidParameterError, match="token"):
        store.publish(None, lib, token="")
    with pytest.raises(InvalidParameterError, match="PatternLibrary"):
        store.publish(None, "lib", token="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="learned from"):
        store.publish(make_library(1, window=8), lib, token="x")
    with pytest.raises(InvalidParameterError, match="namespace"):
        RedisPatternStore(server.url, "a{b}")
    with pytest.raises(InvalidParameterError, match="scheme"):
        RedisPatternStore("http://127.0.0.1:1/0")
    with pytest.raises(InvalidParameterError, match="max_local_patterns"):
        RedisPatternStore(server.url, max_local_patterns=0)
    with pytest.raises(InvalidParameterError, match="window"):
        store.load_library("audio", 0)
    with pytest.raises(InvalidParameterError, match="host:port"):
        RedisPatternStore("redis+cluster://127.0.0.1")


def test_store_pickles_for_workers(store: RedisPatternStore, server: rs.RedisServer) -> None:
    store.publish(None, make_library(3), token="t")
    clone = pickle.loads(pickle.dumps(store))
    assert clone.load_library("audio", W).ids == store.load_library("audio", W).ids
    clone.close()
    with RedisPatternStore(server.client()) as wrapped:
        assert wrapped.ping() >= 0
        with pytest.raises(InvalidParameterError, match="client object"):
            pickle.dumps(wrapped)


# -- events ----------------------------------------------------------------------------------------
def test_events_on_create_and_update(store: RedisPatternStore) -> None:
    with store.subscribe("audio", timeout=0.5) as sub, \
            store.subscribe("audio", window=8, timeout=0.3) as other:
        lib = make_library(6)
        store.publish(None, lib, token="t1")
        before = store.load_library("audio", W)
        after = before.copy()
        after.learn(before.prototypes[0], signal_id=50, offset=0, config=PLAIN_LEARNING)
        store.publish(before, after, token="t2")
        store.publish(before, after, token="t2")  # a retry publishes nothing
        events = list(sub)
        assert list(other) == []  # other window
    assert [e.kind for e in events].count("created") == 6
    upd = [e for e in events if e.kind == "updated"]
    assert len(upd) == 1 and upd[0].id == before.ids[0] and upd[0].dn == 1 and upd[0].token == "t2"
    assert upd[0].support == before[0].support + 1 and upd[0].window == W and upd[0].domain == "audio"
    assert sub.get(0.1) is None  # closed


def test_planted_event_is_refused(store: RedisPatternStore, server: rs.RedisServer) -> None:
    with store.subscribe("audio", timeout=1.0) as sub:
        server.client().publish(store.channel("audio"), pickle.dumps({"event": "created"}))
        assert sub.get(1.0) is None  # skipped (and logged), the subscription goes on
        assert sub.n_skipped == 1 and "not a patternlab event" in sub.skipped[0]


# -- local cache -----------------------------------------------------------------------------------
def test_cache_refreshes_every_sync_interval(server: rs.RedisServer, ns: str) -> None:
    with RedisPatternStore(server.url, ns, sync_interval=0.4) as reader, \
            RedisPatternStore(server.url, ns) as writer:
        writer.publish(None, make_library(4), token="a")
        assert len(reader.load_library("audio", W)) == 4
        writer.publish(None, make_library(8, seed=9, first=100), token="b")
        assert len(reader.load_library("audio", W)) == 4  # served from the cache
        assert len(reader.load_library("audio", W, refresh=True)) == 12
        writer.publish(None, make_library(3, seed=10, first=200), token="c")
        time.sleep(0.45)
        assert len(reader.load_library("audio", W)) == 15


def test_cache_is_bounded(server: rs.RedisServer, ns: str) -> None:
    with RedisPatternStore(server.url, ns, max_local_patterns=10, sync_interval=0) as st:
        lib = make_library(30)
        st.publish(None, lib, token="a")
        got = st.load_library("audio", W)
        assert len(got) == 10
        strongest = sorted(lib, key=lambda p: -p.support)[:10]
        assert min(got.supports) >= max(p.support for p in lib if p.id not in got)
        assert {p.support for p in strongest} == set(got.supports.tolist()) | {p.support for p in strongest}
        st.publish(None, make_library(5, domain="speech"), token="b")
        st.load_library("speech", W)
        assert sum(c.size() for c in st._cache.values()) <= 10


# -- hostile values ----------------------------------------------------------------------------------
class _Boom:
    def __reduce__(self) -> tuple[object, ...]:
        import os
        return (os.system, (f"touch {self.marker}",))

    marker = ""


def test_planted_pickle_cannot_execute(store: RedisPatternStore, server: rs.RedisServer,
                                       tmp_path: Path) -> None:
    lib = make_library(3)
    store.publish(None, lib, token="a")
    marker = tmp_path / "pwned"
    _Boom.marker = str(marker)
    payload = pickle.dumps(_Boom())
    c = server.client()
    key = store._pkey("audio", W, lib.ids[0])
    for field in (b"acc", b"support", b"first_signal"):
        old = c.hget(key, field)
        c.hset(key, field, payload)
        with pytest.raises(StoreDataError, match=f"field '{field.decode()}'") as err:
            store.load_library("audio", W, refresh=True)
        assert "delete that key" in str(err.value)
        c.hset(key, field, old)
    assert not marker.exists()
    # a planted acc of the right length is still refused by the update script if not finite ...
    c.hset(key, "acc", b"\xff" * (8 * W))
    with pytest.raises(StoreDataError, match="NaN"):
        store.load_library("audio", W, refresh=True)
    # ... and one of the wrong length is refused by the server-side update
    c.hset(key, "acc", payload)
    after = lib.copy()
    after.learn(lib[0].prototype, signal_id=3, offset=3, config=PLAIN_LEARNING)
    with pytest.raises(StoreDataError, match="not written by patternlab"):
        store.publish(lib, after, token="b")
    assert not marker.exists()
    source = "".join(p.read_text() for p in Path(pl.__file__).parent.joinpath("store").glob("*redis*.py"))
    assert "import pickle" not in source and "eval(" not in source.replace("evalsha(", "")


# -- credentials, TLS, unreachable servers ------------------------------------------------------------
def test_acl_user_and_password(tmp_path: Path) -> None:
    secret, user_pw = "s3cr3t-default-pw", "w0rker-pw"
    with rs.running(tmp_path, password=secret, users={"worker": user_pw}) as srv:
        url = f"redis://worker:{user_pw}@127.0.0.1:{srv.port}/0"
        with RedisPatternStore(url, "acl") as st:
            st.publish(None, make_library(3), token="a")
            assert len(st.load_library("audio", W)) == 3
        with RedisPatternStore(f"redis://127.0.0.1:{srv.port}/0", "acl", password=secret) as st:
            assert len(st.load_library("audio", W)) == 3
        for bad in (f"redis://worker:WRONG-{user_pw}@127.0.0.1:{srv.port}/0",
                    f"redis://:WRONG-{secret}@127.0.0.1:{srv.port}/0"):
            with pytest.raises(StoreConnectionError, match="credentials") as err:
                RedisPatternStore(bad, "acl", retries=0).load_library("audio", W)
            text = f"{err.value} {err.value!r}"
            assert "WRONG" not in text and secret not in text and user_pw not in text
            assert isinstance(err.value, ConnectionError) and isinstance(err.value, PatternlabError)
        with pytest.raises(StoreConnectionError, match="credentials") as err:
            RedisPatternStore(f"redis://127.0.0.1:{srv.port}/0", "acl", retries=0).ping()
        # a password that is a word of Redis's own message masks the password, not the message
        with pytest.raises(StoreConnectionError, match="credentials") as err:
            RedisPatternStore(f"redis://worker:password@127.0.0.1:{srv.port}/0", "acl", retries=0).ping()
        text = str(err.value)
        assert "invalid username-password pair" in text and "worker:***@" in text, text
        assert "worker:password@" not in text


def test_unreachable_server_is_a_clear_error() -> None:
    port = rs.free_port()
    st = RedisPatternStore(f"redis://user:hunter2@127.0.0.1:{port}/0", retries=2, backoff=0.01)
    t0 = time.monotonic()
    with pytest.raises(StoreConnectionError, match="unreachable after 3 attempt") as err:
        st.load_library("audio", W)
    assert time.monotonic() - t0 < 5
    assert "hunter2" not in str(err.value) and f"127.0.0.1:{port}" in str(err.value)
    assert "user:***@" in repr(st)


def test_tls_with_debian_server(tmp_path: Path) -> None:
    if not rs.DEBIAN_SERVER.exists():  # CI installs it (.ci/system-packages)
        pytest.fail("Debian's redis-server (built with TLS) is needed: apt-get install redis-server")
    with rs.tls_server(tmp_path, password="tls-pw") as srv:
        assert srv.tls is not None
        url = f"rediss://:tls-pw@localhost:{srv.port}/0"
        with RedisPatternStore(url, "tls", ssl_ca_certs=str(srv.tls.ca)) as st:
            st.publish(None, make_library(4), token="a")
            assert len(st.load_library("audio", W)) == 4
            with st.subscribe("audio", timeout=0.5) as sub:
                st.publish(None, make_library(1, seed=5, first=300), token="b")
                assert [e.kind for e in sub] == ["created"]
        with pytest.raises(StoreConnectionError, match=r"unreachable|certificate") as err:
            RedisPatternStore(url, "tls", retries=0).ping()  # the server's CA is not trusted
        assert "tls-pw" not in str(err.value)
        with pytest.raises(StoreConnectionError):  # plain text against a TLS port
            RedisPatternStore(f"redis://:tls-pw@localhost:{srv.port}/0", "tls", retries=0,
                              socket_timeout=2).ping()


# -- restarts ----------------------------------------------------------------------------------------
def test_restart_mid_run_finishes_through_retries(tmp_path: Path) -> None:
    """SIGKILL the server (append-only file, fsync always) while a writer publishes 80 updates,
    bring it back on the same port: every update is applied exactly once."""
    with rs.running(tmp_path, appendonly=True) as srv:
        ids = [f"p{k}" for k in range(12)]
        Z = rs.worker_protos(0, len(ids), W)
        with RedisPatternStore(srv.url, "rs", retries=10, backoff=0.05, backoff_cap=0.5) as st:
            st.publish(None, rs.shared_library(ids, Z, [1] * len(ids), "audio", W), token="init")
            plan = rs.update_plan(7, len(ids), 80, 4)
            done: list[int] = []
            errors: list[BaseException] = []

            def writer() -> None:
                try:
                    for k, ups in enumerate(plan):
                        picked = [ids[p] for p, _ in ups]
                        before = rs.shared_library(picked, Z[[p for p, _ in ups]], [1] * 4, "audio", W)
                        after = rs.shared_library(picked, Z[[p for p, _ in ups]], [1 + d for _, d in ups],
                                                  "audio", W)
                        st.publish(before, after, token=f"u{k}")  # type: ignore[arg-type]
                        done.append(k)
                        time.sleep(0.005)
                except BaseException as exc:  # reported below
                    errors.append(exc)

            t = threading.Thread(target=writer)
            t.start()
            while len(done) < 15 and t.is_alive():
                time.sleep(0.005)
            srv.stop(kill=True)
            at_kill = len(done)
            time.sleep(0.3)
            srv.start()
            t.join(60)
            assert at_kill < len(plan)  # the server went away mid-run ...
            assert not errors and len(done) == len(plan)  # ... and every publish got through
            expected = {pid: 1 for pid in ids}
            for ups in plan:
                for p, dn in ups:
                    expected[ids[p]] += dn
            lib = st.load_library("audio", W, refresh=True)
            assert {p.id: p.support for p in lib} == expected
            assert_consistent(st, srv.client(), "audio", W)


def test_restart_without_retries_is_a_clear_error_then_consistent(tmp_path: Path) -> None:
    with rs.running(tmp_path, appendonly=True) as srv:
        lib = make_library(20)
        with RedisPatternStore(srv.url, "rs", retries=0) as st:
            st.publish(None, lib, token="base")
            before = st.load_library("audio", W)
            after = before.copy()
            for p in before:
                after.learn(p.prototype, signal_id=500, offset=1, config=PLAIN_LEARNING)
            srv.stop(kill=True)
            with pytest.raises(StoreConnectionError, match="unreachable after 1 attempt"):
                st.publish(before, after, token="part-3")
            srv.start()
            st.publish(before, after, token="part-3")  # the retry, after the restart
            st.publish(before, after, token="part-3")
            got = st.load_library("audio", W, refresh=True)
            assert {p.id: p.support for p in got} == {p.id: p.support for p in after}
            assert_consistent(st, srv.client(), "audio", W)


# -- concurrent writers ---------------------------------------------------------------------------------
def test_four_processes_thousand_updates_each_add_up(server: rs.RedisServer, ns: str) -> None:
    ids = [f"shared-{k}" for k in range(25)]
    z0 = rs.worker_protos(99, len(ids), W)
    with RedisPatternStore(server.url, ns) as st:
        st.publish(None, rs.shared_library(ids, z0, [1] * len(ids), "audio", W), token="init")
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(4) as pool:
            counts = pool.starmap(rs.concurrent_updates,
                                  [(server.url, ns, "audio", W, ids, seed, 100, 10) for seed in range(4)])
        assert counts == [1000] * 4
        support = dict.fromkeys(ids, 1)
        acc = {pid: z0[k].copy() for k, pid in enumerate(ids)}
        for seed in range(4):
            Zw = rs.worker_protos(seed, len(ids), W)
            for ups in rs.update_plan(seed, len(ids), 100, 10):
                for p, dn in ups:
                    support[ids[p]] += dn
                    acc[ids[p]] += dn * Zw[p]
        lib = st.load_library("audio", W, refresh=True)
        assert {p.id: p.support for p in lib} == support
        c = server.client()
        for pid in ids:
            got = np.frombuffer(c.hget(st._pkey("audio", W, pid), "acc"), "<f8")
            np.testing.assert_allclose(got, acc[pid], rtol=1e-12, atol=1e-10)


# -- archival ------------------------------------------------------------------------------------------
def test_archive_and_restore(store: RedisPatternStore, server: rs.RedisServer, tmp_path: Path) -> None:
    lib = make_library(24)
    store.publish(None, lib, token="a")
    path = tmp_path / "archive.zarr"
    assert store.archive("audio", W, min_support=3, idle_seconds=3600, path=path) == []  # not idle
    time.sleep(1.05)
    fresh = store.load_library("audio", W)
    keep_id = next(p.id for p in fresh if p.support < 3)
    after = fresh.copy()
    # support 1 -> 2 but recent
    after.learn(fresh[keep_id].prototype, signal_id=7, offset=7, config=PLAIN_LEARNING)
    store.publish(fresh, after, token="touch")
    with store.subscribe("audio", timeout=0.5) as sub:
        archived = store.archive("audio", W, min_support=3, idle_seconds=1.0, path=path)
        kinds = {e.kind for e in sub}
    weak = {p.id for p in lib if p.support < 3} - {keep_id}
    assert set(archived) == weak and kinds == {"archived"}
    assert store.count("audio", W) == 24 - len(weak)
    saved = pl.PatternLibrary.load(path / next(iter(sorted(p.name for p in path.iterdir() if p.is_dir()))))
    assert {p.id for p in saved.archived} == weak
    for p in saved.archived:
        np.testing.assert_allclose(p.prototype, lib[p.id].prototype, atol=1e-14)
        assert p.support == lib[p.id].support and p.first_seen == lib[p.id].first_seen
    some = sorted(weak)[:3]
    assert store.restore("audio", W, path=path, ids=some) == some
    assert store.count("audio", W) == 24 - len(weak) + 3
    assert store.restore("audio", W, path=path) == sorted(weak - set(some))
    back = store.load_library("audio", W)
    assert {p.id: p.support for p in back} == {p.id: (p.support + (p.id == keep_id)) for p in lib}
    for p in lib:
        np.testing.assert_allclose(back[p.id].prototype, lib[p.id].prototype if p.id != keep_id
                                   else back[p.id].prototype, atol=1e-13)
    with pytest.raises(pl.PatternNotFoundError):
        store.restore("audio", W, path=path, ids=["nope"])
    with pytest.raises(InvalidParameterError, match="archives"):
        store.archive("speech", W, min_support=3, idle_seconds=0, path=path)


def test_archive_keeps_a_pattern_written_meanwhile(store: RedisPatternStore, server: rs.RedisServer) -> None:
    """The removal checks each pattern's support (its revision): one updated after it was copied
    stays live."""
    from patternlab.store._redis_lua import ARCHIVE_SCRIPT

    lib = make_library(2)
    store.publish(None, lib, token="a")
    pid = lib.ids[0]
    s = shard_of(pid)
    keys = [store._key("audio", W, s, "idx"), store._key("audio", W, s, "ver"), store._pkey("audio", W, pid)]
    stale = store._run_scripts(ARCHIVE_SCRIPT, [(keys, [store.channel("audio"), W, pid, "0"])])
    assert stale == [[]] and store.count("audio", W) == 2
    current = server.client().hget(keys[2], "support").decode()
    done = store._run_scripts(ARCHIVE_SCRIPT, [(keys, [store.channel("audio"), W, pid, current])])
    assert done == [[pid.encode()]]
    assert store.count("audio", W) == 1
