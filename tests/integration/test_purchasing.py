"""Purchase orders (BRIEF §4 POs): create, change a line, receive (partial, over, short), cancel."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from allot.domain.errors import Conflict, Invalid, NotFound
from allot.services import catalog, orders, purchasing, reports, selling, stock
from allot.store.db import Database
from allot.store.tables import events, purchase_orders

MUG = "TERRA-MUG"
BOWL = "TERRA-BOWL"


def in_days(now: datetime, n: int) -> date:
    return now.date() + timedelta(days=n)


def pottery(conn: Connection, now: datetime) -> None:
    """A web channel and two backorder SKUs, each handled in one day, nothing in stock."""
    catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)
    for sku in (MUG, BOWL):
        catalog.put_sku(conn, sku, {"mode": "backorder", "handling_days": 1}, now)


def po(conn: Connection, now: datetime, ref: str, qty: int, days: int, sku: str = MUG) -> dict[str, Any]:
    return purchasing.create(conn, ref, "Clay & Co", [{"sku": sku, "qty": qty, "expected_date": in_days(now, days)}],
                             now)


def one_unit_orders(conn: Connection, now: datetime, count: int, sku: str = MUG) -> list[str]:
    refs = [f"W-{i}" for i in range(1, count + 1)]
    for ref in refs:
        selling.place_order(conn, ref, "web", 0, None, [{"sku": sku, "qty": 1}], now)
    return refs


def promises(conn: Connection, refs: list[str]) -> list[tuple[str, date | None]]:
    return [(ln["state"], ln["promise_date"]) for ln in (orders.get(conn, r)["lines"][0] for r in refs)]


def numbers(conn: Connection, now: datetime, sku: str = MUG) -> tuple[int, int, int]:
    a = reports.availability(conn, sku, None, now)
    return a["on_hand"], a["incoming"], a["available"]


def line_events_after(conn: Connection, seen: int) -> list[Any]:
    return list(conn.execute(
        select(events).where(events.c.id > seen, events.c.order_ref.is_not(None)).order_by(events.c.id)))


def last_event(conn: Connection) -> int:
    return int(conn.execute(select(func.max(events.c.id))).scalar() or 0)


def test_a_purchase_order_numbers_its_lines_from_one_and_counts_as_incoming(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        made = purchasing.create(conn, "PO-1", "Clay & Co", [
            {"sku": BOWL, "qty": 5, "expected_date": in_days(now, 7)},
            {"sku": MUG, "qty": 10, "expected_date": in_days(now, 7)},
            {"sku": MUG, "qty": 4, "expected_date": in_days(now, 14)},
        ], now)
    assert [(ln["line"], ln["sku"], ln["qty"], ln["remaining"]) for ln in made["lines"]] == [
        (1, BOWL, 5, 5), (2, MUG, 10, 10), (3, MUG, 4, 4)]
    assert made["status"] == "open"
    with db.read() as conn:
        assert numbers(conn, now, MUG) == (0, 14, 14)
        assert numbers(conn, now, BOWL) == (0, 5, 5)


def test_a_purchase_order_with_an_unknown_sku_is_invalid_and_names_the_line(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
    with pytest.raises(Invalid) as bad, db.write() as conn:
        purchasing.create(conn, "PO-1", None, [
            {"sku": MUG, "qty": 5, "expected_date": in_days(now, 7)},
            {"sku": "NO-SUCH", "qty": 5, "expected_date": in_days(now, 7)},
        ], now)
    assert bad.value.field == "lines.1.sku"  # the second entry of the `lines` array, as a 422 names it
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(purchase_orders)).scalar_one() == 0
        assert numbers(conn, now) == (0, 0, 0)


def test_a_purchase_order_ref_is_used_only_once(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-1", 10, 7)
    with pytest.raises(Conflict), db.write() as conn:
        po(conn, now, "PO-1", 99, 3, sku=BOWL)
    with db.read() as conn:
        assert numbers(conn, now, BOWL) == (0, 0, 0)
        assert purchasing.get(conn, "PO-1")["lines"][0]["qty"] == 10


def test_moving_a_line_date_repromises_its_orders_and_says_why(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-1", 10, 7)
        refs = one_unit_orders(conn, now, 3)
        seen = last_event(conn)
        purchasing.update_line(conn, "PO-1", 1, in_days(now, 28), None, now)
    with db.read() as conn:
        assert promises(conn, refs) == [("awaiting_stock", in_days(now, 29))] * 3
        moved = line_events_after(conn, seen)
        assert [(e.type, e.order_ref) for e in moved] == [("order_line.promise_changed", r) for r in refs]
        for e in moved:
            assert (e.data["from"], e.data["to"], e.data["reason"]) == (
                in_days(now, 8).isoformat(), in_days(now, 29).isoformat(), "later")
            assert e.data["cause"]["op"] == "po_line.updated"
            assert (e.data["cause"]["po_ref"], e.data["cause"]["po_line"]) == ("PO-1", 1)
            assert e.data["cause"]["expected_date"] == {"from": in_days(now, 7).isoformat(),
                                                        "to": in_days(now, 28).isoformat()}


def test_an_earlier_date_brings_promises_forward(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-1", 10, 20)
        refs = one_unit_orders(conn, now, 2)
        seen = last_event(conn)
        purchasing.update_line(conn, "PO-1", 1, in_days(now, 5), None, now)
    with db.read() as conn:
        assert promises(conn, refs) == [("awaiting_stock", in_days(now, 6))] * 2
        assert {e.data["reason"] for e in line_events_after(conn, seen)} == {"earlier"}


def test_lowering_a_line_quantity_backorders_the_tail_of_its_queue(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-1", 5, 7)
        refs = one_unit_orders(conn, now, 5)
        purchasing.update_line(conn, "PO-1", 1, None, 3, now)
    with db.read() as conn:
        assert promises(conn, refs) == [("awaiting_stock", in_days(now, 8))] * 3 + [("backordered", None)] * 2
        assert numbers(conn, now) == (0, 3, -2)


def test_a_line_quantity_never_goes_below_what_was_received(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-1", 10, 7)
        purchasing.receive(conn, "PO-1", [{"line": 1, "qty": 4}], False, now)
    with pytest.raises(Invalid) as bad, db.write() as conn:
        purchasing.update_line(conn, "PO-1", 1, None, 3, now)
    assert bad.value.field == "qty"
    with db.write() as conn:
        line = purchasing.update_line(conn, "PO-1", 1, None, 4, now)["lines"][0]
    assert (line["qty"], line["received"], line["remaining"], line["closed"]) == (4, 4, 0, True)
    with db.read() as conn:
        assert numbers(conn, now) == (4, 0, 4)


def test_a_po_whose_last_open_line_is_cut_to_what_arrived_is_closed(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-1", 10, 7)
        purchasing.receive(conn, "PO-1", [{"line": 1, "qty": 4}], False, now)
        got = purchasing.update_line(conn, "PO-1", 1, None, 4, now)
    assert (got["lines"][0]["closed"], got["status"]) == (True, "closed")


def test_changing_a_line_of_an_unknown_purchase_order_is_not_found(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-1", 10, 7)
    with pytest.raises(NotFound), db.write() as conn:
        purchasing.update_line(conn, "PO-9", 1, in_days(now, 9), None, now)
    with pytest.raises(NotFound), db.write() as conn:
        purchasing.update_line(conn, "PO-1", 2, in_days(now, 9), None, now)


def test_a_partial_receipt_moves_units_from_incoming_to_on_hand(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-1", 10, 7)
        refs = one_unit_orders(conn, now, 6)
        got = purchasing.receive(conn, "PO-1", [{"line": 1, "qty": 4}], False, now)
    assert (got["status"], got["lines"][0]["received"], got["lines"][0]["remaining"]) == ("open", 4, 6)
    with db.read() as conn:
        assert numbers(conn, now) == (4, 6, 4)
        assert promises(conn, refs) == [("ready", in_days(now, 1))] * 4 + [("awaiting_stock", in_days(now, 8))] * 2


def test_a_receipt_beyond_the_line_quantity_adds_the_extra_to_on_hand(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-1", 10, 7)
        got = purchasing.receive(conn, "PO-1", [{"line": 1, "qty": 12}], False, now)
    line = got["lines"][0]
    assert (got["status"], line["received"], line["remaining"], line["closed"]) == ("closed", 12, 0, True)
    with db.read() as conn:
        assert numbers(conn, now) == (12, 0, 12)


def test_closing_short_makes_the_remainder_zero_and_backorders_the_tail(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-1", 10, 7)
        refs = one_unit_orders(conn, now, 10)
        got = purchasing.receive(conn, "PO-1", [{"line": 1, "qty": 7}], True, now)
    assert (got["status"], got["lines"][0]["remaining"], got["lines"][0]["closed"]) == ("closed", 0, True)
    with db.read() as conn:
        assert numbers(conn, now) == (7, 0, -3)
        assert promises(conn, refs) == [("ready", in_days(now, 1))] * 7 + [("backordered", None)] * 3


def test_a_receipt_for_a_line_the_po_does_not_have_is_invalid(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-1", 10, 7)
    with pytest.raises(Invalid) as bad, db.write() as conn:
        purchasing.receive(conn, "PO-1", [{"line": 1, "qty": 1}, {"line": 2, "qty": 1}], False, now)
    assert bad.value.field == "lines.1.line"
    with db.read() as conn:
        assert numbers(conn, now) == (0, 10, 10)


def test_cancelling_a_purchase_order_backorders_what_it_promised_and_keeps_what_arrived(
    db: Database, now: datetime
) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-1", 10, 7)
        refs = one_unit_orders(conn, now, 4)
        purchasing.receive(conn, "PO-1", [{"line": 1, "qty": 2}], False, now)
        seen = last_event(conn)
        got = purchasing.cancel(conn, "PO-1", now)
    assert (got["status"], got["lines"][0]["remaining"]) == ("cancelled", 0)
    with db.read() as conn:
        assert numbers(conn, now) == (2, 0, -2)
        assert promises(conn, refs) == [("ready", in_days(now, 1))] * 2 + [("backordered", None)] * 2
        moved = line_events_after(conn, seen)
        assert [(e.type, e.order_ref) for e in moved] == [("order_line.backordered", r) for r in refs[2:]]
        assert {e.data["cause"]["op"] for e in moved} == {"purchase_order.cancelled"}


def test_a_cancelled_purchase_order_takes_no_more_receipts_or_changes(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-1", 10, 7)
        purchasing.cancel(conn, "PO-1", now)
    with pytest.raises(Conflict), db.write() as conn:
        purchasing.receive(conn, "PO-1", [{"line": 1, "qty": 1}], False, now)
    with pytest.raises(Conflict), db.write() as conn:
        purchasing.update_line(conn, "PO-1", 1, in_days(now, 9), None, now)
    with db.read() as conn:
        assert numbers(conn, now) == (0, 0, 0)


def test_purchase_orders_due_the_same_day_are_used_in_creation_order(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-B", 1, 7)
        po(conn, now, "PO-A", 1, 7)
        refs = one_unit_orders(conn, now, 2)
    with db.read() as conn:
        used = [orders.get(conn, r)["lines"][0]["allocation"][0]["po_ref"] for r in refs]
    assert used == ["PO-B", "PO-A"]


def test_the_earlier_purchase_order_is_used_first_whatever_the_creation_order(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-LATE", 1, 20)
        po(conn, now, "PO-SOON", 1, 5)
        refs = one_unit_orders(conn, now, 2)
    with db.read() as conn:
        assert promises(conn, refs) == [("awaiting_stock", in_days(now, 6)), ("awaiting_stock", in_days(now, 21))]


def test_stock_on_hand_is_used_before_any_purchase_order(db: Database, now: datetime) -> None:
    with db.write() as conn:
        pottery(conn, now)
        po(conn, now, "PO-1", 5, 3)
        stock.adjust(conn, MUG, 1, "found", now)
        refs = one_unit_orders(conn, now, 2)
    with db.read() as conn:
        assert promises(conn, refs) == [("ready", in_days(now, 1)), ("awaiting_stock", in_days(now, 4))]
