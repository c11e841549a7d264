"""Small factories that build a world through the services, one call per fact of the story."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from allot.services import catalog, orders, purchasing, selling, stock
from allot.services.common import Event, record
from allot.store.db import Database
from allot.store.tables import events


def channel(conn: Connection, name: str, now: datetime, **settings: Any) -> None:
    catalog.put_channel(conn, name, {"allow_backorder": True, "allow_preorder": True, "padding_days": 0,
                                     **settings}, now)


def sku(conn: Connection, name: str, now: datetime, **settings: Any) -> None:
    catalog.put_sku(conn, name, {"mode": "backorder", "handling_days": 0, **settings}, now)


def po(conn: Connection, ref: str, now: datetime, *lines: tuple[str, int, date]) -> None:
    purchasing.create(conn, ref, None, [{"sku": s, "qty": q, "expected_date": d} for s, q, d in lines], now)


def order(conn: Connection, ref: str, now: datetime, *lines: tuple[str, int], channel: str = "web",
          priority: int = 0) -> dict[str, Any]:
    selling.place_order(conn, ref, channel, priority, None, [{"sku": s, "qty": q} for s, q in lines], now)
    placed: dict[str, Any] = orders.get(conn, ref)
    return placed


def receive(conn: Connection, name: str, qty: int, now: datetime) -> None:
    stock.adjust(conn, name, qty, "receipt", now)


def line(conn: Connection, ref: str, n: int = 1) -> dict[str, Any]:
    found: dict[str, Any] = orders.get(conn, ref)["lines"][n - 1]
    return found


def note(db: Database, now: datetime, *types: str) -> None:
    """Record bare events in one committed transaction."""
    with db.write() as conn:
        record(conn, now, [Event(t, "X") for t in types])


def event_types(conn: Connection) -> list[str]:
    return list(conn.execute(select(events.c.type).order_by(events.c.id)).scalars())
