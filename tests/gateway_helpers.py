"""Helpers of the gateway tests: an HTTP client (urllib: what any script would use) that checks
every answer against the gateway's OpenAPI document, and the pieces of a running gateway."""

from __future__ import annotations

import io
import json
import re
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import jsonschema
import numpy as np

from patternlab.gateway import openapi

KEY = "test-key-0123456789abcdef0123456789"
OTHER_KEY = "rotated-key-fedcba9876543210fedcba"

_DOC = openapi()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def _template(path: str) -> str | None:
    """The OpenAPI path template a concrete path matches."""
    for template in _DOC["paths"]:
        pattern = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    return None


def check_against_schema(method: str, path: str, answer: Answer) -> None:
    """The answer is one the OpenAPI document describes for this route, and its JSON body
    validates against the documented schema."""
    template = _template(path.split("?")[0])
    if template is None:
        assert answer.status in (401, 404), (path, answer.status)
        return
    op = _DOC["paths"][template].get(method.lower())
    if op is None:
        assert answer.status in (401, 405), (method, path, answer.status)
        return
    responses = op["responses"]
    if answer.status == 401 and "401" not in responses:   # auth fails before routing
        error = {"schema": {"$ref": "#/components/schemas/Error"}}
        responses = {"401": {"content": {"application/json": error}}}
    assert str(answer.status) in responses, (method, path, answer.status, answer.body[:300])
    content = responses[str(answer.status)].get("content", {})
    if "application/json" in content:
        schema = {**content["application/json"]["schema"], "components": _DOC["components"]}
        jsonschema.validate(answer.json, schema, cls=jsonschema.Draft202012Validator)


def call(base: str, path: str, body: bytes | list[float] | dict[str, Any] | np.ndarray | None = None, *,
         key: str | None = KEY, method: str | None = None, content_type: str | None = None,
         headers: dict[str, str] | None = None, context: ssl.SSLContext | None = None,
         timeout: float = 120.0, check: bool = True) -> Answer:
    """One request; the answer is checked against the OpenAPI document (``check``)."""
    data: bytes | None
    if isinstance(body, np.ndarray):
        buf = io.BytesIO()
        np.save(buf, body, allow_pickle=False)
        data, content_type = buf.getvalue(), content_type or "application/x-npy"
    elif isinstance(body, (list, dict)):
        data, content_type = json.dumps(body).encode(), content_type or "application/json"
    else:
        data = body
    hdrs = dict(headers or {})
    if content_type:
        hdrs["Content-Type"] = content_type
    if key is not None:
        hdrs["Authorization"] = f"Bearer {key}"
    method = method or ("POST" if data is not None else "GET")
    req = urllib.request.Request(base + path, data=data, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            answer = Answer(resp.status, dict(resp.headers), resp.read())
    except urllib.error.HTTPError as exc:
        answer = Answer(exc.code, dict(exc.headers), exc.read())
    if check:
        check_against_schema(method, path, answer)
    return answer


#: The shape every test signal carries: 32 samples of a fixed jagged curve (complex enough to be
#: learned with the default ``min_complexity``).
SHAPE = np.sin(np.linspace(0, 6 * np.pi, 32)) + np.random.default_rng(1234).standard_normal(32) * 0.8


def signal(seed: int, length: int = 600) -> np.ndarray:
    """A random walk carrying three copies of :data:`SHAPE`."""
    rng = np.random.default_rng(seed)
    T = np.cumsum(rng.standard_normal(length)) * 0.3
    for at in rng.choice(length - 40, 3, replace=False):
        T[at:at + 32] += 4 * SHAPE
    return T
