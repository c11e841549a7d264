"""What the OpenAPI document claims is what the API does (issue 12): every answer typed, every
problem answer with its problem+json schema, and Idempotency-Key declared exactly on the writes that
honour it."""
from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from allot.api.app import create_app
from allot.api.openapi import WRITES, honours_idempotency
from allot.settings import Settings


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_app(Settings(f"sqlite:///{tmp_path_factory.mktemp('spec') / 'allot.db'}"), sweep=False)


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def typed(schema: dict[str, Any]) -> bool:
    return any(k in schema for k in ("$ref", "type", "anyOf", "oneOf", "allOf", "items"))


def test_every_answer_is_typed_and_every_problem_is_problem_json(app: FastAPI) -> None:
    spec = app.openapi()
    untyped, loose = [], []
    for method, path, op in operations(spec):
        for status, answer in op["responses"].items():
            content = answer.get("content", {})
            if int(status) >= 400:
                schema = content.get("application/problem+json", {}).get("schema", {})
                if set(content) == {"text/plain"}:  # said by the server before the app (a request line too long)
                    continue
                if set(content) != {"application/problem+json"} or not schema.get("$ref", "").endswith("Problem"):
                    loose.append(f"{method} {path} {status}")
            elif "application/json" in content and not typed(content["application/json"]["schema"]):
                untyped.append(f"{method} {path} {status}")
    assert untyped == [] and loose == []
    problems = spec["components"]["schemas"]
    assert "available" in problems["ConflictProblem"]["properties"]
    assert "field" in problems["InvalidProblem"]["required"]
    sale = spec["paths"]["/v1/orders"]["post"]["responses"]
    assert sale["409"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/ConflictProblem")
    assert {"410", "415", "422", "429", "503"} <= set(sale)
    assert "Retry-After" in sale["429"]["headers"]


def flat(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every route with its full path (FastAPI keeps an included router as one entry)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):
            yield from flat(route.original_router.routes, prefix + route.include_context.prefix)


def test_idempotency_key_is_declared_exactly_where_it_is_honoured(app: FastAPI) -> None:
    spec = app.openapi()
    declared = {(m, p) for m, p, op in operations(spec)
                if any(x["name"] == "Idempotency-Key" for x in op.get("parameters", []))}
    honoured = set()
    for path, route in flat(app.routes):
        if route.include_in_schema and path.startswith("/v1/"):
            source = inspect.getsource(route.endpoint)
            replays = ("write(" in source or "sell(" in source) and "replayable=False" not in source
            for method in {m.lower() for m in route.methods} & WRITES:
                assert honours_idempotency(method, path) == replays, (method, path)
                if replays:
                    honoured.add((method, path))
    assert declared == honoured and ("post", "/v1/orders") in declared
    assert ("post", "/v1/keys") not in declared
