"""An import's second pass: the checked rows written through the services, in one transaction.

SKUs, channels and counts go through the same service calls as the API (each re-plans what it
touches). Orders and purchase orders come in bulk: a file may hold 100,000 order lines, and one
sale per line would re-plan a SKU 100,000 times. Their rows are inserted in chunks with every
SKU they touch locked first, then each SKU is re-planned once by its `Book`, exactly as after
any other change (docs/decisions.md, "CSV files").
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from allot.services import catalog, stock
from allot.services.book import Book, save_all
from allot.services.common import Event
from allot.services.import_checks import Checked, LineNumbers, chunks
from allot.store.bulk import insert_heads, insert_rows
from allot.store.tables import (
    channels,
    order_lines,
    orders,
    po_lines,
    purchase_orders,
    sales_history,
    sku_channels,
    skus,
)

Rows = Iterable[tuple[int, dict[str, Any]]]
Progress = Callable[[int], None]
SHOWN_CHANGES = 100  # what a dry run lists; the counts cover every row


@dataclass(slots=True)
class Outcome:
    """What an import changed (or, in a dry run, would change)."""

    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changes: list[str] = field(default_factory=list)

    def note(self, what: str, text: str | None = None) -> None:
        setattr(self, what, getattr(self, what) + 1)
        if text and len(self.changes) < SHOWN_CHANGES:
            self.changes.append(text)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rows": self.rows, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "changes": self.changes}


def apply(conn: Connection, kind: str, rows: Rows, checked: Checked, now: datetime, progress: Progress) -> Outcome:
    """Write checked rows of one kind; the caller's transaction makes the file all or nothing."""
    out = Outcome(kind)
    if kind == "orders":
        _orders(conn, rows, checked, now, progress, out)
    elif kind == "purchase-orders":
        _purchase_orders(conn, rows, checked, now, progress, out)
    else:
        write = {"skus": _sku, "channels": _channel, "stock": _count, "sales-history": _history}[kind]
        for batch in chunks(rows):
            for _, row in batch:
                write(conn, row, now, out)
            out.rows += len(batch)
            progress(out.rows)
    return out


def _sku(conn: Connection, row: dict[str, Any], now: datetime, out: Outcome) -> None:
    name, quotas = row["sku"], row["quotas"]
    settings = {k: v for k, v in row.items() if k not in ("sku", "quotas")}
    found = conn.execute(select(skus).where(skus.c.sku == name)).first()
    said: list[str] = []
    if found is None:
        catalog.put_sku(conn, name, settings, now)
    else:
        was = {k: getattr(found, k) for k in settings}
        was["incoming_buffer"] = Decimal(was["incoming_buffer"] or 0)
        moved = [k for k in settings if was[k] != settings[k]]
        if moved:
            catalog.put_sku(conn, name, settings, now)
            said += [f"{k} {was[k]} → {settings[k]}" for k in moved]
    sku_id = conn.execute(select(skus.c.id).where(skus.c.sku == name)).scalar_one()
    held = dict(conn.execute(select(sku_channels.c.channel, sku_channels.c.quota)
                             .where(sku_channels.c.sku_id == sku_id)).all())
    for channel, quota in quotas.items():
        if held.get(channel, -1) != quota:
            catalog.put_quota(conn, name, channel, quota, now, keep_window=True)
            said.append(f"quota on {channel} {held.get(channel)} → {quota}")
    if found is None:
        out.note("created", f"SKU {name}: created ({settings['mode']})")
    elif said:
        out.note("updated", f"SKU {name}: " + ", ".join(said))
    else:
        out.note("unchanged")


def _channel(conn: Connection, row: dict[str, Any], now: datetime, out: Outcome) -> None:
    name = row["channel"]
    settings = {k: v for k, v in row.items() if k != "channel"}
    found = conn.execute(select(channels).where(channels.c.name == name)).first()
    if found is None:
        catalog.put_channel(conn, name, settings, now)
        out.note("created", f"channel {name}: created")
        return
    moved = [k for k in settings if getattr(found, k) != settings[k]]
    if not moved:
        out.note("unchanged")
        return
    catalog.put_channel(conn, name, settings, now)
    out.note("updated", f"channel {name}: " + ", ".join(f"{k} {getattr(found, k)} → {settings[k]}" for k in moved))


def _count(conn: Connection, row: dict[str, Any], now: datetime, out: Outcome) -> None:
    done = stock.count(conn, row["sku"], row["on_hand"], row["reason"], now)
    if done["delta"]:
        out.note("updated", f"SKU {row['sku']}: on hand {row['on_hand'] - done['delta']} → {row['on_hand']}")
    else:
        out.note("unchanged")


def _history(conn: Connection, row: dict[str, Any], now: datetime, out: Outcome) -> None:
    sku_id = conn.execute(select(skus.c.id).where(skus.c.sku == row["sku"])).scalar_one()
    key = ((sales_history.c.sku_id == sku_id) & (sales_history.c.channel == row["channel"])
           & (sales_history.c.date == row["date"]))
    held = conn.execute(select(sales_history.c.qty).where(key)).scalar()
    if held is None:
        conn.execute(insert(sales_history).values(sku_id=sku_id, channel=row["channel"], date=row["date"],
                                                   qty=row["qty"]))
        out.note("created")
    elif held != row["qty"]:
        conn.execute(update(sales_history).where(key).values(qty=row["qty"]))
        out.note("updated", f"{row['sku']} on {row['channel']} {row['date']}: {held} → {row['qty']}")
    else:
        out.note("unchanged")


