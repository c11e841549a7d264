"""Orders (BRIEF §4 Orders): place all lines or none, cancel whole/line/partial, ship only what is ready."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from allot.domain.errors import Conflict, Invalid, NotFound, NotReady, SaleRefused
from allot.services import catalog, orders, purchasing, reports, selling, stock
from allot.store.db import Database
from allot.store.tables import events, order_lines, stock_moves
from allot.store.tables import orders as orders_table

MUG = "TERRA-MUG"
BOWL = "TERRA-BOWL"
LAMP = "AURORA-LAMP"


def in_days(now: datetime, n: int) -> date:
    return now.date() + timedelta(days=n)


def shop(conn: Connection, now: datetime, mug: int = 0, bowl: int = 0) -> None:
    """A web channel; a mug and a bowl (backorder, one handling day) with that much on hand."""
    catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)
    for sku, units in ((MUG, mug), (BOWL, bowl)):
        catalog.put_sku(conn, sku, {"mode": "backorder", "handling_days": 1}, now)
        if units:
            stock.adjust(conn, sku, units, "opening stock", now)


def preorder_lamp(conn: Connection, now: datetime, release_in: int, on_hand: int) -> None:
    catalog.put_sku(conn, LAMP, {"mode": "preorder", "release_date": in_days(now, release_in), "handling_days": 1},
                    now)
    stock.adjust(conn, LAMP, on_hand, "early delivery", now)


def po(conn: Connection, now: datetime, ref: str, qty: int, days: int, sku: str = MUG) -> None:
    purchasing.create(conn, ref, None, [{"sku": sku, "qty": qty, "expected_date": in_days(now, days)}], now)


def order(conn: Connection, now: datetime, ref: str, *lines: tuple[str, int]) -> dict[str, Any]:
    selling.place_order(conn, ref, "web", 0, None, [{"sku": s, "qty": q} for s, q in lines], now)
    return orders.get(conn, ref)


def told(conn: Connection, ref: str, n: int = 1) -> tuple[str, date | None]:
    got = orders.get(conn, ref)["lines"][n - 1]
    return got["state"], got["promise_date"]


def numbers(conn: Connection, now: datetime, sku: str = MUG) -> tuple[int, int, int]:
    a = reports.availability(conn, sku, None, now)
    return a["on_hand"], a["committed"], a["available"]


def last_event(conn: Connection) -> int:
    return int(conn.execute(select(func.max(events.c.id))).scalar() or 0)


def line_events_after(conn: Connection, seen: int) -> list[tuple[str, str, int]]:
    rows = conn.execute(select(events).where(events.c.id > seen, events.c.order_ref.is_not(None))
                        .order_by(events.c.id))
    return [(r.type, r.order_ref, r.line) for r in rows]


def count(conn: Connection, table: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def short_world(conn: Connection, now: datetime) -> None:
    """FIRST holds 3 units on hand; LAST's 2 units were on a PO that got cancelled: it is backordered."""
    shop(conn, now, mug=3)
    po(conn, now, "PO-1", 2, 10)
    order(conn, now, "FIRST", (MUG, 3))
    order(conn, now, "LAST", (MUG, 2))
    purchasing.cancel(conn, "PO-1", now)


# -- placing -------------------------------------------------------------------------------------


def test_an_order_places_every_line_numbered_from_one(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, mug=5, bowl=5)
        got = order(conn, now, "A", (MUG, 2), (BOWL, 1), (MUG, 1))
    assert [(ln["line"], ln["sku"], ln["qty"], ln["state"]) for ln in got["lines"]] == [
        (1, MUG, 2, "ready"), (2, BOWL, 1, "ready"), (3, MUG, 1, "ready")]
    assert got["lines"][0]["allocation"] == [{"source": "stock", "qty": 2, "date": now.date().isoformat(),
                                                "po_ref": None, "po_line": None}]
    with db.read() as conn:
        assert (numbers(conn, now, MUG), numbers(conn, now, BOWL)) == ((5, 3, 2), (5, 1, 4))
        assert sorted(line_events_after(conn, 0)) == [
            ("order_line.promised", "A", 1), ("order_line.promised", "A", 2), ("order_line.promised", "A", 3)]


