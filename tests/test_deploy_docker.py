"""deploy/docker: the compose file's structure, `docker compose config` on it, the Redis start-up
script run against a real redis-server, and the image's numba warm-up filling a cache that a
batch then only reads (no Docker engine is needed for any of it)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from patternlab.lab.kube import DEFAULTS as KUBE_DEFAULTS

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "deploy" / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unescape(text: str) -> str:
    """What a container receives: compose turns ``$$`` into ``$``."""
    return text.replace("$$", "$")


# -- compose.yaml ------------------------------------------------------------------------------
def test_compose_services_healthchecks_and_scaling() -> None:
    doc = _compose()
    services = doc["services"]
    assert set(services) == {"redis", "scheduler", "worker", "gateway", "jupyter", "prometheus", "grafana"}
    for name, svc in services.items():
        hc = svc.get("healthcheck")
        assert hc and hc["test"][0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"
        assert "container_name" not in svc  # fixed names would collide across projects and scaling
    sched = services["scheduler"]["command"]
    assert sched[:2] == ["dask", "scheduler"]
    assert sched[sched.index("--preload") + 1] == "patternlab.dashboard"
    assert sched[sched.index("--port") + 1] == "8786"

    worker = services["worker"]
    assert worker["command"][:3] == ["dask", "worker", "tcp://scheduler:8786"]
    assert "ports" not in worker, "published ports would stop `docker compose up --scale worker=N`"
    assert worker["depends_on"]["scheduler"]["condition"] == "service_healthy"
    assert "deploy" not in worker or "replicas" not in worker["deploy"]
    assert services["jupyter"]["depends_on"]["scheduler"]["condition"] == "service_healthy"
    assert services["scheduler"]["depends_on"]["redis"]["condition"] == "service_healthy"

    # every process of ours finds the scheduler and Redis in its environment
    for name in ("scheduler", "worker", "gateway", "jupyter"):
        env = services[name]["environment"]
        assert env["PATTERNLAB_CLUSTER"] == env["DASK_SCHEDULER_ADDRESS"] == "tcp://scheduler:8786"
        assert env["PATTERNLAB_REDIS_URL"].startswith("redis://:${REDIS_PASSWORD:?")
        assert env["PATTERNLAB_REDIS_URL"].endswith("@redis:6379/0")

    # Redis only on the internal network; the others published on 127.0.0.1 unless told otherwise
    assert "ports" not in services["redis"]
    for name in ("scheduler", "gateway", "jupyter", "prometheus", "grafana"):
        for port in services[name]["ports"]:
            assert port.startswith("${PUBLISH_ADDRESS:-127.0.0.1}:")
    # workers and JupyterLab share /data, so the notebook reads the run stores the workers write
    for name in ("worker", "jupyter"):
        assert "data:/data" in services[name]["volumes"]

    # the build points at this repository and this Dockerfile; the notebooks mount exists
    for name in ("scheduler", "worker", "gateway", "jupyter"):
        build = services[name]["build"]
        assert (DOCKER / build["context"]).resolve() == ROOT
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE
    assert services["scheduler"]["image"] == services["worker"]["image"]
    nb = next(v for v in services["jupyter"]["volumes"] if "notebooks" in v).split(":")[0]
    assert (DOCKER / nb).resolve() == ROOT / "notebooks"


def test_no_password_or_token_is_written_in_the_files() -> None:
    text = COMPOSE.read_text()
    for url in re.findall(r"rediss?://[^\s\"']*", text):
        if "@" in url:
            cred = url.split("://", 1)[1].rsplit("@", 1)[0]
            assert cred.startswith(":${REDIS_PASSWORD:?"), url
    # secrets come only from required variables: `docker compose` refuses to start without them
    for var in ("REDIS_PASSWORD", "JUPYTER_TOKEN", "GRAFANA_ADMIN_PASSWORD"):
        uses = re.findall(r"\$\{" + var + r"([^}]*)\}", text)
        assert uses and all(u.startswith(":?") for u in uses), f"{var} must be required"
    for name, svc in _compose()["services"].items():
        for key, value in svc.get("environment", {}).items():
            if re.search(r"PASSWORD|TOKEN|SECRET", key):
                assert str(value).startswith("${") and ":?" in str(value), f"{name}: {key}={value}"
    assert "requirepass" not in " ".join(_compose()["services"]["redis"]["command"][:2])
    example = dict(line.split("=", 1) for line in (DOCKER / "env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert example["REDIS_PASSWORD"] == example["JUPYTER_TOKEN"] == example["GRAFANA_ADMIN_PASSWORD"] == ""
    assert ".env" in (DOCKER / ".gitignore").read_text().split()


def _compose_command() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True,
                                                 timeout=60).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("neither `docker compose` nor `docker-compose` is installed: run .ci/system-packages "
                "(Debian's docker-compose package)")


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    cmd = _compose_command()
    env_file = tmp_path / "test.env"
    env_file.write_text("REDIS_PASSWORD=t3stPassw0rd\nJUPYTER_TOKEN=t0ken\nWORKER_MEMORY=1GiB\n"
                        "GRAFANA_ADMIN_PASSWORD=gr4f\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_PASSWORD", "JUPYTER_TOKEN", "GRAFANA_ADMIN_PASSWORD")}
    out = subprocess.run([*cmd, "--env-file", str(env_file), "-f", str(COMPOSE), "config"],
                         capture_output=True, text=True, timeout=120, env=env, cwd=DOCKER)
    assert out.returncode == 0, out.stderr
    resolved = yaml.safe_load(out.stdout)
    svc = resolved["services"]
    assert svc["worker"]["environment"]["PATTERNLAB_REDIS_URL"] == "redis://:t3stPassw0rd@redis:6379/0"
    assert svc["jupyter"]["environment"]["JUPYTER_TOKEN"] == "t0ken"
    assert "1GiB" in svc["worker"]["command"]
    assert svc["scheduler"]["build"]["target"] == "runtime" and svc["jupyter"]["build"]["target"] == "jupyter"

    # without the password the file is refused, with the reason
    empty = tmp_path / "empty.env"
    empty.write_text("JUPYTER_TOKEN=t0ken\nGRAFANA_ADMIN_PASSWORD=gr4f\n")
    out = subprocess.run([*cmd, "--env-file", str(empty), "-f", str(COMPOSE), "config"],
                         capture_output=True, text=True, timeout=120, env=env, cwd=DOCKER)
    assert out.returncode != 0
    assert "set REDIS_PASSWORD in deploy/docker/.env" in out.stderr + out.stdout


def test_redis_start_script_against_a_real_server(tmp_path: Path) -> None:
    """The redis service's command and healthcheck, run as written (the paths and port moved to
    the test's own)."""
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    cli = shutil.which("redis-cli")
    assert Path(server).exists() and cli, "redis-server and redis-cli (Debian's redis-server)"
    svc = _compose()["services"]["redis"]
    assert svc["command"][:2] == ["sh", "-c"]
    script = _unescape(svc["command"][2])
    port = _free_port()
    conf = tmp_path / "redis.conf"
    script = (script.replace("/tmp/redis.conf", str(conf)).replace("dir /data", f"dir {tmp_path}")
              .replace(f"exec redis-server {conf}",
                       f"exec {server} {conf} --port {port} --bind 127.0.0.1 --save ''"))
    password = "pw%s-x1"  # printf's format characters in the value stay literal
    proc = subprocess.Popen(["sh", "-c", script], env={**os.environ, "REDIS_PASSWORD": password},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with redis.Redis(port=port, password=password, socket_timeout=1) as r:
                    assert r.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline and proc.poll() is None, "redis did not start"
                time.sleep(0.1)
        with redis.Redis(port=port, socket_timeout=2) as r, pytest.raises(redis.AuthenticationError):
            r.ping()  # no password, no access
        with redis.Redis(port=port, password=password) as r:
            assert r.config_get("appendonly")["appendonly"] == "yes"
            assert r.config_get("appendfsync")["appendfsync"] == "always"  # acknowledged = on disk
        assert conf.stat().st_mode & 0o077 == 0, "the config holding the password is private"
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
        assert password not in cmdline, "the password is not on the command line"
        health = _unescape(svc["healthcheck"]["test"][1]).replace("redis-cli", f"{cli} -p {port}")
        ok = subprocess.run(["sh", "-c", health], env={**os.environ, "REDIS_PASSWORD": password},
                            capture_output=True, timeout=30)
        assert ok.returncode == 0
        bad = subprocess.run(["sh", "-c", health], env={**os.environ, "REDIS_PASSWORD": "wrong"},
                             capture_output=True, timeout=30)
        assert bad.returncode != 0, "the healthcheck fails on a wrong password"
    finally:
        proc.kill()
        proc.wait(timeout=10)


# -- Dockerfile --------------------------------------------------------------------------------
def _instructions() -> list[tuple[str, str, str]]:
    """``(stage, INSTRUCTION, arguments)`` with continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out, stage = [], ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, rest = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            stage = rest.split(" AS ")[-1].strip() if " AS " in rest else rest
        out.append((stage, op, rest.strip()))
    return out


def test_dockerfile_non_root_with_the_numba_cache_owned_by_its_user() -> None:
    ins = _instructions()
    stages = list(dict.fromkeys(s for s, _, _ in ins if s))  # "": the global ARGs before FROM
    assert stages == ["runtime", "jupyter"]
    for stage in stages:
        users = [a for s, op, a in ins if s == stage and op == "USER"]
        assert users and users[-1] not in ("root", "0"), f"stage {stage} ends as root"
        assert users[-1] == "patternlab"
    useradd = next(a for _, op, a in ins if op == "RUN" and "useradd" in a)
    uid = re.search(r"--uid (\d+)", useradd)
    assert uid and int(uid.group(1)) >= 1000
    env = " ".join(a for s, op, a in ins if s == "runtime" and op == "ENV")
    cache = re.search(r"NUMBA_CACHE_DIR=(\S+)", env)
    assert cache and cache.group(1) == KUBE_DEFAULTS["numba_cache_dir"]  # the Kubernetes pods' setting
    assert f"NUMBA_THREADING_LAYER={KUBE_DEFAULTS['threading_layer']}" in env
    assert re.search(r"chown -R patternlab:patternlab [^&]*" + re.escape("/opt/patternlab"), useradd)
    assert KUBE_DEFAULTS["image"].split(":")[0] == "patternlab"

    runtime = [(op, a) for s, op, a in ins if s == "runtime"]
    warm = next(k for k, (op, a) in enumerate(runtime) if op == "RUN" and "warm_up()" in a)
    last_user = [a for op, a in runtime[:warm] if op == "USER"][-1]
    assert last_user == "patternlab", "the cache is compiled as the user that runs the workers"
    install = next(k for k, (op, a) in enumerate(runtime) if op == "RUN" and "pip install" in a)
    assert install < warm
    assert "libgomp1" in next(a for op, a in runtime if op == "RUN" and "apt-get" in a)

    # what the image copies is in the build context that .dockerignore lets through
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert ignore[ignore.index("*") + 1:][:3] == ["!pyproject.toml", "!README.md", "!src"]
    for _, op, a in ins:
        if op == "COPY":
            for src in shlex.split(a)[:-1]:
                if not src.startswith("--"):
                    assert (ROOT / src).exists() and f"!{src}" in ignore, src


@pytest.mark.slow
def test_the_images_warm_up_compiles_every_kernel_a_batch_uses(tmp_path: Path) -> None:
    """The Dockerfile's warm-up command, run as written into an empty cache: afterwards a batch in
    a fresh process loads every kernel from the cache and compiles none."""
    run = next(a for s, op, a in _instructions() if op == "RUN" and "warm_up()" in a)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    (tmp_path / "cache").mkdir()
    for part in run.split(" && "):
        argv = shlex.split(part)
        assert argv[:2] == ["python", "-c"], part
        out = subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True, text=True,
                             timeout=600)
        assert out.returncode == 0, out.stderr
    assert list((tmp_path / "cache").rglob("*.nbi")), "the warm-up wrote the cache"
    batch = ("import numpy as np, patternlab as pl\n"
             "from patternlab.datasets.synthetic import planted_signal\n"
             "S = [planted_signal(700, 32, occurrences=1, anomalies=1, seed=k).signal for k in range(6)]\n"
             "pl.batch_perceive(S, config=pl.EngineConfig(window=32), client=False, batch_size=2,\n"
             "                  progress=False)\n")
    out = subprocess.run([sys.executable, "-c", batch], env={**env, "NUMBA_DEBUG_CACHE": "1"},
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    log = out.stdout + out.stderr
    assert "data loaded from" in log
    assert "data saved to" not in log, [ln for ln in log.splitlines() if "data saved" in ln]
