"""Cluster settings in one place: Dask's ``patternlab`` config section (YAML files in Dask's config
directories, ``DASK_PATTERNLAB__...`` variables) under the short variables ``PATTERNLAB_CLUSTER``,
``PATTERNLAB_MIN_WORKERS``, ``PATTERNLAB_MAX_WORKERS``, ``PATTERNLAB_REDIS_URL``; Lab.from_config;
and no hard-coded host, port or password in the cluster code."""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import dask.config
import pytest
from distributed import LocalCluster

import patternlab as pl
from patternlab.lab.config import ClusterConfig, load_cluster_config

SRC = Path(pl.__file__).resolve().parent


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """None of the caller's PATTERNLAB_* / DASK_PATTERNLAB__* variables or Dask config files leak in."""
    for key in list(os.environ):
        if key.startswith(("PATTERNLAB_", "DASK_PATTERNLAB__")):
            monkeypatch.delenv(key)
    dask.config.refresh(paths=[])
    yield monkeypatch
    monkeypatch.undo()
    dask.config.refresh()


@pytest.fixture
def setenv(clean: pytest.MonkeyPatch) -> Callable[..., None]:
    def _set(paths: list[str] | None = None, **variables: str) -> None:
        for key, value in variables.items():
            clean.setenv(key, value)
        dask.config.refresh(paths=paths or [])

    return _set


def test_defaults() -> None:
    cfg = load_cluster_config()
    assert cfg == ClusterConfig()
    assert (cfg.cluster, cfg.kind, cfg.min_workers, cfg.max_workers, cfg.redis_url) == (
        "local", "local", None, None, None)
    assert not cfg.adaptive and cfg.threads_per_worker == 1
    assert pl.load_config() == pl.EngineConfig()


def test_yaml_in_a_dask_config_directory(tmp_path: Path, setenv: Callable[..., None]) -> None:
    (tmp_path / "patternlab.yaml").write_text(
        "patternlab:\n"
        "  window: 48\n"                      # an engine setting beside the cluster ones
        "  cluster: ssh\n"
        "  min-workers: 2\n"
        "  max-workers: 20\n"
        "  queue-depth-per-worker: 8\n"
        "  redis-url: redis://redis.internal:6380/1\n"
        "  ssh:\n"
        "    hosts: [head, node1, node2]\n"
        "    remote-python: /opt/venv/bin/python\n"
        "    connect-options: {known_hosts: null}\n"
        "  kube:\n"
        "    image: registry.example/patternlab:1\n")
    setenv(paths=[str(tmp_path)])
    cfg = load_cluster_config()
    assert cfg.kind == "ssh" and (cfg.min_workers, cfg.max_workers) == (2, 20)
    assert cfg.queue_depth_per_worker == 8 and cfg.redis_url == "redis://redis.internal:6380/1"
    assert cfg.ssh == {"hosts": ["head", "node1", "node2"], "remote_python": "/opt/venv/bin/python",
                       "connect_options": {"known_hosts": None}}
    assert cfg.kube == {"image": "registry.example/patternlab:1"}
    # the engine settings still load from the same section, and the cluster keys do not bother them
    assert pl.load_config() == pl.EngineConfig(window=48)
    assert pl.EngineConfig.from_dask_config() == pl.EngineConfig(window=48)


def test_dask_environment_variables(setenv: Callable[..., None]) -> None:
    setenv(DASK_PATTERNLAB__CLUSTER="kube", DASK_PATTERNLAB__MAX_WORKERS="12",
           DASK_PATTERNLAB__KUBE__NAMESPACE="science", DASK_PATTERNLAB__SSH__HOSTS='["a", "b"]')
    cfg = load_cluster_config()
    assert (cfg.kind, cfg.max_workers, cfg.kube, cfg.ssh["hosts"]) == ("kube", 12, {"namespace": "science"},
                                                                       ["a", "b"])