def test_an_order_line_on_a_po_shows_where_its_units_come_from(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, mug=1)
        po(conn, now, "PO-1", 5, 10)
        got = order(conn, now, "A", (MUG, 3))["lines"][0]
    assert (got["state"], got["promise_date"], got["first_promise_date"]) == (
        "awaiting_stock", in_days(now, 11), in_days(now, 11))
    assert got["allocation"] == [
        {"source": "stock", "qty": 1, "date": now.date().isoformat(), "po_ref": None, "po_line": None},
        {"source": "po", "po_ref": "PO-1", "po_line": 1, "qty": 2, "date": in_days(now, 10).isoformat()}]


def test_an_order_whose_second_line_is_refused_writes_nothing(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, mug=5, bowl=1)
    with db.read() as conn:
        before = (numbers(conn, now, MUG), numbers(conn, now, BOWL), last_event(conn))
    with pytest.raises(SaleRefused) as refused, db.write() as conn:
        order(conn, now, "A", (MUG, 2), (BOWL, 2))
    assert (refused.value.available, refused.value.extra["line"]) == (1, 2)
    with db.read() as conn:
        assert (numbers(conn, now, MUG), numbers(conn, now, BOWL), last_event(conn)) == before
        assert (count(conn, orders_table), count(conn, order_lines)) == (0, 0)


def test_an_order_with_an_unknown_sku_is_invalid_and_names_the_line(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, mug=5)
    with pytest.raises(Invalid) as bad, db.write() as conn:
        order(conn, now, "A", (MUG, 2), ("NO-SUCH", 1))
    assert bad.value.field == "lines.1.sku"
    with db.read() as conn:
        assert (count(conn, orders_table), numbers(conn, now)) == (0, (5, 0, 5))


def test_an_order_ref_is_used_only_once(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, mug=5)
        order(conn, now, "A", (MUG, 1))
    with pytest.raises(Conflict), db.write() as conn:
        order(conn, now, "A", (MUG, 1))
    with db.read() as conn:
        assert numbers(conn, now) == (5, 1, 4)


def test_an_unknown_order_is_not_found(db: Database, now: datetime) -> None:
    with db.read() as conn, pytest.raises(NotFound):
        orders.get(conn, "NOPE")
    with pytest.raises(NotFound), db.write() as conn:
        orders.cancel(conn, "NOPE", None, now)


# -- cancelling ----------------------------------------------------------------------------------


def test_cancelling_a_whole_order_frees_its_units_for_the_next_in_queue(db: Database, now: datetime) -> None:
    with db.write() as conn:
        short_world(conn, now)
        assert told(conn, "LAST") == ("backordered", None)
        seen = last_event(conn)
        got = orders.cancel(conn, "FIRST", None, now)
    assert [(ln["state"], ln["qty_cancelled"], ln["promise_date"], ln["allocation"]) for ln in got["lines"]] == [
        ("cancelled", 3, None, [])]
    with db.read() as conn:
        assert told(conn, "LAST") == ("ready", in_days(now, 1))
        assert line_events_after(conn, seen) == [("order_line.cancelled", "FIRST", 1),
                                                 ("order_line.ready", "LAST", 1)]
        assert numbers(conn, now) == (3, 2, 1)


def test_cancelling_part_of_a_line_frees_only_those_units(db: Database, now: datetime) -> None:
    with db.write() as conn:
        short_world(conn, now)
        orders.cancel(conn, "FIRST", [{"line": 1, "qty": 2}], now)
    with db.read() as conn:
        first = orders.get(conn, "FIRST")["lines"][0]
        assert (first["qty"], first["qty_cancelled"], first["state"]) == (3, 2, "ready")
        assert first["allocation"] == [{"source": "stock", "qty": 1, "date": now.date().isoformat(),
                                        "po_ref": None, "po_line": None}]
        assert told(conn, "LAST") == ("ready", in_days(now, 1))
        assert numbers(conn, now) == (3, 3, 0)


def test_cancelling_too_little_leaves_a_later_line_backordered(db: Database, now: datetime) -> None:
    with db.write() as conn:
        short_world(conn, now)
        orders.cancel(conn, "FIRST", [{"line": 1, "qty": 1}], now)
    with db.read() as conn:
        assert told(conn, "LAST") == ("backordered", None)
        assert numbers(conn, now) == (3, 4, -1)


def test_cancelling_one_line_leaves_the_others_open(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, mug=5, bowl=5)
        order(conn, now, "A", (MUG, 2), (BOWL, 3))
        got = orders.cancel(conn, "A", [{"line": 2}], now)
    assert [(ln["line"], ln["state"]) for ln in got["lines"]] == [(1, "ready"), (2, "cancelled")]
    with db.read() as conn:
        assert (numbers(conn, now, MUG), numbers(conn, now, BOWL)) == ((5, 2, 3), (5, 0, 5))