class Heads:
    """Orders or POs inserted on the first row of their ref; a ref Allot held before is skipped whole
    (the first pass proved its rows identical)."""

    def __init__(self, conn: Connection, table: Any, held: set[str]) -> None:
        self.conn, self.table = conn, table
        self.ids: dict[str, Any] = {}
        self.skipped = held  # refs Allot held before, found by the first pass

    def sort(self, refs: set[str]) -> set[str]:
        """The refs of a chunk not seen yet and not held before: to be inserted now."""
        return refs - self.ids.keys() - self.skipped

    def insert(self, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """Insert new heads (the ref first in each row), in file order, and learn their ids."""
        self.ids.update(insert_heads(self.conn, self.table, columns, rows))


def _orders(conn: Connection, rows: Rows, checked: Checked, now: datetime, progress: Progress,
            out: Outcome) -> None:
    books = Book.open(conn, checked.skus, now)  # every SKU locked first, in key order
    heads, numbers = Heads(conn, orders, checked.held_refs), LineNumbers()
    for batch in chunks(rows):
        fresh = heads.sort({row["ref"] for _, row in batch})
        firsts = {}
        for _, row in batch:
            if row["ref"] in fresh and row["ref"] not in firsts:
                firsts[row["ref"]] = (row["ref"], row["channel"], row["priority"], row["customer"],
                                      row["created_at"] or now)
        heads.insert(("ref", "channel", "priority", "customer", "created_at"), list(firsts.values()))
        lines = [_order_line(row, numbers.number(row["ref"], row["line"]), heads.ids[row["ref"]],
                             books[row["sku"]], now) for _, row in batch if row["ref"] not in heads.skipped]
        insert_rows(conn, order_lines, LINE_COLUMNS, lines, as_is=frozenset({"allocation"}))
        for ref in firsts:
            out.note("created", f"order {ref}: created")
        out.unchanged += len(batch) - len(lines)
        out.rows += len(batch)
        progress(out.rows)
    for book in books.values():
        book.replan({"op": "import", "kind": "orders"})
    save_all(books.values())


LINE_COLUMNS = ("order_id", "line", "sku_id", "channel", "priority", "queued_at", "seq", "qty", "qty_shipped",
                "qty_cancelled", "open", "allocation", "state", "promise_date", "first_promise_date")


def _order_line(row: dict[str, Any], n: int, order_id: Any, book: Book, now: datetime) -> tuple[Any, ...]:
    """A line sold before it reached Allot: its own queue time; state and promise as last told, which
    the re-plan keeps or moves (and announces) like any other line's. No units yet: the re-plan places it."""
    queued_at = row["queued_at"] or row["created_at"] or now
    open_qty = row["qty"] - row["qty_shipped"] - row["qty_cancelled"]
    state = row["state"] or ("backordered" if open_qty else "shipped" if row["qty_shipped"] else "cancelled")
    return (order_id, n, book.id, row["channel"], row["priority"], queued_at, book.queue_imported(queued_at),
            row["qty"], row["qty_shipped"], row["qty_cancelled"], open_qty > 0, "[]", state, row["promise_date"],
            row["first_promise_date"] or row["promise_date"])


def _purchase_orders(conn: Connection, rows: Rows, checked: Checked, now: datetime, progress: Progress,
                     out: Outcome) -> None:
    books = Book.open(conn, checked.skus, now)
    heads, numbers = Heads(conn, purchase_orders, checked.held_refs), LineNumbers()
    touched: set[tuple[str, str]] = set()
    for batch in chunks(rows):
        fresh = heads.sort({row["ref"] for _, row in batch})
        firsts = {}
        for _, row in batch:
            if row["ref"] in fresh and row["ref"] not in firsts:
                firsts[row["ref"]] = (row["ref"], row["supplier"], row["status"], now)
        # In file order: a PO's place among the buckets (its id) follows the file.
        heads.insert(("ref", "supplier", "status", "created_at"), list(firsts.values()))
        lines = []
        for _, row in batch:
            if row["ref"] not in heads.skipped:
                lines.append({"po_id": heads.ids[row["ref"]], "line": numbers.number(row["ref"], row["line"]),
                              "sku_id": books[row["sku"]].id, "qty": row["qty"], "received": row["received"],
                              "closed": row["closed"] or row["status"] != "open",
                              "expected_date": row["expected_date"]})
                touched.add((row["sku"], row["ref"]))
        if lines:
            conn.execute(insert(po_lines), lines)
        for ref in firsts:
            out.note("created", f"purchase order {ref}: created")
        out.unchanged += len(batch) - len(lines)
        out.rows += len(batch)
        progress(out.rows)
    _close_finished(conn, list(heads.ids.values()))
    cause = {"op": "import", "kind": "purchase-orders"}
    for sku, ref in sorted(touched):
        books[sku].events.append(Event("purchase_order.updated", sku, {"po_ref": ref, "cause": cause}))
    for book in books.values():
        book.replan(cause)
    save_all(books.values())


def _close_finished(conn: Connection, po_ids: list[Any]) -> None:
    """An open PO whose every line is closed is closed, as after a receipt."""
    if not po_ids:
        return
    still_open = select(po_lines.c.po_id).where(po_lines.c.closed.is_(False), po_lines.c.po_id.in_(po_ids))
    conn.execute(update(purchase_orders)
                 .where(purchase_orders.c.id.in_(po_ids), purchase_orders.c.status == "open",
                        purchase_orders.c.id.not_in(still_open))
                 .values(status="closed"))
