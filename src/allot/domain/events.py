"""The event catalogue: every event type Allot records, with its schema version (docs/events.md).

A version changes only when a type's `data` changes incompatibly; adding a field does not.
"""
from __future__ import annotations

ORDER_LINE_PROMISED = "order_line.promised"
ORDER_LINE_PROMISE_CHANGED = "order_line.promise_changed"
ORDER_LINE_BACKORDERED = "order_line.backordered"
ORDER_LINE_READY = "order_line.ready"
ORDER_LINE_SHIPPED = "order_line.shipped"
ORDER_LINE_CANCELLED = "order_line.cancelled"
ORDER_LINE_CONSENT_REQUESTED = "order_line.consent_requested"
ORDER_LINE_CONSENT_ACCEPTED = "order_line.consent_accepted"
ORDER_LINE_CONSENT_REJECTED = "order_line.consent_rejected"
ORDER_LINE_CONSENT_EXPIRED = "order_line.consent_expired"
ORDER_LINE_CONSENT_WITHDRAWN = "order_line.consent_withdrawn"
ORDER_LINE_KEPT = "order_line.kept"
ORDER_LINE_BALANCE_DUE = "order_line.balance_due"
HOLD_EXPIRED = "hold.expired"
SKU_OVERSOLD = "sku.oversold"
PURCHASE_ORDER_UPDATED = "purchase_order.updated"
TRANSFER_UPDATED = "transfer.updated"
AVAILABILITY_CHANGED = "availability.changed"
WAITLIST_OFFERED = "waitlist.offered"  # drops (migration 0014)

VERSIONS: dict[str, int] = {
    ORDER_LINE_PROMISED: 1,
    ORDER_LINE_PROMISE_CHANGED: 1,
    ORDER_LINE_BACKORDERED: 1,
    ORDER_LINE_READY: 1,
    ORDER_LINE_SHIPPED: 1,
    ORDER_LINE_CANCELLED: 1,
    ORDER_LINE_CONSENT_REQUESTED: 1,
    ORDER_LINE_CONSENT_ACCEPTED: 1,
    ORDER_LINE_CONSENT_REJECTED: 1,
    ORDER_LINE_CONSENT_EXPIRED: 1,
    ORDER_LINE_CONSENT_WITHDRAWN: 1,
    ORDER_LINE_KEPT: 1,
    ORDER_LINE_BALANCE_DUE: 1,
    HOLD_EXPIRED: 1,
    SKU_OVERSOLD: 1,
    PURCHASE_ORDER_UPDATED: 1,
    TRANSFER_UPDATED: 1,
    AVAILABILITY_CHANGED: 1,
    WAITLIST_OFFERED: 1,
}


def is_known_filter(pattern: str) -> bool:
    """A webhook subscribes to an exact type or to a family: `order_line.*`."""
    if pattern.endswith(".*"):
        return any(t.startswith(pattern[:-1]) for t in VERSIONS)
    return pattern in VERSIONS


def matches(patterns: list[str] | None, event_type: str) -> bool:
    """No patterns means every event."""
    if not patterns:
        return True
    return any(event_type == p or (p.endswith(".*") and event_type.startswith(p[:-1])) for p in patterns)
