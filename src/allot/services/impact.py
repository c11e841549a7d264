"""What a supply change does to customers' promises, measured by running it: for real, or as a preview.

A preview runs the real service operation inside a write transaction, reads the events it
recorded, and rolls back: the planner and the rules are exactly the ones a confirm will use,
and nothing is written.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from allot.services.reports import availability
from allot.store.db import Database
from allot.store.tables import events, skus

Op = Callable[[Connection], Any]


@dataclass(frozen=True, slots=True)
class LineChange:
    order_ref: str
    line: int
    sku: str
    state_from: str
    state_to: str
    date_from: date | None
    date_to: date | None

    @property
    def days(self) -> int | None:
        """How many days later (negative: earlier) the promise moved; None when either side has no date."""
        if self.date_from is None or self.date_to is None:
            return None
        return (self.date_to - self.date_from).days

    @property
    def backordered(self) -> bool:
        return self.state_to == "backordered" and self.state_from != "backordered"


@dataclass(frozen=True, slots=True)
class SkuDelta:
    sku: str
    available_before: int
    available_after: int
    uncovered_before: int
    uncovered_after: int


@dataclass(frozen=True, slots=True)
class Impact:
    changes: list[LineChange] = field(default_factory=list)
    skus: list[SkuDelta] = field(default_factory=list)

    @property
    def later(self) -> int:
        return sum(1 for c in self.changes if (c.days or 0) > 0)

    @property
    def earlier(self) -> int:
        return sum(1 for c in self.changes if (c.days or 0) < 0)

    @property
    def newly_backordered(self) -> int:
        return sum(1 for c in self.changes if c.backordered)

    @property
    def newly_covered(self) -> int:
        return sum(1 for c in self.changes if c.state_from == "backordered" and c.state_to != "backordered")

    @property
    def most_days_later(self) -> int:
        return max((c.days or 0 for c in self.changes), default=0)


class _Undo(Exception):
    def __init__(self, impact: Impact) -> None:
        super().__init__("preview: roll back")
        self.impact = impact


def preview(db: Database, names: Iterable[str], op: Op, now: datetime) -> Impact:
    """Run `op` and report which lines change promise; roll everything back."""
    try:
        with db.write() as conn:
            raise _Undo(measure(conn, names, op, now))
    except _Undo as undone:
        return undone.impact


def measure(conn: Connection, names: Iterable[str], op: Op, now: datetime) -> Impact:
    """Run `op` in the caller's transaction and report the promise changes it recorded on these SKUs.

    The SKUs are locked first, so every event on them after the cursor is this operation's.
    """
    wanted = sorted(set(names))
    conn.execute(select(skus.c.id).where(skus.c.sku.in_(wanted)).order_by(skus.c.sku).with_for_update())
    cursor = conn.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one()
    before = {n: (availability(conn, n, None, now)["available"], _uncovered(conn, n)) for n in wanted}
    op(conn)
    after = {n: (availability(conn, n, None, now)["available"], _uncovered(conn, n)) for n in wanted}
    rows = conn.execute(
        select(events).where(events.c.id > cursor, events.c.sku.in_(wanted), events.c.order_ref.is_not(None),
                             events.c.type.in_(LINE_CHANGES)).order_by(events.c.id)
    ).all()
    deltas = [SkuDelta(n, before[n][0], after[n][0], before[n][1], after[n][1]) for n in wanted]
    return Impact(fold(rows), deltas)


LINE_CHANGES = ("order_line.promise_changed", "order_line.backordered", "order_line.ready")


def _uncovered(conn: Connection, sku: str) -> int:
    summary = conn.execute(select(skus.c.summary).where(skus.c.sku == sku)).scalar_one()
    return int(summary.get("uncovered", 0))


def fold(rows: Iterable[Any]) -> list[LineChange]:
    """One change per line: where it started and where it ended, if it moved more than once."""
    seen: dict[tuple[str, int], LineChange] = {}
    for r in rows:
        key = (r.order_ref, r.line)
        first = seen.get(key)
        seen[key] = LineChange(
            r.order_ref, r.line, r.sku,
            first.state_from if first else r.data.get("state_from", ""), r.data.get("state", ""),
            first.date_from if first else _day(r.data.get("from")), _day(r.data.get("to")),
        )
    return [c for c in seen.values() if (c.state_from, c.date_from) != (c.state_to, c.date_to)]


def _day(raw: str | None) -> date | None:
    return date.fromisoformat(raw) if raw else None
