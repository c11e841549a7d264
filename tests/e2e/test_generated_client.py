"""A client generated with openapi-python-client from the live server's OpenAPI document gets typed
objects for refusals too (issue 12): a refused sale is a `ConflictProblem` with `available`, bad input
an `InvalidProblem` naming the field; explain and every other answer are typed; Idempotency-Key is a
parameter. Generated offline into a temporary folder, called against a real `allot serve`."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, Server

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "allot_generated_client"
# No formatter run (the generator's default runs ruff on the output), and the CSV import's body as bytes.
CONFIG = {"post_hooks": [], "content_type_overrides": {"text/csv": "application/octet-stream"}}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("generated-client")
    srv = Server(f"sqlite:///{tmp / 'allot.db'}", tmp)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def generated(served: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("client")
    spec, config = out / "openapi.json", out / "config.json"
    spec.write_text(httpx.get(served.base + "/openapi.json", timeout=10).text)
    config.write_text(json.dumps(CONFIG))
    made = subprocess.run([str(GENERATOR), "generate", "--path", str(spec), "--config", str(config),
                           "--output-path", str(out / PACKAGE), "--meta", "none"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "WARNING" not in made.stdout + made.stderr, made.stdout + made.stderr  # every endpoint generated
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def part(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def setup_world(served: Server) -> None:
    with served.client() as admin:
        admin.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True}).raise_for_status()
        admin.put("/v1/skus/TEE", json={"mode": "stock", "handling_days": 0}).raise_for_status()
        admin.post("/v1/stock/adjustments", json={"sku": "TEE", "delta": 2, "reason": "count"}).raise_for_status()


def test_a_generated_client_gets_typed_answers_for_refusals_and_successes(generated: ModuleType,
                                                                          served: Server) -> None:
    setup_world(served)
    models = part("models")
    place = part("api.selling.place_order_v1_orders_post")
    explain = part("api.orders.explain_line_v1_orders_ref_lines_n_explain_get")
    with generated.AuthenticatedClient(base_url=served.base, token=ADMIN_KEY) as client, \
            generated.AuthenticatedClient(base_url=served.base, token="not-a-key-0123456789abcdef") as stranger:
        calls(models, place, explain, client, stranger)


def calls(models: Any, place: Any, explain: Any, client: Any, stranger: Any) -> None:
    def order(ref: str, qty: int) -> Any:
        return models.OrderIn(ref=ref, channel="web", lines=[models.OrderLineIn(sku="TEE", qty=qty)])

    refused = place.sync(client=client, body=order("A", 5))
    assert isinstance(refused, models.ConflictProblem), refused
    assert (refused.available, refused.title, refused.code) == (2, "Sale refused", "insufficient_availability")

    unknown = place.sync(client=client, body=order("B", 1).from_dict(
        {"ref": "B", "channel": "nowhere", "lines": [{"sku": "TEE", "qty": 1}]}))
    assert isinstance(unknown, models.InvalidProblem) and unknown.field == "channel", unknown

    first = place.sync_detailed(client=client, body=order("C", 1), idempotency_key="order-C-1")
    again = place.sync_detailed(client=client, body=order("C", 1), idempotency_key="order-C-1")
    assert isinstance(first.parsed, models.OrderOut) and first.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.parsed == first.parsed
    allocation = first.parsed.lines[0].allocation[0]
    assert allocation.source == "stock" and allocation.po_ref is None

    why = explain.sync(client=client, ref="C", n=1)
    assert isinstance(why, models.ExplainOut) and why.queue.position == 1 and why.why

    assert isinstance(explain.sync(client=stranger, ref="C", n=1), models.Problem)
