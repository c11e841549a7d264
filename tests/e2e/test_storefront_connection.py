"""A channel's storefront connection: connected by an admin, shown to ops, never showing a secret."""
from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from allot.services import storefronts
from allot.store.db import Database
from allot.store.tables import audit_log, idempotency_keys
from tests.conftest import Server
from tests.e2e.trust import new_key
from tests.e2e.world import channel, ok, problem

SHOPIFY = {"platform": "shopify", "secret": "shpss_top-secret-1", "shop": "example.myshopify.com",
           "admin_token": "shpat_token-secret-2", "location_id": 655441491}
WOO = {"platform": "woocommerce", "secret": "wc-secret-3", "url": "https://shop.example.com",
       "consumer_key": "ck_key-secret-4", "consumer_secret": "cs_secret-5"}
SECRETS = ("shpss_top-secret-1", "shpat_token-secret-2", "wc-secret-3", "ck_key-secret-4", "cs_secret-5")


def test_an_admin_connects_a_shopify_channel_and_the_answer_holds_no_secret(api: httpx.Client) -> None:
    name = channel(api)
    created = ok(api.put(f"/v1/channels/{name}/storefront", json=SHOPIFY), 201)
    push = created.pop("push")  # the push worker's health (tests/e2e/test_shop_push.py)
    assert created == {"channel": name, "platform": "shopify", "shop": "example.myshopify.com", "url": None,
                       "location_id": "655441491", "api_base": None, "credentials": True}
    assert set(push) == {"last_push_at", "missing_skus", "last_error", "last_error_at", "pending", "failing"}
    assert ok(api.get(f"/v1/channels/{name}/storefront"), 200).items() >= created.items()
    changed = ok(api.put(f"/v1/channels/{name}/storefront", json={"platform": "shopify", "secret": "s2"}), 200)
    assert changed["credentials"] is False and changed["shop"] is None and changed["push"] is None


def test_a_woocommerce_connection_keeps_its_credentials_for_the_push(live_server: Server, api: httpx.Client) -> None:
    name = channel(api)
    body = {**WOO, "api_base": "http://127.0.0.1:9/wp-json/wc/v3"}
    shown = ok(api.put(f"/v1/channels/{name}/storefront", json=body), 201)
    assert shown["url"] == "https://shop.example.com" and shown["credentials"] is True
    db = Database(live_server.url)
    with db.read() as conn:
        found = storefronts.connection(conn, name)
        assert found in storefronts.connected(conn)
    db.dispose()
    assert found == storefronts.Storefront(name, "woocommerce", "wc-secret-3", {
        "url": "https://shop.example.com", "consumer_key": "ck_key-secret-4", "consumer_secret": "cs_secret-5"},
        "http://127.0.0.1:9/wp-json/wc/v3")


def test_no_secret_reaches_the_audit_log_or_the_idempotency_table(live_server: Server, api: httpx.Client) -> None:
    for body in (SHOPIFY, WOO):
        ok(api.put(f"/v1/channels/{channel(api)}/storefront", json=body), 201)
    refused = api.put(f"/v1/channels/{channel(api)}/storefront", json=WOO, headers={"Idempotency-Key": "k1"})
    problem(refused, 422, "invalid", "Idempotency-Key")
    db = Database(live_server.url)
    with db.read() as conn:
        stored = json.dumps([r.summary for r in conn.execute(select(audit_log))])
        stored += json.dumps([r.response for r in conn.execute(select(idempotency_keys))])
    db.dispose()
    assert '"platform": "woocommerce"' in stored
    for secret in SECRETS:
        assert secret not in stored
    with open(live_server.log.name) as log:
        logged = log.read()
    assert not any(secret in logged for secret in SECRETS)


def test_bad_connections_are_refused_naming_the_field(api: httpx.Client) -> None:
    name = channel(api)
    problem(api.put("/v1/channels/nowhere/storefront", json=SHOPIFY), 422, "invalid", "channel")
    problem(api.put(f"/v1/channels/{name}/storefront", json={**SHOPIFY, "extra": 1}), 422, "invalid", "extra")
    problem(api.put(f"/v1/channels/{name}/storefront", json={**SHOPIFY, "platform": "magento"}), 422, "invalid",
            "platform")
    problem(api.put(f"/v1/channels/{name}/storefront", json={"platform": "shopify"}), 422, "invalid", "secret")
    partial = {"platform": "shopify", "secret": "x", "shop": "a.myshopify.com"}
    problem(api.put(f"/v1/channels/{name}/storefront", json=partial), 422, "invalid", "admin_token")
    mixed = {"platform": "woocommerce", "secret": "x", "shop": "a.myshopify.com"}
    problem(api.put(f"/v1/channels/{name}/storefront", json=mixed), 422, "invalid", "shop")
    problem(api.get(f"/v1/channels/{name}/storefront"), 404, "not_found")


def test_disconnect_forgets_the_connection(api: httpx.Client) -> None:
    name = channel(api)
    ok(api.put(f"/v1/channels/{name}/storefront", json=WOO), 201)
    ok(api.delete(f"/v1/channels/{name}/storefront"), 204)
    problem(api.get(f"/v1/channels/{name}/storefront"), 404, "not_found")
    problem(api.delete(f"/v1/channels/{name}/storefront"), 404, "not_found")


def test_only_an_admin_connects_and_ops_may_look(live_server: Server, api: httpx.Client) -> None:
    name = channel(api)
    ok(api.put(f"/v1/channels/{name}/storefront", json=WOO), 201)
    with live_server.client(new_key(api, "ops")["secret"]) as ops:
        assert ops.put(f"/v1/channels/{name}/storefront", json=WOO).status_code == 403
        assert ops.delete(f"/v1/channels/{name}/storefront").status_code == 403
        assert ops.get(f"/v1/channels/{name}/storefront").json()["platform"] == "woocommerce"
    with live_server.client(new_key(api, "viewer")["secret"]) as viewer:
        assert viewer.get(f"/v1/channels/{name}/storefront").status_code == 403
