"""The seed case (BRIEF §2): 500 preorders on a PO of 500, the supplier ships 480 and closes the line."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, select

from allot.domain.errors import SaleRefused
from allot.services import catalog, purchasing, reports, selling
from allot.store.db import Database
from allot.store.tables import events, order_lines, orders

SKU = "AURORA-LAMP"
HANDLING = 1


def in_days(now: datetime, n: int) -> date:
    return now.date() + timedelta(days=n)


def preorder_world(conn: Connection, now: datetime) -> None:
    """A web channel and a preorder lamp released in 20 days, handled in one day."""
    catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)
    catalog.put_sku(conn, SKU, {"mode": "preorder", "release_date": in_days(now, 20), "handling_days": HANDLING},
                    now)


def place_preorders(conn: Connection, now: datetime, count: int) -> list[str]:
    """`count` one-unit web orders, one second apart: their refs in queue order."""
    refs = [f"W-{i:04d}" for i in range(1, count + 1)]
    for i, ref in enumerate(refs):
        selling.place_order(conn, ref, "web", 0, None, [{"sku": SKU, "qty": 1}], now + timedelta(seconds=i))
    return refs


def lines_by_ref(conn: Connection) -> dict[str, Any]:
    rows = conn.execute(
        select(orders.c.ref, order_lines.c.state, order_lines.c.promise_date)
        .join(orders, orders.c.id == order_lines.c.order_id)
    )
    return {r.ref: r for r in rows}


def events_after(conn: Connection, last_id: int) -> list[Any]:
    return list(conn.execute(select(events).where(events.c.id > last_id).order_by(events.c.id)))


def last_event_id(conn: Connection) -> int:
    return int(conn.execute(select(events.c.id).order_by(events.c.id.desc()).limit(1)).scalar() or 0)


def test_a_short_shipment_backorders_the_tail_and_a_second_po_repromises_it_in_queue_order(
    db: Database, now: datetime
) -> None:
    release = in_days(now, 20)
    later = now + timedelta(hours=1)
    with db.write() as conn:
        preorder_world(conn, now)
        purchasing.create(conn, "PO-1", "Lumen", [{"sku": SKU, "qty": 500, "expected_date": in_days(now, 10)}], now)
        refs = place_preorders(conn, now, 500)
    with db.read() as conn:
        before = lines_by_ref(conn)
        assert {(r.state, r.promise_date) for r in before.values()} == {("awaiting_stock", release)}
        assert reports.availability(conn, SKU, "web", now)["available"] == 0
        mark = last_event_id(conn)

    with db.write() as conn:
        purchasing.receive(conn, "PO-1", [{"line": 1, "qty": 480}], True, later)

    with db.read() as conn:
        after = lines_by_ref(conn)
        head, tail = refs[:480], refs[480:]
        assert {(after[r].state, after[r].promise_date) for r in head} == {("awaiting_release", release)}
        assert {(after[r].state, after[r].promise_date) for r in tail} == {("backordered", None)}
        numbers = reports.availability(conn, SKU, None, later)
        assert (numbers["on_hand"], numbers["incoming"], numbers["committed"]) == (480, 0, 500)
        assert numbers["available"] == -20
        assert numbers["oversold"] is True
        assert reports.availability(conn, SKU, "web", later)["available"] == -20
        news = events_after(conn, mark)
        assert [e.data["uncovered"] for e in news if e.type == "sku.oversold"] == [20]
        backordered = [e for e in news if e.type == "order_line.backordered"]
        assert sorted(e.order_ref for e in backordered) == tail
        assert all(e.data["reason"] == "uncovered" and e.data["to"] is None for e in backordered)
        on_hand_now = [e for e in news if e.type == "order_line.promise_changed"]
        assert sorted(e.order_ref for e in on_hand_now) == head  # state moved, date kept: still announced
        assert {(e.data["state_from"], e.data["state"]) for e in on_hand_now} == {
            ("awaiting_stock", "awaiting_release")}
        mark = last_event_id(conn)

    with pytest.raises(SaleRefused) as refused, db.write() as conn:  # oversold: nothing more is sold
        selling.place_order(conn, "W-LATE", "web", 0, None, [{"sku": SKU, "qty": 1}], later)
    assert refused.value.available == 0

    with db.write() as conn:  # two lines: 12 early, the rest later, so queue order decides who gets which
        purchasing.create(conn, "PO-2", "Lumen", [
            {"sku": SKU, "qty": 12, "expected_date": in_days(now, 30)},
            {"sku": SKU, "qty": 50, "expected_date": in_days(now, 40)},
        ], later)

    with db.read() as conn:
        final = lines_by_ref(conn)
        early, late = refs[480:492], refs[492:]
        assert {(final[r].state, final[r].promise_date) for r in early} == {
            ("awaiting_stock", in_days(now, 30 + HANDLING))}
        assert {(final[r].state, final[r].promise_date) for r in late} == {
            ("awaiting_stock", in_days(now, 40 + HANDLING))}
        assert all((final[r].state, final[r].promise_date) == (after[r].state, after[r].promise_date)
                   for r in refs[:480])
        moved = [e for e in events_after(conn, mark) if e.order_ref is not None]
        assert sorted(e.order_ref for e in moved) == tail
        assert {e.type for e in moved} == {"order_line.promise_changed"}
        assert {e.order_ref: e.data["to"] for e in moved} == {
            r: (in_days(now, 31) if r in early else in_days(now, 41)).isoformat() for r in tail}
        assert all(e.data["reason"] == "covered" and e.data["cause"]["po_ref"] == "PO-2" for e in moved)
        assert reports.availability(conn, SKU, None, later)["available"] == 62 - 20
