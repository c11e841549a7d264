"""Availability out (BRIEF §7): `availability.changed` fires exactly when a channel's numbers change.

The oracle is the availability read itself: before and after every transaction each SKU × channel
is read, and the events the transaction recorded must name exactly the pairs whose
`available` or `next_promise_date` differ, with the numbers the read gives after.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from allot.services import catalog, orders, purchasing, reports, selling, stock
from allot.services.batching import Batcher
from allot.store.db import Database
from allot.store.tables import events
from tests.integration.test_batching import run_as_one_batch

SKUS = ("MUG", "LAMP")
CHANNELS = ("web", "shop", "wholesale")
Numbers = dict[tuple[str, str], tuple[int, str | None]]


def day(now: datetime, n: int) -> date:
    return now.date() + timedelta(days=n)


def read_all(db: Database, now: datetime) -> Numbers:
    with db.read() as conn:
        found: Numbers = {}
        for sku in SKUS:
            for channel in CHANNELS:
                a = reports.availability(conn, sku, channel, now)
                promise = a["next_promise_date"]
                found[(sku, channel)] = (a["available"], promise.isoformat() if promise else None)
        return found


def last_id(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one())


def announced(db: Database, after: int) -> list[tuple[tuple[str, str], tuple[int, str | None]]]:
    with db.read() as conn:
        rows = conn.execute(select(events).where(events.c.id > after, events.c.type == "availability.changed")
                            .order_by(events.c.id)).all()
    return [((r.sku, r.data["channel"]), (r.data["available"], r.data["next_promise_date"])) for r in rows]


class World:
    """Runs each step in its own transaction and checks its events against the reads."""

    def __init__(self, db: Database, now: datetime) -> None:
        self.db, self.now = db, now
        self.fired: list[str] = []

    def step(self, name: str, op: Callable[[Connection], Any], *, at: datetime | None = None) -> int:
        when = at or self.now
        before, seen = read_all(self.db, when), last_id(self.db)
        with self.db.write() as conn:
            op(conn)
        after = read_all(self.db, when)
        got = announced(self.db, seen)
        keys = [k for k, _ in got]
        assert len(keys) == len(set(keys)), f"{name}: more than one event per SKU × channel: {got}"
        expected = {k: v for k, v in after.items() if before[k] != v}
        assert dict(got) == expected, f"{name}: announced {got}, the reads changed {expected}"
        return len(got)


def a_world(db: Database, now: datetime) -> World:
    w = World(db, now)
    with db.write() as conn:
        catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)
        catalog.put_channel(conn, "shop", {"allow_backorder": False, "allow_preorder": False, "padding_days": 0}, now)
        catalog.put_channel(conn, "wholesale", {"allow_backorder": True, "allow_preorder": True,
                                                "padding_days": 2}, now)
        for sku in SKUS:
            catalog.put_sku(conn, sku, {"mode": "backorder", "handling_days": 1}, now)
    return w


def test_every_change_announced_once_and_no_op_writes_announce_nothing(db: Database, now: datetime) -> None:
    w = a_world(db, now)
    assert w.step("stock in", lambda c: stock.adjust(c, "MUG", 5, "receipt", now)) == 3
    assert w.step("PO", lambda c: purchasing.create(c, "PO-1", None, [
        {"sku": "MUG", "qty": 10, "expected_date": day(now, 10)},
        {"sku": "LAMP", "qty": 4, "expected_date": day(now, 5)}], now)) > 0
    assert w.step("sale", lambda c: selling.place_order(c, "W-1", "web", 0, None, [{"sku": "MUG", "qty": 2}], now)) > 0
    # Same settings again: nothing moves, nothing is said.
    assert w.step("same SKU settings", lambda c: catalog.put_sku(
        c, "MUG", {"mode": "backorder", "handling_days": 1}, now)) == 0
    # A PO date move while stock still covers the next unit moves nothing for any channel.
    assert w.step("PO date, stock first", lambda c: purchasing.update_line(c, "PO-1", 1, day(now, 12), None, now)) == 0
    assert w.step("stock sold out", lambda c: selling.place_order(
        c, "W-3", "shop", 0, None, [{"sku": "MUG", "qty": 3}], now)) == 3
    # Now the PO is the next unit: web and wholesale see the date move, the stock-only shop does not.
    assert w.step("PO date", lambda c: purchasing.update_line(c, "PO-1", 1, day(now, 10), None, now)) == 2
    assert w.step("sale from the PO", lambda c: selling.place_order(
        c, "W-2", "web", 0, None, [{"sku": "MUG", "qty": 8}], now)) == 2
    assert w.step("cancel", lambda c: orders.cancel(c, "W-2", None, now)) > 0
    assert w.step("ship", lambda c: orders.ship(c, "W-1", [{"line": 1, "qty": 2}], now)) == 0
    assert w.step("receipt", lambda c: purchasing.receive(c, "PO-1", [{"line": 2, "qty": 4}], False, now)) > 0
    assert w.step("PO cancel", lambda c: purchasing.cancel(c, "PO-1", now)) > 0
    assert w.step("settings change", lambda c: catalog.put_sku(
        c, "LAMP", {"mode": "backorder", "handling_days": 3}, now)) > 0
    assert w.step("channel padding", lambda c: catalog.put_channel(
        c, "wholesale", {"allow_backorder": True, "allow_preorder": True, "padding_days": 5}, now)) > 0
    assert w.step("quota", lambda c: catalog.put_quota(c, "MUG", "shop", 1)) == 1
    assert w.step("same quota", lambda c: catalog.put_quota(c, "MUG", "shop", 1)) == 0


def test_hold_expiry_is_announced_when_time_applies_it(db: Database, now: datetime) -> None:
    w = a_world(db, now)
    w.step("stock in", lambda c: stock.adjust(c, "LAMP", 3, "receipt", now))
    assert w.step("hold", lambda c: selling.place_hold(c, "LAMP", 3, "shop", 60, now)) == 3
    later = now + timedelta(minutes=5)
    # The read after expiry re-plans (a write): that transaction announces the freed units.
    seen = last_id(db)
    reports.tidy(db, "LAMP", later)
    got = dict(announced(db, seen))
    assert got == {("LAMP", c): (3, day(now, 1).isoformat()) for c in CHANNELS
                   if c != "wholesale"} | {("LAMP", "wholesale"): (3, day(now, 3).isoformat())}


def test_a_batch_of_sales_announces_once_per_channel(db: Database, now: datetime) -> None:
    w = a_world(db, now)
    w.step("stock in", lambda c: stock.adjust(c, "MUG", 100, "receipt", now))
    seen = last_id(db)
    batcher = Batcher(db)
    try:
        sales = [lambda c: selling.place_hold(c, "MUG", 1, "web", 600, now)] * 11
        answers = run_as_one_batch(batcher, sales, now, ["MUG"] * 11)
    finally:
        batcher.close()
    assert all(isinstance(a, dict) for a in answers)
    got = announced(db, seen)
    # The first sale's batch, then the ten queued behind it as one: one event per channel each.
    first, second = dict(got[:3]), dict(got[3:])
    assert len(got) == 6
    assert first == {("MUG", "web"): (99, day(now, 1).isoformat()), ("MUG", "shop"): (99, day(now, 1).isoformat()),
                     ("MUG", "wholesale"): (99, day(now, 3).isoformat())}
    assert {k: a for k, (a, _) in second.items()} == {("MUG", c): 89 for c in CHANNELS}
