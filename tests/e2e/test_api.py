"""The v1 HTTP contract end to end: every endpoint's answer and its refusals, over real HTTP.

One server per database kind serves the whole module (see conftest); each test makes its own
SKUs, refs and channels. Refusals are checked down to status, problem `code` and `field`, and
a refused write is checked to have changed nothing.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, Server
from tests.e2e.world import (
    availability,
    channel,
    day,
    hold,
    numbers,
    ok,
    order,
    order_body,
    po,
    problem,
    same_resource,
    sku,
    today,
    unique,
)


@pytest.fixture(scope="module")
def web(api: httpx.Client) -> str:
    """A channel that may sell on hand, incoming and preorder stock."""
    return channel(api, "web", backorder=True, preorder=True)


@pytest.fixture(scope="module")
def counter(api: httpx.Client) -> str:
    """A channel that allows neither backorders nor preorders: it sells on hand only."""
    return channel(api, "counter", backorder=False, preorder=False)


def new_key(api: httpx.Client, role: str, channels: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = ok(api.post("/v1/keys", json={"name": unique("key"), "role": role,
                                                         "channels": channels}), 201)
    return body


KeyedClient = Callable[[str | None], httpx.Client]


@pytest.fixture
def as_key(live_server: Server) -> Iterator[KeyedClient]:
    """Open clients with other keys (or none); all are closed when the test ends."""
    opened: list[httpx.Client] = []

    def client(secret: str | None) -> httpx.Client:
        opened.append(live_server.client(key=secret))
        return opened[-1]

    yield client
    for c in opened:
        c.close()


# -- authentication and roles ---------------------------------------------------------------


def test_healthz_answers_without_a_key(as_key: KeyedClient) -> None:
    assert ok(as_key(None).get("/healthz"), 200) == {"status": "ok"}


@pytest.mark.parametrize("header", [None, "Bearer not-a-key", f"Basic {ADMIN_KEY}", "Bearer", ADMIN_KEY])
def test_a_request_without_a_valid_bearer_key_is_401(live_server: Server, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    with httpx.Client(base_url=live_server.base, headers=headers, timeout=30) as c:
        resp = c.get("/v1/events")
        problem(resp, 401, "unauthorized")
        assert resp.headers["www-authenticate"] == "Bearer"
        problem(c.post("/v1/orders", json=order_body("web", ("X", 1))), 401, "unauthorized")


def test_a_revoked_key_is_401(api: httpx.Client, as_key: KeyedClient) -> None:
    made = new_key(api, "viewer")
    assert api.delete(f"/v1/keys/{made['id']}").status_code == 204
    problem(as_key(made["secret"]).get("/v1/events"), 401, "unauthorized")


def test_revoking_an_unknown_key_is_404(api: httpx.Client) -> None:
    problem(api.delete("/v1/keys/987654321"), 404, "not_found")


def test_keys_are_listed_without_their_secrets(api: httpx.Client) -> None:
    made = new_key(api, "ops")
    listed = {k["id"]: k for k in ok(api.get("/v1/keys"), 200)}
    assert listed[made["id"]]["role"] == "ops"
    assert "secret" not in listed[made["id"]] and made["secret"] not in str(listed)


def test_a_key_with_an_unknown_role_is_422_naming_role(api: httpx.Client) -> None:
    problem(api.post("/v1/keys", json={"name": "x", "role": "root"}), 422, "invalid", "role")


def test_a_viewer_key_reads_but_may_not_write(api: httpx.Client, as_key: KeyedClient, web: str) -> None:
    s = sku(api, on_hand=3)
    viewer = as_key(new_key(api, "viewer")["secret"])
    assert availability(viewer, s, web)["on_hand"] == 3
    problem(viewer.post("/v1/orders", json=order_body(web, (s, 1))), 403, "forbidden")
    adjustment = {"sku": s, "delta": 1, "reason": "r"}
    problem(viewer.post("/v1/stock/adjustments", json=adjustment), 403, "forbidden")
    problem(viewer.get("/v1/keys"), 403, "forbidden")
    assert numbers(api, s)[:4] == (3, 0, 0, 0)


def test_a_storefront_key_sells_only_on_its_channels(api: httpx.Client, as_key: KeyedClient, web: str,
                                                     counter: str) -> None:
    s = sku(api, on_hand=3)
    shop = as_key(new_key(api, "storefront", [web])["secret"])
    ok(shop.post("/v1/orders", json=order_body(web, (s, 1))), 201)
    problem(shop.post("/v1/orders", json=order_body(counter, (s, 1))), 403, "forbidden")
    problem(shop.post("/v1/holds", json={"sku": s, "qty": 1, "channel": counter}), 403, "forbidden")
    problem(shop.post("/v1/stock/adjustments", json={"sku": s, "delta": 1, "reason": "r"}), 403, "forbidden")
    assert numbers(api, s)[:4] == (3, 0, 1, 0)


# -- catalog: SKUs, channels, quotas --------------------------------------------------------


def test_put_sku_creates_with_201_then_updates_with_200(api: httpx.Client) -> None:
    name = unique("S")
    created = ok(api.put(f"/v1/skus/{name}", json={"mode": "stock", "name": "Lamp"}), 201)
    assert (created["sku"], created["mode"], created["name"], created["on_hand"]) == \
        (name, "stock", "Lamp", 0)
    changed = ok(api.put(f"/v1/skus/{name}", json={"mode": "preorder", "release_date": day(30),
                                                   "handling_days": 2, "incoming_buffer": 0.1}), 200)
    assert (changed["mode"], changed["release_date"], changed["handling_days"]) == ("preorder", day(30), 2)
    assert changed["incoming_buffer"] == pytest.approx(0.1)
    assert ok(api.get(f"/v1/skus/{name}"), 200)["release_date"] == day(30)


@pytest.mark.parametrize(("body", "field"), [
    ({}, "mode"),
    ({"mode": "bulk"}, "mode"),
    ({"mode": "stock", "colour": "red"}, "colour"),
    ({"mode": "preorder"}, "release_date"),
    ({"mode": "preorder", "release_date": "2026-02-30"}, "release_date"),
    ({"mode": "stock", "incoming_buffer": 1}, "incoming_buffer"),
    ({"mode": "stock", "handling_days": -1}, "handling_days"),
    ({"mode": "stock", "safety_stock": "many"}, "safety_stock"),
])
def test_put_sku_refuses_bad_input_naming_the_field(api: httpx.Client, body: dict[str, Any],
                                                    field: str) -> None:
    name = unique("S")
    problem(api.put(f"/v1/skus/{name}", json=body), 422, "invalid", field)
    problem(api.get(f"/v1/skus/{name}"), 404, "not_found")


def test_an_unknown_sku_is_404(api: httpx.Client) -> None:
    problem(api.get("/v1/skus/NO-SUCH-SKU"), 404, "not_found")


def test_put_channel_creates_with_201_then_updates_with_200(api: httpx.Client) -> None:
    name = unique("ch")
    body = {"allow_backorder": False, "allow_preorder": True, "padding_days": 2}
    made = ok(api.put(f"/v1/channels/{name}", json=body), 201)
    assert {k: made[k] for k in ("channel", *body)} == {"channel": name, **body}
    changed = ok(api.put(f"/v1/channels/{name}", json={**body, "padding_days": 5}), 200)
    assert (changed["channel"], changed["padding_days"]) == (name, 5)


@pytest.mark.parametrize(("body", "field"), [
    ({"allow_backorder": True}, "allow_preorder"),
    ({"allow_backorder": True, "allow_preorder": True, "padding_days": -1}, "padding_days"),
    ({"allow_backorder": "sometimes", "allow_preorder": True}, "allow_backorder"),
    ({"allow_backorder": True, "allow_preorder": True, "colour": "red"}, "colour"),
])
def test_put_channel_refuses_bad_input_naming_the_field(api: httpx.Client, body: dict[str, Any],
                                                        field: str) -> None:
    problem(api.put(f"/v1/channels/{unique('ch')}", json=body), 422, "invalid", field)


def test_a_quota_caps_what_one_channel_may_sell(api: httpx.Client, web: str) -> None:
    s = sku(api, on_hand=10)
    assert ok(api.put(f"/v1/skus/{s}/channels/{web}", json={"quota": 2}), 201) == \
        {"sku": s, "channel": web, "quota": 2}
    assert availability(api, s, web)["available"] == 2
    refused = problem(api.post("/v1/orders", json=order_body(web, (s, 3))), 409, "insufficient_availability")
    assert refused["available"] == 2
    order(api, web, (s, 2))
    assert problem(api.post("/v1/holds", json={"sku": s, "qty": 1, "channel": web}), 409,
                   "insufficient_availability")["available"] == 0
    ok(api.put(f"/v1/skus/{s}/channels/{web}", json={"quota": None}), 200)
    order(api, web, (s, 3))
    assert numbers(api, s, web) == (10, 0, 5, 0, 5)


def test_put_quota_answers_201_on_create_and_200_on_update(api: httpx.Client, web: str) -> None:
    s = sku(api)
    assert api.put(f"/v1/skus/{s}/channels/{web}", json={"quota": 5}).status_code == 201
    assert api.put(f"/v1/skus/{s}/channels/{web}", json={"quota": 6}).status_code == 200


def test_put_quota_refuses_unknown_sku_unknown_channel_and_negative_quota(api: httpx.Client,
                                                                          web: str) -> None:
    s = sku(api)
    problem(api.put(f"/v1/skus/NO-SUCH-SKU/channels/{web}", json={"quota": 1}), 404, "not_found")
    problem(api.put(f"/v1/skus/{s}/channels/no-such-channel", json={"quota": 1}), 422, "invalid", "channel")
    problem(api.put(f"/v1/skus/{s}/channels/{web}", json={"quota": -1}), 422, "invalid", "quota")
    problem(api.put(f"/v1/skus/{s}/channels/{web}", json={"limit": 1}), 422, "invalid", "limit")


# -- stock ----------------------------------------------------------------------------------


def test_adjustments_receive_and_remove_on_hand(api: httpx.Client) -> None:
    s = sku(api)
    assert ok(api.post("/v1/stock/adjustments", json={"sku": s, "delta": 7, "reason": "receipt"}), 201) == \
        {"sku": s, "delta": 7, "reason": "receipt", "on_hand": 7}
    assert ok(api.post("/v1/stock/adjustments", json={"sku": s, "delta": -2, "reason": "damaged"}), 201)[
        "on_hand"] == 5
    assert numbers(api, s) == (5, 0, 0, 0, 5)
    assert ok(api.get(f"/v1/skus/{s}"), 200)["on_hand"] == 5


@pytest.mark.parametrize(("body", "field"), [
    ({"delta": 0, "reason": "r"}, "delta"),
    ({"delta": 1}, "reason"),
    ({"delta": 1, "reason": ""}, "reason"),
    ({"delta": 1.5, "reason": "r"}, "delta"),
    ({"delta": 1, "reason": "r", "note": "x"}, "note"),
])
def test_an_adjustment_with_bad_input_is_422_naming_the_field(api: httpx.Client, body: dict[str, Any],
                                                               field: str) -> None:
    s = sku(api, on_hand=4)
    problem(api.post("/v1/stock/adjustments", json={"sku": s, **body}), 422, "invalid", field)
    assert numbers(api, s)[0] == 4


def test_an_adjustment_of_an_unknown_sku_is_422_naming_sku(api: httpx.Client) -> None:
    problem(api.post("/v1/stock/adjustments", json={"sku": "NO-SUCH-SKU", "delta": 1, "reason": "r"}),
            422, "invalid", "sku")


def test_removing_more_than_on_hand_is_refused_and_changes_nothing(api: httpx.Client) -> None:
    s = sku(api, on_hand=3)
    body = problem(api.post("/v1/stock/adjustments", json={"sku": s, "delta": -4, "reason": "lost"}),
                   409, "insufficient_stock")
    assert body["on_hand"] == 3
    assert numbers(api, s)[0] == 3


def test_a_count_sets_on_hand_and_books_the_difference(api: httpx.Client) -> None:
    s = sku(api, on_hand=10)
    assert ok(api.post("/v1/stock/counts", json={"sku": s, "on_hand": 8}), 201) == \
        {"sku": s, "delta": -2, "reason": "count", "on_hand": 8}
    assert ok(api.post("/v1/stock/counts", json={"sku": s, "on_hand": 8}), 201)["delta"] == 0
    problem(api.post("/v1/stock/counts", json={"sku": s, "on_hand": -1}), 422, "invalid", "on_hand")
    problem(api.post("/v1/stock/counts", json={"sku": "NO-SUCH-SKU", "on_hand": 1}), 422, "invalid", "sku")
    assert numbers(api, s)[0] == 8


# -- purchase orders ------------------------------------------------------------------------


def test_a_po_numbers_its_lines_and_counts_as_incoming(api: httpx.Client) -> None:
    a, b = sku(api), sku(api)
    ref = unique("PO")
    body = {"ref": ref, "supplier": "ACME", "lines": [
        {"sku": a, "qty": 5, "expected_date": day(9)}, {"sku": b, "qty": 3, "expected_date": day(12)},
        {"sku": a, "qty": 2, "expected_date": day(20)}]}
    made = ok(api.post("/v1/purchase-orders", json=body), 201)
    assert (made["ref"], made["supplier"], made["status"]) == (ref, "ACME", "open")
    assert [(ln["line"], ln["sku"], ln["qty"], ln["received"], ln["remaining"], ln["expected_date"])
            for ln in made["lines"]] == \
        [(1, a, 5, 0, 5, day(9)), (2, b, 3, 0, 3, day(12)), (3, a, 2, 0, 2, day(20))]
    assert same_resource(ok(api.get(f"/v1/purchase-orders/{ref}"), 200)) == same_resource(made)
    assert numbers(api, a) == (0, 7, 0, 0, 7)
    assert numbers(api, b) == (0, 3, 0, 0, 3)


@pytest.mark.parametrize(("line", "field"), [
    ({"qty": 0}, "lines.0.qty"),
    ({"qty": -3}, "lines.0.qty"),
    ({"expected_date": "2026-02-30"}, "lines.0.expected_date"),
    ({"expected_date": "next week"}, "lines.0.expected_date"),
    ({"colour": "red"}, "lines.0.colour"),
])
def test_a_po_with_a_bad_line_is_422_naming_the_field(api: httpx.Client, line: dict[str, Any],
                                                      field: str) -> None:
    s = sku(api)
    ref = unique("PO")
    body = {"ref": ref, "lines": [{"sku": s, "qty": 1, "expected_date": day(5)} | line]}
    problem(api.post("/v1/purchase-orders", json=body), 422, "invalid", field)
    problem(api.get(f"/v1/purchase-orders/{ref}"), 404, "not_found")


def test_a_po_with_an_unknown_sku_on_line_two_is_422_and_creates_nothing(api: httpx.Client) -> None:
    s = sku(api)
    ref = unique("PO")
    body = {"ref": ref, "lines": [{"sku": s, "qty": 1, "expected_date": day(5)},
                                  {"sku": "NO-SUCH-SKU", "qty": 1, "expected_date": day(5)}]}
    problem(api.post("/v1/purchase-orders", json=body), 422, "invalid", "lines.1.sku")
    problem(api.get(f"/v1/purchase-orders/{ref}"), 404, "not_found")
    assert numbers(api, s)[1] == 0


def test_a_po_without_lines_or_with_a_bad_ref_is_422(api: httpx.Client) -> None:
    problem(api.post("/v1/purchase-orders", json={"ref": unique("PO"), "lines": []}), 422, "invalid", "lines")
    s = sku(api)
    problem(api.post("/v1/purchase-orders", json={"ref": "has space", "lines": [
        {"sku": s, "qty": 1, "expected_date": day(5)}]}), 422, "invalid", "ref")


def test_a_second_po_with_the_same_ref_is_409(api: httpx.Client) -> None:
    s = sku(api)
    ref = po(api, (s, 4, day(5)))
    body = {"ref": ref, "lines": [{"sku": s, "qty": 9, "expected_date": day(6)}]}
    problem(api.post("/v1/purchase-orders", json=body), 409, "conflict")
    assert numbers(api, s)[1] == 4


def test_an_unknown_po_is_404_everywhere(api: httpx.Client) -> None:
    problem(api.get("/v1/purchase-orders/NO-SUCH-PO"), 404, "not_found")
    problem(api.patch("/v1/purchase-orders/NO-SUCH-PO/lines/1", json={"qty": 1}), 404, "not_found")
    problem(api.post("/v1/purchase-orders/NO-SUCH-PO/receipts", json={"lines": [{"line": 1, "qty": 1}]}),
            404, "not_found")
    problem(api.post("/v1/purchase-orders/NO-SUCH-PO/cancel"), 404, "not_found")


def test_moving_a_po_line_moves_the_promise_and_says_so(api: httpx.Client, web: str) -> None:
    s = sku(api, handling_days=1)
    ref = po(api, (s, 5, day(10)))
    placed = order(api, web, (s, 2))
    assert placed["lines"][0]["promise_date"] == day(11)
    cursor = ok(api.get("/v1/events?limit=1000"), 200)["next"]
    moved = ok(api.patch(f"/v1/purchase-orders/{ref}/lines/1", json={"expected_date": day(15)}), 200)
    assert moved["lines"][0]["expected_date"] == day(15)
    line = ok(api.get(f"/v1/orders/{placed['ref']}"), 200)["lines"][0]
    assert (line["state"], line["promise_date"], line["first_promise_date"]) == \
        ("awaiting_stock", day(16), day(11))
    events = ok(api.get(f"/v1/events?after={cursor}&sku={s}"), 200)["events"]
    changed = [e for e in events if e["order_ref"] == placed["ref"]]
    assert [(e["type"], e["line"], e["data"]["from"], e["data"]["to"], e["data"]["reason"])
            for e in changed] == \
        [("order_line.promise_changed", 1, day(11), day(16), "later")]


def test_a_po_line_qty_change_is_counted_and_cannot_go_below_received(api: httpx.Client) -> None:
    s = sku(api)
    ref = po(api, (s, 5, day(10)))
    ok(api.post(f"/v1/purchase-orders/{ref}/receipts", json={"lines": [{"line": 1, "qty": 2}]}), 201)
    problem(api.patch(f"/v1/purchase-orders/{ref}/lines/1", json={"qty": 1}), 422, "invalid", "qty")
    grown = ok(api.patch(f"/v1/purchase-orders/{ref}/lines/1", json={"qty": 8}), 200)
    assert grown["lines"][0]["remaining"] == 6
    assert numbers(api, s)[:2] == (2, 6)


def test_a_bad_po_line_patch_is_refused(api: httpx.Client) -> None:
    s = sku(api)
    ref = po(api, (s, 5, day(10)))
    problem(api.patch(f"/v1/purchase-orders/{ref}/lines/1", json={}), 422, "invalid", "body")
    problem(api.patch(f"/v1/purchase-orders/{ref}/lines/1", json={"expected_date": "soon"}), 422, "invalid",
            "expected_date")
    problem(api.patch(f"/v1/purchase-orders/{ref}/lines/one", json={"qty": 1}), 422, "invalid", "n")
    problem(api.patch(f"/v1/purchase-orders/{ref}/lines/2", json={"qty": 1}), 404, "not_found")
    ok(api.post(f"/v1/purchase-orders/{ref}/cancel"), 200)
    problem(api.patch(f"/v1/purchase-orders/{ref}/lines/1", json={"qty": 9}), 409, "conflict")
    assert ok(api.get(f"/v1/purchase-orders/{ref}"), 200)["lines"][0]["qty"] == 5


def test_receipts_book_partial_over_and_short_closed_deliveries(api: httpx.Client) -> None:
    a, b, c = sku(api), sku(api), sku(api)
    ref = po(api, (a, 10, day(5)), (b, 4, day(5)), (c, 6, day(5)))
    got = ok(api.post(f"/v1/purchase-orders/{ref}/receipts", json={"lines": [{"line": 1, "qty": 3},
                                                                             {"line": 2, "qty": 6}]}), 201)
    assert [(ln["received"], ln["closed"], ln["remaining"]) for ln in got["lines"]] == \
        [(3, False, 7), (6, True, 0), (0, False, 6)]
    assert numbers(api, a)[:2] == (3, 7)
    assert numbers(api, b)[:2] == (6, 0)  # the extra two of an over-receipt go on hand too
    last = {"lines": [{"line": 1, "qty": 5}, {"line": 3, "qty": 1}], "close_short": True}
    done = ok(api.post(f"/v1/purchase-orders/{ref}/receipts", json=last), 201)
    assert done["status"] == "closed"
    assert [(ln["received"], ln["remaining"]) for ln in done["lines"]] == [(8, 0), (6, 0), (1, 0)]
    assert numbers(api, a)[:2] == (8, 0)
    assert numbers(api, c)[:2] == (1, 0)


def test_bad_receipts_are_refused_and_book_nothing(api: httpx.Client) -> None:
    s = sku(api)
    ref = po(api, (s, 5, day(10)))
    url = f"/v1/purchase-orders/{ref}/receipts"
    problem(api.post(url, json={"lines": [{"line": 1, "qty": 1}, {"line": 2, "qty": 1}]}), 422, "invalid",
            "lines.1.line")
    problem(api.post(url, json={"lines": [{"line": 1, "qty": 0}]}), 422, "invalid", "lines.0.qty")
    problem(api.post(url, json={"lines": []}), 422, "invalid", "lines")
    problem(api.post(url, json={"lines": [{"line": 1, "qty": 1}], "close_short": "yes please"}), 422,
            "invalid", "close_short")
    assert numbers(api, s)[:2] == (0, 5)
    ok(api.post(f"/v1/purchase-orders/{ref}/cancel"), 200)
    problem(api.post(url, json={"lines": [{"line": 1, "qty": 1}]}), 409, "conflict")
    assert numbers(api, s)[:2] == (0, 0)


def test_cancelling_a_po_removes_its_incoming_and_backorders_its_customers(api: httpx.Client,
                                                                           web: str) -> None:
    s = sku(api)
    ref = po(api, (s, 5, day(10)))
    placed = order(api, web, (s, 3))
    cancelled = ok(api.post(f"/v1/purchase-orders/{ref}/cancel"), 200)
    assert cancelled["status"] == "cancelled" and cancelled["lines"][0]["remaining"] == 0
    assert ok(api.post(f"/v1/purchase-orders/{ref}/cancel"), 200)["status"] == "cancelled"
    line = ok(api.get(f"/v1/orders/{placed['ref']}"), 200)["lines"][0]
    assert (line["state"], line["promise_date"]) == ("backordered", None)
    a = availability(api, s, web)
    assert (a["incoming"], a["committed"], a["available"], a["oversold"]) == (0, 3, -3, True)


# -- holds ----------------------------------------------------------------------------------


def test_a_hold_reserves_units_until_released(api: httpx.Client, counter: str) -> None:
    s = sku(api, mode="stock", on_hand=5)
    h = hold(api, s, 2, counter, ttl_seconds=300)
    assert (h["sku"], h["qty"], h["channel"], h["status"], h["state"], h["promise_date"]) == \
        (s, 2, counter, "active", "ready", today().isoformat())
    assert h["id"] and h["expires_at"]
    assert numbers(api, s, counter) == (5, 0, 0, 2, 3)
    assert ok(api.get(f"/v1/holds/{h['id']}"), 200)["status"] == "active"
    released = ok(api.delete(f"/v1/holds/{h['id']}"), 200)
    assert (released["id"], released["status"]) == (h["id"], "released")
    assert numbers(api, s, counter) == (5, 0, 0, 0, 5)
    assert ok(api.delete(f"/v1/holds/{h['id']}"), 200)["status"] == "released"
    assert numbers(api, s, counter) == (5, 0, 0, 0, 5)


def test_a_hold_beyond_availability_is_409_with_available(api: httpx.Client, counter: str) -> None:
    s = sku(api, mode="stock", on_hand=3)
    hold(api, s, 2, counter)
    body = problem(api.post("/v1/holds", json={"sku": s, "qty": 2, "channel": counter}), 409,
                   "insufficient_availability")
    assert body["available"] == 1
    assert numbers(api, s, counter) == (3, 0, 0, 2, 1)


@pytest.mark.parametrize(("change", "field"), [
    ({"qty": 0}, "qty"),
    ({"qty": "two"}, "qty"),
    ({"ttl_seconds": 0}, "ttl_seconds"),
    ({"ttl_seconds": 30 * 24 * 3600}, "ttl_seconds"),
    ({"channel": "no-such-channel"}, "channel"),
    ({"sku": "NO-SUCH-SKU"}, "sku"),
    ({"until": "tomorrow"}, "until"),
])
def test_a_hold_with_bad_input_is_422_naming_the_field(api: httpx.Client, counter: str,
                                                       change: dict[str, Any], field: str) -> None:
    s = sku(api, mode="stock", on_hand=3)
    body = {"sku": s, "qty": 1, "channel": counter} | change
    problem(api.post("/v1/holds", json=body), 422, "invalid", field)
    assert numbers(api, s)[3] == 0


def test_an_unknown_hold_is_404(api: httpx.Client) -> None:
    problem(api.get("/v1/holds/hold_nosuchhold"), 404, "not_found")
    problem(api.delete("/v1/holds/hold_nosuchhold"), 404, "not_found")


def test_a_hold_confirmed_into_an_order_turns_reserved_into_committed(api: httpx.Client,
                                                                      counter: str) -> None:
    s = sku(api, mode="stock", on_hand=5)
    h = hold(api, s, 2, counter)
    body = order_body(counter, (s, 2))
    body["lines"][0]["hold_id"] = h["id"]
    placed = ok(api.post("/v1/orders", json=body), 201)
    line = placed["lines"][0]
    assert (line["hold_id"], line["qty"], line["state"]) == (h["id"], 2, "ready")
    assert numbers(api, s, counter) == (5, 0, 2, 0, 3)
    assert ok(api.get(f"/v1/holds/{h['id']}"), 200)["status"] == "confirmed"
    again = order_body(counter, (s, 2))
    again["lines"][0]["hold_id"] = h["id"]
    problem(api.post("/v1/orders", json=again), 410, "hold_expired")
    assert numbers(api, s, counter) == (5, 0, 2, 0, 3)


def test_a_hold_confirmed_for_fewer_units_gives_the_rest_back(api: httpx.Client, counter: str) -> None:
    s = sku(api, mode="stock", on_hand=5)
    h = hold(api, s, 3, counter)
    body = order_body(counter, (s, 1))
    body["lines"][0]["hold_id"] = h["id"]
    ok(api.post("/v1/orders", json=body), 201)
    assert numbers(api, s, counter) == (5, 0, 1, 0, 4)


def test_confirming_an_expired_hold_is_410_and_places_nothing(api: httpx.Client, counter: str) -> None:
    s = sku(api, mode="stock", on_hand=5)
    h = hold(api, s, 2, counter, ttl_seconds=1)
    time.sleep(1.5)
    body = order_body(counter, (s, 2))
    body["lines"][0]["hold_id"] = h["id"]
    refused = problem(api.post("/v1/orders", json=body), 410, "hold_expired")
    assert refused["hold_id"] == h["id"]
    problem(api.get(f"/v1/orders/{body['ref']}"), 404, "not_found")
    assert ok(api.get(f"/v1/holds/{h['id']}"), 200)["status"] == "expired"
    assert numbers(api, s, counter) == (5, 0, 0, 0, 5)


def test_confirming_a_hold_wrongly_is_refused(api: httpx.Client, counter: str, web: str) -> None:
    s, other = sku(api, mode="stock", on_hand=5), sku(api, mode="stock", on_hand=5)
    h = hold(api, s, 2, counter)
    cases: list[tuple[dict[str, Any], str, int, str, str | None]] = [
        (order_body(counter, (s, 2)) | {"lines": [{"sku": s, "qty": 2, "hold_id": "hold_nosuchhold"}]},
         "unknown hold", 404, "not_found", None),
        (order_body(counter) | {"lines": [{"sku": other, "qty": 2, "hold_id": h["id"]}]},
         "another SKU", 422, "invalid", "lines.0.hold_id"),
        (order_body(web) | {"lines": [{"sku": s, "qty": 2, "hold_id": h["id"]}]},
         "another channel", 422, "invalid", "lines.0.hold_id"),
        (order_body(counter) | {"lines": [{"sku": s, "qty": 3, "hold_id": h["id"]}]},
         "more than held", 422, "invalid", "lines.0.qty"),
    ]
    for body, why, status, code, field in cases:
        resp = api.post("/v1/orders", json=body)
        assert resp.status_code == status, f"{why}: {resp.text}"
        problem(resp, status, code, field)
        problem(api.get(f"/v1/orders/{body['ref']}"), 404, "not_found")
    assert ok(api.get(f"/v1/holds/{h['id']}"), 200)["status"] == "active"
    assert numbers(api, s, counter) == (5, 0, 0, 2, 3)


# -- orders ---------------------------------------------------------------------------------


def test_an_order_takes_on_hand_first_then_the_po_and_is_promised_for_it(api: httpx.Client, web: str) -> None:
    s = sku(api, on_hand=1, handling_days=1)
    ref = po(api, (s, 5, day(10)))
    placed = order(api, web, (s, 3), customer="ada@example.com", priority=0)
    assert (placed["channel"], placed["customer"], placed["priority"]) == (web, "ada@example.com", 0)
    line = placed["lines"][0]
    assert (line["line"], line["sku"], line["qty"], line["qty_shipped"], line["qty_cancelled"]) == \
        (1, s, 3, 0, 0)
    assert (line["state"], line["promise_date"]) == ("awaiting_stock", day(11))
    assert line["allocation"] == [
        {"source": "stock", "qty": 1, "date": today().isoformat(), "po_ref": None, "po_line": None},
        {"source": "po", "po_ref": ref, "po_line": 1, "qty": 2, "date": day(10)},
    ]
    assert same_resource(ok(api.get(f"/v1/orders/{placed['ref']}"), 200)) == same_resource(placed)
    assert numbers(api, s, web) == (1, 5, 3, 0, 3)


def test_a_refused_order_is_409_with_available_and_places_no_line(api: httpx.Client, counter: str) -> None:
    plenty, scarce = sku(api, mode="stock", on_hand=10), sku(api, mode="stock", on_hand=2)
    body = order_body(counter, (plenty, 4), (scarce, 3))
    refused = problem(api.post("/v1/orders", json=body), 409, "insufficient_availability")
    assert (refused["available"], refused["line"], refused["sku"]) == (2, 2, scarce)
    problem(api.get(f"/v1/orders/{body['ref']}"), 404, "not_found")
    assert numbers(api, plenty, counter) == (10, 0, 0, 0, 10)
    assert numbers(api, scarce, counter) == (2, 0, 0, 0, 2)


@pytest.mark.parametrize(("change", "field"), [
    ({"lines": [{"qty": 0}]}, "lines.0.qty"),
    ({"lines": [{"qty": 1.5}]}, "lines.0.qty"),
    ({"lines": [{"gift": True}]}, "lines.0.gift"),
    ({"lines": []}, "lines"),
    ({"priority": -1}, "priority"),
    ({"channel": "no-such-channel"}, "channel"),
    ({"ref": ""}, "ref"),
    ({"coupon": "FREE"}, "coupon"),
])
def test_an_order_with_bad_input_is_422_naming_the_field(api: httpx.Client, web: str,
                                                         change: dict[str, Any], field: str) -> None:
    s = sku(api, on_hand=3)
    body = order_body(web, (s, 1))
    for key, value in change.items():
        body[key] = [body["lines"][0] | v for v in value] if key == "lines" else value
    problem(api.post("/v1/orders", json=body), 422, "invalid", field)
    assert numbers(api, s)[2] == 0


def test_an_order_with_an_unknown_sku_on_line_two_is_422_naming_it(api: httpx.Client, web: str) -> None:
    s = sku(api, on_hand=3)
    body = order_body(web, (s, 1), ("NO-SUCH-SKU", 1))
    problem(api.post("/v1/orders", json=body), 422, "invalid", "lines.1.sku")
    problem(api.get(f"/v1/orders/{body['ref']}"), 404, "not_found")
    assert numbers(api, s)[2] == 0


def test_a_second_order_with_the_same_ref_is_409_and_sells_nothing(api: httpx.Client, web: str) -> None:
    s = sku(api, on_hand=5)
    placed = order(api, web, (s, 1))
    problem(api.post("/v1/orders", json=order_body(web, (s, 2), ref=placed["ref"])), 409, "conflict")
    assert numbers(api, s)[2] == 1


def test_an_unknown_order_is_404_everywhere(api: httpx.Client) -> None:
    problem(api.get("/v1/orders/NO-SUCH-ORDER"), 404, "not_found")
    problem(api.post("/v1/orders/NO-SUCH-ORDER/cancel"), 404, "not_found")
    problem(api.post("/v1/orders/NO-SUCH-ORDER/shipments", json={"lines": [{"line": 1, "qty": 1}]}),
            404, "not_found")


def test_cancelling_part_then_all_of_an_order_frees_its_units(api: httpx.Client, web: str) -> None:
    a, b = sku(api, on_hand=5), sku(api, on_hand=5)
    ref = order(api, web, (a, 3), (b, 2))["ref"]
    part = ok(api.post(f"/v1/orders/{ref}/cancel", json={"lines": [{"line": 1, "qty": 1}]}), 200)
    assert [(ln["qty_cancelled"], ln["state"]) for ln in part["lines"]] == [(1, "ready"), (0, "ready")]
    assert numbers(api, a)[2] == 2
    whole = ok(api.post(f"/v1/orders/{ref}/cancel"), 200)
    assert [(ln["qty_cancelled"], ln["state"], ln["promise_date"], ln["allocation"])
            for ln in whole["lines"]] == \
        [(3, "cancelled", None, []), (2, "cancelled", None, [])]
    assert numbers(api, a) == (5, 0, 0, 0, 5)
    assert numbers(api, b) == (5, 0, 0, 0, 5)


def test_a_bad_cancellation_is_refused_and_cancels_nothing(api: httpx.Client, web: str) -> None:
    s = sku(api, on_hand=5)
    ref = order(api, web, (s, 2))["ref"]
    url = f"/v1/orders/{ref}/cancel"
    problem(api.post(url, json={"lines": [{"line": 1, "qty": 3}]}), 422, "invalid", "lines.0.qty")
    second_unknown = {"lines": [{"line": 1, "qty": 1}, {"line": 9}]}
    problem(api.post(url, json=second_unknown), 422, "invalid", "lines.1.line")
    problem(api.post(url, json={"lines": [{"line": 0}]}), 422, "invalid", "lines.0.line")
    problem(api.post(url, json={"lines": []}), 422, "invalid", "lines")
    assert ok(api.get(f"/v1/orders/{ref}"), 200)["lines"][0]["qty_cancelled"] == 0
    assert numbers(api, s)[2] == 2


def test_shipping_ready_units_takes_them_off_hand(api: httpx.Client, web: str) -> None:
    s = sku(api, on_hand=5)
    ref = order(api, web, (s, 3))["ref"]
    part = ok(api.post(f"/v1/orders/{ref}/shipments", json={"lines": [{"line": 1, "qty": 2}]}), 201)
    assert (part["lines"][0]["qty_shipped"], part["lines"][0]["state"]) == (2, "ready")
    assert numbers(api, s) == (3, 0, 1, 0, 2)
    done = ok(api.post(f"/v1/orders/{ref}/shipments", json={"lines": [{"line": 1, "qty": 1}]}), 201)
    assert (done["lines"][0]["qty_shipped"], done["lines"][0]["state"]) == (3, "shipped")
    assert numbers(api, s) == (2, 0, 0, 0, 2)


def test_units_that_are_not_ready_cannot_ship(api: httpx.Client, web: str) -> None:
    s = sku(api, on_hand=1)
    po(api, (s, 5, day(10)))
    ref = order(api, web, (s, 3))["ref"]
    url = f"/v1/orders/{ref}/shipments"
    refused = problem(api.post(url, json={"lines": [{"line": 1, "qty": 2}]}), 409, "not_ready")
    assert (refused["line"], refused["ready"]) == (1, 1)
    problem(api.post(url, json={"lines": [{"line": 2, "qty": 1}]}), 422, "invalid", "lines.0.line")
    problem(api.post(url, json={"lines": [{"line": 1, "qty": 0}]}), 422, "invalid", "lines.0.qty")
    assert numbers(api, s)[:3] == (1, 5, 3)
    assert ok(api.get(f"/v1/orders/{ref}"), 200)["lines"][0]["qty_shipped"] == 0


def test_a_preorder_line_waits_for_its_release_date_and_cannot_ship_before(api: httpx.Client,
                                                                           web: str) -> None:
    s = sku(api, mode="preorder", release_date=day(20), on_hand=4)
    placed = order(api, web, (s, 2))
    assert (placed["lines"][0]["state"], placed["lines"][0]["promise_date"]) == ("awaiting_release", day(20))
    problem(api.post(f"/v1/orders/{placed['ref']}/shipments", json={"lines": [{"line": 1, "qty": 1}]}),
            409, "not_ready")


# -- availability and events ----------------------------------------------------------------


def test_availability_adds_up_for_the_sku_and_is_per_channel(api: httpx.Client, web: str,
                                                             counter: str) -> None:
    s = sku(api, on_hand=4, handling_days=1)
    po(api, (s, 6, day(10)))
    hold(api, s, 2, counter)
    order(api, web, (s, 3))
    everything = availability(api, s, web)
    assert (everything["sku"], everything["channel"], everything["oversold"]) == (s, web, False)
    assert numbers(api, s, web) == (4, 6, 3, 2, 4 + 6 - 3 - 2)
    assert everything["next_promise_date"] == day(11)
    dates = [p["date"] for p in everything["timeline"]]
    assert dates == sorted(dates) and everything["timeline"][-1]["available"] == 5
    on_hand_only = availability(api, s, counter)
    assert (on_hand_only["available"], on_hand_only["next_promise_date"]) == (0, None)
    assert availability(api, s)["available"] == 5


def test_availability_of_an_unknown_sku_or_channel_is_refused(api: httpx.Client, web: str) -> None:
    problem(api.get(f"/v1/availability/NO-SUCH-SKU?channel={web}"), 404, "not_found")
    problem(api.get(f"/v1/availability/{sku(api)}?channel=no-such-channel"), 422, "invalid", "channel")


def test_events_are_paged_by_cursor(api: httpx.Client, web: str) -> None:
    s = sku(api, on_hand=5)
    start = ok(api.get("/v1/events?limit=1000"), 200)["next"]
    for _ in range(3):
        order(api, web, (s, 1))
    seen, after = [], start
    while True:  # pages of 2 (each order also moves the SKU's availability: availability.changed)
        page = ok(api.get(f"/v1/events?after={after}&limit=2&sku={s}"), 200)
        if not page["events"]:
            assert page == {"events": [], "next": after}
            break
        assert len(page["events"]) <= 2
        seen += page["events"]
        after = page["next"]
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    promised = [e for e in seen if e["type"] == "order_line.promised"]
    assert len(promised) == 3 and all(e["sku"] == s and e["line"] == 1 for e in promised)


@pytest.mark.parametrize(("query", "field"), [("limit=0", "limit"), ("limit=1001", "limit"),
                                              ("after=-1", "after"), ("after=x", "after")])
def test_a_bad_events_query_is_422_naming_the_parameter(api: httpx.Client, query: str, field: str) -> None:
    problem(api.get(f"/v1/events?{query}"), 422, "invalid", field)


# -- idempotency ----------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_returns_the_first_order_and_sells_once(api: httpx.Client,
                                                                                  web: str) -> None:
    s = sku(api, on_hand=5)
    key = {"Idempotency-Key": unique("idem")}
    body = order_body(web, (s, 2))
    first = api.post("/v1/orders", json=body, headers=key)
    again = api.post("/v1/orders", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert numbers(api, s) == (5, 0, 2, 0, 3)


def test_the_same_idempotency_key_and_body_returns_the_first_hold(api: httpx.Client, counter: str) -> None:
    s = sku(api, mode="stock", on_hand=5)
    key = {"Idempotency-Key": unique("idem")}
    body = {"sku": s, "qty": 2, "channel": counter}
    first = ok(api.post("/v1/holds", json=body, headers=key), 201)
    assert ok(api.post("/v1/holds", json=body, headers=key), 201) == first
    assert numbers(api, s) == (5, 0, 0, 2, 3)


def test_the_same_idempotency_key_and_body_adjusts_stock_once(api: httpx.Client) -> None:
    s = sku(api)
    key = {"Idempotency-Key": unique("idem")}
    body = {"sku": s, "delta": 4, "reason": "receipt"}
    for _ in range(3):
        assert ok(api.post("/v1/stock/adjustments", json=body, headers=key), 201)["on_hand"] == 4
    assert numbers(api, s)[0] == 4


def test_the_same_idempotency_key_replays_a_body_less_cancel(api: httpx.Client, web: str) -> None:
    s = sku(api, on_hand=5)
    ref = order(api, web, (s, 2))["ref"]
    key = {"Idempotency-Key": unique("idem")}
    first = ok(api.post(f"/v1/orders/{ref}/cancel", headers=key), 200)
    assert ok(api.post(f"/v1/orders/{ref}/cancel", headers=key), 200) == first


def test_the_same_idempotency_key_with_another_body_is_422_and_changes_nothing(api: httpx.Client,
                                                                               web: str) -> None:
    s = sku(api, on_hand=5)
    key = {"Idempotency-Key": unique("idem")}
    first = ok(api.post("/v1/orders", json=order_body(web, (s, 1)), headers=key), 201)
    other = order_body(web, (s, 2))
    problem(api.post("/v1/orders", json=other, headers=key), 422, "idempotency_key_reused", "Idempotency-Key")
    problem(api.get(f"/v1/orders/{other['ref']}"), 404, "not_found")
    problem(api.post("/v1/holds", json={"sku": s, "qty": 1, "channel": web}, headers=key), 422,
            "idempotency_key_reused", "Idempotency-Key")
    assert numbers(api, s) == (5, 0, 1, 0, 4)
    same_again = order_body(web, (s, 1), ref=first["ref"])
    assert ok(api.post("/v1/orders", json=same_again, headers=key), 201) == first


def test_a_refused_sale_replays_its_refusal_under_the_same_idempotency_key(api: httpx.Client,
                                                                          counter: str) -> None:
    s = sku(api, mode="stock", on_hand=1)
    key = {"Idempotency-Key": unique("idem")}
    body = order_body(counter, (s, 2))
    problem(api.post("/v1/orders", json=body, headers=key), 409, "insufficient_availability")
    ok(api.post("/v1/stock/adjustments", json={"sku": s, "delta": 1, "reason": "receipt"}), 201)
    problem(api.post("/v1/orders", json=body, headers=key), 409, "insufficient_availability")
    assert numbers(api, s) == (2, 0, 0, 0, 2)


# -- the rest of the envelope ---------------------------------------------------------------


def test_malformed_json_is_422_naming_the_body(api: httpx.Client) -> None:
    resp = api.post("/v1/orders", content=b'{"ref": "x", ', headers={"Content-Type": "application/json"})
    problem(resp, 422, "invalid", "body")


def test_an_unknown_path_is_a_404_problem(api: httpx.Client) -> None:
    problem(api.get("/v1/no-such-thing"), 404, "not_found")


def test_timestamps_carry_their_utc_offset(api: httpx.Client, web: str) -> None:
    s = sku(api, on_hand=5)
    ref = po(api, (s, 1, day(3)))
    stamps = [order(api, web, (s, 1))["created_at"], hold(api, s, 1, web)["expires_at"],
              ok(api.get(f"/v1/purchase-orders/{ref}"), 200)["created_at"],
              ok(api.get(f"/v1/events?sku={s}"), 200)["events"][0]["occurred_at"]]
    assert all(t.endswith(("Z", "+00:00")) for t in stamps), stamps
