"""Storefront webhooks in (BRIEF §7, issue 10 acceptance 1): Shopify and WooCommerce orders become Allot orders.

Each test connects a fresh channel to a pretend shop that posts the platform's documented payloads
(tests/fixtures), signed exactly as the platform signs, to a real server over HTTP.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from allot.store.db import Database
from allot.store.tables import audit_log, events, order_lines, orders, stock_moves, storefront_deliveries
from tests.conftest import Server
from tests.e2e.shop import CREATED, Shop, fulfillment, refund
from tests.e2e.trust import allot
from tests.e2e.world import availability, day, ok, order, po, problem, sku, unique

PLATFORMS = ["shopify", "woocommerce"]


@pytest.fixture(scope="module")
def rows(live_server: Server) -> Iterator[Database]:
    db = Database(live_server.url, pool_size=2)
    yield db
    db.dispose()


def counts(db: Database) -> tuple[int, ...]:
    """Rows of every table a delivery may write."""
    with db.read() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (storefront_deliveries, orders, order_lines, events, audit_log, stock_moves))


def feed(api: httpx.Client, sku_name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(api.get("/v1/events", params={"sku": sku_name, "limit": 1000}), 200)["events"]
    return found


def kinds(api: httpx.Client, sku_name: str, ref: str | None = None) -> list[str]:
    return [e["type"] for e in feed(api, sku_name) if ref is None or e["order_ref"] == ref]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_signed_order_becomes_an_allot_order_with_its_ignored_lines(api: httpx.Client, rows: Database,
                                                                      platform: str) -> None:
    shop = Shop(api, platform)
    lamp, mug = sku(api, on_hand=5), sku(api, on_hand=5)
    payload = shop.order(1001, [(lamp, 2), (mug, 1)])
    answer = shop.send(CREATED[platform], payload, "delivery-1")
    ref = f"{shop.channel}-1001"
    assert answer == {"delivery_id": "delivery-1", "topic": CREATED[platform], "outcome": "applied",
                      "order_ref": ref, "detail": None}
    placed = ok(api.get(f"/v1/orders/{ref}"), 200)
    who = {"shopify": ("7012345678901", "ada.lovelace@example.com"), "woocommerce": ("26", "grace.hopper@example.com")}
    assert (placed["channel"], placed["customer"], placed["email"]) == (shop.channel, *who[platform])
    assert [(ln["sku"], ln["qty"], ln["state"]) for ln in placed["lines"]] == [(lamp, 2, "ready"), (mug, 1, "ready")]
    no_sku, other = payload["line_items"][2], payload["line_items"][3]
    assert placed["ignored_lines"] == [
        {"external_id": str(no_sku["id"]), "sku": None, "name": no_sku["name"], "qty": 1, "reason": "no SKU"},
        {"external_id": str(other["id"]), "sku": other["sku"], "name": other["name"], "qty": 1,
         "reason": "SKU not managed by Allot"}]
    assert kinds(api, lamp, ref) == ["order_line.promised"]
    with rows.read() as conn:
        audited = conn.execute(select(audit_log).where(audit_log.c.action == "storefront_webhook")
                               .order_by(audit_log.c.id.desc())).first()
    assert audited is not None and audited.summary["body"]["delivery_id"] == "delivery-1"
    assert audited.summary["params"] == {"channel": shop.channel} and audited.role == "webhook"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_same_delivery_again_changes_nothing(api: httpx.Client, rows: Database, platform: str) -> None:
    shop = Shop(api, platform)
    lamp = sku(api, on_hand=5)
    payload = shop.order(1002, [(lamp, 2)])
    shop.send(CREATED[platform], payload, "d-1")
    before, numbers = counts(rows), availability(api, lamp, shop.channel)
    assert shop.send(CREATED[platform], payload, "d-1")["outcome"] == "duplicate"
    assert counts(rows) == before and availability(api, lamp, shop.channel) == numbers
    again = shop.send(CREATED[platform], payload, "d-2")  # the same order through another delivery
    assert (again["outcome"], again["order_ref"]) == ("skipped", f"{shop.channel}-1002")
    assert availability(api, lamp, shop.channel) == numbers


@pytest.mark.parametrize("platform", PLATFORMS)
def test_concurrent_copies_of_one_delivery_apply_once(api: httpx.Client, rows: Database, platform: str) -> None:
    shop = Shop(api, platform)
    lamp = sku(api, on_hand=50)
    body = json.dumps(shop.order(1003, [(lamp, 3)])).encode()
    answers: list[httpx.Response] = []
    go = threading.Barrier(6)

    def deliver() -> None:
        go.wait()
        answers.append(shop.post(CREATED[platform], body, "same-delivery"))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in answers) == [200] * 6
    assert sorted(r.json()["outcome"] for r in answers) == ["applied"] + ["duplicate"] * 5
    assert availability(api, lamp, shop.channel)["committed"] == 3


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_tampered_or_unsigned_delivery_is_401_and_writes_nothing(live_server: Server, api: httpx.Client,
                                                                    rows: Database, platform: str) -> None:
    shop = Shop(api, platform)
    lamp = sku(api, on_hand=5)
    body = json.dumps(shop.order(1004, [(lamp, 1)])).encode()
    tampered = body.replace(b'"quantity": 1', b'"quantity": 9', 1)
    before = counts(rows)
    refused = [shop.post(CREATED[platform], tampered, signed_body=body),
               shop.post(CREATED[platform], body, secret="not-the-secret"),
               httpx.post(f"{live_server.base}{shop.url}", content=body, headers={"Content-Type": "application/json"}),
               httpx.post(f"{live_server.base}/v1/storefronts/{unique('nowhere')}/webhooks", content=body)]
    for resp in refused:
        problem(resp, 401, "unauthorized")
    assert counts(rows) == before
    problem(api.get(f"/v1/orders/{shop.channel}-1004"), 404, "not_found")
    with open(live_server.log.name) as log:
        logged = [line for line in log if "refused a storefront webhook" in line and shop.channel in line]
    assert len(logged) == 3 and not any(shop.secret in line for line in logged)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_cancelled_order_frees_its_units_for_the_next_in_the_queue(api: httpx.Client, platform: str) -> None:
    shop = Shop(api, platform)
    lamp = sku(api, on_hand=2)
    po(api, (lamp, 5, day(10)))
    payload = shop.order(1005, [(lamp, 2)])
    shop.send(CREATED[platform], payload)
    waiting = order(api, shop.channel, (lamp, 1))
    assert waiting["lines"][0]["state"] == "awaiting_stock"
    topic, cancelled = shop.cancelled(payload)
    assert shop.send(topic, cancelled)["outcome"] == "applied"
    gone = ok(api.get(f"/v1/orders/{shop.channel}-1005"), 200)["lines"][0]
    assert (gone["state"], gone["qty_cancelled"]) == ("cancelled", 2)
    assert ok(api.get(f"/v1/orders/{waiting['ref']}"), 200)["lines"][0]["state"] == "ready"
    moved = [e for e in feed(api, lamp) if e["order_ref"] == waiting["ref"] and e["type"] == "order_line.ready"]
    assert len(moved) == 1 and moved[0]["data"]["cause"]["op"] == "order.cancelled"
    assert shop.send(topic, cancelled)["outcome"] == "skipped"  # cancelled again (another delivery): nothing left


def test_a_refund_that_cancels_one_of_two_units_cancels_one(api: httpx.Client) -> None:
    shop = Shop(api, "shopify")
    lamp = sku(api, on_hand=5)
    payload = shop.order(1006, [(lamp, 2)])
    shop.send("orders/create", payload)
    assert shop.send("refunds/create", refund(payload, 0, 1))["outcome"] == "applied"
    line = ok(api.get(f"/v1/orders/{shop.channel}-1006"), 200)["lines"][0]
    assert (line["qty"], line["qty_cancelled"], line["state"]) == (2, 1, "ready")
    assert kinds(api, lamp).count("order_line.cancelled") == 1
    returned = shop.send("refunds/create", refund(payload, 0, 1, restock_type="return"))
    assert returned["outcome"] == "ignored" and availability(api, lamp)["committed"] == 1  # nothing cancelled


def test_a_fulfilment_ships_its_units(api: httpx.Client) -> None:
    shop = Shop(api, "shopify")
    lamp, mug = sku(api, on_hand=5), sku(api, on_hand=5)
    payload = shop.order(1007, [(lamp, 2), (mug, 1)])
    shop.send("orders/create", payload)
    assert shop.send("fulfillments/create", fulfillment(payload, (0, 2)))["outcome"] == "applied"
    lines = ok(api.get(f"/v1/orders/{shop.channel}-1007"), 200)["lines"]
    assert [(ln["qty_shipped"], ln["state"]) for ln in lines] == [(2, "shipped"), (0, "ready")]
    assert availability(api, lamp)["on_hand"] == 3
    assert "order_line.shipped" in kinds(api, lamp)


def test_a_fulfilment_of_units_allot_thought_not_ready_is_recorded_as_shipped(api: httpx.Client) -> None:
    shop = Shop(api, "shopify")
    lamp = sku(api, on_hand=0)
    po(api, (lamp, 5, day(10)))
    payload = shop.order(1008, [(lamp, 2)])
    shop.send("orders/create", payload)
    assert ok(api.get(f"/v1/orders/{shop.channel}-1008"), 200)["lines"][0]["state"] == "awaiting_stock"
    assert shop.send("fulfillments/create", fulfillment(payload, (0, 5)))["outcome"] == "applied"  # capped at 2
    line = ok(api.get(f"/v1/orders/{shop.channel}-1008"), 200)["lines"][0]
    assert (line["qty_shipped"], line["state"]) == (2, "shipped")
    numbers = availability(api, lamp)
    assert (numbers["on_hand"], numbers["incoming"], numbers["committed"]) == (0, 5, 0)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_order_beyond_availability_is_taken_as_backordered_and_raises_oversold(api: httpx.Client,
                                                                                   platform: str) -> None:
    shop = Shop(api, platform, backorder=False, preorder=False)
    lamp = sku(api, mode="stock", on_hand=1)
    ok(api.put(f"/v1/skus/{lamp}/channels/{shop.channel}", json={"quota": 0}), 201)
    refused = api.post("/v1/orders", json={"ref": unique("O"), "channel": shop.channel,
                                           "lines": [{"sku": lamp, "qty": 1}]})
    assert refused.status_code == 409  # the API's own sale obeys the quota
    shop.send(CREATED[platform], shop.order(1009, [(lamp, 3)]))
    line = ok(api.get(f"/v1/orders/{shop.channel}-1009"), 200)["lines"][0]
    assert (line["state"], line["promise_date"]) == ("backordered", None)
    assert availability(api, lamp)["available"] == -2
    oversold = [e for e in feed(api, lamp) if e["type"] == "sku.oversold"]
    assert [e["data"] for e in oversold] == [{"uncovered": 2}]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_signed_body_that_is_not_json_is_400_recorded_and_writes_nothing_else(api: httpx.Client, rows: Database,
                                                                                 platform: str) -> None:
    shop = Shop(api, platform)
    before = counts(rows)
    body = problem(shop.post(CREATED[platform], b"{not json", "bad-1"), 400, "unreadable_payload")
    assert body["field"] == "body"
    after = counts(rows)
    assert (after[0], after[1:4]) == (before[0] + 1, before[1:4])  # the delivery recorded, no order, no event
    assert shop.post(CREATED[platform], b"{not json", "bad-1").json()["outcome"] == "duplicate"
    with rows.read() as conn:
        kept = conn.execute(select(storefront_deliveries).where(storefront_deliveries.c.channel == shop.channel)).one()
    assert (kept.outcome, kept.topic) == ("rejected", CREATED[platform])


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_signed_order_missing_a_field_is_422_naming_it(api: httpx.Client, platform: str) -> None:
    shop = Shop(api, platform)
    lamp = sku(api, on_hand=5)
    payload = shop.order(1010, [(lamp, 1)])
    del payload["line_items"][0]["quantity"]
    problem(shop.post(CREATED[platform], json.dumps(payload).encode()), 422, "invalid", "line_items.0.quantity")
    del payload["line_items"]
    problem(shop.post(CREATED[platform], json.dumps(payload).encode()), 422, "invalid", "line_items")
    problem(api.get(f"/v1/orders/{shop.channel}-1010"), 404, "not_found")
    assert availability(api, lamp)["committed"] == 0


@pytest.mark.parametrize(("platform", "topic"), [("shopify", "products/update"), ("shopify", "customers/create"),
                                                 ("woocommerce", "product.updated"), ("woocommerce", "order.deleted")])
def test_other_topics_are_recorded_and_change_nothing(api: httpx.Client, rows: Database, platform: str,
                                                      topic: str) -> None:
    shop = Shop(api, platform)
    before = counts(rows)
    answer = shop.send(topic, {"id": 42, "title": "anything"})
    assert answer["outcome"] == "ignored"
    after = counts(rows)
    assert (after[0], after[1:4], after[4]) == (before[0] + 1, before[1:4], before[4] + 1)


def test_woocommerce_pings_a_new_webhook_and_gets_200_with_nothing_written(api: httpx.Client, rows: Database) -> None:
    shop = Shop(api, "woocommerce")
    before = counts(rows)
    resp = httpx.post(f"{api.base_url}{shop.url}", content=b"webhook_id=17",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (resp.status_code, resp.json()["outcome"]) == (200, "ping")
    assert counts(rows) == before


def test_a_woocommerce_refunded_status_cancels_what_is_not_shipped(api: httpx.Client) -> None:
    shop = Shop(api, "woocommerce")
    lamp = sku(api, on_hand=5)
    payload = shop.order(1011, [(lamp, 2)])
    shop.send("order.created", payload)
    assert shop.send("order.updated", payload | {"status": "completed"})["outcome"] == "ignored"
    assert shop.send("order.updated", payload | {"status": "refunded"})["outcome"] == "applied"
    assert ok(api.get(f"/v1/orders/{shop.channel}-1011"), 200)["lines"][0]["state"] == "cancelled"


def test_an_order_placed_through_the_api_may_carry_an_email(api: httpx.Client) -> None:
    lamp = sku(api, on_hand=5)
    shop = Shop(api, "shopify")
    placed = order(api, shop.channel, (lamp, 1), email="kay@example.com")
    got = ok(api.get(f"/v1/orders/{placed['ref']}"), 200)
    assert (got["email"], got["ignored_lines"]) == ("kay@example.com", None)
    bad = api.post("/v1/orders", json={"ref": unique("O"), "channel": shop.channel, "email": "not an email",
                                       "lines": [{"sku": lamp, "qty": 1}]})
    problem(bad, 422, "invalid", "email")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_one_order_through_several_deliveries_at_once_is_placed_once(api: httpx.Client, rows: Database,
                                                                     platform: str) -> None:
    shop = Shop(api, platform)
    lamp = sku(api, on_hand=50)
    body = json.dumps(shop.order(1012, [(lamp, 2)])).encode()
    answers: list[httpx.Response] = []
    go = threading.Barrier(5)

    def deliver(n: int) -> None:
        go.wait()
        answers.append(shop.post(CREATED[platform], body, f"copy-{n}"))

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.json()["outcome"] for r in answers) == ["applied"] + ["skipped"] * 4
    assert availability(api, lamp)["committed"] == 2
    with rows.read() as conn:
        recorded = conn.execute(select(storefront_deliveries.c.outcome)
                                .where(storefront_deliveries.c.channel == shop.channel)).scalars().all()
    assert sorted(recorded) == ["applied"] + ["skipped"] * 4


def test_the_database_reconciles_clean_after_every_ingest(live_server: Server, tmp_path: Path) -> None:
    done = allot(live_server.url, "reconcile", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_order_number_that_makes_no_valid_ref_is_recorded_and_skipped(api: httpx.Client, rows: Database) -> None:
    shop = Shop(api, "woocommerce")
    lamp = sku(api, on_hand=5)
    payload = shop.order(1013, [(lamp, 1)]) | {"number": "WC/1013 #" + "9" * 50}
    answer = shop.send("order.created", payload)
    assert (answer["outcome"], answer["order_ref"]) == ("skipped", None)
    assert availability(api, lamp)["committed"] == 0
