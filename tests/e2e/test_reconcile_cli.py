"""`allot reconcile` after a broad life of the service: clean; after a planted mismatch: loud, exit 1.

The demo (a short-shipped preorder, a backorder SKU, a marketplace) is loaded with `allot demo`,
then every kind of change goes through the HTTP API: holds placed, released, confirmed whole and
in part, and left to expire; orders at several priorities; partial and whole cancels; shipments;
receipts over, under and short-closed; a PO line moved and shrunk; counts, adjustments, quotas
and a channel change that re-plans everything.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from allot.store.db import Database
from allot.store.tables import order_lines, skus
from tests.e2e.trust import DATABASES, Server, allot, database_url, ok, unique


def later(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


@pytest.fixture(params=DATABASES)
def lived_in(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    url = database_url(request.param, tmp_path)
    loaded = allot(url, "demo", cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    srv = Server(url, tmp_path)
    try:
        with srv.client() as admin:
            live_a_while(admin)
        yield srv
    finally:
        srv.stop()


def live_a_while(api: httpx.Client) -> None:
    _holds(api)
    _orders(api)
    _supply(api)
    ok(api.put("/v1/channels/wholesale", json={"allow_backorder": True, "allow_preorder": False,
                                                 "padding_days": 5}), 200)
    ok(api.put("/v1/skus/TERRA-MUG", json={"mode": "backorder", "name": "Terra mug", "handling_days": 2,
                                           "safety_stock": 2}), 200)


def _hold(api: httpx.Client, sku: str, qty: int, ttl: int = 3600) -> dict[str, Any]:
    made: dict[str, Any] = ok(api.post("/v1/holds", json={"sku": sku, "qty": qty, "channel": "web",
                                                           "ttl_seconds": ttl}), 201)
    return made


def _holds(api: httpx.Client) -> None:
    whole, part, released = (_hold(api, "TERRA-MUG", q) for q in (2, 3, 1))
    _hold(api, "CANVAS-TOTE", 4, ttl=1)  # left to expire
    ok(api.delete(f"/v1/holds/{released['id']}"), 200)
    ok(api.post("/v1/orders", json={"ref": unique("H"), "channel": "web", "lines": [
        {"sku": "TERRA-MUG", "qty": 2, "hold_id": whole["id"]}, {"sku": "TERRA-MUG", "qty": 1, "hold_id": part["id"]},
    ]}), 201)
    time.sleep(1.2)
    ok(api.get("/v1/availability/CANVAS-TOTE", params={"channel": "web"}), 200)  # expires the hold at read time


def _orders(api: httpx.Client) -> None:
    for priority in (0, 0, 10, 500):
        ok(api.post("/v1/orders", json={"ref": unique("P"), "channel": "web", "priority": priority, "lines": [
            {"sku": "TERRA-MUG", "qty": 3}, {"sku": "CANVAS-TOTE", "qty": 1}]}), 201)
    ok(api.post("/v1/orders/M-2020/cancel", json={"lines": [{"line": 1, "qty": 1}]}), 200)
    ok(api.post("/v1/orders/M-2030/cancel"), 200)
    ok(api.post("/v1/orders/AMZ-3001/shipments", json={"lines": [{"line": 1, "qty": 1}]}), 201)
    ok(api.post("/v1/orders/AMZ-3002/shipments", json={"lines": [{"line": 1, "qty": 2}]}), 201)
    ok(api.put("/v1/skus/CANVAS-TOTE/channels/amazon", json={"quota": 70}), 201)


def _supply(api: httpx.Client) -> None:
    ok(api.post("/v1/purchase-orders/PO-1003/receipts", json={"lines": [{"line": 1, "qty": 30}]}), 201)
    ok(api.patch("/v1/purchase-orders/PO-1003/lines/1", json={"expected_date": later(21), "qty": 80}), 200)
    ok(api.patch("/v1/purchase-orders/PO-1002/lines/1", json={"expected_date": later(40)}), 200)
    ok(api.post("/v1/purchase-orders/PO-1002/receipts", json={"lines": [{"line": 1, "qty": 100}],
                                                               "close_short": True}), 201)
    ok(api.post("/v1/purchase-orders", json={"ref": "PO-2001", "lines": [
        {"sku": "TERRA-MUG", "qty": 40, "expected_date": later(30)},
        {"sku": "AURORA-LAMP", "qty": 60, "expected_date": later(45)}]}), 201)
    ok(api.post("/v1/purchase-orders/PO-2001/receipts", json={"lines": [{"line": 2, "qty": 70}]}), 201)  # over
    ok(api.post("/v1/purchase-orders", json={"ref": "PO-2002", "lines": [
        {"sku": "CANVAS-TOTE", "qty": 10, "expected_date": later(5)}]}), 201)
    ok(api.post("/v1/purchase-orders/PO-2002/cancel"), 200)
    ok(api.post("/v1/stock/counts", json={"sku": "CANVAS-TOTE", "on_hand": 90, "reason": "cycle count"}), 201)
    ok(api.post("/v1/stock/adjustments", json={"sku": "AURORA-LAMP", "delta": -3, "reason": "damaged"}), 201)


def test_reconcile_is_clean_after_a_broad_life_and_loud_about_a_planted_mismatch(
    lived_in: Server, tmp_path: Path
) -> None:
    clean = allot(lived_in.url, "reconcile", cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "clean" in clean.stdout

    db = Database(lived_in.url)
    with db.write() as conn:
        conn.execute(update(skus).where(skus.c.sku == "TERRA-MUG").values(on_hand=skus.c.on_hand + 3))
    db.dispose()
    planted = allot(lived_in.url, "reconcile", cwd=tmp_path)
    assert planted.returncode == 1, planted.stdout + planted.stderr
    assert "mismatch TERRA-MUG: on_hand is" in planted.stdout


def test_reconcile_reports_each_planted_promise_it_disagrees_with(lived_in: Server, tmp_path: Path) -> None:
    db = Database(lived_in.url)
    with db.write() as conn:
        stale = conn.execute(update(order_lines).where(order_lines.c.state == "awaiting_stock")
                             .values(state="backordered", promise_date=None)).rowcount
    db.dispose()
    assert stale > 0
    found = allot(lived_in.url, "reconcile", cwd=tmp_path)
    assert found.returncode == 1
    reported = [line for line in found.stdout.splitlines() if line.startswith("mismatch")]
    assert sum("plan says awaiting_stock" in line for line in reported) == stale
