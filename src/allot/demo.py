"""A realistic drop to explore: a preorder lamp on two POs that ships short, a backordered mug,
and a stock-only tote sold on a marketplace."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from allot.domain.errors import SaleRefused
from allot.services import catalog, purchasing, selling, stock
from allot.services import orders as order_service
from allot.services.book import Book
from allot.services.common import today as merchant_today
from allot.store.db import Database
from allot.store.tables import order_lines, orders, purchase_orders, skus

# The story takes STORY of simulated time (the last step is a stock count 41 minutes in); it is
# told so that its last step happens at `now`: nothing is stamped in the future.
STORY = timedelta(minutes=41)


def already_loaded(db: Database) -> bool:
    """The demo's own SKU or first PO exists: loading again would collide with it."""
    with db.read() as conn:
        lamp = conn.execute(select(skus.c.id).where(skus.c.sku == "AURORA-LAMP")).first()
        po = conn.execute(select(purchase_orders.c.id).where(purchase_orders.c.ref == "PO-1001")).first()
    return lamp is not None or po is not None


def load(db: Database, now: datetime, *, only_if_empty: bool = False) -> bool:
    """Load the demo; returns False (and changes nothing) when asked for an empty database that is not."""
    today = merchant_today(now)
    now = now - STORY
    with db.write() as conn:
        if only_if_empty and conn.execute(select(func.count()).select_from(skus)).scalar():
            return False
        catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)
        catalog.put_channel(conn, "wholesale", {"allow_backorder": True, "allow_preorder": True, "padding_days": 3},
                            now)
        catalog.put_channel(conn, "amazon", {"allow_backorder": False, "allow_preorder": False, "padding_days": 1},
                            now)
        _lamp(conn, now, today)
        _mug(conn, now, today)
        _tote(conn, now)
    return True


def _lamp(conn: Connection, now: datetime, today: date) -> None:
    catalog.put_sku(conn, "AURORA-LAMP", {"mode": "preorder", "name": "Aurora lamp (launch edition)",
                                          "release_date": today + timedelta(days=7), "handling_days": 2,
                                          "incoming_buffer": Decimal(0), "safety_stock": 0}, now)
    catalog.put_quota(conn, "AURORA-LAMP", "wholesale", 60)
    stock.adjust(conn, "AURORA-LAMP", 50, "opening stock", now)
    purchasing.create(conn, "PO-1001", "Lumen Works", [
        {"sku": "AURORA-LAMP", "qty": 300, "expected_date": today + timedelta(days=10)}], now)
    purchasing.create(conn, "PO-1002", "Lumen Works", [
        {"sku": "AURORA-LAMP", "qty": 150, "expected_date": today + timedelta(days=30)}], now)
    rng = random.Random(7)
    for i in range(1, 371):
        at = now + timedelta(seconds=i)
        selling.place_order(conn, f"W-{1000 + i}", "web", 0, f"customer{i}@example.com",
                            [{"sku": "AURORA-LAMP", "qty": rng.choice([1, 1, 1, 2])}], at)
    for i in range(1, 5):
        try:
            selling.place_order(conn, f"B2B-{i}", "wholesale", 5, f"shop{i}@example.com",
                                [{"sku": "AURORA-LAMP", "qty": 10}], now + timedelta(minutes=10 + i))
        except SaleRefused:
            break
    for i in range(1, 6):
        order_service.cancel(conn, f"W-{1000 + i * 37}", None, now + timedelta(minutes=20))
    purchasing.receive(conn, "PO-1001", [{"line": 1, "qty": 280}], True, now + timedelta(minutes=30))


def _mug(conn: Connection, now: datetime, today: date) -> None:
    catalog.put_sku(conn, "TERRA-MUG", {"mode": "backorder", "name": "Terra mug", "handling_days": 1}, now)
    stock.adjust(conn, "TERRA-MUG", 40, "opening stock", now)
    purchasing.create(conn, "PO-1003", "Clay & Co", [
        {"sku": "TERRA-MUG", "qty": 100, "expected_date": today + timedelta(days=14)}], now)
    for i in range(1, 61):
        selling.place_order(conn, f"M-{2000 + i}", "web", 0, f"mug{i}@example.com",
                            [{"sku": "TERRA-MUG", "qty": 1 + i % 2}], now + timedelta(seconds=i))
    for i in range(1, 11):
        order_service.ship(conn, f"M-{2000 + i}", [{"line": 1, "qty": 1 + i % 2}], now + timedelta(minutes=40))
    stock.adjust(conn, "TERRA-MUG", -5, "damaged in warehouse", now + timedelta(minutes=41))


