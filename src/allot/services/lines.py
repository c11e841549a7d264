"""Closing an order line's units (shipped or cancelled): shared by orders, consent and short shipments."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, update

from allot.domain.model import STOCK_KEY, State
from allot.services import history
from allot.store.tables import order_lines


def close_units(conn: Connection, row: Any, on: date, *, shipped: int = 0, cancelled: int = 0) -> None:
    """Take units out of the queue; a line with none left open is shipped or cancelled for good."""
    history.closed(conn, row, on, shipped=shipped, cancelled=cancelled)
    qty_shipped = row.qty_shipped + shipped
    qty_cancelled = row.qty_cancelled + cancelled
    still_open = row.qty - qty_shipped - qty_cancelled > 0
    values: dict[str, Any] = {"qty_shipped": qty_shipped, "qty_cancelled": qty_cancelled, "open": still_open}
    if shipped:
        values["allocation"] = _less_stock(row.allocation, shipped)
    if not still_open:
        values |= {"state": (State.SHIPPED if qty_shipped else State.CANCELLED).value, "allocation": [],
                   "promise_date": row.promise_date if qty_shipped else None}
        if row.consent_status == "needs_consent":  # nothing left to consent to
            values |= {"consent_status": "withdrawn", "consent_deadline": None}
    conn.execute(update(order_lines).where(order_lines.c.id == row.id).values(**values))


def open_qty(row: Any) -> int:
    return int(row.qty - row.qty_shipped - row.qty_cancelled)


def _less_stock(raw: list[dict[str, Any]], shipped: int) -> list[dict[str, Any]]:
    """Shipped units leave the line's on-hand allocation, so the re-plan sees no change for them."""
    out = []
    for t in raw:
        qty = t["qty"] - shipped if t["bucket"] == STOCK_KEY else t["qty"]
        if qty > 0:
            out.append({"bucket": t["bucket"], "qty": qty})
    return out
