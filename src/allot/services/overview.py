"""Read models for the dashboard: paginated lists that stay fast however long the queue grows.

Every list is one page of rows chosen in SQL (never the whole table loaded and sliced), and
SKU figures come from the plan summary the fast path keeps, not from re-planning.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, case, func, literal, or_, select, union_all

from allot.domain import planner
from allot.domain.model import MAIN, Source
from allot.domain.planner import Plan
from allot.services.book import Book, load_channels, takes_from_json
from allot.services.reports import ANY_CHANNEL
from allot.store.tables import events, holds, order_lines, orders, po_lines, purchase_orders, skus

PER_PAGE = 50
OPEN_UNITS = order_lines.c.qty - order_lines.c.qty_shipped - order_lines.c.qty_cancelled


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page


def clamp_page(number: int, total: int, per_page: int = PER_PAGE) -> int:
    return min(max(1, number), max(1, math.ceil(total / per_page)))


def _page(conn: Connection, stmt: Select[Any], number: int, per_page: int = PER_PAGE) -> tuple[list[Any], int, int]:
    total = conn.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    number = clamp_page(number, total, per_page)
    rows = list(conn.execute(stmt.limit(per_page).offset((number - 1) * per_page)).all())
    return rows, total, number


# -- SKUs -------------------------------------------------------------------------------------

def sku_figures(book: Book) -> dict[str, Any]:
    """The five numbers of one SKU, for any channel, read from its plan summary."""
    s = book.summary
    view = planner.view(book.supply, Plan({}, s["free"], s["uncovered"]), ANY_CHANNEL.name, book.today)
    return {"sku": book.sku, "name": book.row.name, "mode": book.row.mode, "on_hand": book.on_hand,
            "incoming": s["incoming"], "committed": s["committed"], "reserved": s["reserved"],
            "available": view.available, "uncovered": s["uncovered"], "oversold": s["uncovered"] > 0,
            "next_promise_date": view.next_promise_date if view.available >= 1 else None,
            "timeline": view.timeline}


def _books(conn: Connection, rows: Sequence[Any], now: datetime) -> list[Book]:
    rules = load_channels(conn)
    rules[ANY_CHANNEL.name] = ANY_CHANNEL
    return [Book(conn, r, rules, now) for r in rows]


def sku_page(conn: Connection, now: datetime, q: str = "", mode: str = "", number: int = 1) -> Page:
    """SKUs matching a search (SKU or name) and a mode, by SKU, one page at a time."""
    stmt = select(skus).order_by(skus.c.sku)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(skus.c.sku).like(like), func.lower(skus.c.name).like(like)))
    if mode:
        stmt = stmt.where(skus.c.mode == mode)
    rows, total, number = _page(conn, stmt, number)
    return Page([sku_figures(b) for b in _books(conn, rows, now)], number, PER_PAGE, total)


def sku_book(conn: Connection, sku: str, now: datetime) -> Book | None:
    row = conn.execute(select(skus).where(skus.c.sku == sku)).first()
    return _books(conn, [row], now)[0] if row is not None else None


def oversold_skus(conn: Connection, now: datetime, number: int = 1) -> Page:
    """SKUs with customers no supply covers. The flag lives in the summary, so this reads every SKU row."""
    found = [f for f in (sku_figures(b) for b in _books(conn, conn.execute(select(skus).order_by(skus.c.sku)).all(),
                                                         now)) if f["oversold"]]
    number = clamp_page(number, len(found))
    start = (number - 1) * PER_PAGE
    return Page(found[start:start + PER_PAGE], number, PER_PAGE, len(found))


def supply_demand(book: Book) -> list[dict[str, Any]]:
    """Cumulative supply and cumulative allocated demand at each bucket date (the ATP chart's points).

    Demand at a date is the units the plan has taken from buckets dated up to then; units no
    bucket covers are the gap at the end. Everything comes from the summary: no queue is read.
    """
    free = book.summary["free"]
    by_day: dict[date, list[int]] = {}
    for b in book.supply.buckets:
        day = max(b.date, book.today)
        capacity = max(0, b.capacity)
        used = capacity - free.get(b.key, capacity)
        acc = by_day.setdefault(day, [0, 0])
        acc[0] += capacity
        acc[1] += used
    points, supply, demand = [], 0, 0
    for day in sorted(by_day):
        supply += by_day[day][0]
        demand += by_day[day][1]
        points.append({"date": day, "supply": supply, "demand": demand})
    if not points:
        points.append({"date": book.today, "supply": 0, "demand": 0})
    return points


def queue_page(conn: Connection, sku_id: int, now: datetime, number: int = 1) -> Page:
    """One page of a SKU's queue in queue order: open order lines and active holds."""
    ol, h = order_lines.c, holds.c
    lines = (
        select(ol.priority, ol.queued_at, ol.seq, literal("order").label("kind"), orders.c.ref, ol.line,
               ol.channel, OPEN_UNITS.label("qty"), ol.state, ol.promise_date, ol.allocation,
               orders.c.customer)
        .join(orders, orders.c.id == ol.order_id).where(ol.sku_id == sku_id, ol.open.is_(True))
    )
    active = (
        select(h.priority, h.queued_at, h.seq, literal("hold").label("kind"), h.id.label("ref"),
               literal(None).label("line"), h.channel, h.qty, h.state, h.promise_date, h.allocation,
               literal(None).label("customer"))
        .where(h.sku_id == sku_id, h.status == "active", h.expires_at > now)
    )
    both = union_all(lines, active).subquery()
    stmt = select(both).order_by(both.c.priority.desc(), both.c.queued_at, both.c.seq)
    rows, total, number = _page(conn, stmt, number)
    first = (number - 1) * PER_PAGE
    items = [{"position": first + i + 1, "kind": r.kind, "ref": r.ref, "line": r.line, "channel": r.channel,
              "priority": r.priority, "qty": r.qty, "state": r.state, "promise_date": r.promise_date,
              "customer": r.customer, "takes": takes_from_json(r.allocation)} for i, r in enumerate(rows)]
    return Page(items, number, PER_PAGE, total)


def sku_pos(conn: Connection, sku_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The SKU's PO lines, open ones first, soonest first."""
    p, pl = purchase_orders.c, po_lines.c
    rows = conn.execute(
        select(p.ref, p.supplier, p.status, pl.line, pl.qty, pl.received, pl.closed, pl.expected_date)
        .join(purchase_orders, p.id == pl.po_id).where(pl.sku_id == sku_id)
        .order_by(pl.closed, pl.expected_date, p.id, pl.line).limit(limit)
    ).all()
    return [{**r._asdict(), "remaining": 0 if r.closed else max(0, r.qty - r.received)} for r in rows]


def recent_events(conn: Connection, sku: str, limit: int = 20) -> list[dict[str, Any]]:
    rows = conn.execute(select(events).where(events.c.sku == sku).order_by(events.c.id.desc()).limit(limit))
    return [{"id": r.id, "type": r.type, "occurred_at": r.occurred_at, "order_ref": r.order_ref, "line": r.line,
             "data": r.data} for r in rows]


# -- purchase orders ----------------------------------------------------------------------------

def po_page(conn: Connection, today: date, status: str = "", number: int = 1) -> Page:
    """Purchase orders, newest first, with their units still to come and their earliest due date."""
    p, pl = purchase_orders.c, po_lines.c
    open_left = func.sum(case((pl.closed.is_(True), 0), (pl.qty > pl.received, pl.qty - pl.received), else_=0))
    stmt = (
        select(p.id, p.ref, p.supplier, p.status, p.created_at, func.count(pl.id).label("lines"),
               func.sum(pl.qty).label("ordered"), func.sum(pl.received).label("received"),
               open_left.label("remaining"), func.min(pl.expected_date).label("first_due"))
        .join(po_lines, pl.po_id == p.id).group_by(p.id, p.ref, p.supplier, p.status, p.created_at)
        .order_by(p.id.desc())
    )
    if status:
        stmt = stmt.where(p.status == status)
    rows, total, number = _page(conn, stmt, number)
    items = [{**r._asdict(), "overdue": r.status == "open" and (r.remaining or 0) > 0 and r.first_due < today}
             for r in rows]
    return Page(items, number, PER_PAGE, total)


def overdue_po_lines(conn: Connection, today: date, number: int = 1) -> Page:
    """Open PO lines whose expected date has passed with units still to come."""
    p, pl = purchase_orders.c, po_lines.c
    stmt = (
        select(p.ref, p.supplier, pl.line, skus.c.sku, pl.qty, pl.received, pl.expected_date)
        .join(purchase_orders, p.id == pl.po_id).join(skus, skus.c.id == pl.sku_id)
        .where(p.status == "open", pl.closed.is_(False), pl.qty > pl.received, pl.expected_date < today)
        .order_by(pl.expected_date, p.id, pl.line)
    )
    rows, total, number = _page(conn, stmt, number)
    items = [{**r._asdict(), "remaining": r.qty - r.received, "days_late": (today - r.expected_date).days}
             for r in rows]
    return Page(items, number, PER_PAGE, total)


# -- orders -------------------------------------------------------------------------------------

def order_page(conn: Connection, q: str = "", number: int = 1) -> Page:
    """Orders whose ref or customer contains `q`, newest first, each with its lines' states."""
    o = orders.c
    stmt = select(o.id, o.ref, o.channel, o.customer, o.priority, o.created_at).order_by(o.id.desc())
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(o.ref).like(like), func.lower(o.customer).like(like)))
    rows, total, number = _page(conn, stmt, number)
    lines: dict[int, list[Any]] = {}
    if rows:
        ol = order_lines.c
        for r in conn.execute(
            select(ol.order_id, ol.line, skus.c.sku, ol.qty, ol.state, ol.promise_date)
            .join(skus, skus.c.id == ol.sku_id).where(ol.order_id.in_([r.id for r in rows])).order_by(ol.line)
        ):
            lines.setdefault(r.order_id, []).append(r._asdict())
    return Page([{**r._asdict(), "lines": lines.get(r.id, [])} for r in rows], number, PER_PAGE, total)


