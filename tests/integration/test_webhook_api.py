"""Managing webhooks over HTTP: subscribe, list without the secret, stop; admin keys only."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from allot.api.app import create_app
from allot.services import keys
from allot.settings import Settings
from allot.store.db import Database

ADMIN = "webhook-api-admin-key-0123456789"


@pytest.fixture
def api(db: Database, now: datetime) -> Iterator[TestClient]:
    with db.write() as conn:
        keys.ensure(conn, ADMIN, now)
    with TestClient(create_app(Settings(db.url), clock=lambda: now, sweep=False),
                    headers={"Authorization": f"Bearer {ADMIN}"}) as client:
        yield client


def test_a_webhook_is_created_listed_and_deleted(api: TestClient) -> None:
    made = api.post("/v1/webhooks", json={"url": "https://shop.example/hook", "events": ["order_line.*"]})

    assert made.status_code == 201
    body = made.json()
    assert body["secret"].startswith("whsec_") and body["max_attempts"] == 12 and body["events"] == ["order_line.*"]
    listed = api.get("/v1/webhooks").json()["webhooks"]
    assert [w["id"] for w in listed] == [body["id"]] and listed[0]["secret"] is None
    assert listed[0]["secret_prefix"] == body["secret"][:10]
    assert api.get(f"/v1/webhooks/{body['id']}/deliveries").json() == {"deliveries": [], "next": 0}
    assert api.delete(f"/v1/webhooks/{body['id']}").status_code == 204
    assert api.get(f"/v1/webhooks/{body['id']}").status_code == 404
    assert api.get("/v1/webhooks").json()["webhooks"] == []


def test_bad_subscriptions_are_refused_with_the_field_named(api: TestClient) -> None:
    unknown = api.post("/v1/webhooks", json={"url": "https://x.example/h", "events": ["order_line.exploded"]})
    not_http = api.post("/v1/webhooks", json={"url": "ftp://x.example/h"})
    short_secret = api.post("/v1/webhooks", json={"url": "https://x.example/h", "secret": "short"})
    too_many = api.post("/v1/webhooks", json={"url": "https://x.example/h", "max_attempts": 0})

    assert (unknown.status_code, unknown.json()["field"]) == (422, "events.0")
    assert (not_http.status_code, not_http.json()["field"]) == (422, "url")
    assert (short_secret.status_code, short_secret.json()["field"]) == (422, "secret")
    assert (too_many.status_code, too_many.json()["field"]) == (422, "max_attempts")


def test_only_admin_keys_manage_webhooks(db: Database, now: datetime, api: TestClient) -> None:
    with db.write() as conn:
        ops = keys.create(conn, "ops", "ops", None, now)["secret"]
    as_ops = {"Authorization": f"Bearer {ops}"}

    assert api.get("/v1/webhooks", headers=as_ops).status_code == 403
    assert api.post("/v1/webhooks", json={"url": "https://x.example/h"}, headers=as_ops).status_code == 403


def test_redelivering_an_unknown_delivery_is_not_found(api: TestClient) -> None:
    made = api.post("/v1/webhooks", json={"url": "https://x.example/h"}).json()

    assert api.post(f"/v1/webhooks/{made['id']}/deliveries/99/redeliver").status_code == 404
    assert api.post(f"/v1/webhooks/{made['id']}/redeliver").json() == {"webhook_id": made["id"], "requeued": 0}
    assert api.post("/v1/webhooks/999/redeliver").status_code == 404
