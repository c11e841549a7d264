"""What needs the operator's action today: read models for the At risk page, one page at a time in SQL.

A line awaiting its release date is covered by stock on hand (the planner says `awaiting_release`
only then): it ships on the day, so it is not at risk. A line `awaiting_stock` is promised from a
PO or made to order, and is at risk when that promise is near.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from allot.domain.consent import NEEDS_CONSENT
from allot.domain.model import State
from allot.services.common import as_utc
from allot.services.overview import OPEN_UNITS, PER_PAGE, Page, _page
from allot.store.tables import channels, order_lines, orders, skus

ol = order_lines.c


def _lines(where: Any, *order: Any) -> Any:
    return (
        select(orders.c.ref, orders.c.customer, ol.line, skus.c.sku, ol.channel, OPEN_UNITS.label("qty"),
               ol.state, ol.promise_date, ol.first_promise_date, ol.queued_at, ol.consent_status,
               ol.consent_deadline)
        .join(orders, orders.c.id == ol.order_id).join(skus, skus.c.id == ol.sku_id)
        .where(ol.open.is_(True), where).order_by(*order, ol.id)
    )


def _as_page(conn: Connection, stmt: Any, number: int) -> Page:
    rows, total, number = _page(conn, stmt, number)
    return Page([r._asdict() for r in rows], number, PER_PAGE, total)


def backordered_lines(conn: Connection, number: int = 1) -> Page:
    """Every open line short of supply, oldest in the queue first: each needs a PO, a cancel or a keep."""
    return _as_page(conn, _lines(ol.state == State.BACKORDERED.value, skus.c.sku, ol.priority.desc(),
                                 ol.queued_at, ol.seq), number)


def consent_waiting(conn: Connection, number: int = 1) -> Page:
    """Lines whose new date waits for the customer's answer, soonest deadline first, with each channel's default."""
    stmt = _lines(ol.consent_status == NEEDS_CONSENT, ol.consent_deadline).add_columns(
        channels.c.consent_default).join(channels, channels.c.name == ol.channel)
    return _as_page(conn, stmt, number)


def due_without_stock(conn: Connection, today: date, days: int, number: int = 1) -> Page:
    """Lines promised within `days` days whose units are not on hand yet (due from a PO or made to order)."""
    return _as_page(conn, _lines((ol.state == State.AWAITING_STOCK.value)
                                 & (ol.promise_date <= today + timedelta(days=days)), ol.promise_date), number)


def customers_of(conn: Connection, refs: list[str]) -> dict[str, str | None]:
    """Each order's customer, for lists of lines that name only the order."""
    if not refs:
        return {}
    rows = conn.execute(select(orders.c.ref, orders.c.customer).where(orders.c.ref.in_(refs[:1000])))
    return {r.ref: r.customer for r in rows}


def deadline_in(deadline: datetime | None, now: datetime) -> str:
    """A consent deadline in words: how long is left."""
    if deadline is None:
        return "no deadline"
    left = as_utc(deadline) - as_utc(now)
    if left.total_seconds() <= 0:
        return "passed"
    if left.days >= 1:
        return f"{left.days} day(s) left"
    return f"{max(1, int(left.total_seconds() // 3600))} hour(s) left"
