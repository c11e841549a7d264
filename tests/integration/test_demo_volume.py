"""The volume demo (benchmarks): rows in bulk, then re-planned, so every counter and promise still agrees."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from allot.demo import load, load_volume
from allot.services.reconcile import reconcile
from allot.store.db import Database
from allot.store.tables import order_lines


def test_growing_the_demo_to_ten_thousand_lines_reconciles_clean(db: Database, now: datetime) -> None:
    load(db, now)
    added = load_volume(db, now, 10_000)
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(order_lines)).scalar_one() == 10_000
        assert reconcile(conn, now) == []
    assert added > 9_000 and load_volume(db, now, 10_000) == 0
