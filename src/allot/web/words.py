"""Dates in one format, and events told in plain words instead of their type names.

One format everywhere on the dashboard (docs/dashboard.md): a day is ISO `2026-12-03` (what a
date input takes and shows, and what the API says), a moment is `2026-12-03 14:05 UTC`. The day of
a moment is the merchant's (ALLOT_TIMEZONE), like every other day Allot shows.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from jinja2 import Environment
from sqlalchemy import Connection, select

from allot.services.common import as_utc, today
from allot.store.tables import events


def day(value: Any, empty: str = "—") -> str:
    if value is None or value == "":
        return empty
    if isinstance(value, datetime):
        return today(value).isoformat()  # the merchant's day the moment fell on, not UTC's
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def moment(value: Any, empty: str = "—") -> str:
    if value is None or value == "":
        return empty
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if not isinstance(value, datetime):
        return str(value)
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC")


def _d(raw: Any) -> str:
    return day(raw, "no date")


def _days_between(a: Any, b: Any) -> int | None:
    try:
        return (date.fromisoformat(str(b)[:10]) - date.fromisoformat(str(a)[:10])).days
    except ValueError:
        return None


CAUSES = {
    "stock.adjusted": "stock was adjusted", "stock.counted": "a stock count", "order.cancelled": "an order was cancelled",
    "order.shipped": "an order shipped", "purchase_order.created": "a new PO", "purchase_order.received": "a PO arrived",
    "purchase_order.cancelled": "a PO was cancelled", "sku.created": "the SKU was created",
    "sku.updated": "the SKU's settings changed", "channel.updated": "a channel's rules changed",
    "backorder.cancelled": "backordered lines were cancelled", "consent.rejected": "a customer declined a delay",
    "consent.expired": "a consent deadline passed", "hold.expired": "a checkout hold expired",
    "hold.released": "a checkout hold was released", "import": "an import", "order.ingested": "a new order",
}


def cause_words(cause: Any) -> str:
    """Why a promise moved, in words: a slipped PO names itself and how far it moved."""
    if not isinstance(cause, dict) or not cause:
        return ""
    op = str(cause.get("op") or "")
    po = cause.get("po_ref")
    if op == "po_line.updated":
        moved = cause.get("expected_date")
        shift = _days_between(moved.get("from"), moved.get("to")) if isinstance(moved, dict) else None
        if shift:
            verb = "slipped" if shift > 0 else "came forward"
            return f"{po} {verb} {abs(shift)} day{'s' if abs(shift) != 1 else ''}"
        raw = cause.get("qty")
        qty: dict[str, Any] = raw if isinstance(raw, dict) else {}
        return f"{po} line {cause.get('po_line')} changed from {qty.get('from')} to {qty.get('to')} units"
    if op in ("purchase_order.created", "purchase_order.received", "purchase_order.cancelled") and po:
        return f"{po} was {op.split('.')[1]}"
    if op in ("order.cancelled", "order.shipped") and cause.get("order_ref"):
        return f"order {cause['order_ref']} {op.split('.')[1]}"
    if op == "channel.updated" and cause.get("channel"):
        return f"channel {cause['channel']}'s rules changed"
    return CAUSES.get(op, op.replace("_", " ").replace(".", " "))


def describe(kind: str, data: dict[str, Any]) -> str:
    """One event in a sentence an operations manager reads without the catalogue."""
    text = _sentence(kind, data)
    return text[:1].upper() + text[1:]


def _sentence(kind: str, data: dict[str, Any]) -> str:
    why = cause_words(data.get("cause"))
    because = f" ({why})" if why else ""
    if kind == "order_line.promise_changed":
        text = f"promise moved from {_d(data.get('from'))} to {_d(data.get('to'))}"
        return f"{why}: {text}" if why else text
    if kind == "order_line.backordered":
        was = f", was promised {_d(data.get('from'))}" if data.get("from") else ""
        return f"Backordered: no supply covers it{was}{because}"
    if kind == "order_line.ready":
        return f"Ready to ship, promised {_d(data.get('to'))}{because}"
    if kind == "order_line.promised":
        state = str(data.get("state", "")).replace("_", " ")
        return f"Ordered {data.get('qty')} unit(s): promised {_d(data.get('promise_date'))} ({state})"
    if kind == "order_line.shipped":
        return f"Shipped {data.get('qty')} unit(s)"
    if kind == "order_line.cancelled":
        reason = str(data.get("reason") or "").replace("_", " ")
        return f"Cancelled {data.get('qty')} unit(s)" + (f": {reason}" if reason else "")
    if kind == "order_line.consent_requested":
        default = "cancel the line" if data.get("default") == "cancel" else "keep waiting"
        return (f"Customer asked to accept {_d(data.get('to'))} instead of {_d(data.get('from'))}; "
                f"answer by {moment(data.get('deadline'))}, else {default}{because}")
    if kind == "order_line.consent_accepted":
        return f"Customer accepted the new date {_d(data.get('promise_date'))}"
    if kind == "order_line.consent_rejected":
        return "Customer declined the later date: the line is cancelled"
    if kind == "order_line.consent_expired":
        return "No answer by the deadline: " + ("the line is cancelled" if data.get("default") == "cancel"
                                                 else "the line keeps waiting")
    if kind == "order_line.consent_withdrawn":
        return f"Consent no longer needed: promised {_d(data.get('promise_date'))} again{because}"
    if kind == "order_line.kept":
        return f"Kept waiting by the merchant: {data.get('reason') or 'no reason given'}"
    if kind == "hold.expired":
        return f"A checkout hold of {data.get('qty')} unit(s) on {data.get('channel')} expired"
    if kind == "sku.oversold":
        return f"Oversold: {data.get('uncovered')} ordered unit(s) have no supply"
    if kind == "purchase_order.updated":
        return why or f"{data.get('po_ref')} changed"
    if kind == "availability.changed":
        return (f"Available to sell on {data.get('channel') or 'every channel'}: {data.get('available')}"
                f" (next promise {_d(data.get('next_promise_date'))})")
    return kind.replace("_", " ").replace(".", ": ")


def order_history(conn: Connection, ref: str, limit: int = 200) -> dict[int, list[dict[str, Any]]]:
    """Each line's events in words, oldest first."""
    rows = conn.execute(select(events.c.type, events.c.line, events.c.occurred_at, events.c.data)
                        .where(events.c.order_ref == ref).order_by(events.c.id).limit(limit))
    found: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        found.setdefault(r.line or 0, []).append({"at": r.occurred_at, "type": r.type,
                                                  "text": describe(r.type, r.data or {})})
    return found


def install(env: Environment) -> None:
    env.filters["day"] = day
    env.filters["moment"] = moment
    env.globals["describe"] = describe
