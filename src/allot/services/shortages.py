"""Short shipments: the uncovered tail of a SKU's queue, and what the merchant decides about it."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from allot.domain import events as kinds
from allot.domain.errors import Invalid, NotFound
from allot.domain.model import State, queue_order
from allot.services.book import Book, Entry, load_channels
from allot.services.common import Event, today
from allot.services.lines import close_units, open_qty
from allot.store.tables import order_lines, orders, skus


def backordered(conn: Connection, sku: str, now: datetime) -> dict[str, Any]:
    """Order lines short of units, each with its place in the SKU's queue (holds count too)."""
    row = conn.execute(select(skus).where(skus.c.sku == sku)).first()
    if row is None:
        raise NotFound(f"unknown SKU {sku!r}", sku=sku)
    book = Book(conn, row, load_channels(conn), now)
    queue = sorted(book.load_queue(), key=lambda e: queue_order(e.demand))
    short = [(n, e) for n, e in enumerate(queue, start=1) if not e.is_hold and e.state is State.BACKORDERED]
    details = _details(conn, [e.row_id for _, e in short])
    return {"sku": sku, "allocation_policy": row.allocation_policy, "uncovered": book.summary["uncovered"],
            "queue_length": len(queue), "lines": [_view(n, e, details[e.row_id]) for n, e in short]}


def _view(position: int, e: Entry, row: Any) -> dict[str, Any]:
    covered = sum(t.qty for t in e.takes)
    return {"position": position, "order_ref": e.order_ref, "line": e.line, "channel": e.demand.channel,
            "customer": row.customer, "priority": e.demand.priority, "queued_at": e.demand.queued_at,
            "open_qty": e.demand.qty, "covered": covered, "uncovered": e.demand.qty - covered,
            "consent_status": row.consent_status, "consent_deadline": row.consent_deadline}


def cancel(conn: Connection, sku: str, reason: str, lines: list[dict[str, Any]] | None, whole_line: bool,
           now: datetime) -> dict[str, Any]:
    """Cancel backordered lines' uncovered units (or whole lines); what they free goes down the queue."""
    book = Book.open(conn, [sku], now)[sku]
    for row in _chosen(conn, book, lines):
        qty = open_qty(row) if whole_line else open_qty(row) - sum(t["qty"] for t in row.allocation)
        close_units(conn, row, today(now), cancelled=qty)
        book.events.append(Event(kinds.ORDER_LINE_CANCELLED, sku, {"qty": qty, "reason": reason,
                                                                   "by": "short_shipment"}, row.ref, row.line))
    book.replan({"op": "backorder.cancelled", "reason": reason})
    book.save()
    return backordered(conn, sku, now)


def keep(conn: Connection, sku: str, reason: str, lines: list[dict[str, Any]] | None,
         now: datetime) -> dict[str, Any]:
    """Keep backordered lines waiting: the merchant's decision settles any consent request for good."""
    book = Book.open(conn, [sku], now)[sku]
    for row in _chosen(conn, book, lines):
        conn.execute(update(order_lines).where(order_lines.c.id == row.id)
                     .values(consent_status="kept", consent_deadline=None, agreed_promise_date=None))
        book.events.append(Event(kinds.ORDER_LINE_KEPT, sku, {"reason": reason}, row.ref, row.line))
    book.save()
    return backordered(conn, sku, now)


def _chosen(conn: Connection, book: Book, lines: list[dict[str, Any]] | None) -> list[Any]:
    """The backordered lines asked for (every one when none are named), read under the SKU lock."""
    ol = order_lines.c
    rows = {(r.ref, r.line): r for r in conn.execute(
        select(order_lines, orders.c.ref).join(orders, orders.c.id == ol.order_id)
        .where(ol.sku_id == book.id, ol.open.is_(True), ol.state == State.BACKORDERED.value)
        .order_by(ol.priority.desc(), ol.queued_at, ol.seq))}
    if lines is None:
        return list(rows.values())
    chosen = []
    for i, item in enumerate(lines):
        found = rows.get((item["order_ref"], item["line"]))
        if found is None:
            raise Invalid(f"lines.{i}", f"order {item['order_ref']!r} line {item['line']} is not backordered "
                                        f"on {book.sku}")
        chosen.append(found)
    return chosen


def _details(conn: Connection, ids: list[Any]) -> dict[Any, Any]:
    if not ids:
        return {}
    ol = order_lines.c
    rows = conn.execute(select(ol.id, ol.consent_status, ol.consent_deadline, orders.c.customer)
                        .join(orders, orders.c.id == ol.order_id).where(ol.id.in_(ids)))
    return {r.id: r for r in rows}
