"""The events table is the outbox: events are written in the transaction that makes the change
(`common.record`), so they exist exactly when the change does, and are then published in order.

Publishing order is given by `sequence`, not by the insert id. On PostgreSQL ids come from a
sequence while commits land in any order: a reader paging by id can pass id 10 while id 9 is still
in flight, and never see 9. So committed events get a *position* — their public id — from one
sequencer at a time, in insert-id order among the events committed so far: strictly increasing,
gap-free, and an event that commits late simply gets a later position. Two events of one order
line are written by transactions serialised by the SKU lock, so the earlier one has committed
(and has the lower id) whenever the later one is visible: positions keep per-line order.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, func, select, update

from allot.store.tables import events

if TYPE_CHECKING:
    from allot.store.db import Database

SEQUENCER_LOCK = 0x616C6C6F74_01  # PostgreSQL advisory lock: one sequencer at a time
BATCH = 1000


def behind(conn: Connection) -> bool:
    """Whether some committed event has no position yet."""
    return conn.execute(select(events.c.id).where(events.c.position.is_(None)).limit(1)).first() is not None


def sequence(conn: Connection, limit: int = BATCH) -> int:
    """Give committed events without a position the next positions, in insert order; returns how many."""
    if conn.dialect.name == "postgresql":  # SQLite serialises writers already
        conn.execute(select(func.pg_advisory_xact_lock(SEQUENCER_LOCK)))
    last = conn.execute(select(func.coalesce(func.max(events.c.position), 0))).scalar_one()
    ids = conn.execute(
        select(events.c.id).where(events.c.position.is_(None)).order_by(events.c.id).limit(limit)
    ).scalars().all()
    if ids:
        conn.execute(update(events).where(events.c.id == bindparam("_id")).values(position=bindparam("_pos")),
                     [{"_id": i, "_pos": last + n} for n, i in enumerate(ids, start=1)])
    return len(ids)


def publish(db: Database) -> int:
    """A worker's pass: number what has committed since the last one. A read first, because most
    passes find nothing and need not take the write lock."""
    with db.read() as conn:
        if not behind(conn):
            return 0
    with db.write() as conn:
        return sequence(conn)


def last_position(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(events.c.position), 0))).scalar_one())
