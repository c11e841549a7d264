"""Lists, many-SKU availability and previews over HTTP (BRIEF §7), against a real server."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from allot.store.db import Database
from allot.store.tables import events, order_lines, orders, skus
from tests.e2e.trust import DATABASES, Server, ok, serving, unique


def later(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def every(client: httpx.Client, path: str, limit: int = 2, **params: str) -> list[Any]:
    """Walk a list page by page; every page but the last is full and says where to go on."""
    items: list[Any] = []
    after = 0
    while True:
        page = ok(client.get(path, params={**params, "limit": str(limit), "after": str(after)}), 200)
        items += page["items"]
        if page["next"] is None:
            return items
        assert len(page["items"]) == limit
        after = page["next"]


@pytest.fixture(scope="module", params=DATABASES)
def srv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(request.param, tmp_path_factory.mktemp(f"lists-{request.param}")) as server:
        yield server


@pytest.fixture(scope="module")
def admin(srv: Server) -> Iterator[httpx.Client]:
    with srv.client() as client:
        for name, backorder, padding in (("web", True, 0), ("shop", False, 0), ("trade", True, 2)):
            ok(client.put(f"/v1/channels/{name}", json={"allow_backorder": backorder, "allow_preorder": backorder,
                                                       "padding_days": padding}), 201)
        yield client


def a_world(admin: httpx.Client) -> dict[str, str]:
    """Two SKUs, stock, a PO, and orders on two channels, one of them backordered."""
    mug, lamp, po = unique("MUG"), unique("LAMP"), unique("PO")
    for sku in (mug, lamp):
        ok(admin.put(f"/v1/skus/{sku}", json={"mode": "backorder", "handling_days": 1}), 201)
    ok(admin.post("/v1/stock/adjustments", json={"sku": mug, "delta": 3, "reason": "receipt"}), 201)
    ok(admin.post("/v1/stock/counts", json={"sku": lamp, "on_hand": 1, "reason": "count"}), 201)
    ok(admin.post("/v1/purchase-orders", json={"ref": po, "supplier": "Lumen", "lines": [
        {"sku": mug, "qty": 4, "expected_date": later(10)}, {"sku": lamp, "qty": 2, "expected_date": later(20)}]}), 201)
    refs = {k: unique(k) for k in ("a", "b", "c")}
    ok(admin.post("/v1/orders", json={"ref": refs["a"], "channel": "web", "customer": "ann",
                                      "lines": [{"sku": mug, "qty": 3}]}), 201)
    ok(admin.post("/v1/orders", json={"ref": refs["b"], "channel": "trade", "customer": "bob",
                                      "lines": [{"sku": mug, "qty": 2}, {"sku": lamp, "qty": 1}]}), 201)
    ok(admin.post("/v1/orders", json={"ref": refs["c"], "channel": "web", "customer": "ann",
                                      "lines": [{"sku": lamp, "qty": 2}]}), 201)
    return {"mug": mug, "lamp": lamp, "po": po, **refs}


def test_each_list_pages_through_everything_in_the_single_reads_shape(admin: httpx.Client) -> None:
    w = a_world(admin)
    listed = {s["sku"]: s for s in every(admin, "/v1/skus")}
    assert listed[w["mug"]] == ok(admin.get(f"/v1/skus/{w['mug']}"), 200)
    orders_seen = {o["ref"]: o for o in every(admin, "/v1/orders")}
    assert orders_seen[w["b"]] == ok(admin.get(f"/v1/orders/{w['b']}"), 200)
    pos = {p["ref"]: p for p in every(admin, "/v1/purchase-orders")}
    assert pos[w["po"]] == ok(admin.get(f"/v1/purchase-orders/{w['po']}"), 200)
    moves = every(admin, "/v1/stock/moves", sku=w["mug"])
    assert [(m["sku"], m["delta"], m["reason"]) for m in moves] == [(w["mug"], 3, "receipt")]
    assert ok(admin.get("/v1/stock/moves", params={"limit": "1000", "reason": "count"}), 200)["next"] is None


def test_order_filters_hold_on_one_line(admin: httpx.Client) -> None:
    w = a_world(admin)

    def refs(**params: str) -> set[str]:
        mine = {w["a"], w["b"], w["c"]}
        return {o["ref"] for o in every(admin, "/v1/orders", limit=50, **params)} & mine

    assert refs(sku=w["lamp"]) == {w["b"], w["c"]}
    assert refs(channel="trade") == {w["b"]}
    assert refs(customer="ann") == {w["a"], w["c"]}
    assert refs(state="ready") == {w["a"], w["b"]}  # a's 3 mugs and b's lamp from stock
    assert refs(state="awaiting_stock") == {w["b"], w["c"]}
    assert refs(state="awaiting_stock", sku=w["mug"]) == {w["b"]}
    assert refs(promise_before=later(2)) == {w["a"]}  # web promises stock tomorrow; trade pads 2 days
    assert refs(promise_before=later(4)) == {w["a"], w["b"]}
    assert refs(state="shipped") == set()


def test_po_filters(admin: httpx.Client) -> None:
    w = a_world(admin)
    ok(admin.post(f"/v1/purchase-orders/{unique('X')}/cancel"), 404)

    def refs(**params: str) -> set[str]:
        return {p["ref"] for p in every(admin, "/v1/purchase-orders", limit=50, **params)}

    assert w["po"] in refs(status="open") and w["po"] in refs(supplier="Lumen") and refs(sku=w["lamp"]) == {w["po"]}
    ok(admin.post(f"/v1/purchase-orders/{w['po']}/cancel"), 200)
    assert w["po"] in refs(status="cancelled") and w["po"] not in refs(status="open")


def test_bad_list_input_is_a_422_naming_the_field(admin: httpx.Client) -> None:
    for path, params, field in (("/v1/orders", {"limit": "0"}, "limit"), ("/v1/skus", {"after": "-1"}, "after"),
                                ("/v1/orders", {"state": "lost"}, "state"),
                                ("/v1/orders", {"promise_before": "soon"}, "promise_before"),
                                ("/v1/availability", {"skus": "A,,B"}, "skus"),
                                ("/v1/availability", {"skus": ",".join(f"S{i}" for i in range(501))}, "skus"),
                                ("/v1/availability", {"skus": "A", "channel": "nowhere"}, "channel")):
        resp = admin.get(path, params=params)
        assert resp.status_code == 422, (path, params, resp.text)
        assert field in resp.text, (path, params, resp.text)


def test_many_skus_read_as_each_single_read_and_unknown_ones_listed(admin: httpx.Client) -> None:
    w = a_world(admin)
    for channel in ("web", "shop", "trade"):
        many = ok(admin.get("/v1/availability", params={"channel": channel,
                                                         "skus": f"{w['lamp']},NOPE-1,{w['mug']},{w['lamp']}"}), 200)
        singles = [ok(admin.get(f"/v1/availability/{s}", params={"channel": channel}), 200)
                   for s in (w["lamp"], w["mug"])]
        assert (many["items"], many["unknown"]) == (singles, ["NOPE-1"])
    whole = ok(admin.get("/v1/availability", params={"skus": w["mug"]}), 200)["items"]
    assert whole == [ok(admin.get(f"/v1/availability/{w['mug']}"), 200)]


def test_a_preview_writes_nothing_and_says_what_the_change_will_do(srv: Server, admin: httpx.Client) -> None:
    w = a_world(admin)
    db = Database(srv.url)
    try:
        with db.read() as conn:
            seen = conn.execute(select(func.count()).select_from(events)).scalar_one()
        po_before = ok(admin.get(f"/v1/purchase-orders/{w['po']}"), 200)
        said = ok(admin.post(f"/v1/purchase-orders/{w['po']}/lines/1/preview", json={"expected_date": later(30)}), 200)
        assert [(c["order_ref"], c["line"], c["before"]["state"], c["after"]["promise_date"]) for c in said["lines"]] \
            == [(w["b"], 1, "awaiting_stock", later(33))]
        assert said["skus"] == [{"sku": w["mug"], "before": {"available": 2, "uncovered": 0},
                                 "after": {"available": 2, "uncovered": 0}}]
        cancel = ok(admin.post(f"/v1/purchase-orders/{w['po']}/cancel/preview"), 200)
        assert {(c["order_ref"], c["after"]["state"]) for c in cancel["lines"]} == {(w["b"], "backordered"),
                                                                                    (w["c"], "backordered")}
        ok(admin.post(f"/v1/purchase-orders/{w['po']}/receipts/preview", json={"lines": [{"line": 2, "qty": 2}]}), 200)
        assert admin.post(f"/v1/purchase-orders/{w['po']}/receipts/preview",
                          json={"lines": [{"line": 9, "qty": 2}]}).json()["field"] == "lines.0.line"
        assert ok(admin.get(f"/v1/purchase-orders/{w['po']}"), 200) == po_before
        with db.read() as conn:
            assert conn.execute(select(func.count()).select_from(events)).scalar_one() == seen
    finally:
        db.dispose()


# -- Acceptance 3: paging while orders are added -------------------------------------------------

def ten_thousand_orders(url: str, sku: str) -> None:
    """10,000 orders of one cancelled line each, as rows (a cancelled line is in nobody's plan)."""
    db = Database(url)
    now = datetime.now(UTC)
    try:
        with db.write() as conn:
            sku_id = conn.execute(select(skus.c.id).where(skus.c.sku == sku)).scalar_one()
            prefix = unique("BULK")
            conn.execute(insert(orders), [{"ref": f"{prefix}-{i:05d}", "channel": "web", "priority": 0,
                                           "customer": None, "created_at": now} for i in range(10_000)])
            ids = conn.execute(select(orders.c.id).where(orders.c.ref.like(f"{prefix}-%"))).scalars().all()
            conn.execute(insert(order_lines), [
                {"order_id": i, "line": 1, "sku_id": sku_id, "channel": "web", "priority": 0, "queued_at": now,
                 "seq": 0, "qty": 1, "qty_shipped": 0, "qty_cancelled": 1, "open": False, "allocation": [],
                 "state": "cancelled", "promise_date": None} for i in ids])
    finally:
        db.dispose()


def test_paging_while_orders_are_added_sees_each_order_once_and_none_missing(srv: Server, admin: httpx.Client) -> None:
    sku = unique("PAGE")
    ok(admin.put(f"/v1/skus/{sku}", json={"mode": "backorder", "backorder_limit": 1_000_000}), 201)
    ten_thousand_orders(srv.url, sku)
    existing = [o["ref"] for o in every(admin, "/v1/orders", limit=1000)]
    added: list[str] = []
    stop = threading.Event()

    def add_orders() -> None:
        with srv.client() as client:
            while not stop.is_set():
                ref = unique("NEW")
                ok(client.post("/v1/orders", json={"ref": ref, "channel": "web", "lines": [{"sku": sku, "qty": 1}]}),
                   201)
                added.append(ref)

    writer = threading.Thread(target=add_orders)
    writer.start()
    try:
        seen = every(admin, "/v1/orders", limit=250)
    finally:
        stop.set()
        writer.join(30)
    refs = [o["ref"] for o in seen]
    assert len(refs) == len(set(refs)), "an order was handed out twice"
    assert refs[:len(existing)] == existing, "an order that existed before paging began was missed"
    new_seen = refs[len(existing):]
    assert new_seen == added[:len(new_seen)], "orders added while paging were skipped or out of order"
    assert added, "the writer added nothing while the reader paged"
