"""Offline validation of Kubernetes manifests, for the tests of kube_spec and deploy/kubernetes.

No API server runs here, so manifests are checked against the schemas an API server would use:

- the Dask operator's resources (``kubernetes.dask.org/v1``: DaskCluster, DaskAutoscaler, ...)
  against the ``openAPIV3Schema`` of the CustomResourceDefinitions shipped inside the installed
  dask-kubernetes package (the Helm chart's ``crds/``, the files ``kubectl apply`` installs);
- every built-in kind (Service, StatefulSet, NetworkPolicy, ...) with the ``kubernetes-validate``
  package's schemas of the newest Kubernetes version it knows.

Both are *strict*: a field the schema does not define is an error (an API server would silently
prune it from a custom resource, so a misspelt field would otherwise go unnoticed).
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import dask_kubernetes
import jsonschema
import kubernetes_validate
import yaml

CRD_DIR = Path(dask_kubernetes.__file__).parent / "operator/deployment/helm/dask-kubernetes-operator/crds"
DASK_GROUP = "kubernetes.dask.org"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_META = {"type": "object", "required": ["name"],
         "properties": {"name": {"type": "string", "maxLength": 253},
                        "namespace": {"type": "string", "maxLength": 63},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "annotations": {"type": "object", "additionalProperties": {"type": "string"}}},
         "additionalProperties": False}


def _strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if ("properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """``{(kind, version): openAPIV3Schema}`` of the operator's CRDs, made strict, with the
    top-level ``apiVersion``, ``kind`` and ``metadata`` every object carries."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        assert crd["kind"] == "CustomResourceDefinition" and crd["spec"]["group"] == DASK_GROUP, path
        for version in crd["spec"]["versions"]:
            schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
            schema["properties"].update({"apiVersion": {"type": "string", "enum": [
                f"{DASK_GROUP}/{version['name']}"]}, "kind": {"type": "string", "enum": [
                    crd["spec"]["names"]["kind"]]}, "metadata": _META})
            schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
            out[(crd["spec"]["names"]["kind"], version["name"])] = schema
    return out


def validate(manifest: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` (or a kubernetes-validate error) unless ``manifest``
    is a valid object of its kind."""
    api, kind = manifest.get("apiVersion", ""), manifest.get("kind", "")
    if api.startswith(DASK_GROUP + "/"):
        schema = crd_schemas()[(kind, api.split("/", 1)[1])]
        jsonschema.validate(manifest, schema, cls=jsonschema.Draft7Validator)
    else:
        kubernetes_validate.validate(manifest, kubernetes_validate.latest_version(), strict=True)
    name = manifest["metadata"]["name"]
    if not (_NAME.match(name) and len(name) <= 253):
        raise jsonschema.ValidationError(f"metadata.name {name!r} is not a DNS subdomain")


def validate_file(path: Path) -> list[dict[str, Any]]:
    """Validate every document of a YAML file; return them."""
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs, f"{path} holds no manifest"
    for doc in docs:
        validate(doc)
    return docs
