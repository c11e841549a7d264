"""The fast paths of a big re-plan store and read exactly what SQLAlchemy's per-row statements do.

`Book.load_queue` reads order lines through the driver's cursor and decodes repeated values once;
`bulk.insert_events` and `bulk.update_placements` convert values once and hand the driver plain
tuples (or COPY text on PostgreSQL). Each is compared here with the plain Core statement it
replaces, on both databases, at sizes on both sides of COPY_FROM.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, insert, select, update

from allot.domain.model import Demand, State
from allot.services.book import Book, Entry, takes_from_json
from allot.services.common import as_utc
from allot.store.bulk import COPY_FROM, insert_events, update_placements
from allot.store.db import Database
from allot.store.tables import events, order_lines, orders, skus
from tests import factories as f


def reference_lines(conn: Connection, book: Book) -> list[Entry]:
    """The open order lines as the plain Core read gave them (the code the raw read replaced)."""
    ol = order_lines.c
    rows = conn.execute(
        select(ol.id, ol.line, ol.channel, ol.priority, ol.queued_at, ol.seq, ol.allocation, ol.state,
               ol.promise_date, (ol.qty - ol.qty_shipped - ol.qty_cancelled).label("open_qty"),
               ol.qty_shipped, orders.c.ref)
        .join(orders, orders.c.id == ol.order_id)
        .where(ol.sku_id == book.id, ol.open.is_(True))
    )
    return [
        Entry(Demand(f"l:{r.id}", r.open_qty, r.channel, r.priority, as_utc(r.queued_at), r.seq, r.qty_shipped),
              r.id, takes_from_json(r.allocation), State(r.state), r.promise_date, r.ref, r.line)
        for r in rows if r.open_qty > 0
    ]


def many_lines(conn: Connection, now: datetime, count: int) -> list[int]:
    """Open lines of SKU A written in bulk, with varied times, allocations, states and dates."""
    sku_id = conn.execute(select(skus.c.id).where(skus.c.sku == "A")).scalar_one()
    conn.execute(insert(orders), [{"ref": f"B-{i}", "channel": "web", "priority": 0, "created_at": now}
                                  for i in range(count)])
    ids = dict(conn.execute(select(orders.c.ref, orders.c.id).where(orders.c.ref.like("B-%"))).all())
    allocations = [[], [{"bucket": "stock", "qty": 1}], [{"bucket": "stock", "qty": 1}, {"bucket": "po:1", "qty": 2}]]
    states = [("backordered", None), ("ready", date(2026, 11, 23)), ("awaiting_stock", date(2026, 12, 24))]
    conn.execute(insert(order_lines), [
        {"order_id": ids[f"B-{i}"], "line": 1, "sku_id": sku_id, "channel": "web", "priority": i % 3,
         "queued_at": now + timedelta(seconds=i // 7, microseconds=(i % 7) * 1000 * (i % 2)), "seq": 1000 + i,
         "qty": 3, "qty_shipped": i % 4 == 1, "qty_cancelled": 3 if i % 11 == 0 else 0, "open": i % 13 != 0,
         "allocation": allocations[i % 3], "state": states[i % 3][0], "promise_date": states[i % 3][1],
         "first_promise_date": None}
        for i in range(count)
    ])
    return list(conn.execute(select(order_lines.c.id).where(order_lines.c.sku_id == sku_id)
                             .order_by(order_lines.c.id)).scalars())


@pytest.fixture
def world(db: Database, now: datetime) -> Database:
    with db.write() as conn:
        f.channel(conn, "web", now)
        f.sku(conn, "A", now)
        f.receive(conn, "A", 3, now)
        f.po(conn, "PO-1", now, ("A", 10, date(2026, 12, 20)))
        f.order(conn, "O-1", now, ("A", 2))
        f.order(conn, "O-2", now, ("A", 5))
    return db


def raw(conn: Connection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.exec_driver_sql(sql).all()]


def test_the_raw_queue_read_gives_the_entries_the_core_read_gave(world: Database, now: datetime) -> None:
    with world.write() as conn:
        many_lines(conn, now, 60)
        book = Book.open(conn, ["A"], now)["A"]
        expected = reference_lines(conn, book)
        got = book._open_lines()
    assert len(got) > 40
    assert got == expected
    assert [e.demand.queued_at.utcoffset() for e in got] == [e.demand.queued_at.utcoffset() for e in expected]


@pytest.mark.parametrize("count", [5, COPY_FROM + 50])
def test_bulk_events_store_what_a_core_insert_stores(db: Database, now: datetime, count: int) -> None:
    shared = {"from": "2026-12-01", "to": None, "cause": {"op": "po_line.updated", "note": "tab\there\\ \"q\"\nñ"}}
    rows = [{"type": "order_line.promise_changed", "version": 1, "occurred_at": now + timedelta(microseconds=i % 2),
             "sku": "A\tB" if i % 5 == 0 else "A", "order_ref": None if i % 3 == 0 else f"O\\{i}\n",
             "line": None if i % 4 == 0 else i, "data": shared if i % 2 else {"i": i, "nested": [1, {"x": None}]}}
            for i in range(count)]
    cast = "CAST({} AS TEXT)"
    columns = f"type, version, {cast.format('occurred_at')}, sku, order_ref, line, {cast.format('data')}"
    with db.write() as conn:
        insert_events(conn, rows)
        fast = raw(conn, f"SELECT {columns} FROM events ORDER BY id")
        conn.exec_driver_sql("DELETE FROM events")
        conn.execute(insert(events), rows)
        core = raw(conn, f"SELECT {columns} FROM events ORDER BY id")
    assert len(fast) == count
    assert fast == core


@pytest.mark.parametrize("count", [5, COPY_FROM + 50])
def test_bulk_placements_store_what_a_core_update_stores(world: Database, now: datetime, count: int) -> None:
    columns = "id, CAST(allocation AS TEXT), state, CAST(promise_date AS TEXT)"
    with world.write() as conn:
        ids = many_lines(conn, now, count + 10)[:count]
        changes = [(row_id, [{"bucket": "po:1", "qty": i % 3 + 1}] if i % 4 else [],
                    "backordered" if i % 4 == 0 else "awaiting_stock",
                    None if i % 4 == 0 else date(2027, 1, 1) + timedelta(days=i % 2))
                   for i, row_id in enumerate(ids)]
        saved = conn.begin_nested()
        update_placements(conn, order_lines, [(i, json.dumps(a), s, d) for i, a, s, d in changes])
        fast = raw(conn, f"SELECT {columns} FROM order_lines ORDER BY id")
        saved.rollback()
        conn.execute(update(order_lines).where(order_lines.c.id == bindparam("_id"))
                     .values(allocation=bindparam("a"), state=bindparam("s"), promise_date=bindparam("d")),
                     [{"_id": i, "a": a, "s": s, "d": d} for i, a, s, d in changes])
        core = raw(conn, f"SELECT {columns} FROM order_lines ORDER BY id")
    assert fast == core
    assert sum(1 for row in fast if row[2] == "backordered") >= count // 4
