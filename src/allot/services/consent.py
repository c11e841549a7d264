"""Delay consent inside a SKU's write transaction (called by `Book`; it never imports it).

`review` looks at the order lines a re-plan moved: a line that became too late is asked for
consent (with a deadline), one that is no longer late has its request withdrawn. `apply_due`
applies the channel's default to requests whose deadline passed, before the plan runs, so a
cancelled line's units go to the next in the queue in that same plan. While a request is open
the line keeps its place in the queue and its allocation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from allot.domain import events as kinds
from allot.domain.consent import AGREED, NEEDS_CONSENT, too_late
from allot.domain.model import State
from allot.services.common import Event, end_of_day, iso, today
from allot.services.lines import close_units, open_qty
from allot.store.tables import channels, order_lines, orders


@dataclass(frozen=True, slots=True)
class Moved:
    """An order line whose state or promise a re-plan just changed."""

    row_id: Any
    order_ref: str
    line: int
    channel: str
    state: State
    promise_date: date | None


@dataclass(slots=True)
class Review:
    events: list[Event] = field(default_factory=list)
    earliest_deadline: datetime | None = None


CHUNK = 1000  # ids per IN list: a slip can move 100,000 lines


def review(conn: Connection, sku: str, moved: list[Moved], now: datetime, cause: dict[str, Any]) -> Review:
    """Ask for consent where a line became too late; withdraw the question where it no longer is."""
    found = Review()
    asking = _asking_channels(conn) if moved else {}
    relevant = [m for m in moved if m.channel in asking]  # most channels never ask: no more queries
    rows = _consent_states(conn, [m.row_id for m in relevant])
    changes: list[dict[str, Any]] = []
    for m in relevant:
        row, policy = rows[m.row_id], asking[m.channel]
        late = too_late(m.state, m.promise_date, row.first_promise_date, row.consent_status,
                        row.agreed_promise_date, policy.consent_after_days)
        if row.consent_status == NEEDS_CONSENT and not late:
            changes.append({"_id": m.row_id, "status": "withdrawn", "deadline": None})
            found.events.append(Event(kinds.ORDER_LINE_CONSENT_WITHDRAWN, sku,
                                      {"promise_date": iso(m.promise_date), "state": m.state.value, "cause": cause},
                                      m.order_ref, m.line))
        elif row.consent_status != NEEDS_CONSENT and late:
            deadline = end_of_day(today(now) + timedelta(days=policy.consent_window_days))
            changes.append({"_id": m.row_id, "status": NEEDS_CONSENT, "deadline": deadline})
            found.events.append(_requested(sku, m, row, policy, deadline, cause))
            if found.earliest_deadline is None or deadline < found.earliest_deadline:
                found.earliest_deadline = deadline
    if changes:
        conn.execute(update(order_lines).where(order_lines.c.id == bindparam("_id"))
                     .values(consent_status=bindparam("status"), consent_deadline=bindparam("deadline")), changes)
    return found


def _requested(sku: str, m: Moved, row: Any, policy: Any, deadline: datetime, cause: dict[str, Any]) -> Event:
    agreed = row.agreed_promise_date if row.consent_status in AGREED else None
    data = {"from": iso(agreed or row.first_promise_date), "to": iso(m.promise_date), "state": m.state.value,
            "deadline": deadline.isoformat(), "default": policy.consent_default, "cause": cause}
    return Event(kinds.ORDER_LINE_CONSENT_REQUESTED, sku, data, m.order_ref, m.line)


def apply_due(conn: Connection, sku_id: Any, sku: str, now: datetime) -> list[Event]:
    """At the deadline the channel's default applies: cancel the line, or keep it waiting."""
    ol = order_lines.c
    rows = conn.execute(
        select(order_lines, orders.c.ref, channels.c.consent_default)
        .join(orders, orders.c.id == ol.order_id).join(channels, channels.c.name == ol.channel)
        .where(ol.sku_id == sku_id, ol.open.is_(True), ol.consent_status == NEEDS_CONSENT, ol.consent_deadline <= now)
        .order_by(ol.queued_at, ol.seq)
    ).all()
    found: list[Event] = []
    for r in rows:
        data = {"default": r.consent_default, "deadline": r.consent_deadline.isoformat()}
        found.append(Event(kinds.ORDER_LINE_CONSENT_EXPIRED, sku, data, r.ref, r.line))
        if r.consent_default == "cancel":
            found.append(Event(kinds.ORDER_LINE_CANCELLED, sku, {"qty": open_qty(r), "reason": "consent_expired"},
                               r.ref, r.line))
            close_units(conn, r, today(now), cancelled=open_qty(r))
            _set(conn, r.id, consent_status="expired", consent_deadline=None)
        else:
            _set(conn, r.id, consent_status="expired", consent_deadline=None, agreed_promise_date=r.promise_date)
    return found


def next_deadline(conn: Connection, sku_id: Any) -> datetime | None:
    """The earliest open consent deadline of the SKU: the plan summary remembers it, like hold expiry."""
    ol = order_lines.c
    found: datetime | None = conn.execute(
        select(func.min(ol.consent_deadline))
        .where(ol.sku_id == sku_id, ol.open.is_(True), ol.consent_status == NEEDS_CONSENT)
    ).scalar()
    return found


def _asking_channels(conn: Connection) -> dict[str, Any]:
    """Channels that ask for consent, with their settings."""
    c = channels.c
    rows = conn.execute(select(c.name, c.consent_after_days, c.consent_window_days, c.consent_default)
                        .where(c.consent_after_days.is_not(None)))
    return {r.name: r for r in rows}


def _consent_states(conn: Connection, ids: list[Any]) -> dict[Any, Any]:
    ol = order_lines.c
    found: dict[Any, Any] = {}
    for at in range(0, len(ids), CHUNK):
        rows = conn.execute(select(ol.id, ol.first_promise_date, ol.consent_status, ol.agreed_promise_date)
                            .where(ol.id.in_(ids[at:at + CHUNK])))
        found.update((r.id, r) for r in rows)
    return found


def _set(conn: Connection, row_id: Any, **values: Any) -> None:
    conn.execute(update(order_lines).where(order_lines.c.id == row_id).values(**values))
