"""On-hand stock: every change is a row in the stock ledger, and re-plans the SKU."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from allot.domain.errors import InsufficientStock, Invalid
from allot.services.book import Book
from allot.store.tables import stock_moves


def move(conn: Connection, book: Book, delta: int, reason: str, ref: str | None = None) -> None:
    """Book a ledger row; on hand never goes below zero, so a removal that would is refused."""
    if book.on_hand + delta < 0:
        raise InsufficientStock(f"{book.sku} has {book.on_hand} on hand; cannot remove {-delta}",
                                on_hand=book.on_hand)
    conn.execute(insert(stock_moves).values(sku_id=book.id, delta=delta, reason=reason, ref=ref,
                                            created_at=book.now))
    book.on_hand += delta
    book.dirty = True


def adjust(conn: Connection, sku: str, delta: int, reason: str, now: datetime) -> dict[str, Any]:
    """Receive (delta > 0) or remove (delta < 0) units of on-hand stock."""
    if delta == 0:
        raise Invalid("delta", "must not be zero")
    book = Book.open(conn, [sku], now, {sku: "sku"})[sku]
    move(conn, book, delta, reason)
    book.replan({"op": "stock.adjusted", "delta": delta, "reason": reason})
    book.save()
    return {"sku": sku, "delta": delta, "reason": reason, "on_hand": book.on_hand}


def count(conn: Connection, sku: str, counted: int, reason: str, now: datetime) -> dict[str, Any]:
    """A stock count sets on hand to what was counted; the difference is booked as a move."""
    book = Book.open(conn, [sku], now, {sku: "sku"})[sku]
    delta = counted - book.on_hand
    if delta:
        move(conn, book, delta, reason)
        book.replan({"op": "stock.counted", "delta": delta, "reason": reason})
        book.save()
    return {"sku": sku, "delta": delta, "reason": reason, "on_hand": book.on_hand}
