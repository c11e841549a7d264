"""Measuring a supply change: the preview runs the real operation and writes nothing."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from allot.services import impact, purchasing
from allot.store.db import Database
from allot.store.tables import events, po_lines
from tests.integration.test_explain import small_world


def snapshot(db: Database) -> tuple[int, list[tuple[int, object]]]:
    with db.read() as conn:
        count = conn.execute(select(func.count()).select_from(events)).scalar_one()
        lines = [tuple(r) for r in conn.execute(select(po_lines.c.qty, po_lines.c.expected_date))]
    return count, lines  # type: ignore[return-value]


def test_a_preview_reports_the_moves_and_leaves_every_row_as_it_was(db: Database, now: datetime) -> None:
    small_world(db, now)
    before = snapshot(db)
    later = now.date() + timedelta(days=24)
    seen = impact.preview(db, ["MUG"], lambda c: purchasing.update_line(c, "PO-1", 1, later, None, now), now)
    assert snapshot(db) == before
    assert sorted((c.order_ref, c.days) for c in seen.changes) == [("O-1", 14), ("O-2", 14), ("O-3", 14)]
    assert seen.later == 3 and seen.newly_backordered == 0 and seen.most_days_later == 14


def test_a_shrink_counts_the_lines_it_backorders(db: Database, now: datetime) -> None:
    small_world(db, now)
    seen = impact.preview(db, ["MUG"], lambda c: purchasing.update_line(c, "PO-1", 1, None, 1, now), now)
    assert seen.newly_backordered == 2  # O-2 and O-3 lose their PO units
    assert seen.skus[0].uncovered_after - seen.skus[0].uncovered_before == 4


def test_measuring_for_real_keeps_the_change(db: Database, now: datetime) -> None:
    small_world(db, now)
    with db.write() as conn:
        done = impact.measure(conn, ["MUG"], lambda c: purchasing.update_line(c, "PO-1", 1, None, 1, now), now)
    assert done.newly_backordered == 2
    with db.read() as conn:
        assert purchasing.get(conn, "PO-1")["lines"][0]["qty"] == 1
