"""Schemathesis against /openapi.json of a real `allot serve`: no 5xx, and every answer matches the schema.

Each operation gets a bounded number of schema-valid and schema-violating requests. Half of the
valid ones are pointed at a small known world (SKUs, channel, PO, order, holds) so they reach the
selling and re-planning code, not just "unknown SKU". The database the fuzzer leaves behind must
then reconcile clean.
"""
from __future__ import annotations

import collections
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from allot.api.app import create_app
from allot.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.e2e.trust import DATABASES, Server, allot, ok, serving
from tests.properties import examples

EXAMPLES = examples(10)  # per operation and mode: 20 requests per operation and database
# Left out on purpose: positive_data_acceptance (a schema-valid request naming an unknown channel, or a
# zero stock delta, is a 422 by our contract, docs/decisions.md) and negative_data_rejection (pydantic's
# lax mode accepts `false` or "5" for an integer, as FastAPI does everywhere; the dashboard's forms rely
# on it). Every schema-violating request is still sent, and must still get no 5xx and a documented answer.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
OPERATIONS = sorted(
    (path, method.upper())
    for path, methods in create_app(Settings("sqlite://"), sweep=False).openapi()["paths"].items()
    for method in methods
)
# A shop's webhook is authenticated by its signature, which a fuzzer cannot make: every answer is a 401
# (tests/e2e/test_storefront_webhooks.py sends signed ones).
SIGNED = {("/v1/storefronts/{channel}/webhooks", "POST")}
TODAY = datetime.now(UTC).date()
WORLD: dict[str, list[Any]] = {
    "sku": ["FZ-STOCK", "FZ-BACK", "FZ-PRE"],
    "channel": ["web", "market"],
    "ref": ["FZ-PO-1", "FZ-O-1"],
    "n": [1, 2],
    "line": [1, 2],
    "hold_id": [],  # filled once the holds exist
}
seen: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)


@pytest.fixture(scope="module", params=DATABASES)
def fuzzed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with serving(request.param, tmp) as srv:
        with srv.client() as admin:
            build_world(admin)
        yield srv


def build_world(admin: httpx.Client) -> None:
    day = (TODAY + timedelta(days=20)).isoformat()
    ok(admin.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True}), 201)
    ok(admin.put("/v1/channels/market", json={"allow_backorder": False, "allow_preorder": False}), 201)
    ok(admin.put("/v1/skus/FZ-STOCK", json={"mode": "stock"}), 201)
    ok(admin.put("/v1/skus/FZ-BACK", json={"mode": "backorder", "handling_days": 1}), 201)
    ok(admin.put("/v1/skus/FZ-PRE", json={"mode": "preorder", "release_date": day}), 201)
    for sku in WORLD["sku"]:
        ok(admin.post("/v1/stock/adjustments", json={"sku": sku, "delta": 50, "reason": "opening"}), 201)
    ok(admin.post("/v1/purchase-orders", json={"ref": "FZ-PO-1", "lines": [
        {"sku": "FZ-BACK", "qty": 100, "expected_date": day}, {"sku": "FZ-PRE", "qty": 100, "expected_date": day}]}),
       201)
    ok(admin.post("/v1/orders", json={"ref": "FZ-O-1", "channel": "web", "lines": [
        {"sku": "FZ-STOCK", "qty": 2}, {"sku": "FZ-BACK", "qty": 3}]}), 201)
    WORLD["hold_id"] = [ok(admin.post("/v1/holds", json={"sku": sku, "qty": 1, "channel": "web",
                                                          "ttl_seconds": 3600}), 201)["id"]
                        for sku in WORLD["sku"]]


@pytest.fixture(scope="module")
def api_schema(fuzzed: Server) -> Any:
    config = schemathesis.Config.from_dict({"auth": {"openapi": {"HTTPBearer": {"bearer": ADMIN_KEY}}}})
    return schemathesis.openapi.from_url(fuzzed.base + "/openapi.json", config=config)


def grounded(case: Any, rnd: random.Random) -> Any:
    """Point about half of the names in a valid case at things that exist."""
    for params in (case.path_parameters, case.query):
        for name in list(params or {}):
            if WORLD.get(name) and rnd.random() < 0.5:
                params[name] = rnd.choice(WORLD[name])
    _ground_body(case.body, rnd)
    return case


def _ground_body(body: Any, rnd: random.Random) -> None:
    if isinstance(body, list):
        for item in body:
            _ground_body(item, rnd)
    if not isinstance(body, dict):
        return
    for name, value in body.items():
        if WORLD.get(name) and rnd.random() < 0.5:
            body[name] = rnd.choice(WORLD[name])
        elif name in ("qty", "delta") and isinstance(value, int) and rnd.random() < 0.5:
            body[name] = rnd.randint(1, 5)
        else:
            _ground_body(value, rnd)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_the_api_answers_every_generated_request_within_its_schema(
    api_schema: Any, fuzzed: Server, path: str, method: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    cases = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE:
        cases = st.tuples(cases, st.randoms(use_true_random=False)).map(lambda pair: grounded(*pair))
    codes = seen[f"{fuzzed.base} {method} {path} {mode.value}"]

    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        response = case.call_and_validate(base_url=fuzzed.base, checks=CHECKS)
        codes[response.status_code] += 1

    run()
    assert sum(codes.values()) >= min(EXAMPLES, 5), f"only {sum(codes.values())} requests were made"
    if mode is GenerationMode.POSITIVE and (path, method) not in SIGNED:
        assert set(codes) != {401}, "the fuzzer's key was refused: nothing behind authentication was tested"


def test_the_fuzzed_database_still_reconciles_clean(fuzzed: Server, tmp_path: Path) -> None:
    done = allot(fuzzed.url, "reconcile", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    reached = {key.split(" ", 1)[1]: dict(c) for key, c in seen.items() if key.startswith(fuzzed.base)}
    assert len(reached) == 2 * len(OPERATIONS), "the fuzz tests of this database did not all run first"
    print(f"\nfuzzed {sum(sum(c.values()) for c in reached.values())} requests: {reached}")
