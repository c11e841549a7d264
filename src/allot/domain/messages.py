"""What a customer is told: which events make which message, and why a line moved, in plain words.

Pure: events in (as plain dicts), one message per order per change out. Standard library only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

# The kinds a channel can choose (PUT /v1/channels/{c}/messages), most pressing first: a change that
# both moved a line and asked the customer to choose is told as the question.
KINDS = ("consent_requested", "cancelled", "backordered", "promise_later", "ready", "shipped", "confirmation")

_KIND_OF_EVENT = {
    "order_line.promised": "confirmation",
    "order_line.backordered": "backordered",
    "order_line.consent_requested": "consent_requested",
    "order_line.ready": "ready",
    "order_line.shipped": "shipped",
    "order_line.cancelled": "cancelled",
}

STATE_WORDS = {
    "ready": "Ready to ship",
    "awaiting_stock": "On its way to us",
    "preorder": "Preorder",
    "backordered": "Waiting for new stock",
    "made_to_order": "Being made for you",
    "shipped": "Shipped",
    "cancelled": "Cancelled",
}


def kind_of(event_type: str, data: dict[str, Any]) -> str | None:
    """The message an event belongs to; None for events customers are not told about by email."""
    if event_type == "order_line.promise_changed":
        return "promise_later" if data.get("reason") == "later" else None
    return _KIND_OF_EVENT.get(event_type)


def why(kind: str, data: dict[str, Any]) -> str:
    """One line, in the customer's words, of why the line changed."""
    if kind == "confirmation":
        return _confirmation(data)
    if kind == "ready":
        return "It is here and ready to ship."
    if kind == "shipped":
        return "It is on its way to you."
    if kind == "cancelled":
        return _cancel_reason(data)
    return _cause(data.get("cause") or {})


def _confirmation(data: dict[str, Any]) -> str:
    state = data.get("state")
    if state == "ready":
        return "We have it in stock."
    if state == "backordered":
        return "It is sold out for now; we will write as soon as we have a date."
    if state == "preorder":
        return "It is a preorder: it ships on its release."
    return "It is on its way to us from our supplier."


def _cancel_reason(data: dict[str, Any]) -> str:
    reason = data.get("reason")
    if reason == "consent_rejected":
        return "You asked us to cancel it rather than wait."
    if reason == "consent_expired":
        return "We did not hear back in time, so we cancelled it as we said we would."
    if reason == "customer":
        return "You cancelled it."
    if data.get("by") == "short_shipment":
        return "We could not get more of it, so we cancelled it."
    return "If you did not ask for this, reply to this email and we will put it right."


def _cause(cause: dict[str, Any]) -> str:
    op = cause.get("op")
    if op == "po_line.updated":
        moved = cause.get("expected_date") or {}
        if moved.get("from") != moved.get("to"):
            return "Our supplier's delivery moved to a later date."
        return "Our supplier is sending fewer than planned."
    if op == "purchase_order.cancelled":
        return "A supplier delivery we were counting on was cancelled."
    if op == "purchase_order.received":
        return "A delivery arrived with fewer than we ordered."
    if op in ("stock.counted", "stock.adjusted"):
        return "We found fewer in our warehouse than our records said."
    if op == "sale":
        return "Units were set aside for an earlier commitment."
    return "Our stock plan changed."


@dataclass(slots=True)
class LineChange:
    """One line of a message: what it was, what it is now, and why."""

    line: int
    sku: str
    kinds: list[str] = field(default_factory=list)
    old_date: str | None = None
    new_date: str | None = None
    state: str | None = None
    why: str = ""
    qty: int | None = None
    deadline: str | None = None
    default: str | None = None


@dataclass(slots=True)
class Draft:
    """One message to write: an order, the change (its first event's position) and its lines."""

    order_ref: str
    position: int
    occurred_at: str
    kind: str = ""
    lines: dict[int, LineChange] = field(default_factory=dict)


def drafts(events: list[dict[str, Any]], wanted: dict[str, set[str]]) -> list[Draft]:
    """Group events by order and change (their commit time), keep the kinds the order's channel
    sends (`wanted`: order ref -> kinds), and make one draft per group that has something to tell."""
    found: dict[tuple[str, str], Draft] = {}
    for e in events:
        ref = e.get("order_ref")
        kind = kind_of(e["type"], e["data"]) if ref else None
        if ref is None or kind is None or kind not in wanted.get(ref, set()):
            continue
        key = (ref, e["occurred_at"])
        draft = found.setdefault(key, Draft(ref, e["position"], e["occurred_at"]))
        _add(draft, e, kind)
    for draft in found.values():
        draft.kind = min((k for ln in draft.lines.values() for k in ln.kinds), key=KINDS.index)
    return sorted(found.values(), key=lambda d: d.position)


def _add(draft: Draft, e: dict[str, Any], kind: str) -> None:
    data = e["data"]
    change = draft.lines.setdefault(e["line"], LineChange(e["line"], e["sku"]))
    if kind not in change.kinds:
        change.kinds.append(kind)
    if kind == "confirmation":
        change.new_date, change.state, change.qty = data.get("promise_date"), data.get("state"), data.get("qty")
    elif kind in ("promise_later", "backordered", "ready", "consent_requested"):
        if change.old_date is None:
            change.old_date = data.get("from")
        change.new_date = data.get("to")
        change.state = data.get("state") or change.state
    elif kind in ("shipped", "cancelled"):
        change.qty = data.get("qty")
        change.state = "shipped" if kind == "shipped" else "cancelled"
    if kind == "consent_requested":
        change.deadline, change.default = data.get("deadline"), data.get("default")
    if kind == min(change.kinds, key=KINDS.index):  # the most pressing change of the line says why
        change.why = why(kind, data)


def nice_date(value: str | date | None) -> str:
    """'Thursday 3 December' — how a person says a date."""
    if value is None:
        return "no date yet"
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.strftime('%A')} {day.day} {day.strftime('%B %Y')}"
