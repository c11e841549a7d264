"""A realistic drop to explore: a preorder lamp on two POs that ships short, a backordered mug,
and a stock-only tote sold on a marketplace."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from allot.domain.errors import SaleRefused
from allot.services import catalog, orders, purchasing, selling, stock
from allot.store.db import Database
from allot.store.tables import skus


def load(db: Database, now: datetime, *, only_if_empty: bool = False) -> bool:
    """Load the demo; returns False (and changes nothing) when asked for an empty database that is not."""
    with db.write() as conn:
        if only_if_empty and conn.execute(select(func.count()).select_from(skus)).scalar():
            return False
        today = now.date()
        catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)
        catalog.put_channel(conn, "wholesale", {"allow_backorder": True, "allow_preorder": True, "padding_days": 3},
                            now)
        catalog.put_channel(conn, "amazon", {"allow_backorder": False, "allow_preorder": False, "padding_days": 1},
                            now)
        _lamp(conn, now, today)
        _mug(conn, now, today)
        _tote(conn, now)
    return True


def _lamp(conn, now, today):  # type: ignore[no-untyped-def]
    catalog.put_sku(conn, "AURORA-LAMP", {"mode": "preorder", "name": "Aurora lamp (launch edition)",
                                          "release_date": today + timedelta(days=7), "handling_days": 2,
                                          "incoming_buffer": Decimal("0"), "safety_stock": 0}, now)
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
        orders.cancel(conn, f"W-{1000 + i * 37}", None, now + timedelta(minutes=20))
    purchasing.receive(conn, "PO-1001", [{"line": 1, "qty": 280}], True, now + timedelta(minutes=30))


def _mug(conn, now, today):  # type: ignore[no-untyped-def]
    catalog.put_sku(conn, "TERRA-MUG", {"mode": "backorder", "name": "Terra mug", "handling_days": 1}, now)
    stock.adjust(conn, "TERRA-MUG", 40, "opening stock", now)
    purchasing.create(conn, "PO-1003", "Clay & Co", [
        {"sku": "TERRA-MUG", "qty": 100, "expected_date": today + timedelta(days=14)}], now)
    for i in range(1, 61):
        selling.place_order(conn, f"M-{2000 + i}", "web", 0, f"mug{i}@example.com",
                            [{"sku": "TERRA-MUG", "qty": 1 + i % 2}], now + timedelta(seconds=i))
    for i in range(1, 11):
        orders.ship(conn, f"M-{2000 + i}", [{"line": 1, "qty": 1 + i % 2}], now + timedelta(minutes=40))
    stock.adjust(conn, "TERRA-MUG", -5, "damaged in warehouse", now + timedelta(minutes=41))


def _tote(conn, now):  # type: ignore[no-untyped-def]
    catalog.put_sku(conn, "CANVAS-TOTE", {"mode": "stock", "name": "Canvas tote", "handling_days": 1}, now)
    stock.adjust(conn, "CANVAS-TOTE", 100, "opening stock", now)
    for i in range(1, 31):
        selling.place_order(conn, f"AMZ-{3000 + i}", "amazon", 0, None,
                            [{"sku": "CANVAS-TOTE", "qty": 2}], now + timedelta(seconds=i))
