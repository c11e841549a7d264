"""Purchase orders: incoming supply with expected dates. Every change re-plans the SKUs it touches."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from allot.domain.errors import Conflict, Invalid, NotFound
from allot.domain.model import MAIN
from allot.services import history, locations
from allot.services.book import Book, save_all
from allot.services.common import Event, iso, today
from allot.services.stock import move
from allot.store.tables import po_lines, purchase_orders, skus


def create(conn: Connection, ref: str, supplier: str | None, lines: list[dict[str, Any]],
           now: datetime, location: str = MAIN) -> dict[str, Any]:
    """Record a PO delivering to a location; its lines are numbered 1..n in the order given."""
    locations.require(conn, location, field="location")
    if conn.execute(select(purchase_orders.c.id).where(purchase_orders.c.ref == ref)).first():
        raise Conflict(f"purchase order {ref!r} already exists", ref=ref)
    fields = {ln["sku"]: f"lines.{i}.sku" for i, ln in reversed(list(enumerate(lines)))}
    books = Book.open(conn, fields, now, fields)
    po_id = conn.execute(
        insert(purchase_orders).values(ref=ref, supplier=supplier, status="open", created_at=now,
                                       location=location)
        .returning(purchase_orders.c.id)
    ).scalar_one()
    conn.execute(insert(po_lines), [
        {"po_id": po_id, "line": n, "sku_id": books[ln["sku"]].id, "qty": ln["qty"], "received": 0,
         "closed": False, "expected_date": ln["expected_date"]}
        for n, ln in enumerate(lines, start=1)
    ])
    _replan(books, {"op": "purchase_order.created", "po_ref": ref}, ref)
    return get(conn, ref)


def update_line(conn: Connection, ref: str, n: int, expected_date: date | None, qty: int | None,
                now: datetime) -> dict[str, Any]:
    """Move a line's date or change its quantity, never below what was already received."""
    _, line = _line(conn, ref, n)
    books = Book.open(conn, [_sku_of(conn, line.sku_id)], now)
    po, line = _line(conn, ref, n)  # read again under the SKU lock: it serialises writes to the line
    if po.status != "open":
        raise Conflict(f"purchase order {ref!r} is {po.status}", ref=ref)
    if qty is not None and qty < line.received:
        raise Invalid("qty", f"{line.received} already received; qty cannot go below that")
    changes: dict[str, Any] = {}
    if expected_date is not None:
        changes["expected_date"] = expected_date
        changes |= history.expected_moved(line, expected_date)
    if qty is not None:
        changes["qty"] = qty
        changes["closed"] = line.closed or qty <= line.received
    conn.execute(update(po_lines).where(po_lines.c.id == line.id).values(**changes))
    _close_if_done(conn, po.id)
    cause = {"op": "po_line.updated", "po_ref": ref, "po_line": n,
             "expected_date": {"from": iso(line.expected_date), "to": iso(expected_date or line.expected_date)},
             "qty": {"from": line.qty, "to": qty if qty is not None else line.qty}}
    _replan(books, cause, ref)
    return get(conn, ref)


def receive(conn: Connection, ref: str, lines: list[dict[str, Any]], close_short: bool,
            now: datetime) -> dict[str, Any]:
    """Book received units into on hand; `close_short` says the supplier sends no more of those lines."""
    po = _po(conn, ref)
    sku_of = {r.line: _sku_of(conn, r.sku_id) for r in conn.execute(select(po_lines).where(po_lines.c.po_id == po.id))}
    for i, item in enumerate(lines):
        if item["line"] not in sku_of:
            raise Invalid(f"lines.{i}.line", f"purchase order {ref!r} has no line {item['line']}")
    books = Book.open(conn, {sku_of[item["line"]] for item in lines}, now)
    po = _po(conn, ref)  # read again under the SKU locks: they serialise receipts
    if po.status != "open":
        raise Conflict(f"purchase order {ref!r} is {po.status}", ref=ref)
    rows = {r.line: r for r in conn.execute(select(po_lines).where(po_lines.c.po_id == po.id))}
    received = {n: r.received for n, r in rows.items()}
    for item in lines:
        n = item["line"]
        received[n] += item["qty"]
        move(conn, books[sku_of[n]], item["qty"], "po_receipt", f"{ref}/{n}", po.location)
        history.received(conn, rows[n], po.supplier, item["qty"], today(now))
    for n in {item["line"] for item in lines}:
        closed = rows[n].closed or close_short or received[n] >= rows[n].qty
        conn.execute(update(po_lines).where(po_lines.c.id == rows[n].id).values(received=received[n], closed=closed))
    _close_if_done(conn, po.id)
    _replan(books, {"op": "purchase_order.received", "po_ref": ref, "close_short": close_short}, ref)
    return get(conn, ref)