def test_cancelling_more_units_than_a_line_has_open_is_invalid(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, mug=5)
        order(conn, now, "A", (MUG, 2))
    with pytest.raises(Invalid) as bad, db.write() as conn:
        orders.cancel(conn, "A", [{"line": 1, "qty": 3}], now)
    assert bad.value.field == "lines.0.qty"
    with pytest.raises(Invalid) as bad, db.write() as conn:
        orders.cancel(conn, "A", [{"line": 7}], now)
    assert bad.value.field == "lines.0.line"
    with db.read() as conn:
        assert numbers(conn, now) == (5, 2, 3)


def test_cancelling_a_line_that_already_shipped_announces_nothing(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, mug=5)
        order(conn, now, "A", (MUG, 2))
        orders.ship(conn, "A", [{"line": 1, "qty": 2}], now)
        seen = last_event(conn)
    try:
        with db.write() as conn:
            orders.cancel(conn, "A", [{"line": 1}], now)
    except (Invalid, Conflict):
        pass  # refusing is as good as a no-op
    with db.read() as conn:
        assert told(conn, "A") == ("shipped", in_days(now, 1))
        assert line_events_after(conn, seen) == []


# -- shipping ------------------------------------------------------------------------------------


def test_only_units_on_hand_can_be_shipped(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, mug=2)
        po(conn, now, "PO-1", 5, 10)
        order(conn, now, "A", (MUG, 4))
    with pytest.raises(NotReady) as refused, db.write() as conn:
        orders.ship(conn, "A", [{"line": 1, "qty": 3}], now)
    assert refused.value.extra["ready"] == 2
    with db.read() as conn:
        assert (numbers(conn, now), count(conn, stock_moves)) == ((2, 4, 3), 1)


def test_shipping_reduces_on_hand_and_leaves_the_rest_of_the_line_in_the_queue(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, mug=2)
        po(conn, now, "PO-1", 5, 10)
        order(conn, now, "A", (MUG, 4))
        got = orders.ship(conn, "A", [{"line": 1, "qty": 2}], now)["lines"][0]
    assert (got["qty_shipped"], got["state"], got["promise_date"]) == (2, "awaiting_stock", in_days(now, 11))
    assert [a["source"] for a in got["allocation"]] == ["po"]
    with db.read() as conn:
        assert numbers(conn, now) == (0, 2, 3)
        assert list(conn.execute(select(stock_moves.c.delta, stock_moves.c.reason).order_by(stock_moves.c.id))) == [
            (2, "opening stock"), (-2, "shipment")]
    with db.write() as conn:
        purchasing.receive(conn, "PO-1", [{"line": 1, "qty": 5}], False, now)
        assert told(conn, "A") == ("ready", in_days(now, 1))
        done = orders.ship(conn, "A", [{"line": 1, "qty": 2}], now)["lines"][0]
    assert (done["qty_shipped"], done["state"]) == (4, "shipped")
    with db.read() as conn:
        assert numbers(conn, now) == (3, 0, 3)


def test_a_shipped_line_cannot_ship_again(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, mug=5)
        order(conn, now, "A", (MUG, 2))
        orders.ship(conn, "A", [{"line": 1, "qty": 2}], now)
    with pytest.raises(NotReady), db.write() as conn:
        orders.ship(conn, "A", [{"line": 1, "qty": 1}], now)
    with db.read() as conn:
        assert numbers(conn, now) == (3, 0, 3)


def test_a_preorder_cannot_ship_before_its_release_date(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now)
        preorder_lamp(conn, now, release_in=5, on_hand=3)
        order(conn, now, "A", (LAMP, 2))
        assert told(conn, "A") == ("awaiting_release", in_days(now, 5))
    with pytest.raises(NotReady) as refused, db.write() as conn:
        orders.ship(conn, "A", [{"line": 1, "qty": 1}], now + timedelta(days=4))
    assert refused.value.extra["ready"] == 0
    released = now + timedelta(days=5)
    with db.write() as conn:
        got = orders.ship(conn, "A", [{"line": 1, "qty": 2}], released)["lines"][0]
    assert (got["state"], got["qty_shipped"]) == ("shipped", 2)
    with db.read() as conn:
        assert numbers(conn, released, LAMP) == (1, 0, 1)
