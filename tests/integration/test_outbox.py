"""The events table is the outbox: events exist exactly when their change committed, and the feed
hands them out by position — strictly increasing, never skipping one that committed late."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from allot.services import outbox, reports
from allot.services.common import Event, record
from allot.store.db import Database
from allot.store.tables import events
from tests.conftest import need_postgres, reset_postgres
from tests.factories import channel, note, order, po, sku


def feed(db: Database, after: int, limit: int = 100) -> dict[str, Any]:
    """What GET /v1/events does: publish what has committed, then read a page."""
    with db.write() as conn:
        outbox.sequence(conn)
    with db.read() as conn:
        page: dict[str, Any] = reports.event_page(conn, after, limit)
    return page


def test_the_feed_pages_by_cursor_with_strictly_increasing_ids(db: Database, now: datetime) -> None:
    note(db, now, "sku.oversold", "hold.expired", "sku.oversold")
    note(db, now, "purchase_order.updated", "hold.expired")

    first = feed(db, after=0, limit=3)
    second = feed(db, after=first["next"], limit=3)
    third = feed(db, after=second["next"], limit=3)

    ids = [e["id"] for e in first["events"] + second["events"]]
    assert ids == [1, 2, 3, 4, 5]
    assert [e["type"] for e in first["events"]] == ["sku.oversold", "hold.expired", "sku.oversold"]
    assert third == {"events": [], "next": 5}
    assert all(e["version"] == 1 for e in first["events"])


def test_a_rolled_back_operation_emits_no_event(db: Database, now: datetime) -> None:
    with db.write() as conn:
        channel(conn, "web", now)
        sku(conn, "TEE", now)
        po(conn, "PO-1", now, ("TEE", 10, now.date() + timedelta(days=5)))
    with db.read() as conn:
        before = conn.execute(select(events.c.id)).scalars().all()

    with pytest.raises(RuntimeError), db.write() as conn:
        order(conn, "W-1", now, ("TEE", 4))
        raise RuntimeError("the request failed after the order was written")

    with db.read() as conn:
        assert conn.execute(select(events.c.id)).scalars().all() == before
    assert all(e["type"] != "order_line.promised" for e in feed(db, 0)["events"])


@pytest.fixture
def pg() -> Database:
    need_postgres()
    return reset_postgres()


def test_an_event_that_commits_after_a_later_one_is_not_skipped(pg: Database, now: datetime) -> None:
    """Transaction A writes its event first (lower id) but commits last. A reader paging by id would
    pass A's id before A commits and never see it; paging by position it sees A next."""
    late = pg.engine.connect()
    late_tx = late.begin()
    record(late, now, [Event("sku.oversold", "A")])
    note(pg, now, "sku.oversold")  # B: a higher id, committed first

    first = feed(pg, after=0)
    assert [e["sku"] for e in first["events"]] == ["X"]
    late_tx.commit()
    late.close()
    second = feed(pg, after=first["next"])

    assert [e["sku"] for e in second["events"]] == ["A"]
    assert second["events"][0]["id"] == first["next"] + 1
    with pg.read() as conn:
        ids = dict(conn.execute(select(events.c.sku, events.c.id)).all())
    assert ids["A"] < ids["X"]  # the case that loses an event when paging by insert id
    pg.dispose()


def test_concurrent_writers_and_readers_lose_and_repeat_nothing(pg: Database, now: datetime) -> None:
    """Many writers commit in every order while a reader pages the feed: every event once, in order."""
    writers, per_writer = 6, 25
    done = threading.Event()
    seen: list[int] = []

    def write(n: int) -> None:
        for i in range(per_writer):
            with pg.write() as conn:
                record(conn, now, [Event("sku.oversold", f"W{n}", {"i": i}), Event("hold.expired", f"W{n}")])

    def read() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            page = feed(pg, after=cursor, limit=7)
            seen.extend(e["id"] for e in page["events"])
            cursor = page["next"]
            if finished and not page["events"]:
                return

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    reader = threading.Thread(target=read)
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join(timeout=60)

    assert seen == list(range(1, writers * per_writer * 2 + 1))
    pg.dispose()
