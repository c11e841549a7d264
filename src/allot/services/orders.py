"""Orders after they are placed: look up, cancel, ship."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from allot.domain.errors import Invalid, NotFound, NotReady
from allot.domain.model import STOCK_KEY, State
from allot.services.book import Book, save_all, takes_from_json
from allot.services.common import Event
from allot.services.stock import move
from allot.store.tables import order_lines, orders, skus


def get(conn: Connection, ref: str) -> dict[str, Any]:
    order = _order(conn, ref)
    rows = conn.execute(
        select(order_lines, skus.c.sku, skus.c.summary).join(skus, skus.c.id == order_lines.c.sku_id)
        .where(order_lines.c.order_id == order.id).order_by(order_lines.c.line)
    ).all()
    return {
        "ref": order.ref, "channel": order.channel, "priority": order.priority, "customer": order.customer,
        "created_at": order.created_at, "lines": [_line_view(r) for r in rows],
    }


def channel_of(conn: Connection, ref: str) -> str:
    """The channel an order was placed on."""
    channel: str = _order(conn, ref).channel
    return channel


def _line_view(r: Any) -> dict[str, Any]:
    buckets = {b["key"]: b for b in r.summary["buckets"]}
    return {
        "line": r.line, "sku": r.sku, "qty": r.qty, "qty_shipped": r.qty_shipped, "qty_cancelled": r.qty_cancelled,
        "state": r.state, "promise_date": r.promise_date, "first_promise_date": r.first_promise_date,
        "hold_id": r.hold_id,
        "allocation": [_allocation(buckets.get(t.bucket), t.bucket, t.qty) for t in takes_from_json(r.allocation)],
    }


def _allocation(bucket: dict[str, Any] | None, key: str, qty: int) -> dict[str, Any]:
    if bucket is None or key == STOCK_KEY:
        return {"source": "stock", "qty": qty, "date": None if bucket is None else bucket["date"]}
    if bucket["source"] == "po":
        return {"source": "po", "po_ref": bucket["po_ref"], "po_line": bucket["po_line"], "qty": qty,
                "date": bucket["date"]}
    return {"source": "made_to_order", "qty": qty, "date": bucket["date"]}


def cancel(conn: Connection, ref: str, lines: list[dict[str, Any]] | None, now: datetime) -> dict[str, Any]:
    """Cancel open units, whole order or per line; freed units go to the next in the queue."""
    order, rows, books = _locked(conn, ref, now)
    wanted = lines if lines is not None else [{"line": n} for n, r in rows.items() if _open_qty(r) > 0]
    asked: dict[int, int] = {}
    for i, item in enumerate(wanted):  # check every line before changing any
        row = _row(rows, item["line"], i)
        asked[row.line] = asked.get(row.line, 0) + (item.get("qty") or _open_qty(row))
        if not 0 < asked[row.line] <= _open_qty(row):
            raise Invalid(f"lines.{i}.qty", f"line {row.line} has {_open_qty(row)} open units")
    for n, qty in asked.items():
        book = books[rows[n].sku]
        _close_units(conn, rows[n], cancelled=qty)
        book.events.append(Event("order_line.cancelled", book.sku, {"qty": qty}, ref, n))
    for book in books.values():
        book.replan({"op": "order.cancelled", "order_ref": ref})
    save_all(books.values())
    return get(conn, ref)


def ship(conn: Connection, ref: str, lines: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """Ship units that are ready: allocated from on hand, and released for a preorder SKU."""
    order, rows, books = _locked(conn, ref, now)
    asked: dict[int, int] = {}
    for i, item in enumerate(lines):  # check every line before changing any
        row = _row(rows, item["line"], i)
        asked[row.line] = asked.get(row.line, 0) + item["qty"]
        ready = _shippable(row, books[row.sku])
        if asked[row.line] > ready:
            raise NotReady(f"line {row.line} has {ready} units ready to ship", line=row.line, ready=ready)
    for n, qty in asked.items():
        book = books[rows[n].sku]
        move(conn, book, -qty, "shipment", f"{ref}/{n}")
        _close_units(conn, rows[n], shipped=qty)
        book.events.append(Event("order_line.shipped", book.sku, {"qty": qty}, ref, n))
    for book in books.values():
        book.replan({"op": "order.shipped", "order_ref": ref})
    save_all(books.values())
    return get(conn, ref)


def _shippable(row: Any, book: Book) -> int:
    if not row.open or not book.rule.released(book.today):
        return 0
    return sum(t.qty for t in takes_from_json(row.allocation) if t.bucket == STOCK_KEY)


def _close_units(conn: Connection, row: Any, *, shipped: int = 0, cancelled: int = 0) -> None:
    qty_shipped = row.qty_shipped + shipped
    qty_cancelled = row.qty_cancelled + cancelled
    still_open = row.qty - qty_shipped - qty_cancelled > 0
    values: dict[str, Any] = {"qty_shipped": qty_shipped, "qty_cancelled": qty_cancelled, "open": still_open}
    if shipped:
        values["allocation"] = _less_stock(row.allocation, shipped)
    if not still_open:
        values |= {"state": (State.SHIPPED if qty_shipped else State.CANCELLED).value, "allocation": [],
                   "promise_date": row.promise_date if qty_shipped else None}
    conn.execute(update(order_lines).where(order_lines.c.id == row.id).values(**values))


def _less_stock(raw: list[dict[str, Any]], shipped: int) -> list[dict[str, Any]]:
    """Shipped units leave the line's on-hand allocation, so the re-plan sees no change for them."""
    out = []
    for t in raw:
        qty = t["qty"] - shipped if t["bucket"] == STOCK_KEY else t["qty"]
        if qty > 0:
            out.append({"bucket": t["bucket"], "qty": qty})
    return out


def _open_qty(row: Any) -> int:
    return int(row.qty - row.qty_shipped - row.qty_cancelled)


def _row(rows: dict[int, Any], n: int, i: int) -> Any:
    if n not in rows:
        raise Invalid(f"lines.{i}.line", f"no line {n}")
    return rows[n]


def _locked(conn: Connection, ref: str, now: datetime) -> tuple[Any, dict[int, Any], dict[str, Book]]:
    """Lock every SKU of the order, then read its lines: the lock serialises writes to them."""
    order = _order(conn, ref)
    names = {r.sku for r in _rows(conn, order.id)}
    books = Book.open(conn, names, now)
    return order, {r.line: r for r in _rows(conn, order.id)}, books


def _rows(conn: Connection, order_id: int) -> list[Any]:
    return list(conn.execute(
        select(order_lines, skus.c.sku).join(skus, skus.c.id == order_lines.c.sku_id)
        .where(order_lines.c.order_id == order_id)
    ))


def _order(conn: Connection, ref: str) -> Any:
    order = conn.execute(select(orders).where(orders.c.ref == ref)).first()
    if order is None:
        raise NotFound(f"unknown order {ref!r}", ref=ref)
    return order
