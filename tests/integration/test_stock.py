"""On-hand stock (BRIEF §4 Stock): receive, remove, count; on hand never goes below zero."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from allot.domain.errors import InsufficientStock, Invalid
from allot.services import catalog, orders, reports, selling, stock
from allot.store.db import Database
from allot.store.tables import events, skus, stock_moves

SKU = "TERRA-MUG"


def mug_shop(conn: Connection, now: datetime, on_hand: int = 0) -> None:
    """A web channel and a backorder mug, handled in one day, with `on_hand` units in stock."""
    catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)
    catalog.put_sku(conn, SKU, {"mode": "backorder", "handling_days": 1}, now)
    if on_hand:
        stock.adjust(conn, SKU, on_hand, "opening stock", now)


def order(conn: Connection, now: datetime, ref: str, qty: int) -> None:
    selling.place_order(conn, ref, "web", 0, None, [{"sku": SKU, "qty": qty}], now)


def ledger(conn: Connection) -> list[int]:
    return list(conn.execute(select(stock_moves.c.delta).order_by(stock_moves.c.id)).scalars())


def on_hand(conn: Connection) -> int:
    return int(conn.execute(select(skus.c.on_hand).where(skus.c.sku == SKU)).scalar_one())


def count_events(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def line_of(conn: Connection, ref: str) -> dict[str, Any]:
    return dict(orders.get(conn, ref)["lines"][0])


def today_plus(now: datetime, n: int) -> date:
    return now.date() + timedelta(days=n)


def test_adjusting_stock_books_a_ledger_row_and_moves_on_hand(db: Database, now: datetime) -> None:
    with db.write() as conn:
        mug_shop(conn, now)
        stock.adjust(conn, SKU, 10, "opening stock", now)
        result = stock.adjust(conn, SKU, -3, "damaged", now)
    assert result["on_hand"] == 7
    with db.read() as conn:
        assert ledger(conn) == [10, -3]
        numbers = reports.availability(conn, SKU, None, now)
        assert (numbers["on_hand"], numbers["available"]) == (7, 7)


def test_a_removal_below_zero_is_refused_and_writes_nothing(db: Database, now: datetime) -> None:
    with db.write() as conn:
        mug_shop(conn, now, on_hand=5)
    with db.read() as conn:
        seen = count_events(conn)
    with pytest.raises(InsufficientStock) as refused, db.write() as conn:
        stock.adjust(conn, SKU, -6, "shrinkage", now)
    assert refused.value.extra["on_hand"] == 5
    with db.read() as conn:
        assert (on_hand(conn), ledger(conn), count_events(conn)) == (5, [5], seen)


def test_removing_every_unit_is_allowed(db: Database, now: datetime) -> None:
    with db.write() as conn:
        mug_shop(conn, now, on_hand=5)
        stock.adjust(conn, SKU, -5, "recall", now)
    with db.read() as conn:
        assert on_hand(conn) == 0


def test_a_zero_adjustment_is_invalid(db: Database, now: datetime) -> None:
    with db.write() as conn:
        mug_shop(conn, now, on_hand=5)
    with pytest.raises(Invalid) as bad, db.write() as conn:
        stock.adjust(conn, SKU, 0, "nothing", now)
    assert bad.value.field == "delta"


def test_adjusting_an_unknown_sku_is_invalid_and_names_the_field(db: Database, now: datetime) -> None:
    with db.write() as conn:
        mug_shop(conn, now)
    with pytest.raises(Invalid) as bad, db.write() as conn:
        stock.adjust(conn, "NO-SUCH", 3, "typo", now)
    assert bad.value.field == "sku"


def test_a_count_sets_on_hand_and_books_the_difference(db: Database, now: datetime) -> None:
    with db.write() as conn:
        mug_shop(conn, now, on_hand=10)
        stock.count(conn, SKU, 8, "cycle count", now)
        unchanged = stock.count(conn, SKU, 8, "recount", now)
    assert unchanged["delta"] == 0
    with db.read() as conn:
        assert (on_hand(conn), ledger(conn)) == (8, [10, -2])


def test_removing_stock_backorders_the_tail_of_the_queue_only(db: Database, now: datetime) -> None:
    with db.write() as conn:
        mug_shop(conn, now, on_hand=3)
        order(conn, now, "FIRST", 2)
        order(conn, now, "LAST", 1)
        seen = count_events(conn)
        stock.adjust(conn, SKU, -1, "broken", now)
    with db.read() as conn:
        assert (line_of(conn, "FIRST")["state"], line_of(conn, "FIRST")["promise_date"]) == (
            "ready", today_plus(now, 1))
        assert (line_of(conn, "LAST")["state"], line_of(conn, "LAST")["promise_date"]) == ("backordered", None)
        moved = list(conn.execute(select(events).where(events.c.id > seen, events.c.order_ref.is_not(None))))
        assert [(e.type, e.order_ref) for e in moved] == [("order_line.backordered", "LAST")]
        assert moved[0].data["cause"] == {"op": "stock.adjusted", "delta": -1, "reason": "broken"}


def test_receiving_stock_covers_a_backordered_line(db: Database, now: datetime) -> None:
    with db.write() as conn:
        mug_shop(conn, now, on_hand=1)
        order(conn, now, "A", 1)
        stock.adjust(conn, SKU, -1, "broken", now)
        seen = count_events(conn)
        stock.adjust(conn, SKU, 1, "found one", now)
    with db.read() as conn:
        assert line_of(conn, "A")["state"] == "ready"
        moved = list(conn.execute(select(events).where(events.c.id > seen, events.c.order_ref.is_not(None))))
        assert [(e.type, e.order_ref, e.data["reason"]) for e in moved] == [("order_line.ready", "A", "covered")]
