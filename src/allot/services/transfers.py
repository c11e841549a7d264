"""Transfers between locations: the units leave `from` at once and are incoming at `to` on the
expected date, then received like a PO. Every change re-plans the SKUs it touches."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from allot.domain import events as kinds
from allot.domain.errors import Conflict, InsufficientStock, Invalid, NotFound
from allot.services import locations
from allot.services.book import Book, save_all
from allot.services.common import Event
from allot.services.stock import move
from allot.store.tables import skus, transfer_lines, transfers


def create(conn: Connection, ref: str, source: str, to: str, expected_date: date, lines: list[dict[str, Any]],
           now: datetime) -> dict[str, Any]:
    """Move units out of `source` now; they arrive at `to` on `expected_date`. All lines or none."""
    locations.require(conn, source, field="from")
    locations.require(conn, to, field="to")
    if source == to:
        raise Invalid("to", f"a transfer goes to another location than its origin ({source!r})")
    if conn.execute(select(transfers.c.id).where(transfers.c.ref == ref)).first():
        raise Conflict(f"transfer {ref!r} already exists", ref=ref)
    fields = {ln["sku"]: f"lines.{i}.sku" for i, ln in reversed(list(enumerate(lines)))}
    books = Book.open(conn, fields, now, fields)
    wanted: dict[str, int] = {}
    for i, ln in enumerate(lines):  # every line checked before anything moves
        wanted[ln["sku"]] = wanted.get(ln["sku"], 0) + ln["qty"]
        there = books[ln["sku"]].levels().get(source, 0)
        if wanted[ln["sku"]] > there:
            raise InsufficientStock(f"lines.{i}.qty: {ln['sku']} has {there} on hand at {source!r}",
                                    field=f"lines.{i}.qty", on_hand=there, location=source)
    transfer_id = conn.execute(insert(transfers).values(  # type: ignore[index]
        ref=ref, from_location=source, to_location=to, expected_date=expected_date, status="open", created_at=now,
    )).inserted_primary_key[0]
    conn.execute(insert(transfer_lines), [
        {"transfer_id": transfer_id, "line": n, "sku_id": books[ln["sku"]].id, "qty": ln["qty"], "received": 0,
         "closed": False} for n, ln in enumerate(lines, start=1)])
    for n, ln in enumerate(lines, start=1):
        move(conn, books[ln["sku"]], -ln["qty"], "transfer_out", f"{ref}/{n}", source)
    _replan(books, {"op": "transfer.created", "transfer_ref": ref, "from": source, "to": to}, ref)
    return get(conn, ref)


def receive(conn: Connection, ref: str, lines: list[dict[str, Any]] | None, close_short: bool,
            now: datetime) -> dict[str, Any]:
    """Book arrived units into on hand at `to` (no lines: everything still on its way)."""
    head = _transfer(conn, ref)
    rows = {r.line: r for r in conn.execute(select(transfer_lines, skus.c.sku).join(skus)
                                            .where(transfer_lines.c.transfer_id == head.id))}
    wanted = lines if lines is not None else [
        {"line": n, "qty": r.qty - r.received} for n, r in rows.items() if not r.closed and r.qty > r.received]
    for i, item in enumerate(wanted):
        if item["line"] not in rows:
            raise Invalid(f"lines.{i}.line", f"transfer {ref!r} has no line {item['line']}")
    books = Book.open(conn, {rows[item["line"]].sku for item in wanted}, now)
    head = _transfer(conn, ref)  # again under the SKU locks: they serialise receipts
    if head.status != "open":
        raise Conflict(f"transfer {ref!r} is {head.status}", ref=ref)
    rows = {r.line: r for r in conn.execute(select(transfer_lines, skus.c.sku).join(skus)
                                            .where(transfer_lines.c.transfer_id == head.id))}
    received = {n: r.received for n, r in rows.items()}
    for item in wanted:
        n = item["line"]
        received[n] += item["qty"]
        move(conn, books[rows[n].sku], item["qty"], "transfer_in", f"{ref}/{n}", head.to_location)
    for n in {item["line"] for item in wanted}:
        closed = rows[n].closed or close_short or received[n] >= rows[n].qty
        conn.execute(update(transfer_lines).where(transfer_lines.c.id == rows[n].id)
                     .values(received=received[n], closed=closed))
    if all(conn.execute(select(transfer_lines.c.closed).where(transfer_lines.c.transfer_id == head.id)).scalars()):
        conn.execute(update(transfers).where(transfers.c.id == head.id).values(status="closed"))
    _replan(books, {"op": "transfer.received", "transfer_ref": ref, "close_short": close_short}, ref)
    return get(conn, ref)


def get(conn: Connection, ref: str) -> dict[str, Any]:
    head = _transfer(conn, ref)
    rows = conn.execute(select(transfer_lines, skus.c.sku).join(skus)
                        .where(transfer_lines.c.transfer_id == head.id).order_by(transfer_lines.c.line))
    return {
        "ref": head.ref, "from": head.from_location, "to": head.to_location, "expected_date": head.expected_date,
        "status": head.status, "created_at": head.created_at,
        "lines": [{"line": r.line, "sku": r.sku, "qty": r.qty, "received": r.received, "closed": r.closed,
                   "remaining": 0 if r.closed else max(0, r.qty - r.received)} for r in rows],
    }


def list_refs(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(select(transfers.c.ref).order_by(transfers.c.id.desc()).limit(limit))
    return [get(conn, r.ref) for r in rows]


def _replan(books: dict[str, Book], cause: dict[str, Any], ref: str) -> None:
    for book in books.values():
        book.replan(cause)
        book.events.append(Event(kinds.TRANSFER_UPDATED, book.sku, {"transfer_ref": ref, "cause": cause}))
    save_all(books.values())


def _transfer(conn: Connection, ref: str) -> Any:
    row = conn.execute(select(transfers).where(transfers.c.ref == ref)).first()
    if row is None:
        raise NotFound(f"unknown transfer {ref!r}", ref=ref)
    return row
