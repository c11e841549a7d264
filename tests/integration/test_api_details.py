"""The API as a developer meets it (issue 12): one shape for an order whether written or read, feed
filters that work (and unknown parameters refused), human problem titles, a body that is not JSON
and a date that is not YYYY-MM-DD told plainly."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allot.api.app import create_app
from allot.services import keys
from allot.settings import Settings
from allot.store.db import Database

KEY = "details-test-admin-key-0123456789"


@pytest.fixture
def client(db: Database, now: datetime) -> Iterator[TestClient]:
    with db.write() as conn:
        keys.ensure(conn, KEY, now)
    app = create_app(Settings(db.url), clock=lambda: now, sweep=False)
    with TestClient(app, headers={"Authorization": f"Bearer {KEY}"}) as c:
        yield c


def day(now: datetime, n: int) -> str:
    return (now.date() + timedelta(days=n)).isoformat()


def world(client: TestClient, now: datetime) -> None:
    """TEE: 1 on hand, 2 on PO-1, then made to order; three orders take one source each."""
    assert client.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True}).status_code == 201
    client.put("/v1/skus/TEE", json={"mode": "backorder", "handling_days": 0, "backorder_limit": 5,
                                     "backorder_lead_days": 30})
    client.put("/v1/skus/MUG", json={"mode": "stock", "handling_days": 0})
    client.post("/v1/stock/adjustments", json={"sku": "TEE", "delta": 1, "reason": "count"})
    client.post("/v1/stock/adjustments", json={"sku": "MUG", "delta": 5, "reason": "count"})
    client.post("/v1/purchase-orders", json={"ref": "PO-1", "lines": [{"sku": "TEE", "qty": 2,
                                                                          "expected_date": day(now, 5)}]})


def keys_of(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: keys_of(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys_of(v) for v in value]
    return None


def utc_as_z(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: utc_as_z(v) for k, v in value.items()}
    if isinstance(value, list):
        return [utc_as_z(v) for v in value]
    return value[:-6] + "Z" if isinstance(value, str) and value.endswith("+00:00") else value


def test_an_order_has_one_shape_whether_written_or_read(client: TestClient, now: datetime) -> None:
    world(client, now)
    written = client.post("/v1/orders", json={"ref": "A", "channel": "web", "lines": [{"sku": "TEE", "qty": 4}]})
    assert written.status_code == 201, written.text
    sources = [a["source"] for a in written.json()["lines"][0]["allocation"]]
    assert sources == ["stock", "po", "made_to_order"]
    read = client.get("/v1/orders/A").json()
    assert keys_of(written.json()) == keys_of(read)  # the same fields, null where there is nothing
    assert utc_as_z(written.json()) == read  # and the same values (a timestamp may say +00:00 for Z)
    assert written.json()["lines"][0]["allocation"][0] | {"qty": 0, "date": None} == {
        "source": "stock", "qty": 0, "date": None, "po_ref": None, "po_line": None}


def test_the_feed_filters_by_type_sku_and_order_and_refuses_what_it_does_not_know(
        client: TestClient, now: datetime) -> None:
    world(client, now)
    client.post("/v1/orders", json={"ref": "A", "channel": "web", "lines": [{"sku": "TEE", "qty": 1}]})
    client.post("/v1/orders", json={"ref": "B", "channel": "web", "lines": [{"sku": "MUG", "qty": 1}]})
    everything = client.get("/v1/events?limit=1000").json()["events"]

    def feed(query: str) -> list[dict[str, Any]]:
        answer = client.get(f"/v1/events?limit=1000&{query}")
        assert answer.status_code == 200, answer.text
        events: list[dict[str, Any]] = answer.json()["events"]
        return events

    assert feed("order_ref=A") == [e for e in everything if e["order_ref"] == "A"] != []
    assert feed("sku=MUG") == [e for e in everything if e["sku"] == "MUG"] != []
    promised = [e for e in everything if e["type"] == "order_line.promised"]
    assert feed("type=order_line.promised") == promised and len(promised) == 2
    family = feed("type=order_line.*")
    assert family == [e for e in everything if e["type"].startswith("order_line.")] != []
    assert feed("type=order_line.promised&order_ref=B") == [e for e in promised if e["order_ref"] == "B"] != []
    assert feed("type=order_.*") == []  # a family is whole words: `order_.*` is not `order_line.*`

    for query, field in [("order=A", "order"), ("types=order_line.promised", "types"), ("type=Order!", "type")]:
        refused = client.get(f"/v1/events?{query}")
        assert refused.status_code == 422 and refused.json()["field"] == field, refused.text


def test_problem_titles_are_human_phrases(client: TestClient, now: datetime) -> None:
    world(client, now)
    refused = client.post("/v1/orders", json={"ref": "X", "channel": "web", "lines": [{"sku": "MUG", "qty": 99}]})
    assert refused.status_code == 409 and refused.json()["title"] == "Sale refused"
    assert refused.json()["available"] == 5
    assert client.get("/v1/orders/NOPE").json()["title"] == "Not found"
    assert client.put("/v1/skus/TEE", json={"mode": "sideways"}).json()["title"] == "Invalid input"
    assert client.delete("/v1/events").json()["title"] == "Method not allowed"
    assert client.get("/v1/skus/TEE", headers={"Authorization": "Bearer wrong"}).json()["title"] == "Unauthorized"


def test_a_form_encoded_body_is_told_to_send_json(client: TestClient, now: datetime) -> None:
    world(client, now)
    # What `curl -d 'sku=TEE&delta=1'` sends.
    form = client.post("/v1/stock/adjustments", content=b"sku=TEE&delta=1&reason=count",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415, form.text
    assert form.headers["content-type"] == "application/problem+json"
    assert "Content-Type: application/json" in form.json()["detail"]
    text = client.post("/v1/stock/adjustments", content=b'{"sku": "TEE", "delta": 1, "reason": "count"}',
                       headers={"Content-Type": "text/plain"})
    assert text.status_code == 415 and "(not text/plain)" in text.json()["detail"]
    bare = client.post("/v1/stock/adjustments", content=b'{"sku": "TEE", "delta": 1, "reason": "count"}')
    assert bare.status_code == 415 and "(no Content-Type was sent)" in bare.json()["detail"]
    missing = client.post("/v1/stock/adjustments")  # no body at all is still the body missing
    assert missing.status_code == 422 and missing.json()["field"] == "body"
    # JSON says so in any of its spellings; a body-less write needs no Content-Type.
    spelled = client.post("/v1/stock/adjustments", json={"sku": "TEE", "delta": 1, "reason": "count"},
                          headers={"Content-Type": "application/json; charset=utf-8"})
    assert spelled.status_code == 201
    assert client.post("/v1/purchase-orders/PO-1/cancel").status_code == 200


def test_a_bad_date_says_yyyy_mm_dd(client: TestClient, now: datetime) -> None:
    world(client, now)
    for bad in ["2026-13-01", "03/12/2026", "tomorrow", "2026-1-5", "20261205"]:
        answer = client.patch("/v1/purchase-orders/PO-1/lines/1", json={"expected_date": bad})
        assert answer.status_code == 422
        assert answer.json()["field"] == "expected_date"
        assert "a date as YYYY-MM-DD" in answer.json()["detail"], answer.json()
    bad_time = client.get("/v1/audit?since=yesterday")
    assert bad_time.status_code == 422 and "YYYY-MM-DDTHH:MM:SSZ" in bad_time.json()["detail"]
