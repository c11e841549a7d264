"""On-hand stock: every change is a row in the stock ledger, and re-plans the SKU."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, update

from allot.domain.errors import InsufficientStock, Invalid
from allot.domain.model import MAIN
from allot.services import locations
from allot.services.book import Book
from allot.store.tables import stock_levels, stock_moves


def move(conn: Connection, book: Book, delta: int, reason: str, ref: str | None = None,
         location: str = MAIN) -> None:
    """Book a ledger row; on hand never goes below zero at any location, so a removal that would is
    refused. `main` holds what the other locations do not (Book.levels): only they have a level row."""
    level = book.on_hand if location == MAIN and not book.supply.locations[1:] else book.levels().get(location, 0)
    if level + delta < 0:
        where = "" if location == MAIN else f" at {location}"
        raise InsufficientStock(f"{book.sku} has {level} on hand{where}; cannot remove {-delta}",
                                on_hand=level, location=location)
    conn.execute(insert(stock_moves).values(sku_id=book.id, delta=delta, reason=reason, ref=ref,
                                            created_at=book.now, location=location))
    if location != MAIN:
        c = stock_levels.c
        done = conn.execute(update(stock_levels).where(c.sku_id == book.id, c.location == location)
                            .values(on_hand=c.on_hand + delta)).rowcount
        if not done:
            conn.execute(insert(stock_levels).values(sku_id=book.id, location=location, on_hand=delta))
    book.on_hand += delta
    book.dirty = True


def adjust(conn: Connection, sku: str, delta: int, reason: str, now: datetime,
           location: str = MAIN) -> dict[str, Any]:
    """Receive (delta > 0) or remove (delta < 0) units of on-hand stock at a location."""
    if delta == 0:
        raise Invalid("delta", "must not be zero")
    locations.require(conn, location, field="location")
    book = Book.open(conn, [sku], now, {sku: "sku"})[sku]
    move(conn, book, delta, reason, location=location)
    book.replan({"op": "stock.adjusted", "delta": delta, "reason": reason, **_at(location)})
    book.save()
    return {"sku": sku, "delta": delta, "reason": reason, "on_hand": book.on_hand, **_at(location)}


def count(conn: Connection, sku: str, counted: int, reason: str, now: datetime,
          location: str = MAIN) -> dict[str, Any]:
    """A stock count sets on hand at a location to what was counted; the difference is booked as a move."""
    locations.require(conn, location, field="location")
    book = Book.open(conn, [sku], now, {sku: "sku"})[sku]
    delta = counted - book.levels().get(location, 0)
    if delta:
        move(conn, book, delta, reason, location=location)
        book.replan({"op": "stock.counted", "delta": delta, "reason": reason, **_at(location)})
        book.save()
    return {"sku": sku, "delta": delta, "reason": reason, "on_hand": book.on_hand, **_at(location)}


def _at(location: str) -> dict[str, str]:
    """The location named in causes and answers only when it is not `main`: with only `main`, every
    answer is what it was before locations."""
    return {} if location == MAIN else {"location": location}