def _tote(conn: Connection, now: datetime) -> None:
    catalog.put_sku(conn, "CANVAS-TOTE", {"mode": "stock", "name": "Canvas tote", "handling_days": 1}, now)
    stock.adjust(conn, "CANVAS-TOTE", 100, "opening stock", now)
    for i in range(1, 31):
        selling.place_order(conn, f"AMZ-{3000 + i}", "amazon", 0, None,
                            [{"sku": "CANVAS-TOTE", "qty": 2}], now + timedelta(seconds=i))


VOLUME_SKUS = 30


def load_volume(db: Database, now: datetime, lines: int = 10_000) -> int:
    """Grow the demo to `lines` order lines for benchmarks: most on the hot lamp, the rest on 30 more SKUs.

    Orders go in as rows in bulk (the services would take ~1 ms per order), then every touched SKU is
    re-planned from its rows, exactly as after any change, so `allot reconcile` stays clean.
    Returns the number of order lines added.
    """
    today = merchant_today(now)
    with db.write() as conn:
        missing = lines - conn.execute(select(func.count()).select_from(order_lines)).scalar_one()
        if missing <= 0:
            return 0
        # A millisecond per order line, told so that the last one is placed at `now` (none in the future).
        begin = now - timedelta(milliseconds=missing + 1000)
        names = _volume_skus(conn, begin, today)
        hot = "AURORA-LAMP"
        purchasing.create(conn, "PO-9001", "Lumen Works", [
            {"sku": hot, "qty": int(missing * 0.55), "expected_date": today + timedelta(days=45)}], begin)
        rng = random.Random(11)
        plan = [hot if rng.random() < 0.7 else rng.choice(names) for _ in range(missing)]
        _bulk_orders(conn, plan, begin + timedelta(seconds=1), rng)
        for book in Book.open(conn, set(plan), now).values():
            book.replan({"op": "volume.loaded"})
            book.save()
    return missing


def _volume_skus(conn: Connection, now: datetime, today: date) -> list[str]:
    names = [f"VOL-{i:03d}" for i in range(1, VOLUME_SKUS + 1)]
    for i, name in enumerate(names):
        catalog.put_sku(conn, name, {"mode": "backorder", "name": f"Volume item {i + 1}", "handling_days": 1}, now)
        stock.adjust(conn, name, 20 + i, "opening stock", now)
        due = today + timedelta(days=-3 if i % 10 == 0 else 5 + i)  # every tenth PO is already late
        purchasing.create(conn, f"PO-V{i + 1:03d}", "Bulk Supply Co", [{"sku": name, "qty": 60,
                                                                        "expected_date": due}], now)
    return names


def _bulk_orders(conn: Connection, plan: list[str], now: datetime, rng: random.Random) -> None:
    """Orders of one or two lines, as rows; each line takes the next place in its SKU's queue."""
    rows = {r.sku: r for r in conn.execute(select(skus).where(skus.c.sku.in_(set(plan))))}
    seq = {name: r.next_seq for name, r in rows.items()}
    order_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    i = 0
    while i < len(plan):
        ref = f"V-{100000 + len(order_rows)}"
        at = now + timedelta(milliseconds=i)
        order_rows.append({"ref": ref, "channel": "web", "priority": 0, "customer": f"vol{len(order_rows) % 2500}"
                           "@example.com", "created_at": at})
        for n in range(1, min(rng.choice([1, 1, 1, 2]), len(plan) - i) + 1):
            name = plan[i]
            line_rows.append({"ref": ref, "line": n, "sku_id": rows[name].id, "channel": "web", "priority": 0,
                              "queued_at": at, "seq": seq[name], "qty": rng.choice([1, 1, 2]), "qty_shipped": 0,
                              "qty_cancelled": 0, "open": True, "allocation": [], "state": "backordered"})
            seq[name] += 1
            i += 1
    conn.execute(insert(orders), order_rows)
    ids = {r.ref: r.id for r in conn.execute(select(orders.c.ref, orders.c.id).where(orders.c.ref.like("V-%")))}
    conn.execute(insert(order_lines), [{**{k: v for k, v in r.items() if k != "ref"}, "order_id": ids[r["ref"]]}
                                       for r in line_rows])
    last = now + timedelta(milliseconds=len(plan))
    for name, r in rows.items():
        conn.execute(update(skus).where(skus.c.id == r.id).values(next_seq=seq[name], last_queued_at=last))
