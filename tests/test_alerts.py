"""Operations: deploy/prometheus (configuration, alert rules and their promtool unit tests) and the
Grafana dashboard in deploy/grafana, against a real Prometheus (Debian's ``prometheus``) scraping a
real scheduler (``dask scheduler --preload patternlab.dashboard``), a real worker and a real
gateway (``python -m patternlab serve``) in front of a real redis-server.

The live test runs the stress benchmark's load (benchmarks/stress_gateway.py) against the gateway
for a few seconds while Prometheus scrapes, evaluates every panel of the dashboard, then SIGKILLs
the worker and sees PatternlabWorkersBelowMinimum (fewer than the rules' minimum, 1) fire, and
stops Redis and sees PatternlabRedisUnreachable fire. Scrapes every 2 s, evaluation every 1 s and
the rules' ``for:`` shortened to 2 s make it take seconds; the expressions are the files' own.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from benchmarks import stress_gateway

from patternlab.dashboard import METRICS
from patternlab.gateway import GATEWAY_METRICS
from redis_servers import RedisServer, free_port, running

ROOT = Path(__file__).resolve().parents[1]
PROM = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "patternlab.json"
KEY = "alerts-test-key-0123456789abcdef"


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is not installed: run .ci/system-packages (Debian's prometheus package)")
    return found


# -- the files, offline ------------------------------------------------------------------------------
def test_promtool_checks_the_configuration_and_the_rules(tmp_path: Path) -> None:
    promtool = _promtool()
    out = subprocess.run([promtool, "check", "rules", str(PROM / "alerts.yml")], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    # the full check also opens the credentials file: the compose secret's path, here a local file
    key = tmp_path / "key"
    key.write_text(KEY)
    cfg = yaml.safe_load((PROM / "prometheus.yml").read_text())
    for job in cfg["scrape_configs"]:
        if "authorization" in job:
            assert job["authorization"]["credentials_file"] == "/run/secrets/patternlab-api-key"
            job["authorization"]["credentials_file"] = str(key)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    shutil.copy(PROM / "alerts.yml", tmp_path / "alerts.yml")
    out = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    out = subprocess.run([promtool, "test", "rules", str(PROM / "alerts.test.yml")], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "SUCCESS" in out.stdout, out.stdout + out.stderr
    # every alert of the rules is exercised by the unit tests
    alerts = {r["alert"] for g in yaml.safe_load((PROM / "alerts.yml").read_text())["groups"]
              for r in g["rules"] if "alert" in r}
    tested = {t["alertname"] for case in yaml.safe_load((PROM / "alerts.test.yml").read_text())["tests"]
              for t in case["alert_rule_test"]}
    assert alerts == tested
    assert {"PatternlabWorkersBelowMinimum", "PatternlabQueueDepthHigh", "PatternlabTaskLatencyHigh",
            "PatternlabRedisUnreachable"} <= alerts


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def _panels(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in doc["panels"]:
        out.append(p)
        out += p.get("panels", [])   # panels of a collapsed row
    return out


#: What a dashboard expression may use besides the metrics of patternlab: Prometheus' own series.
_OTHER_SERIES = {"up", "ALERTS"}
_FUNCTIONS = {"sum", "rate", "histogram_quantile", "increase", "max", "min", "by", "clamp_min", "le",
              "without", "count", "avg", "on", "group_left", "irate", "topk", "vector", "bool", "or", "and",
              "label_replace", "sort_desc", "ignoring"}


def _metric_names(expr: str) -> set[str]:
    expr = re.sub(r'"[^"]*"', '""', expr)                     # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)                     # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)                    # ranges
    expr = re.sub(r"\b(by|without|on|ignoring|group_left)\s*\([^)]*\)", "", expr)
    return {w for w in re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", expr)
            if w not in _FUNCTIONS and not w.startswith("__") and not re.fullmatch(r"[0-9e]+", w)}


def test_the_grafana_dashboard_is_well_formed_and_described() -> None:
    doc = _dashboard()
    assert doc["title"] and doc["uid"] and isinstance(doc["schemaVersion"], int)
    (var,) = [v for v in doc["templating"]["list"] if v["type"] == "datasource"]
    assert var["query"] == "prometheus" and var["name"] == "datasource"
    known = set(METRICS) | set(GATEWAY_METRICS) | _OTHER_SERIES
    known |= {f"{m}{s}" for m in (*METRICS, *GATEWAY_METRICS) for s in ("_bucket", "_count", "_sum")}
    panels = _panels(doc)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    boxes = []
    readme = (ROOT / "README.md").read_text()
    for p in panels:
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0 and g["w"] > 0, p["title"]
        boxes.append((g["x"], g["y"], g["w"], g["h"], p["title"]))
        if p["type"] == "row":
            continue
        assert p["type"] in {"timeseries", "stat", "table", "gauge", "bargauge"}, p["type"]
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p.get("description"), f"panel {p['title']!r} has no description"
        assert f"**{p['title']}**" in readme, f"the README does not describe the panel {p['title']!r}"
        refs = [t["refId"] for t in p["targets"]]
        assert refs and len(refs) == len(set(refs))
        for t in p["targets"]:
            names = _metric_names(t["expr"])
            assert names and names <= known, (p["title"], names - known)
    for i, a in enumerate(boxes):   # no two panels overlap
        for b in boxes[i + 1:]:
            overlap = a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]
            assert not overlap, (a[4], b[4])
    # every patternlab and gateway metric appears on some panel
    used = set().union(*(_metric_names(t["expr"]) for p in panels for t in p.get("targets", [])))
    base = {re.sub(r"_(bucket|count|sum)$", "", u) for u in used}
    for name in (*METRICS, *GATEWAY_METRICS):
        if name not in ("patternlab_gateway_info",):
            assert name in base or name in used, f"{name} is on no panel"


def test_the_metric_names_the_rules_use_exist() -> None:
    known = set(METRICS) | set(GATEWAY_METRICS) | _OTHER_SERIES
    known |= {f"{m}_bucket" for m in (*METRICS, *GATEWAY_METRICS)} | {"patternlab:workers_minimum"}
    for group in yaml.safe_load((PROM / "alerts.yml").read_text())["groups"]:
        for rule in group["rules"]:
            assert _metric_names(rule["expr"]) <= known, rule


# -- the live system --------------------------------------------------------------------------------------
def _spawn(cmd: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env})


def _get(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def _query(prom: str, expr: str) -> list[dict[str, Any]]:
    out = _get(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert out["status"] == "success", (expr, out)
    return list(out["data"]["result"])


def _wait(what: str, check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (OSError, ValueError, KeyError) as exc:
            last = exc
        time.sleep(0.25)
    pytest.fail(f"{what} within {timeout:g} s; last: {last!r}")


def _firing(prom: str) -> set[str]:
    return {a["labels"]["alertname"] for a in _get(f"{prom}/api/v1/alerts")["data"]["alerts"]
            if a["state"] == "firing"}


class System:
    def __init__(self, tmp: Path, redis: RedisServer) -> None:
        self.tmp, self.redis = tmp, redis
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.sched_port, self.sched_http = free_port(), free_port()
        self.worker_http = [free_port()]
        self.gateway_port, self.prom_port = free_port(), free_port()
        self.scheduler = f"tcp://127.0.0.1:{self.sched_port}"
        self.gateway = f"http://127.0.0.1:{self.gateway_port}"
        self.prom = f"http://127.0.0.1:{self.prom_port}"
        self.key_file = tmp / "api-key"
        self.key_file.write_text(KEY + "\n")
        self.key_file.chmod(0o600)

    def start(self) -> None:
        py = sys.executable
        self.procs["scheduler"] = _spawn(
            [py, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", str(self.sched_port), "--dashboard-address", f"127.0.0.1:{self.sched_http}",
             "--preload", "patternlab.dashboard"],
            self.tmp / "scheduler.log")
        for i, port in enumerate(self.worker_http):
            self.procs[f"worker{i}"] = _spawn(
                [py, "-m", "distributed.cli.dask_worker", self.scheduler, "--no-nanny", "--nthreads", "1",
                 "--name", f"w{i}", "--dashboard-address", f"127.0.0.1:{port}"], self.tmp / f"worker{i}.log")
        self.procs["gateway"] = stress_gateway.start_gateway(
            self.scheduler, self.redis.url, self.key_file, 32, self.gateway_port, self.tmp / "gateway.log",
            namespace="alerts")
        self.procs["prometheus"] = _spawn(
            ["prometheus", f"--config.file={self._prometheus_config()}",
             f"--storage.tsdb.path={self.tmp / 'tsdb'}", f"--web.listen-address=127.0.0.1:{self.prom_port}"],
            self.tmp / "prometheus.log")

    def _prometheus_config(self) -> Path:
        """deploy/prometheus with this system's addresses, intervals of 1 and 2 s and ``for:`` of
        2 s; the rules as written otherwise (the minimum is 1 worker)."""
        cfg = yaml.safe_load((PROM / "prometheus.yml").read_text())
        cfg["global"].update(scrape_interval="2s", scrape_timeout="2s", evaluation_interval="1s")
        targets = {"patternlab-scheduler": [f"127.0.0.1:{self.sched_http}"],
                   "patternlab-workers": [f"127.0.0.1:{p}" for p in self.worker_http],
                   "patternlab-gateway": [f"127.0.0.1:{self.gateway_port}"]}
        for job in cfg["scrape_configs"]:
            del job["dns_sd_configs"]
            job["static_configs"] = [{"targets": targets[job["job_name"]]}]
            if "authorization" in job:
                job["authorization"]["credentials_file"] = str(self.key_file)
        rules = yaml.safe_load((PROM / "alerts.yml").read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = "2s"
        (self.tmp / "alerts.yml").write_text(yaml.safe_dump(rules))
        path = self.tmp / "prometheus.yml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()   # nothing once it has exited
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.tmp.glob("*.log")))


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    if shutil.which("prometheus") is None:
        pytest.fail("prometheus is not installed: run .ci/system-packages (Debian's prometheus package)")
    tmp = tmp_path_factory.mktemp("operations")
    with running(tmp / "redis") as redis:
        s = System(tmp, redis)
        try:
            s.start()
            yield s
        finally:
            s.stop()


def test_prometheus_sees_the_system_and_an_alert_fires_when_a_worker_is_killed(system: System) -> None:
    s = system
    try:
        asyncio.run(stress_gateway.wait_healthy([s.gateway], [s.procs["gateway"]], 120))
        # the stress benchmark's load, briefly, while Prometheus scrapes: no errors, supports add up
        r = stress_gateway.measure([s.gateway], KEY, s.redis.url, namespace="alerts", seconds=3.0, clients=20,
                                   length=800, window=32, signals=24, warm_up=2.0)
        assert r["error_rate"] == 0.0, r["statuses"]
        assert r["supports_add_up"] and r["support_sent"] > 0, r
        assert r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"]

        def targets_up() -> bool:
            active = _get(f"{s.prom}/api/v1/targets")["data"]["activeTargets"]
            return len(active) == 3 and all(t["health"] == "up" for t in active)
        _wait("every target up", targets_up)
        signals = "sum(patternlab_gateway_signals_total)"
        _wait("the requests counted", lambda: _query(s.prom, signals)
              and float(_query(s.prom, signals)[0]["value"][1]) >= r["requests"])
        (workers,) = _query(s.prom, "patternlab_workers")
        assert workers["value"][1] == "1" and workers["metric"]["scheduler"] == s.scheduler
        (redis_up,) = _query(s.prom, "patternlab_gateway_redis_up")
        assert redis_up["value"][1] == "1"
        # nothing is down (the load's first requests, which load the kernels on the worker, may have
        # raised the latency alert: its for: is 2 s here)
        down = {"PatternlabWorkersBelowMinimum", "PatternlabWorkerDown", "PatternlabRedisUnreachable",
                "PatternlabSchedulerDown", "PatternlabGatewayDown", "PatternlabGatewaySchedulerUnreachable"}
        _wait("no outage alert firing", lambda: not (_firing(s.prom) & down))

        # every panel of the dashboard is a valid query on this Prometheus, most with data
        empty = []
        for p in _panels(_dashboard()):
            for t in p.get("targets", []):
                expr = t["expr"].replace("$__rate_interval", "1m").replace("$__range", "5m")
                if not _query(s.prom, expr):
                    empty.append(p["title"])
        assert set(empty) <= {"Firing alerts", "Gateway errors by class", "Server error ratio"}, empty

        s.procs["worker0"].send_signal(signal.SIGKILL)
        _wait("PatternlabWorkersBelowMinimum firing",
              lambda: "PatternlabWorkersBelowMinimum" in _firing(s.prom))
        _wait("PatternlabWorkerDown firing", lambda: "PatternlabWorkerDown" in _firing(s.prom))
        s.redis.stop(kill=True)
        _wait("PatternlabRedisUnreachable firing", lambda: "PatternlabRedisUnreachable" in _firing(s.prom))
        assert "PatternlabSchedulerDown" not in _firing(s.prom)
        assert KEY not in s.logs()
    except BaseException:
        print(s.logs())
        raise