# -- at risk ------------------------------------------------------------------------------------

def due_not_ready(conn: Connection, today: date, days: int, number: int = 1) -> Page:
    """Open lines promised within `days` days that are not ready to ship."""
    return _lines_page(conn, and_(order_lines.c.state != "ready",
                                  order_lines.c.promise_date <= today + timedelta(days=days)), number)


def ready_but_late(conn: Connection, today: date, number: int = 1) -> Page:
    """Ready lines whose promise date has passed: the units are here, the shipping is late."""
    return _lines_page(conn, and_(order_lines.c.state == "ready", order_lines.c.promise_date < today), number)


def _lines_page(conn: Connection, where: Any, number: int) -> Page:
    ol = order_lines.c
    stmt = (
        select(orders.c.ref, orders.c.customer, ol.line, skus.c.sku, ol.channel, OPEN_UNITS.label("qty"),
               ol.state, ol.promise_date)
        .join(orders, orders.c.id == ol.order_id).join(skus, skus.c.id == ol.sku_id)
        .where(ol.open.is_(True), where).order_by(ol.promise_date, ol.id)
    )
    rows, total, number = _page(conn, stmt, number)
    return Page([r._asdict() for r in rows], number, PER_PAGE, total)


def bucket_label(book: Book, key: str) -> str:
    """A bucket in words: on hand, a PO line, a transfer or made to order (and where, if not `main`)."""
    for b in book.supply.buckets:
        if b.key == key:
            if b.source is Source.STOCK:
                words = "on hand"
            elif b.source is Source.PO:
                words = f"{b.po_ref}/{b.po_line}"
            elif b.source is Source.TRANSFER:
                words = f"transfer {b.po_ref}"
            else:
                words = "made to order"
            return words if b.location == MAIN else f"{words} at {b.location}"  # locations (migration 0010)
    return key
