"""The OpenAPI document as a client generator reads it (issue 12).

FastAPI describes each route's success; this fills in what every route shares, after the routes are
known: each problem answer with its own schema (`application/problem+json`: 409 `ConflictProblem`
with `available`, 422 `InvalidProblem` with `field`, the rest `Problem`), the answers any route may
give (415 for a body that is not JSON, 429 and 503 with `Retry-After`), and the `Idempotency-Key`
header on the writes that honour it. A generated client then gets a typed object for a refusal too.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from allot.api.answers import ConflictProblem, InvalidProblem
from allot.api.problems import MEDIA_TYPE
from allot.api.schemas import Problem
from allot.services.common import merchant_zone

PROBLEMS: dict[int, type[BaseModel]] = {409: ConflictProblem, 422: InvalidProblem}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again",
                               "schema": {"type": "integer"}}}
# Answers any authenticated route may give, whatever it declares.
EVERYWHERE = {429: "too many failed API keys from this address: wait `Retry-After` seconds",
              503: "the database is unavailable: retry after `Retry-After` seconds"}
NOT_JSON = "the body is not JSON: send it with Content-Type: application/json"
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "The same key with the same body returns the first answer and changes nothing; "
                   "with another body it is a 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[\\x21-\\x7e]+$"},
}
WRITES = {"post", "put", "patch", "delete"}
SECRET_ANSWERS = {("post", "/v1/keys"), ("put", "/v1/channels/{channel}/storefront")}


def honours_idempotency(method: str, path: str) -> bool:
    """Writes go through `deps.write`/`deps.sell`, which honour the key; these do not: an answer that
    holds a secret is never stored (a key, a shop connection: 422), a preview writes nothing, a shop
    signs its own deliveries, and an import is all or nothing on its own."""
    if method not in WRITES or not path.startswith("/v1/"):
        return False
    return not (path.endswith("/preview") or (method, path) in SECRET_ANSWERS
                or path.startswith(("/v1/storefronts/", "/v1/imports/")))


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            # Which calendar the dates are in is part of reading them: say it where clients look.
            calendar = (f" Dates (`YYYY-MM-DD`) are days of the merchant's calendar, {merchant_zone().key}"
                        " (`ALLOT_TIMEZONE`); timestamps are UTC.")
            spec = get_openapi(title=app.title, version=app.version, description=app.description + calendar,
                               routes=app.routes)
            describe(spec)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe(spec: dict[str, Any]) -> None:
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in (Problem, ConflictProblem, InvalidProblem):
        _add_schema(schemas, model)
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            _describe_operation(path, method, operation)


def _add_schema(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    found = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, nested in found.pop("$defs", {}).items():
        schemas.setdefault(name, nested)
    schemas[model.__name__] = found


def _describe_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if path.startswith("/v1/") and not path.startswith("/v1/storefronts/"):
        for status, why in EVERYWHERE.items():
            responses.setdefault(str(status), {"description": why})
    if "application/json" in operation.get("requestBody", {}).get("content", {}):
        responses.setdefault("415", {"description": NOT_JSON})
    for status, answer in responses.items():
        if status.isdigit() and int(status) >= 400:
            content = answer.get("content", {})
            others = {kind: v for kind, v in content.items() if kind not in ("application/json", MEDIA_TYPE)}
            if others and MEDIA_TYPE not in content:
                continue  # the route says what is sent instead (the server's own text/plain 400)
            model = PROBLEMS.get(int(status), Problem)
            answer["content"] = {MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}
            answer.setdefault("description", "RFC 9457 problem details")
            if int(status) in EVERYWHERE:
                answer["headers"] = RETRY_AFTER
    if honours_idempotency(method, path):
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == IDEMPOTENCY_KEY["name"] for p in parameters):
            parameters.append(IDEMPOTENCY_KEY)
