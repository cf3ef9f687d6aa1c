"""The OpenAPI 3.1 description of the gateway's HTTP API, served at ``/v1/openapi.json``.

The tests check that its paths are exactly the server's routes and validate every response the
server gives against the schemas here.
"""

from __future__ import annotations

from typing import Any

from .._version import __version__

__all__ = ["API_VERSION", "openapi"]

#: The version prefix of every route but ``/health`` and ``/metrics``.
API_VERSION = "v1"

_NUM = {"type": ["number", "null"]}
_INT = {"type": "integer"}
_STR = {"type": "string"}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required or sorted(props)}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_PROVENANCE = _obj({"signal": _STR, "offset": _INT})

SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": _STR, "message": _STR, "status": _INT}),
    "Pattern": _obj({"id": _STR, "domain": _STR, "window": _INT, "support": _INT,
                     "first_seen": _PROVENANCE, "last_updated": _PROVENANCE,
                     "prototype": {"type": "array", "items": _NUM}},
                    ["id", "domain", "window", "support", "first_seen", "last_updated"]),
    "Published": _obj({"created": _INT, "updated": _INT, "skipped": _INT,
                       "support_added": {"type": ["integer", "null"]},
                       "token": {"type": ["string", "null"]}}),
    "Perception": _obj({
        "signal_id": _STR, "domain": _STR, "window": _INT,
        "events": {"type": "array", "items": _INT},
        "motifs": {"type": "array", "items": _obj({"a": _INT, "b": _INT, "distance": _NUM})},
        "discords": {"type": "array", "items": _obj({"index": _INT, "distance": _NUM, "neighbor": _INT})},
        "matches": {"type": "array",
                    "items": _obj({"pattern_id": _STR, "offset": _INT, "correlation": _NUM})},
        "new_patterns": {"type": "array", "items": _ref("Pattern")},
        "updated_patterns": {"type": "array", "items": _ref("Pattern")},
        "published": _ref("Published"),
    }),
    "PatternPage": _obj({"domain": _STR, "window": _INT, "total": _INT, "offset": _INT, "limit": _INT,
                         "support": _INT, "patterns": {"type": "array", "items": _ref("Pattern")}}),
    "Libraries": _obj({"libraries": {"type": "array", "items": _obj({"domain": _STR, "window": _INT,
                                                                      "patterns": _INT})}}),
    "Health": _obj({"status": {"type": "string", "enum": ["ok", "unavailable"]},
                    "scheduler": {"type": "boolean"},
                    "redis": {"type": "boolean"}, "workers": {"type": ["integer", "null"]}}),
    "BatchRequest": {"type": "object", "required": ["name", "corpus"], "additionalProperties": False,
                     "properties": {
                         "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                                  "description": "names the run store runs/<name>.zarr"},
                         "corpus": {"type": "string", "description": "a corpus (pl.write_signals) "
                                    "relative to the gateway's data directory"},
                         "domain": {"type": "string"}, "window": {"type": "integer", "minimum": 3},
                         "batch_size": {"type": "integer", "minimum": 1}, "overwrite": {"type": "boolean"}}},
    "Batch": {"type": "object", "required": ["name", "state", "store", "progress"], "properties": {
        "name": _STR, "store": _STR,
        "state": {"type": "string", "enum": ["running", "done", "failed", "incomplete"]},
        "corpus": _STR, "domain": _STR, "window": _INT, "batch_size": _INT,
        "started": {"type": "number"}, "finished": {"type": ["number", "null"]},
        "progress": {"oneOf": [{"type": "null"}, _obj({"partitions_done": _INT, "partitions": _INT})]},
        "metrics": {"type": "object", "additionalProperties": {"type": "number"}},
        "patterns": {"type": ["integer", "null"]},
        "error": _obj({"error": _STR, "message": _STR})}},
    "BatchList": _obj({"batches": {"type": "array", "items": _obj(
        {"name": _STR, "state": _STR, "corpus": _STR, "domain": _STR, "started": {"type": "number"},
         "finished": {"type": ["number", "null"]}})}}),
}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "a mistake in the request (the message says which and how to fix it)",
            401: "no valid API key (Authorization: Bearer KEY)", 403: "batches are off on this gateway",
            404: "not found", 409: "conflict", 413: "the body or the signal is over the gateway's limits",
            503: "the scheduler or Redis cannot be reached", 504: "the cluster did not answer in time"}
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": _ref("Error")}}}
            for c in codes}


def _ok(schema: str, code: int = 200, description: str = "OK") -> dict[str, Any]:
    return {str(code): {"description": description,
                        "content": {"application/json": {"schema": _ref(schema)}}}}


def _param(name: str, where: str, schema: dict[str, Any], description: str,
           required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema,
            "description": description}


