"""Counters agree with rows (STYLE: derive, don't duplicate). After a long, mixed run of every operation,
the kept numbers equal what the rows say, and the stored plan equals a fresh full re-plan."""
from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from allot.domain.errors import AllotError
from allot.services import catalog, orders, purchasing, reports, selling, stock
from allot.services.book import Book
from allot.store.db import Database
from allot.store.tables import holds, order_lines, po_lines, purchase_orders, skus, stock_moves

MUG, LAMP, TOTE = "TERRA-MUG", "AURORA-LAMP", "CANVAS-TOTE"
SKUS = (MUG, LAMP, TOTE)
CHANNELS = ("web", "amazon", "wholesale")


def in_days(now: datetime, n: int) -> date:
    return now.date() + timedelta(days=n)


def shop(conn: Connection, now: datetime) -> None:
    """Three channels; a backorder mug, a preorder lamp, a stock-only tote; a wholesale quota."""
    catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)
    catalog.put_channel(conn, "amazon", {"allow_backorder": False, "allow_preorder": False, "padding_days": 1}, now)
    catalog.put_channel(conn, "wholesale", {"allow_backorder": True, "allow_preorder": True, "padding_days": 3},
                        now)
    catalog.put_sku(conn, MUG, {"mode": "backorder", "handling_days": 1}, now)
    catalog.put_sku(conn, LAMP, {"mode": "preorder", "release_date": in_days(now, 5), "handling_days": 2}, now)
    catalog.put_sku(conn, TOTE, {"mode": "stock", "handling_days": 0}, now)
    catalog.put_quota(conn, MUG, "wholesale", 12)
    for sku in SKUS:
        stock.adjust(conn, sku, 6, "opening stock", now)


class Run:
    """A seeded shopkeeper doing a bit of everything, one transaction per operation."""

    def __init__(self, db: Database, now: datetime, seed: int) -> None:
        self.db, self.now, self.rng = db, now, random.Random(seed)
        self.order_refs: list[str] = []
        self.po_refs: list[str] = []
        self.hold_ids: list[str] = []
        self.n = 0
        self.accepted = 0
        self.refused = 0

    def step(self) -> None:
        self.n += 1
        self.now += timedelta(seconds=self.rng.choice([1, 5, 30, 90]))
        op = self.rng.choices(list(self.ops()), weights=[w for w, _ in self.ops().values()])[0]
        try:
            with self.db.write() as conn:
                self.ops()[op][1](conn)
            self.accepted += 1
        except AllotError:
            self.refused += 1

    def ops(self) -> dict[str, tuple[int, Callable[[Connection], Any]]]:
        return {
            "order": (10, self.order), "hold": (4, self.hold), "confirm": (3, self.confirm),
            "release": (1, self.release), "cancel": (3, self.cancel), "ship": (3, self.ship),
            "adjust": (2, self.adjust), "po": (3, self.po), "receive": (2, self.receive),
            "repo": (2, self.change_po_line), "cancel_po": (1, self.cancel_po),
        }

    def sku(self) -> str:
        return self.rng.choice(SKUS)

    def order(self, conn: Connection) -> None:
        ref = f"O-{self.n}"
        lines = [{"sku": self.sku(), "qty": self.rng.randint(1, 3)} for _ in range(self.rng.choice([1, 1, 2]))]
        priority = self.rng.choice([0, 0, 0, 5])
        selling.place_order(conn, ref, self.rng.choice(CHANNELS), priority, None, lines, self.now)
        self.order_refs.append(ref)

    def hold(self, conn: Connection) -> None:
        got = selling.place_hold(conn, self.sku(), self.rng.randint(1, 3), self.rng.choice(CHANNELS),
                                 self.rng.choice([60, 600]), self.now)
        self.hold_ids.append(got["id"])

    def confirm(self, conn: Connection) -> None:
        if not self.hold_ids:
            return
        h = selling.get_hold(conn, self.hold_ids.pop(self.rng.randrange(len(self.hold_ids))), self.now)
        qty = self.rng.randint(1, h["qty"])
        row = conn.execute(select(skus.c.sku).join(holds, holds.c.sku_id == skus.c.id)
                           .where(holds.c.id == h["id"])).scalar_one()
        ref = f"H-{self.n}"
        selling.place_order(conn, ref, h["channel"], 0, None, [{"sku": row, "qty": qty, "hold_id": h["id"]}],
                            self.now)
        self.order_refs.append(ref)

    def release(self, conn: Connection) -> None:
        if self.hold_ids:
            selling.release_hold(conn, self.hold_ids.pop(self.rng.randrange(len(self.hold_ids))), self.now)

    def cancel(self, conn: Connection) -> None:
        if not self.order_refs:
            return
        ref = self.rng.choice(self.order_refs)
        if self.rng.random() < 0.3:
            orders.cancel(conn, ref, None, self.now)
        else:
            orders.cancel(conn, ref, [{"line": 1, "qty": 1}], self.now)

    def ship(self, conn: Connection) -> None:
        if not self.order_refs:
            return
        ref = self.rng.choice(self.order_refs)
        line = orders.get(conn, ref)["lines"][0]
        ready = sum(a["qty"] for a in line["allocation"] if a["source"] == "stock")
        orders.ship(conn, ref, [{"line": 1, "qty": max(1, ready - self.rng.randint(0, 1))}], self.now)

    def adjust(self, conn: Connection) -> None:
        stock.adjust(conn, self.sku(), self.rng.choice([-4, -2, -1, 1, 3, 5]), "random", self.now)

    def po(self, conn: Connection) -> None:
        ref = f"PO-{self.n}"
        lines = [{"sku": self.rng.choice((MUG, LAMP)), "qty": self.rng.randint(3, 12),
                  "expected_date": in_days(self.now, self.rng.randint(2, 30))} for _ in range(self.rng.randint(1, 2))]
        purchasing.create(conn, ref, None, lines, self.now)
        self.po_refs.append(ref)

    def receive(self, conn: Connection) -> None:
        if self.po_refs:
            purchasing.receive(conn, self.rng.choice(self.po_refs), [{"line": 1, "qty": self.rng.randint(1, 6)}],
                               self.rng.random() < 0.4, self.now)

    def change_po_line(self, conn: Connection) -> None:
        if self.po_refs:
            ref = self.rng.choice(self.po_refs)
            if self.rng.random() < 0.5:
                purchasing.update_line(conn, ref, 1, in_days(self.now, self.rng.randint(1, 40)), None, self.now)
            else:
                purchasing.update_line(conn, ref, 1, None, self.rng.randint(0, 8), self.now)

    def cancel_po(self, conn: Connection) -> None:
        if self.po_refs:
            purchasing.cancel(conn, self.po_refs.pop(self.rng.randrange(len(self.po_refs))), self.now)


