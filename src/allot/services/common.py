"""Small helpers shared by the services: time, events."""
from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from allot.domain.calendar import DEFAULT_ZONE, day_end, local_day
from allot.domain.events import VERSIONS
from allot.services import payments
from allot.store.bulk import insert_events


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; everything we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# The installation's time zone (ALLOT_TIMEZONE), set once at start-up by `use_zone` (create_app, the
# CLI); one per process, like the database, so every service and worker agrees on "today".
_zone = ZoneInfo(DEFAULT_ZONE)


def use_zone(zone: ZoneInfo) -> None:
    global _zone
    _zone = zone


def merchant_zone() -> ZoneInfo:
    return _zone


def today(now: datetime) -> date:
    """The merchant's date at `now`: the one "today" every service, page and worker uses."""
    return local_day(now, _zone)


def end_of_day(day: date) -> datetime:
    """The UTC moment the merchant's `day` ends (their midnight): deadlines fall there."""
    return day_end(day, _zone)


def iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


@dataclass(slots=True)
class Event:
    type: str
    sku: str | None
    data: dict[str, Any] = field(default_factory=dict)
    order_ref: str | None = None
    line: int | None = None


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Pause the cycle collector while a re-plan builds its objects.

    A 100,000-line re-plan allocates about a million objects, none of them in cycles, that live
    until it ends: the collector would walk them again and again and find nothing (0.6 s of a
    slip, measured). Reference counting still frees everything. Process-wide, so with threads
    one re-plan may end another's pause early; that only costs the time saved.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def record(conn: Connection, now: datetime, batch: Sequence[Event]) -> None:
    """Append events in the caller's transaction, so they exist exactly when the change does.

    Every type is in the catalogue (docs/events.md), which gives its schema version.
    """
    if not batch:
        return
    with no_cycle_collection():
        _insert(conn, now, batch)


def _insert(conn: Connection, now: datetime, batch: Sequence[Event]) -> None:
    insert_events(conn, payments.with_balance_due(conn, now, [
        {"type": e.type, "version": VERSIONS[e.type], "occurred_at": now, "sku": e.sku, "order_ref": e.order_ref,
         "line": e.line, "data": e.data}
        for e in batch
    ]))  # a line of a deposit or pay-on-ready order that became ready: its balance is due (payments.py)