_DOMAIN_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"}
_DOMAIN = _param("domain", "path", _DOMAIN_SCHEMA, "the library's domain")
_WINDOW = _param("window", "query", {"type": "integer", "minimum": 3, "maximum": 2 ** 24},
                 "pattern length (default: the gateway's configured window)")


def openapi() -> dict[str, Any]:
    """The OpenAPI document of the gateway (a plain dict, ``json.dumps``-able).

    Examples
    --------
    >>> from patternlab.gateway import openapi
    >>> doc = openapi()
    >>> doc["openapi"], sorted(doc["paths"])[:2]
    ('3.1.0', ['/health', '/metrics'])
    """
    v = f"/{API_VERSION}"
    secured: list[dict[str, list[str]]] = [{"apiKey": []}]
    paths: dict[str, Any] = {
        "/health": {"get": {"summary": "whether the scheduler and Redis answer (no API key needed)",
                            "operationId": "health", "security": [],
                            "responses": {**_ok("Health"), **_ok("Health", 503, "unavailable")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics of the gateway (text format)",
                             "operationId": "metrics",
                             "responses": {"200": {"description": "Prometheus text exposition",
                                                   "content": {"text/plain": {"schema": _STR}}},
                                           **_errors(401)}}},
        f"{v}/openapi.json": {"get": {"summary": "this document", "operationId": "openapi",
                                      "responses": {"200": {"description": "the OpenAPI document",
                                                            "content": {"application/json": {
                                                                "schema": {"type": "object"}}}},
                                                    **_errors(401)}}},
        f"{v}/perceive": {"post": {
            "summary": "perceive one signal: events, motifs, discords, matches; learn into the "
                       "shared library",
            "operationId": "perceive",
            "parameters": [
                _param("domain", "query", _DOMAIN_SCHEMA, "the signal's domain (default 'default')"),
                _WINDOW,
                _param("learn", "query", {"type": "boolean"},
                       "publish what the signal taught (default true)"),
                _param("Idempotency-Key", "header", {"type": "string", "maxLength": 200},
                       "the same key again (same domain and window) is counted once by the store"),
            ],
            "requestBody": {"required": True,
                            "description": "the signal: a JSON array of numbers, or np.save of a 1-D numeric "
                                           "array (.npy)",
                            "content": {
                                "application/json": {"schema": {"type": "array",
                                                                "items": {"type": "number"}}},
                                "application/x-npy": {"schema": {"type": "string", "format": "binary"}}}},
            "responses": {**_ok("Perception"), **_errors(400, 401, 413, 503, 504)}}},
        f"{v}/patterns": {"get": {"summary": "the libraries in the store", "operationId": "libraries",
                                  "responses": {**_ok("Libraries"), **_errors(401, 503)}}},
        f"{v}/patterns/{{domain}}": {"get": {
            "summary": "the patterns of a library, highest support first", "operationId": "patterns",
            "parameters": [_DOMAIN, _WINDOW,
                           _param("limit", "query", {"type": "integer", "minimum": 0, "maximum": 10000},
                                  "patterns per page (default 100)"),
                           _param("offset", "query", {"type": "integer", "minimum": 0}, "first pattern"),
                           _param("prototypes", "query", {"type": "boolean"},
                                  "include the prototypes (default false)")],
            "responses": {**_ok("PatternPage"), **_errors(400, 401, 503)}}},
        f"{v}/patterns/{{domain}}/{{pattern_id}}": {"get": {
            "summary": "one pattern, with its prototype", "operationId": "pattern",
            "parameters": [_DOMAIN, _param("pattern_id", "path", _STR, "the pattern's id"), _WINDOW],
            "responses": {**_ok("Pattern"), **_errors(400, 401, 404, 503)}}},
        f"{v}/batches": {
            "post": {"summary": "start a batch over a corpus in the data directory",
                     "operationId": "startBatch",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": _ref("BatchRequest")}}},
                     "responses": {**_ok("Batch", 202, "started"), **_errors(400, 401, 403, 409)}},
            "get": {"summary": "the batches this gateway started", "operationId": "listBatches",
                    "responses": {**_ok("BatchList"), **_errors(401)}}},
        f"{v}/batches/{{name}}": {"get": {
            "summary": "a batch's state and progress", "operationId": "batch",
            "parameters": [_param("name", "path", {"type": "string"}, "the batch's name")],
            "responses": {**_ok("Batch"), **_errors(400, 401, 403, 404)}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "patternlab gateway", "version": __version__,
                 "description": "Perceive signals on a Dask cluster and learn into a shared Redis "
                                "pattern library; run batches; read patterns."},
        "paths": paths,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
        "security": secured,
    }