def tidy(db: Database, now: datetime) -> None:
    """What a read does first: expire holds whose time has come (GET /v1/availability)."""
    with db.write() as conn:
        for sku in SKUS:
            if reports.needs_tidy(conn, sku, now):
                Book.open(conn, [sku], now)[sku].save()


def counted_from_rows(conn: Connection, sku: str, now: datetime) -> dict[str, int]:
    sku_id = conn.execute(select(skus.c.id).where(skus.c.sku == sku)).scalar_one()
    ol, h, pl = order_lines.c, holds.c, po_lines.c
    open_units = (ol.qty - ol.qty_shipped - ol.qty_cancelled)
    remaining = func.greatest if conn.dialect.name == "postgresql" else func.max
    return {
        "on_hand": conn.execute(select(func.coalesce(func.sum(stock_moves.c.delta), 0))
                                .where(stock_moves.c.sku_id == sku_id)).scalar_one(),
        "committed": conn.execute(select(func.coalesce(func.sum(open_units), 0))
                                  .where(ol.sku_id == sku_id, ol.open.is_(True))).scalar_one(),
        "reserved": conn.execute(select(func.coalesce(func.sum(h.qty), 0))
                                 .where(h.sku_id == sku_id, h.status == "active", h.expires_at > now)).scalar_one(),
        "incoming": conn.execute(
            select(func.coalesce(func.sum(remaining(pl.qty - pl.received, 0)), 0))
            .join(purchase_orders, purchase_orders.c.id == pl.po_id)
            .where(pl.sku_id == sku_id, pl.closed.is_(False), purchase_orders.c.status == "open")).scalar_one(),
    }


def kept_counters(conn: Connection, sku: str, now: datetime) -> dict[str, int]:
    a = reports.availability(conn, sku, None, now)
    return {k: a[k] for k in ("on_hand", "committed", "reserved", "incoming")}


def stored_plan(conn: Connection) -> dict[str, Any]:
    lines = conn.execute(select(order_lines.c.id, order_lines.c.state, order_lines.c.promise_date,
                                order_lines.c.allocation).order_by(order_lines.c.id))
    live = conn.execute(select(holds.c.id, holds.c.state, holds.c.promise_date, holds.c.allocation)
                        .where(holds.c.status == "active").order_by(holds.c.id))
    summaries = conn.execute(select(skus.c.sku, skus.c.summary).order_by(skus.c.sku))
    keep = ("free", "uncovered", "committed", "reserved", "incoming", "by_channel")
    return {
        "lines": [tuple(r) for r in lines], "holds": [tuple(r) for r in live],
        "summaries": {r.sku: {k: r.summary[k] for k in keep} for r in summaries},
    }


class RolledBack(Exception):
    pass


def stored_and_replanned(db: Database, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plan as stored, and as a full re-plan of every SKU would store it (then rolled back)."""
    seen: list[dict[str, Any]] = []
    with pytest.raises(RolledBack), db.write() as conn:
        seen.append(stored_plan(conn))
        for book in Book.open(conn, SKUS, now).values():
            book.replan({"op": "check"})
            book.save()
        seen.append(stored_plan(conn))
        raise RolledBack
    return seen[0], seen[1]


@pytest.mark.parametrize("seed", [7, 2026])
def test_counters_and_the_stored_plan_agree_with_the_rows_throughout_a_mixed_run(
    db: Database, now: datetime, seed: int
) -> None:
    with db.write() as conn:
        shop(conn, now)
    run = Run(db, now, seed)
    for _ in range(120):
        run.step()
        tidy(db, run.now)
        with db.read() as conn:
            for sku in SKUS:
                assert kept_counters(conn, sku, run.now) == counted_from_rows(conn, sku, run.now), (run.n, sku)
                assert conn.execute(select(skus.c.on_hand).where(skus.c.sku == sku)).scalar_one() >= 0
        if run.n % 10 == 0:
            stored, replanned = stored_and_replanned(db, run.now)
            assert stored == replanned, run.n
    assert run.accepted > 60 and run.refused > 5  # the run did real work and met real refusals
