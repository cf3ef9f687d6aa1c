"""Kubernetes: kube_spec, the DaskAutoscaler, the objects the Dask operator builds from them, and every
file under deploy/kubernetes/, validated offline against the operator's CRD schemas and the
Kubernetes schemas (tests/kube_schemas.py); Lab.kube end to end when a cluster is reachable.

The end-to-end test needs a kubeconfig (``KUBECONFIG`` or ``~/.kube/config``) whose cluster runs
the Dask operator and can pull the image ``patternlab.kube.image`` (Dask config, e.g.
``DASK_PATTERNLAB__KUBE__IMAGE=patternlab:latest`` loaded into kind).
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from pathlib import Path
from typing import Any

import dask.config
import numpy as np
import pytest
import yaml
from dask_kubernetes.operator.controller.controller import (
    build_scheduler_deployment_spec,
    build_scheduler_service_spec,
    build_worker_deployment_spec,
)

import kube_schemas
import patternlab as pl
from patternlab.datasets.synthetic import planted_signal
from patternlab.lab.kube import autoscaler_spec

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "kubernetes"
#: The arguments deploy/kubernetes/daskcluster.yaml was generated with.
DEPLOY_ARGS: dict[str, Any] = {
    "name": "patternlab", "image": "patternlab:latest", "n_workers": 2,
    "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
    "redis_secret": "patternlab-redis"}


@pytest.fixture(autouse=True)
def no_user_configuration(monkeypatch: pytest.MonkeyPatch):
    """kube_spec reads the ``patternlab.kube`` config: none of the caller's leaks into a test."""
    for key in list(os.environ):
        if key.startswith(("PATTERNLAB_", "DASK_PATTERNLAB__")):
            monkeypatch.delenv(key)
    dask.config.refresh(paths=[])
    yield
    monkeypatch.undo()
    dask.config.refresh()


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def _containers(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return (spec["spec"]["scheduler"]["spec"]["containers"][0],
            spec["spec"]["worker"]["spec"]["containers"][0])


def _operator_objects(spec: dict[str, Any], namespace: str = "science") -> list[dict[str, Any]]:
    """The scheduler Deployment, its Service and a worker Deployment, as the operator builds them."""
    name = spec["metadata"]["name"]
    labels = dict(spec["metadata"].get("labels", {}))
    s, w = spec["spec"]["scheduler"], spec["spec"]["worker"]
    return [
        build_scheduler_deployment_spec(name, s["spec"], {}, {**labels, **s["metadata"]["labels"]}),
        build_scheduler_service_spec(name, s["service"], {}, labels),
        build_worker_deployment_spec(f"{name}-default", namespace, name, "abc12", w["spec"], {},
                                     {**labels, **w["metadata"]["labels"]}),
    ]


# ------------------------------------------------------------------------------------ kube_spec


def test_kube_spec_is_a_valid_daskcluster_prepared_for_patternlab() -> None:
    spec = pl.kube_spec(name="signals", image="registry.example/patternlab:0.1", n_workers=3,
                        resources={"requests": {"cpu": "2", "memory": "4Gi"}}, env={"EXTRA": "1"},
                        namespace="science")
    kube_schemas.validate(spec)
    assert spec["apiVersion"] == "kubernetes.dask.org/v1" and spec["kind"] == "DaskCluster"
    assert spec["metadata"]["name"] == "signals" and spec["metadata"]["namespace"] == "science"
    assert spec["spec"]["worker"]["replicas"] == 3
    sched, worker = _containers(spec)
    assert sched["args"][:2] == ["dask", "scheduler"]
    assert sched["args"][-2:] == ["--preload", "patternlab.dashboard"]
    assert worker["args"][:4] == ["dask", "worker", "--nthreads", "1"]
    for c in (sched, worker):
        assert c["image"] == "registry.example/patternlab:0.1"
        assert c["resources"] == {"requests": {"cpu": "2", "memory": "4Gi"}}
        env = _env(c)
        assert c["env"][0] == {"name": "EXTRA", "value": "1"}
        assert env["NUMBA_THREADING_LAYER"] == "threadsafe"
        assert env["NUMBA_CACHE_DIR"].startswith("/")
        # the default Secret is optional: Redis is opt-in
        assert env["PATTERNLAB_REDIS_URL"] == {"secretKeyRef": {"name": "patternlab-redis", "key": "url",
                                                                "optional": True}}
    assert "redis" not in repr(spec).replace("patternlab-redis", "").replace("REDIS_URL", "").lower()


@pytest.mark.parametrize("kwargs", [
    {"tls_secret": "patternlab-tls"},
    {"scheduler_service_type": "LoadBalancer", "idle_timeout": 600},
    {"redis_secret": "", "threads_per_worker": 4},
    {"env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "t", "key": "k"}}}]},
    {"preload_dashboard": False, "n_workers": 0},
], ids=["tls", "loadbalancer", "no-redis", "env-list", "no-preload"])
def test_kube_spec_variants_and_the_objects_the_operator_makes_are_valid(kwargs: dict[str, Any]) -> None:
    spec = pl.kube_spec(**kwargs)
    kube_schemas.validate(spec)
    objects = _operator_objects(spec)
    for obj in objects:
        kube_schemas.validate(obj)  # built-in kinds, strict
    sched, worker = _containers(spec)
    worker_pod = objects[2]["spec"]["template"]["spec"]["containers"][0]
    env = _env(worker_pod)
    assert "DASK_WORKER_NAME" in env and "DASK_SCHEDULER_ADDRESS" in env
    if "tls_secret" in kwargs:
        assert env["DASK_SCHEDULER_ADDRESS"] == "tls://patternlab-scheduler:8786"  # ours, not tcp://
        assert sched["args"][-2:] == ["--protocol", "tls"]
        for c in (sched, worker):
            assert _env(c)["DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION"] == "True"
            assert c["volumeMounts"][0]["mountPath"] == "/etc/patternlab/tls"
    else:
        assert env["DASK_SCHEDULER_ADDRESS"].startswith("tcp://")
    if kwargs.get("redis_secret") == "":
        assert "PATTERNLAB_REDIS_URL" not in env
    if "threads_per_worker" in kwargs:
        assert worker["args"][:4] == ["dask", "worker", "--nthreads", "4"]
    if kwargs.get("preload_dashboard") is False:
        assert "--preload" not in sched["args"]
    if "env" in kwargs:
        assert worker["env"][0]["name"] == "TOKEN"


def test_kube_spec_takes_its_defaults_from_dask_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASK_PATTERNLAB__KUBE__IMAGE", "registry.example/pl:2")
    monkeypatch.setenv("DASK_PATTERNLAB__KUBE__REDIS_SECRET", "shared-redis")
    dask.config.refresh(paths=[])
    spec = pl.kube_spec(n_workers=1)
    worker = _containers(spec)[1]
    assert worker["image"] == "registry.example/pl:2"
    # a Secret named in the configuration must exist: not optional
    assert _env(worker)["PATTERNLAB_REDIS_URL"]["secretKeyRef"] == {"name": "shared-redis", "key": "url",
                                                                     "optional": False}
    assert _containers(pl.kube_spec(image="explicit:1"))[1]["image"] == "explicit:1"  # argument wins
    with dask.config.set({"patternlab.kube.nmae": "x"}):
        with pytest.raises(pl.ConfigError, match="'nmae'"):
            pl.kube_spec()


BAD = {
    "name": ({"name": "Bad_Name"}, "name='Bad_Name'"),
    "namespace": ({"namespace": "a b"}, "namespace='a b'"),
    "image": ({"image": ""}, "image=''"),
    "workers": ({"n_workers": -1}, "n_workers=-1"),
    "workers-bool": ({"n_workers": True}, "n_workers=True"),
    "threads": ({"threads_per_worker": 0}, "threads_per_worker=0"),
    "resources": ({"resources": {"cpu": "1"}}, "resources="),
    "env": ({"env": "A=1"}, "env='A=1'"),
    "env-name": ({"env": {"A B": "1"}}, "'A B'"),
    "service": ({"scheduler_service_type": "Ingress"}, "scheduler_service_type='Ingress'"),
    "tls": ({"tls_secret": "Not/A/Name"}, "tls_secret="),
}


@pytest.mark.parametrize("kwargs, needle", BAD.values(), ids=BAD.keys())
def test_kube_spec_bad_arguments(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(pl.InvalidParameterError) as info:
        pl.kube_spec(**kwargs)
    assert needle in str(info.value) and isinstance(info.value, ValueError)


def test_autoscaler_spec() -> None:
    manifest = autoscaler_spec("signals", 2, 20, namespace="science")
    kube_schemas.validate(manifest)
    assert manifest["spec"] == {"cluster": "signals", "minimum": 2, "maximum": 20}
    with pytest.raises(pl.InvalidParameterError, match="minimum=5 > maximum=2"):
        autoscaler_spec("signals", 5, 2)
    with pytest.raises(pl.InvalidParameterError, match="minimum=-1"):
        autoscaler_spec("signals", -1, 2)


def test_the_validator_catches_mistakes() -> None:
    """The offline validation is not a rubber stamp."""
    spec = pl.kube_spec()
    spec["spec"]["worker"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(Exception, match="imagePullPolicyy"):
        kube_schemas.validate(spec)
    spec = pl.kube_spec()
    spec["spec"]["worker"]["replicas"] = "2"
    with pytest.raises(Exception, match="'2' is not of type 'integer'"):
        kube_schemas.validate(spec)
    with pytest.raises(Exception, match="maximum"):
        kube_schemas.validate({"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskAutoscaler",
                               "metadata": {"name": "x"}, "spec": {"cluster": "x", "minimum": 1}})
    policy = next(yaml.safe_load_all((DEPLOY / "networkpolicy.yaml").read_text()))
    policy["spec"]["ingress"][0]["ports"][0]["port"] = [6379]
    with pytest.raises(Exception, match="6379"):
        kube_schemas.validate(policy)


# ------------------------------------------------------------------------------- deploy/kubernetes


def test_every_deploy_file_is_valid() -> None:
    files = sorted(p.name for p in DEPLOY.iterdir())
    assert files == ["autoscaler.yaml", "create-secret.sh", "daskcluster.yaml", "gateway.yaml",
                     "kustomization.yaml", "networkpolicy.yaml", "redis.yaml"]
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert sorted(kustomization["resources"]) == sorted(f for f in files if f.endswith(".yaml")
                                                        and f != "kustomization.yaml")
    kinds = []
    for name in kustomization["resources"]:
        kinds += [d["kind"] for d in kube_schemas.validate_file(DEPLOY / name)]
    assert sorted(kinds) == ["DaskAutoscaler", "DaskCluster", "Deployment", "HorizontalPodAutoscaler",
                             "NetworkPolicy", "NetworkPolicy", "NetworkPolicy", "Service", "Service",
                             "StatefulSet"]
    assert "Secret" not in kinds  # the password is generated by create-secret.sh, never committed


def test_deploy_manifests_are_what_the_library_generates() -> None:
    cluster = yaml.safe_load((DEPLOY / "daskcluster.yaml").read_text())
    assert cluster == pl.kube_spec(**DEPLOY_ARGS)
    worker = _containers(cluster)[1]
    assert _env(worker)["PATTERNLAB_REDIS_URL"]["secretKeyRef"]["optional"] is False
    autoscaler = yaml.safe_load((DEPLOY / "autoscaler.yaml").read_text())
    assert autoscaler == autoscaler_spec("patternlab", 2, 20)
    assert autoscaler["spec"]["cluster"] == cluster["metadata"]["name"]
    for obj in _operator_objects(cluster):
        kube_schemas.validate(obj)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    ok = all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
    for expr in selector.get("matchExpressions", []):
        assert expr["operator"] == "In"
        ok = ok and labels.get(expr["key"]) in expr["values"]
    return ok


def test_only_the_scheduler_workers_and_gateway_reach_redis() -> None:
    service, statefulset = kube_schemas.validate_file(DEPLOY / "redis.yaml")
    policy, _ = kube_schemas.validate_file(DEPLOY / "networkpolicy.yaml")
    cluster = yaml.safe_load((DEPLOY / "daskcluster.yaml").read_text())
    sched_dep, _, worker_dep = _operator_objects(cluster)
    redis_pod = statefulset["spec"]["template"]["metadata"]["labels"]
    assert _selects(policy["spec"]["podSelector"], redis_pod)
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    dask_peer, gateway_peer = rule["from"]
    for peer in (dask_peer, gateway_peer):
        assert set(peer) == {"podSelector"}  # no namespaceSelector / ipBlock: this namespace's pods only
    allowed = dask_peer["podSelector"]
    assert _selects(allowed, sched_dep["spec"]["template"]["metadata"]["labels"])
    assert _selects(allowed, worker_dep["spec"]["template"]["metadata"]["labels"])
    gateway = next(d for d in kube_schemas.validate_file(DEPLOY / "gateway.yaml")
                   if d["kind"] == "Deployment")
    assert _selects(gateway_peer["podSelector"], gateway["spec"]["template"]["metadata"]["labels"])
    for other in ({"app": "jupyter"}, redis_pod, {"app.kubernetes.io/part-of": "patternlab"},
                  {"dask.org/component": "worker"}):
        assert not any(_selects(p["podSelector"], other) for p in rule["from"]), other
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    assert [p["port"] for p in rule["ports"]] == [container["ports"][0]["containerPort"]]
    assert _selects({"matchLabels": service["spec"]["selector"]}, redis_pod)


def test_redis_is_password_protected_and_persistent() -> None:
    service, statefulset = kube_schemas.validate_file(DEPLOY / "redis.yaml")
    pod = statefulset["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    (redis,) = pod["containers"]
    assert _env(init)["REDIS_PASSWORD"] == {"secretKeyRef": {"name": "patternlab-redis", "key": "password"}}
    assert "requirepass" in init["command"][-1] and "appendonly yes" in init["command"][-1]
    assert "appendfsync always" in init["command"][-1]  # an acknowledged publish is on disk
    assert redis["args"] == ["/conf/redis.conf"]  # the password is in no command line
    assert _env(redis)["REDISCLI_AUTH"]["secretKeyRef"]["name"] == "patternlab-redis"
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert {"name": "data", "mountPath": "/data"} in redis["volumeMounts"]
    assert claim["metadata"]["name"] == "data" and claim["spec"]["resources"]["requests"]["storage"]
    # the Secret the script makes is the one the pods read, with a URL to this Service
    script = (DEPLOY / "create-secret.sh").read_text()
    assert "generic patternlab-redis" in script and "openssl rand" in script
    url = re.search(r"url=\"(redis://[^\"]+)\"", script)
    assert url is not None
    port = service["spec"]["ports"][0]["port"]
    assert url.group(1) == f"redis://:${{password}}@{service['metadata']['name']}:{port}/0"
    cluster = yaml.safe_load((DEPLOY / "daskcluster.yaml").read_text())
    assert _env(_containers(cluster)[1])["PATTERNLAB_REDIS_URL"]["secretKeyRef"]["key"] == "url"
    assert os.access(DEPLOY / "create-secret.sh", os.X_OK)


# ------------------------------------------------------------------------------------- Lab.kube


def test_lab_kube_without_a_cluster_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "nowhere",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{_closed_port()}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "nowhere", "context": {"cluster": "c", "user": "u", "namespace": "default"}}]}))
    monkeypatch.setenv("KUBECONFIG", str(config))
    with pytest.raises(pl.ClusterConnectionError, match="cannot create the Kubernetes cluster") as info:
        pl.Lab.kube(name="signals", n_workers=1)
    assert "'signals'" in str(info.value)
    assert "KUBECONFIG" in str(info.value)
    with pytest.raises(pl.InvalidParameterError, match="tls_secret"):
        pl.Lab.kube(name="signals", security=True)
    with pytest.raises(pl.InvalidParameterError, match="name='Bad_Name'"):
        pl.Lab.kube(name="Bad_Name")  # checked before any cluster is contacted


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kubeconfig() -> str | None:
    for path in [*os.environ.get("KUBECONFIG", "").split(os.pathsep), str(Path.home() / ".kube/config")]:
        if path and Path(path).is_file():
            return path
    return None