def test_precedence(tmp_path: Path, setenv: Callable[..., None]) -> None:
    """defaults < YAML < DASK_PATTERNLAB__* < PATTERNLAB_* < keyword overrides, key by key."""
    (tmp_path / "p.yaml").write_text("patternlab:\n  cluster: ssh\n  min-workers: 1\n  max-workers: 5\n"
                                     "  redis-url: redis://from-yaml:1/0\n  n-workers: 3\n")
    setenv(paths=[str(tmp_path)], DASK_PATTERNLAB__MAX_WORKERS="6", DASK_PATTERNLAB__MIN_WORKERS="2",
           PATTERNLAB_MAX_WORKERS="7", PATTERNLAB_REDIS_URL="redis://from-env:2/0")
    cfg = load_cluster_config()
    assert cfg.cluster == "ssh"                       # YAML
    assert cfg.n_workers == 3                         # YAML
    assert cfg.min_workers == 2                       # DASK_PATTERNLAB__ over YAML
    assert cfg.max_workers == 7                       # PATTERNLAB_ over DASK_PATTERNLAB__ and YAML
    assert cfg.redis_url == "redis://from-env:2/0"    # PATTERNLAB_ over YAML
    assert cfg.threads_per_worker == 1                # default
    over = load_cluster_config(max_workers=9, cluster="local", min_workers=None)
    assert (over.max_workers, over.cluster, over.min_workers) == (9, "local", 2)  # None: not an override
    setenv(paths=[str(tmp_path)], PATTERNLAB_CLUSTER="kube")
    assert load_cluster_config().cluster == "kube"
    with dask.config.set({"patternlab.cluster": "local", "patternlab.ssh.hosts": ["x", "y"]}):
        cfg = load_cluster_config(ssh={"remote_python": "/usr/bin/python3"})
        assert cfg.cluster == "kube"                  # the short variable still wins
        assert cfg.ssh == {"hosts": ["x", "y"], "remote_python": "/usr/bin/python3"}  # merged


@pytest.mark.parametrize(("value", "want", "kind"), [
    ("local", "local", "local"), ("SSH", "ssh", "ssh"), ("kube", "kube", "kube"),
    ("tcp://10.1.2.3:8786", "tcp://10.1.2.3:8786", "address"),
    ("tls://scheduler.example:8786", "tls://scheduler.example:8786", "address"),
    ("scheduler.example:8786", "tcp://scheduler.example:8786", "address"),
])
def test_cluster_values(setenv: Callable[..., None], value: str, want: str, kind: str) -> None:
    setenv(PATTERNLAB_CLUSTER=value)
    cfg = load_cluster_config()
    assert (cfg.cluster, cfg.kind) == (want, kind)


BAD_ENV = {
    "cluster typo": ({"PATTERNLAB_CLUSTER": "lcoal"},
                     ["PATTERNLAB_CLUSTER='lcoal'", "'local', 'ssh', 'kube'"]),
    "cluster scheme": ({"PATTERNLAB_CLUSTER": "http://x:1"}, ["PATTERNLAB_CLUSTER='http://x:1'"]),
    "min not a number": ({"PATTERNLAB_MIN_WORKERS": "two"}, ["PATTERNLAB_MIN_WORKERS='two'", "integer"]),
    "max negative": ({"PATTERNLAB_MAX_WORKERS": "-3"}, ["PATTERNLAB_MAX_WORKERS='-3'"]),
    "min > max": ({"PATTERNLAB_MIN_WORKERS": "5", "PATTERNLAB_MAX_WORKERS": "2"},
                  ["min_workers=5", "max_workers=2"]),
    "redis not a url": ({"PATTERNLAB_REDIS_URL": "redis-host"}, ["PATTERNLAB_REDIS_URL='redis-host'"]),
    "redis bad port": ({"PATTERNLAB_REDIS_URL": "redis://:pw@h:6379x/0"},
                       ["PATTERNLAB_REDIS_URL='redis://:***@h:6379x/0'", "the port '6379x'"]),
    "ssh key": ({"DASK_PATTERNLAB__SSH__HOST": "a"}, ["ssh: unknown setting 'host'", "hosts"]),
    "kube key": ({"DASK_PATTERNLAB__KUBE__IMAGES": "a"}, ["kube: unknown setting 'images'", "image"]),
    "ssh hosts": ({"DASK_PATTERNLAB__SSH__HOSTS": "3"}, ["ssh.hosts=3"]),
    "threads": ({"DASK_PATTERNLAB__THREADS_PER_WORKER": "0"}, ["threads_per_worker=0"]),
}


