"""The gateway's deployment, validated offline: the compose services (gateway, Prometheus, Grafana)
and the Kubernetes Deployment, Service, HorizontalPodAutoscaler and NetworkPolicies, with their
commands parsed by ``patternlab serve``'s own argument parser and their selectors checked against
the pods the Dask operator makes (no Docker engine, no API server here: see test_kube.py,
test_deploy_docker.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

import kube_schemas
from patternlab._cli.main import build_parser
from test_kube import _containers, _operator_objects, _selects

ROOT = Path(__file__).resolve().parents[1]
KUBE = ROOT / "deploy" / "kubernetes"
DOCKER = ROOT / "deploy" / "docker"


def _by_kind(path: Path) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for doc in kube_schemas.validate_file(path):
        out.setdefault(doc["kind"], []).append(doc)
    return out


def _serve_args(argv: list[str]) -> Any:
    assert argv[0] == "patternlab" and argv[1] == "serve", argv
    return build_parser().parse_args(argv[1:])


# -- Kubernetes -----------------------------------------------------------------------------------
def test_the_gateway_deployment_reaches_the_operators_scheduler_with_secrets_as_files() -> None:
    objs = _by_kind(KUBE / "gateway.yaml")
    (dep,), (svc,), (hpa,) = objs["Deployment"], objs["Service"], objs["HorizontalPodAutoscaler"]
    pod = dep["spec"]["template"]
    assert _selects(dep["spec"]["selector"], pod["metadata"]["labels"])
    assert _selects({"matchLabels": svc["spec"]["selector"]}, pod["metadata"]["labels"])
    (c,) = pod["spec"]["containers"]
    args = _serve_args(c["command"] + c["args"])
    # the scheduler Service the operator makes for the DaskCluster of daskcluster.yaml
    cluster = yaml.safe_load((KUBE / "daskcluster.yaml").read_text())
    _, sched_svc, _ = _operator_objects(cluster)
    comm = next(p["port"] for p in sched_svc["spec"]["ports"] if p["name"] == "tcp-comm")
    assert args.scheduler == f"tcp://{sched_svc['metadata']['name']}:{comm}"
    assert args.host == "0.0.0.0" and not args.no_auth
    (port,) = c["ports"]
    assert args.port == port["containerPort"] and svc["spec"]["ports"][0]["targetPort"] == port["name"]
    # the API keys: a file from the patternlab-gateway Secret, readable by the pod's group only
    mount = next(m for m in c["volumeMounts"] if args.api_key_file.startswith(m["mountPath"] + "/"))
    vol = next(v for v in pod["spec"]["volumes"] if v["name"] == mount["name"])
    assert vol["secret"]["secretName"] == "patternlab-gateway"
    assert [i["path"] for i in vol["secret"]["items"]] == [args.api_key_file.rsplit("/", 1)[1]]
    assert vol["secret"]["defaultMode"] == 0o440 and pod["spec"]["securityContext"]["fsGroup"] == 10001
    env = {e["name"]: e.get("valueFrom", e.get("value")) for e in c["env"]}
    assert env["PATTERNLAB_REDIS_URL"]["secretKeyRef"] == {"name": "patternlab-redis", "key": "url",
                                                           "optional": False}
    assert "PATTERNLAB_API_KEY" not in env   # a key is a file, never an environment variable
    script = (KUBE / "create-secret.sh").read_text()
    assert "generic patternlab-gateway" in script and "--from-literal=api-keys=" in script
    # ready only while scheduler and Redis answer; alive while it listens
    assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert "tcpSocket" in c["livenessProbe"]
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"]
    # the autoscaler scales this Deployment, on CPU, from 2 replicas
    ref = hpa["spec"]["scaleTargetRef"]
    assert (ref["kind"], ref["name"]) == ("Deployment", dep["metadata"]["name"])
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert c["resources"]["requests"]["cpu"]   # HPA utilization needs a CPU request
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    assert "gateway.yaml" in kustomization["resources"]


def test_only_the_gateway_is_reachable_from_outside() -> None:
    (gw_policy,) = _by_kind(KUBE / "gateway.yaml")["NetworkPolicy"]
    redis_policy, cluster_policy = kube_schemas.validate_file(KUBE / "networkpolicy.yaml")
    dep = _by_kind(KUBE / "gateway.yaml")["Deployment"][0]
    gateway_pod = dep["spec"]["template"]["metadata"]["labels"]
    cluster = yaml.safe_load((KUBE / "daskcluster.yaml").read_text())
    sched_dep, _, worker_dep = _operator_objects(cluster)
    sched = sched_dep["spec"]["template"]["metadata"]["labels"]
    worker = worker_dep["spec"]["template"]["metadata"]["labels"]
    # the gateway: any client, its HTTP port only
    assert _selects(gw_policy["spec"]["podSelector"], gateway_pod)
    (rule,) = gw_policy["spec"]["ingress"]
    assert "from" not in rule and rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    # the scheduler and workers: selected by the cluster policy, never by the gateway's
    for labels in (sched, worker):
        assert _selects(cluster_policy["spec"]["podSelector"], labels)
        assert not _selects(gw_policy["spec"]["podSelector"], labels)
    assert not _selects(cluster_policy["spec"]["podSelector"], gateway_pod)
    assert cluster_policy["spec"]["policyTypes"] == ["Ingress"]
    ours, operator, prometheus = cluster_policy["spec"]["ingress"]
    (peer,) = ours["from"]
    assert set(peer) == {"podSelector"} and "ports" not in ours   # patternlab's pods, this namespace
    for labels in (sched, worker, gateway_pod):
        assert _selects(peer["podSelector"], labels)
    for outsider in ({"app": "jupyter"}, {"app.kubernetes.io/name": "prometheus"}, {}):
        assert not _selects(peer["podSelector"], outsider)
    (op,) = operator["from"]
    assert op == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dask-operator"}}}
    (scrape,) = prometheus["from"]
    assert scrape["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
    # the dashboard ports of the scheduler and the workers (their /metrics) only
    dashboard_ports = {p["containerPort"] for c in (sched_dep, worker_dep)
                       for p in c["spec"]["template"]["spec"]["containers"][0]["ports"]
                       if p["name"] == "http-dashboard"}
    assert {p["port"] for p in prometheus["ports"]} == dashboard_ports == {8787, 8788}
    # Redis: the scheduler, the workers and the gateway
    (redis_rule,) = redis_policy["spec"]["ingress"]
    for labels in (sched, worker, gateway_pod):
        assert any(_selects(p["podSelector"], labels) for p in redis_rule["from"])


# -- docker compose -----------------------------------------------------------------------------------
def _compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_the_compose_gateway_and_monitoring_services() -> None:
    doc = _compose()
    svc = doc["services"]
    gw = svc["gateway"]
    args = _serve_args(gw["command"])
    assert args.scheduler == "tcp://scheduler:8786" and args.host == "0.0.0.0" and args.port == 8080
    assert args.api_key_file == "/run/secrets/patternlab-api-key" and gw["secrets"] == ["patternlab-api-key"]
    assert args.data_dir == "/data" and "data:/data" in gw["volumes"]
    assert gw["environment"]["PATTERNLAB_REDIS_URL"].startswith("redis://:${REDIS_PASSWORD:?")
    assert gw["ports"] == ["${PUBLISH_ADDRESS:-127.0.0.1}:8080:8080"]
    assert "/health" in gw["healthcheck"]["test"][-1]
    assert {d["condition"] for d in gw["depends_on"].values()} == {"service_healthy"}
    assert set(gw["depends_on"]) == {"scheduler", "redis"}
    assert doc["secrets"]["patternlab-api-key"]["file"].endswith("secrets/gateway-api-key}")
    assert "secrets/" in (DOCKER / ".gitignore").read_text().split()
    # the image has the serve extra (aiohttp) and exposes the gateway's port
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert 'ARG EXTRAS="serve"' in dockerfile and "8080" in dockerfile.split("EXPOSE", 1)[1].splitlines()[0]

    # Prometheus: deploy/prometheus mounted as its configuration, the API key as the same secret
    prom = svc["prometheus"]
    assert prom["profiles"] == ["monitoring"] == svc["grafana"]["profiles"]
    mount = next(v for v in prom["volumes"] if v.endswith(":/etc/prometheus:ro"))
    assert (DOCKER / mount.split(":")[0]).resolve() == ROOT / "deploy" / "prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prom["command"]
    assert prom["secrets"] == ["patternlab-api-key"]
    cfg = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    auth = jobs["patternlab-gateway"]["authorization"]
    assert auth["credentials_file"] == "/run/secrets/patternlab-api-key"
    assert jobs["patternlab-gateway"]["dns_sd_configs"][0]["port"] == args.port
    assert jobs["patternlab-scheduler"]["dns_sd_configs"][0]["names"] == ["scheduler"]
    worker_cmd = svc["worker"]["command"]
    worker_http = worker_cmd[worker_cmd.index("--dashboard-address") + 1]
    assert jobs["patternlab-workers"]["dns_sd_configs"][0]["port"] == int(worker_http.lstrip(":"))

    # Grafana: the provisioned data source is that Prometheus, the dashboard is deploy/grafana's
    graf = svc["grafana"]
    assert graf["environment"]["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    prov = next(v for v in graf["volumes"] if v.endswith(":/etc/grafana/provisioning:ro")).split(":")[0]
    (ds,) = yaml.safe_load((DOCKER / prov / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert ds["type"] == "prometheus" and ds["url"] == "http://prometheus:9090" and ds["isDefault"]
    (provider,) = yaml.safe_load((DOCKER / prov / "dashboards" / "patternlab.yml").read_text())["providers"]
    board = next(v for v in graf["volumes"] if "patternlab.json" in v)
    host, inside = board.split(":")[:2]
    assert (DOCKER / host).resolve() == ROOT / "deploy" / "grafana" / "patternlab.json"
    assert inside.startswith(provider["options"]["path"] + "/")


def test_the_containers_schedulers_and_workers_are_still_the_ones_kube_spec_makes() -> None:
    cluster = yaml.safe_load((KUBE / "daskcluster.yaml").read_text())
    sched, _worker = _containers(cluster)
    assert "patternlab.dashboard" in sched["args"]   # the scheduler's /metrics carry patternlab_*