_ORIGINAL_ENV = dict(os.environ)


@pytest.mark.slow
@pytest.mark.skipif(_kubeconfig() is None, reason="no Kubernetes cluster: no kubeconfig (KUBECONFIG or "
                    "~/.kube/config); run it against kind or any cluster with the Dask operator installed")
def test_lab_kube_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("KUBECONFIG", "DASK_PATTERNLAB__KUBE__IMAGE", "DASK_PATTERNLAB__KUBE__NAMESPACE"):
        if key in _ORIGINAL_ENV:  # the caller's cluster and image, hidden by the autouse fixture
            monkeypatch.setenv(key, _ORIGINAL_ENV[key])
    dask.config.refresh(paths=[])
    cfg = pl.EngineConfig(window=32, top_k=2)
    signals = [planted_signal(900, 32, seed=i, occurrences=2).signal for i in range(6)]
    name = f"pl-test-{uuid.uuid4().hex[:8]}"
    with pl.Lab.kube(name=name, n_workers=1, resource_timeout=600) as lab:
        assert lab.kind == "kube"
        lab.client.wait_for_workers(1, timeout=600)
        preloads = lab.client.run_on_scheduler(
            lambda dask_scheduler: [str(p.name) for p in dask_scheduler.preloads])
        assert "patternlab.dashboard" in preloads
        got = lab.batch_perceive(signals, config=cfg, batch_size=2, progress=False)
        want = pl.batch_perceive(signals, config=cfg, client=False, batch_size=2, progress=False)
        assert got.library.ids == want.library.ids
        assert np.array_equal(got.library.prototypes, want.library.prototypes)
        assert lab.adapt(1, 2)["spec"] == {"cluster": name, "minimum": 1, "maximum": 2}

        async def autoscaler() -> Any:
            from dask_kubernetes.operator._objects import DaskAutoscaler

            return (await DaskAutoscaler.get(name, namespace=lab.cluster.namespace)).spec

        assert dict(lab.cluster.sync(autoscaler)) == {"cluster": name, "minimum": 1, "maximum": 2}
        cluster = lab.cluster

    async def exists() -> bool:
        from dask_kubernetes.operator._objects import DaskCluster

        return bool(await (await DaskCluster(name, namespace=cluster.namespace)).exists())

    assert not asyncio.run(exists()), "close() left the DaskCluster behind"
