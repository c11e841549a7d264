"""Explaining a line: queue position in queue order, the supply covering it, its promise history."""
from __future__ import annotations

from datetime import datetime, timedelta

from allot.services import catalog, explain, keys, purchasing, selling, stock
from allot.store.db import Database
from tests.web.helpers import dashboard


def small_world(db: Database, now: datetime) -> None:
    """A backorder mug: 3 on hand, 5 on PO-1 in ten days, four orders of 2 (the last one priority 5)."""
    with db.write() as conn:
        catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 1}, now)
        catalog.put_sku(conn, "MUG", {"mode": "backorder", "handling_days": 2}, now)
        stock.adjust(conn, "MUG", 3, "receipt", now)
        purchasing.create(conn, "PO-1", None, [{"sku": "MUG", "qty": 5, "expected_date": now.date() + timedelta(days=10)}],
                          now)
        for i in range(1, 4):
            selling.place_order(conn, f"O-{i}", "web", 0, None, [{"sku": "MUG", "qty": 2}], now + timedelta(seconds=i))
        selling.place_order(conn, "VIP", "web", 5, None, [{"sku": "MUG", "qty": 2}], now + timedelta(seconds=9))


def test_a_line_counts_the_lines_ahead_of_it_in_queue_order(db: Database, now: datetime) -> None:
    small_world(db, now)
    with db.read() as conn:
        vip = explain.explain_line(conn, "VIP", 1, now)
        third = explain.explain_line(conn, "O-3", 1, now)
    assert vip["queue"] == {"position": 1, "length": 4, "lines_ahead": 0, "holds_ahead": 0, "units_ahead": 0}
    assert third["queue"]["position"] == 4 and third["queue"]["units_ahead"] == 6


def test_a_line_names_the_buckets_that_cover_it_and_how_its_date_is_made(db: Database, now: datetime) -> None:
    small_world(db, now)
    with db.read() as conn:
        second = explain.explain_line(conn, "O-2", 1, now)  # VIP 2 + O-1 1 from stock, then O-1 1 + O-2 2 from PO-1
    due = now.date() + timedelta(days=10)
    assert [(b["source"], b["po_ref"], b["qty"], b["date"]) for b in second["covered_by"]] == [("po", "PO-1", 2, due)]
    assert second["promise_date"] == due + timedelta(days=3)
    assert any("+ 2 handling day(s) + 1 channel padding day(s)" in w for w in second["why"])


def test_a_backordered_line_says_no_supply_is_left(db: Database, now: datetime) -> None:
    small_world(db, now)
    with db.write() as conn:
        purchasing.update_line(conn, "PO-1", 1, None, 2, now)
    with db.read() as conn:
        last = explain.explain_line(conn, "O-3", 1, now)
    assert last["state"] == "backordered" and last["uncovered"] == 2
    assert any("no supply left" in w for w in last["why"])


def test_the_history_shows_each_promise_and_what_moved_it(db: Database, now: datetime) -> None:
    small_world(db, now)
    with db.write() as conn:
        purchasing.update_line(conn, "PO-1", 1, now.date() + timedelta(days=17), None, now)
    with db.read() as conn:
        history = explain.explain_line(conn, "O-2", 1, now)["history"]
    first, moved = history[0], history[-1]
    assert first["type"] == "order_line.promised"
    assert moved["type"] == "order_line.promise_changed" and moved["cause"] == "po_line.updated"
    assert moved["to"] == (now.date() + timedelta(days=20)).isoformat()


def test_the_api_explains_a_line_too(db: Database, now: datetime) -> None:
    small_world(db, now)
    with db.write() as conn:
        secret = keys.create(conn, "reader", "viewer", None, now)["secret"]
    with dashboard(db, now) as client:
        answer = client.get("/v1/orders/O-1/lines/1/explain", headers={"Authorization": f"Bearer {secret}"})
        missing = client.get("/v1/orders/O-1/lines/9/explain", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200 and answer.json()["queue"]["position"] == 2
    assert missing.status_code == 404