@pytest.mark.parametrize(("variables", "fragments"), BAD_ENV.values(), ids=BAD_ENV.keys())
def test_bad_settings_are_clear_errors(setenv: Callable[..., None], variables: dict[str, str],
                                       fragments: list[str]) -> None:
    setenv(**variables)
    with pytest.raises(pl.ConfigError) as info:
        load_cluster_config()
    assert isinstance(info.value, ValueError)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)


def test_unknown_override_is_a_clear_error() -> None:
    with pytest.raises(pl.ConfigError, match="unknown setting 'max_worker'"):
        load_cluster_config(max_worker=3)


def test_the_engine_section_still_rejects_unknown_keys(setenv: Callable[..., None]) -> None:
    setenv(DASK_PATTERNLAB__MAX_WORKERS="4", DASK_PATTERNLAB__WINDW="32")
    with pytest.raises(pl.ConfigError, match="'windw'"):
        pl.load_config()


def test_from_config_connects_to_an_address(setenv: Callable[..., None]) -> None:
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        setenv(PATTERNLAB_CLUSTER=cluster.scheduler_address, PATTERNLAB_MAX_WORKERS="3")
        with pl.Lab.from_config() as lab:
            assert lab.kind == "connected" and lab.cluster is None  # nothing to adapt: not managed
            assert lab.scheduler_address == cluster.scheduler_address
            assert len(lab.client.scheduler_info()["workers"]) == 1
        assert cluster.status.name == "running"


def test_from_config_starts_an_adaptive_local_lab(setenv: Callable[..., None]) -> None:
    setenv(PATTERNLAB_CLUSTER="local", PATTERNLAB_MIN_WORKERS="1", PATTERNLAB_MAX_WORKERS="2",
           DASK_PATTERNLAB__QUEUE_DEPTH_PER_WORKER="4")
    with pl.Lab.from_config() as lab:
        assert lab.kind == "local"
        assert len(lab.client.scheduler_info()["workers"]) == 1
        adaptive = lab.cluster._adaptive
        assert (adaptive.minimum, adaptive.maximum, adaptive.queue_depth_per_worker) == (1, 2, 4)


def test_from_config_ssh_needs_hosts(setenv: Callable[..., None]) -> None:
    setenv(PATTERNLAB_CLUSTER="ssh")
    with pytest.raises(pl.InvalidParameterError, match=r"patternlab\.ssh\.hosts"):
        pl.Lab.from_config()


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """String constants of a module, docstrings excepted."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


CLUSTER_CODE = ["lab/lab.py", "lab/client.py", "lab/api.py", "lab/plugin.py", "lab/kube.py", "lab/config.py",
                "config.py", "lab/ssh.py", "lab/adaptive.py", "_cli/start.py"]


def _suspicious(text: str) -> bool:
    return bool(re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", text) or "localhost" in text.lower()
                or re.search(r"(?<![{%]):\d{2,5}\b", text) or re.search(r"pass(word)?=\w", text))


@pytest.mark.parametrize("name", CLUSTER_CODE)
def test_no_hard_coded_host_port_or_password(name: str) -> None:
    for bad in ("127.0.0.1", "tcp://localhost", "http://db:8786", ":6379", "password=hunter2"):
        assert _suspicious(bad), bad
    found = [(line, text) for line, text in _code_strings(SRC / name) if _suspicious(text)]
    assert not found, f"{name}: {found}"
