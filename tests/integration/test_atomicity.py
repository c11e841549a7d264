"""Bad input never half-writes (BRIEF §4: each operation atomic).

Every refused or invalid write is tried against the same small world; every table, and every
SKU's availability on every channel, must read exactly as before.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, select

from allot import demo
from allot.domain.errors import (
    AllotError,
    Conflict,
    HoldExpired,
    InsufficientStock,
    Invalid,
    NotFound,
    NotReady,
    SaleRefused,
)
from allot.services import catalog, orders, purchasing, reports, selling, stock
from allot.services.book import Book
from allot.store.db import Database
from allot.store.tables import metadata, order_lines
from allot.store.tables import orders as orders_table

MUG = "TERRA-MUG"
BOWL = "TERRA-BOWL"
CHANNELS = ("web", "amazon", "wholesale")


def in_days(now: datetime, n: int) -> date:
    return now.date() + timedelta(days=n)


@dataclass(frozen=True)
class World:
    now: datetime
    hold_id: str
    old_hold_id: str


def small_world(db: Database, now: datetime) -> World:
    """Mug: 5 on hand, PO-1 of 10 (2 received), two orders, an active and an expired hold, a quota."""
    earlier = now - timedelta(hours=1)
    with db.write() as conn:
        catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0},
                            earlier)
        catalog.put_channel(conn, "amazon", {"allow_backorder": False, "allow_preorder": False, "padding_days": 0},
                            earlier)
        catalog.put_channel(conn, "wholesale", {"allow_backorder": True, "allow_preorder": True, "padding_days": 3},
                            earlier)
        for sku in (MUG, BOWL):
            catalog.put_sku(conn, sku, {"mode": "backorder", "handling_days": 1}, earlier)
        stock.adjust(conn, MUG, 3, "opening stock", earlier)
        stock.adjust(conn, BOWL, 1, "opening stock", earlier)
        catalog.put_quota(conn, MUG, "wholesale", 3)
        purchasing.create(conn, "PO-1", None, [{"sku": MUG, "qty": 10, "expected_date": in_days(now, 10)}], earlier)
        purchasing.receive(conn, "PO-1", [{"line": 1, "qty": 2}], False, earlier)
        selling.place_order(conn, "AMZ-1", "amazon", 0, None, [{"sku": MUG, "qty": 2}], earlier)
        selling.place_order(conn, "W-1", "web", 0, None, [{"sku": MUG, "qty": 4}, {"sku": BOWL, "qty": 1}], earlier)
        old = selling.place_hold(conn, MUG, 1, "web", 60, earlier)
        held = selling.place_hold(conn, MUG, 2, "web", 7200, earlier)
        selling.place_order(conn, "B2B-1", "wholesale", 0, None, [{"sku": MUG, "qty": 1}], earlier)
    with db.write() as conn:  # the 1-minute hold has expired by `now`: tidy it, as a read would
        Book.open(conn, [MUG], now)[MUG].save()
    return World(now, held["id"], old["id"])


def snapshot(db: Database, now: datetime) -> dict[str, Any]:
    """Every row of every table, and what every channel is told about every SKU."""
    seen: dict[str, Any] = {}
    with db.read() as conn:
        for t in metadata.sorted_tables:
            seen[f"table {t.name}"] = [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
        for sku in (MUG, BOWL):
            for ch in (None, *CHANNELS):
                seen[f"availability {sku} {ch}"] = reports.availability(conn, sku, ch, now)
    return seen


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {k: {"before": before[k], "after": after[k]} for k in before if before[k] != after[k]}


def order(conn: Connection, w: World, ref: str, channel: str, *lines: dict[str, Any], priority: int = 0) -> None:
    selling.place_order(conn, ref, channel, priority, None, list(lines), w.now)


# Each bad write: what it tries, and the error it must raise.
Attempt = Callable[[Connection, World], Any]
BAD_WRITES: dict[str, tuple[Attempt, type[AllotError]]] = {
    "order_with_a_refused_second_line": (
        lambda c, w: order(c, w, "BAD", "web", {"sku": MUG, "qty": 1}, {"sku": BOWL, "qty": 5}), SaleRefused),
    "order_with_an_unknown_sku_in_line_2": (
        lambda c, w: order(c, w, "BAD", "web", {"sku": MUG, "qty": 1}, {"sku": "NOPE", "qty": 1}), Invalid),
    "order_over_quota": (lambda c, w: order(c, w, "BAD", "wholesale", {"sku": MUG, "qty": 3}), SaleRefused),
    "stock_only_order_against_a_po": (lambda c, w: order(c, w, "BAD", "amazon", {"sku": MUG, "qty": 1}), SaleRefused),
    "priority_order_that_would_uncover_a_line": (
        lambda c, w: order(c, w, "BAD", "web", {"sku": MUG, "qty": 4}, priority=9), SaleRefused),
    "order_confirming_more_than_its_hold": (
        lambda c, w: order(c, w, "BAD", "web", {"sku": MUG, "qty": 1}, {"sku": MUG, "qty": 3, "hold_id": w.hold_id}),
        Invalid),
    "order_confirming_an_expired_hold": (
        lambda c, w: order(c, w, "BAD", "web", {"sku": MUG, "qty": 1, "hold_id": w.old_hold_id}), HoldExpired),
    "order_confirming_an_unknown_hold": (
        lambda c, w: order(c, w, "BAD", "web", {"sku": MUG, "qty": 1}, {"sku": MUG, "qty": 1, "hold_id": "hold_x"}),
        NotFound),
    "order_with_a_used_ref": (lambda c, w: order(c, w, "W-1", "web", {"sku": MUG, "qty": 1}), Conflict),
    "po_with_an_unknown_sku_in_line_2": (
        lambda c, w: purchasing.create(c, "PO-2", None, [
            {"sku": MUG, "qty": 5, "expected_date": in_days(w.now, 3)},
            {"sku": "NOPE", "qty": 5, "expected_date": in_days(w.now, 3)}], w.now), Invalid),
    "po_with_a_used_ref": (
        lambda c, w: purchasing.create(c, "PO-1", None, [
            {"sku": BOWL, "qty": 5, "expected_date": in_days(w.now, 3)}], w.now), Conflict),
    "po_line_below_received": (lambda c, w: purchasing.update_line(c, "PO-1", 1, in_days(w.now, 2), 1, w.now),
                               Invalid),
    "receipt_for_a_missing_line": (
        lambda c, w: purchasing.receive(c, "PO-1", [{"line": 1, "qty": 5}, {"line": 9, "qty": 1}], True, w.now),
        Invalid),
    "over_removal": (lambda c, w: stock.adjust(c, MUG, -6, "shrinkage", w.now), InsufficientStock),
    "shipping_units_not_on_hand": (
        lambda c, w: orders.ship(c, "W-1", [{"line": 2, "qty": 1}, {"line": 1, "qty": 4}], w.now), NotReady),
    "cancelling_more_than_is_open": (
        lambda c, w: orders.cancel(c, "W-1", [{"line": 2}, {"line": 1, "qty": 5}], w.now), Invalid),
    "hold_beyond_availability": (lambda c, w: selling.place_hold(c, BOWL, 1, "web", 60, w.now), SaleRefused),
}


@pytest.mark.parametrize("case", list(BAD_WRITES))
def test_a_refused_write_changes_nothing(db: Database, now: datetime, case: str) -> None:
    attempt, error = BAD_WRITES[case]
    world = small_world(db, now)
    before = snapshot(db, now)
    with pytest.raises(error), db.write() as conn:
        attempt(conn, world)
    assert changes(before, snapshot(db, now)) == {}


def test_the_world_the_refusals_are_tried_against_is_what_they_assume(db: Database, now: datetime) -> None:
    small_world(db, now)
    with db.read() as conn:
        mug = reports.availability(conn, MUG, None, now)
        assert (mug["on_hand"], mug["incoming"], mug["committed"], mug["reserved"]) == (5, 8, 7, 2)
        assert reports.availability(conn, MUG, "wholesale", now)["available"] == 2
        assert reports.availability(conn, MUG, "amazon", now)["available"] == 0
        assert reports.availability(conn, BOWL, "web", now)["available"] == 0
        assert orders.get(conn, "W-1")["lines"][0]["state"] == "awaiting_stock"


# A service undoes its own partial work when it refuses (a savepoint), so even a caller that
# catches the refusal and carries on inside its transaction (as demo.load does) commits nothing.
@pytest.mark.parametrize("case", list(BAD_WRITES))
def test_a_refused_write_changes_nothing_even_when_the_caller_carries_on(
    db: Database, now: datetime, case: str
) -> None:
    attempt, error = BAD_WRITES[case]
    world = small_world(db, now)
    before = snapshot(db, now)
    with db.write() as conn, pytest.raises(error):
        attempt(conn, world)
    assert changes(before, snapshot(db, now)) == {}


def test_the_demo_leaves_no_order_without_lines(db: Database, now: datetime) -> None:
    demo.load(db, now)
    with db.read() as conn:
        empty = conn.execute(select(orders_table.c.ref).where(
            ~select(order_lines.c.id).where(order_lines.c.order_id == orders_table.c.id).exists())).scalars()
        assert list(empty) == []
