"""Why an order line ships when it ships: its place in the queue, the supply covering it, its history."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, func, or_, select

from allot.domain.errors import NotFound
from allot.domain.model import STOCK_KEY
from allot.services.book import takes_from_json
from allot.services.common import today
from allot.store.tables import channels, events, holds, order_lines, orders, skus

OPEN_UNITS = order_lines.c.qty - order_lines.c.qty_shipped - order_lines.c.qty_cancelled


def explain_line(conn: Connection, ref: str, n: int, now: datetime) -> dict[str, Any]:
    """Queue position (lines ahead in queue order), the buckets covering the line, and every promise it got."""
    row = _line(conn, ref, n)
    queue = queue_position(conn, row, now) if row.open else None
    covered_by = covering_buckets(row, today(now))
    history = promise_history(conn, ref, n)
    padding = conn.execute(select(channels.c.padding_days).where(channels.c.name == row.channel)).scalar() or 0
    open_qty = row.qty - row.qty_shipped - row.qty_cancelled
    uncovered = max(0, open_qty - sum(b["qty"] for b in covered_by)) if row.open else 0
    facts = {"handling_days": row.handling_days, "padding_days": padding, "release_date": row.release_date,
             "mode": row.mode}
    return {
        "ref": ref, "line": n, "sku": row.sku, "channel": row.channel, "priority": row.priority,
        "qty": row.qty, "open_qty": open_qty, "state": row.state, "promise_date": row.promise_date,
        "first_promise_date": row.first_promise_date, "queue": queue, "covered_by": covered_by,
        "uncovered": uncovered, "history": history, **facts,
        "why": reasons(row.state, row.promise_date, queue, covered_by, uncovered, facts),
    }


def _line(conn: Connection, ref: str, n: int) -> Any:
    ol = order_lines.c
    row = conn.execute(
        select(ol.id, ol.line, ol.channel, ol.priority, ol.queued_at, ol.seq, ol.qty, ol.qty_shipped,
               ol.qty_cancelled, ol.open, ol.allocation, ol.state, ol.promise_date, ol.first_promise_date,
               ol.sku_id, skus.c.sku, skus.c.summary, skus.c.handling_days, skus.c.release_date, skus.c.mode)
        .join(orders, orders.c.id == ol.order_id).join(skus, skus.c.id == ol.sku_id)
        .where(orders.c.ref == ref, ol.line == n)
    ).first()
    if row is None:
        raise NotFound(f"order {ref!r} has no line {n}", ref=ref, line=n)
    return row


def _ahead(table: Table, row: Any) -> ColumnElement[bool]:
    """Queue order is (priority desc, queued_at, seq): these rows sort before `row`."""
    t = table.c
    return or_(t.priority > row.priority,
               and_(t.priority == row.priority,
                    or_(t.queued_at < row.queued_at, and_(t.queued_at == row.queued_at, t.seq < row.seq))))


def queue_position(conn: Connection, row: Any, now: datetime) -> dict[str, Any]:
    """Open order lines and active holds of the same SKU ahead of this line, and the queue's length."""
    ol, h = order_lines.c, holds.c
    lines = (ol.sku_id == row.sku_id) & ol.open.is_(True)
    active = (h.sku_id == row.sku_id) & (h.status == "active") & (h.expires_at > now)
    lines_ahead, units_lines = conn.execute(
        select(func.count(), func.coalesce(func.sum(OPEN_UNITS), 0)).where(lines, _ahead(order_lines, row))).one()
    holds_ahead, units_holds = conn.execute(
        select(func.count(), func.coalesce(func.sum(h.qty), 0)).where(active, _ahead(holds, row))).one()
    length = conn.execute(select(func.count()).where(lines)).scalar_one() + conn.execute(
        select(func.count()).where(active)).scalar_one()
    return {"position": lines_ahead + holds_ahead + 1, "length": length, "lines_ahead": lines_ahead,
            "holds_ahead": holds_ahead, "units_ahead": int(units_lines + units_holds)}


def covering_buckets(row: Any, today: date) -> list[dict[str, Any]]:
    """The supply this line's open units are allocated from, with each bucket's date and size."""
    buckets = {b["key"]: b for b in (row.summary or {}).get("buckets", [])}
    out = []
    for take in takes_from_json(row.allocation):
        b = buckets.get(take.bucket, {})
        source = "stock" if take.bucket == STOCK_KEY else b.get("source", "stock")
        day = today if source == "stock" else date.fromisoformat(b["date"]) if "date" in b else None
        out.append({"source": source, "po_ref": b.get("po_ref"), "po_line": b.get("po_line"), "qty": take.qty,
                    "date": day, "bucket_capacity": b.get("capacity")})
    return out


def promise_history(conn: Connection, ref: str, n: int) -> list[dict[str, Any]]:
    """Every event of this line, oldest first: what it was promised, and what moved it."""
    rows = conn.execute(select(events).where(events.c.order_ref == ref, events.c.line == n).order_by(events.c.id))
    return [{"id": r.id, "type": r.type, "occurred_at": r.occurred_at, "from": r.data.get("from"),
             "to": r.data.get("to", r.data.get("promise_date")), "state": r.data.get("state"),
             "state_from": r.data.get("state_from"), "reason": r.data.get("reason"),
             "cause": (r.data.get("cause") or {}).get("op"), "qty": r.data.get("qty")} for r in rows]


def reasons(state: str, promise: date | None, queue: dict[str, Any] | None, covered_by: list[dict[str, Any]],
            uncovered: int, facts: dict[str, Any]) -> list[str]:
    """The explanation in the merchant's words, one sentence per fact."""
    if state in ("shipped", "cancelled"):
        return [f"This line is {state}: it has left the queue."]
    out = []
    if queue:
        out.append(f"It is number {queue['position']} of {queue['length']} in the queue: "
                   f"{queue['units_ahead']} units on {queue['lines_ahead'] + queue['holds_ahead']} lines and holds "
                   "come before it (higher priority first, then first come, first served).")
    for b in covered_by:
        where = "on hand" if b["source"] == "stock" else (
            f"{b['po_ref']} line {b['po_line']}" if b["source"] == "po" else "made to order")
        units = "1 unit comes" if b["qty"] == 1 else f"{b['qty']} units come"
        out.append(f"{units} from {where}, dated {b['date']}.")
    if uncovered:
        out.append(f"{uncovered} unit{' has' if uncovered == 1 else 's have'} no supply left that its channel may use, "
                   "so no date can be promised (backordered) until more stock or a PO arrives.")
    elif promise is not None:
        latest = max((b["date"] for b in covered_by if b["date"]), default=None)
        rule = f"latest supply date {latest} + {facts['handling_days']} handling day(s) + " \
               f"{facts['padding_days']} channel padding day(s)"
        if facts["mode"] == "preorder" and facts["release_date"] and latest and \
                facts["release_date"] > latest + timedelta(days=facts["handling_days"] + facts["padding_days"]):
            rule += f", but not before the release date {facts['release_date']}"
        out.append(f"Promise {promise}: {rule}.")
    return out