def cancel(conn: Connection, ref: str, now: datetime) -> dict[str, Any]:
    """Nothing more will arrive on this PO; what was received stays on hand."""
    po = _po(conn, ref)
    sku_ids = conn.execute(select(po_lines.c.sku_id).where(po_lines.c.po_id == po.id)).scalars()
    books = Book.open(conn, {_sku_of(conn, s) for s in sku_ids}, now)
    if _po(conn, ref).status == "cancelled":
        return get(conn, ref)
    conn.execute(update(po_lines).where(po_lines.c.po_id == po.id).values(closed=True))
    conn.execute(update(purchase_orders).where(purchase_orders.c.id == po.id).values(status="cancelled"))
    _replan(books, {"op": "purchase_order.cancelled", "po_ref": ref}, ref)
    return get(conn, ref)


def get(conn: Connection, ref: str) -> dict[str, Any]:
    po = _po(conn, ref)
    rows = conn.execute(
        select(po_lines, skus.c.sku).join(skus, skus.c.id == po_lines.c.sku_id)
        .where(po_lines.c.po_id == po.id).order_by(po_lines.c.line)
    )
    return {
        "ref": po.ref, "supplier": po.supplier, "status": po.status, "created_at": po.created_at,
        "location": po.location,
        "lines": [{"line": r.line, "sku": r.sku, "qty": r.qty, "received": r.received, "closed": r.closed,
                   "remaining": 0 if r.closed else max(0, r.qty - r.received), "expected_date": r.expected_date}
                  for r in rows],
    }


def list_refs(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(select(purchase_orders.c.ref).order_by(purchase_orders.c.id.desc()).limit(limit))
    return [get(conn, r.ref) for r in rows]


def _replan(books: dict[str, Book], cause: dict[str, Any], ref: str) -> None:
    for book in books.values():
        book.replan(cause)
        book.events.append(Event("purchase_order.updated", book.sku, {"po_ref": ref, "cause": cause}))
    save_all(books.values())


def _close_if_done(conn: Connection, po_id: int) -> None:
    """A PO whose every line is closed (received in full, or closed short) is closed."""
    if all(conn.execute(select(po_lines.c.closed).where(po_lines.c.po_id == po_id)).scalars()):
        conn.execute(update(purchase_orders).where(purchase_orders.c.id == po_id).values(status="closed"))


def _po(conn: Connection, ref: str) -> Any:
    po = conn.execute(select(purchase_orders).where(purchase_orders.c.ref == ref)).first()
    if po is None:
        raise NotFound(f"unknown purchase order {ref!r}", ref=ref)
    return po


def _line(conn: Connection, ref: str, n: int) -> tuple[Any, Any]:
    po = _po(conn, ref)
    line = conn.execute(select(po_lines).where(po_lines.c.po_id == po.id, po_lines.c.line == n)).first()
    if line is None:
        raise NotFound(f"purchase order {ref!r} has no line {n}", ref=ref, line=n)
    return po, line


def _sku_of(conn: Connection, sku_id: int) -> str:
    return str(conn.execute(select(skus.c.sku).where(skus.c.id == sku_id)).scalar_one())
