"""`allot reconcile`: clean on real data, loud on a planted mismatch."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from allot.demo import load
from allot.services.reconcile import reconcile
from allot.store.db import Database
from allot.store.tables import order_lines, skus


def test_the_demo_reconciles_clean(db: Database, now: datetime) -> None:
    load(db, now)
    with db.read() as conn:
        assert reconcile(conn, now) == []


def test_a_planted_on_hand_mismatch_is_reported(db: Database, now: datetime) -> None:
    load(db, now)
    with db.write() as conn:
        conn.execute(update(skus).where(skus.c.sku == "TERRA-MUG").values(on_hand=skus.c.on_hand + 3))
    with db.read() as conn:
        found = reconcile(conn, now)
    assert "TERRA-MUG: on_hand is 23, rows say 20" in found


def test_a_planted_promise_mismatch_is_reported(db: Database, now: datetime) -> None:
    load(db, now)
    with db.write() as conn:
        conn.execute(update(order_lines).where(order_lines.c.state == "awaiting_stock")
                     .values(state="backordered", promise_date=None))
    with db.read() as conn:
        found = reconcile(conn, now)
    assert found and all("plan says awaiting_stock" in f for f in found)


def test_a_planted_wake_up_time_is_reported(db: Database, now: datetime) -> None:
    load(db, now)
    with db.write() as conn:
        conn.execute(update(skus).where(skus.c.sku == "TERRA-MUG").values(wake_at=now))
    with db.read() as conn:
        found = reconcile(conn, now)
    assert found == [f"TERRA-MUG: wake_at is {now}, rows say None"]
