"""A refusal caught inside a batch must not leave the batch trusting a SKU whose lock it lost.

The refused request ran in a savepoint; rolling it back undid its rows and, on PostgreSQL, released
the SKU row lock it took. Found by tests/e2e/test_crash.py (PostgreSQL, two workers): another writer
then changed the SKU and the batch wrote its stale summary over it (committed 399 where the rows
said 400). `book.atomic` forgets the books the undone work opened, so the next request locks again.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Connection, select

from allot.domain.errors import AllotError, SaleRefused
from allot.services import catalog, selling, stock
from allot.services.book import BATCH, Book, atomic
from allot.services.reconcile import reconcile
from allot.store.db import Database
from allot.store.tables import skus


def a_sold_out_sku(db: Database, now: datetime) -> None:
    with db.write() as conn:
        catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)
        catalog.put_sku(conn, "HOT", {"mode": "stock"}, now)
        stock.adjust(conn, "HOT", 1, "receipt", now)
        selling.place_hold(conn, "HOT", 1, "web", 3600, now)


def answered(conn: Connection, op: Callable[[Connection], Any]) -> AllotError | None:
    """Run `op` as an idempotent request does: a refusal is caught and becomes the answer."""
    try:
        with atomic(conn):
            op(conn)
    except AllotError as refused:
        return refused
    return None


def test_a_refusal_in_a_batch_forgets_the_books_it_opened(db: Database, now: datetime) -> None:
    a_sold_out_sku(db, now)
    with db.write() as conn:
        books: dict[str, Book] = {}
        conn.info[BATCH] = books
        refused = answered(conn, lambda c: selling.place_hold(c, "HOT", 1, "web", 3600, now))
        conn.info.pop(BATCH)
    assert isinstance(refused, SaleRefused)
    assert books == {}  # its lock may be gone with the savepoint: the next request locks and reads again


def test_a_write_after_a_refusal_in_a_batch_keeps_another_writers_change(db: Database, now: datetime) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite holds its write lock for the whole transaction; the lost row lock is PostgreSQL's")
    a_sold_out_sku(db, now)
    with db.write() as conn:
        books: dict[str, Book] = {}
        conn.info[BATCH] = books
        assert answered(conn, lambda c: selling.place_hold(c, "HOT", 1, "web", 3600, now)) is not None
        with db.write() as other:  # another process: the refusal's savepoint let go of HOT's row
            stock.adjust(other, "HOT", 5, "receipt", now)
        assert answered(conn, lambda c: selling.place_hold(c, "HOT", 2, "web", 3600, now)) is None
        for book in books.values():
            book.flush()
        conn.info.pop(BATCH)
    with db.read() as conn:
        hot = conn.execute(select(skus).where(skus.c.sku == "HOT")).one()
        assert (hot.on_hand, hot.summary["reserved"]) == (6, 3)
        assert reconcile(conn, now) == []
