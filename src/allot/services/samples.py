"""A made-up order to show and check a template against: the same variables a real message has."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from allot.domain.messages import why
from allot.store.tables import channel_messages

SAMPLE_LINK = "https://shop.example/my/sample-link"


def sample_context(conn: Connection, channel: str, kind: str) -> dict[str, Any]:
    """Two lines of a sample order, changed the way this kind of message tells."""
    setting = conn.execute(select(channel_messages).where(channel_messages.c.channel == channel)).first()
    shop = channel
    if setting is not None and "<" in setting.from_addr:
        shop = setting.from_addr.split("<", 1)[0].strip().strip('"') or channel
    return {"kind": kind, "order_ref": "SAMPLE-1001", "customer": "Sam Sample", "shop": shop, "link": SAMPLE_LINK,
            "can_cancel": bool(setting and setting.customer_cancel),
            "lines": [_line(1, "Linen apron", 1, kind), _line(2, "Stoneware mug", 2, kind)]}


def _line(n: int, name: str, qty: int, kind: str) -> dict[str, Any]:
    old, new, state = "2026-12-03", "2026-12-17", "awaiting_stock"
    data: dict[str, Any] = {"cause": {"op": "po_line.updated", "expected_date": {"from": old, "to": new}},
                            "state": state}
    if kind == "backordered":
        new, state = None, "backordered"  # type: ignore[assignment]
    elif kind == "ready":
        old, new, state = new, new, "ready"
    elif kind in ("shipped", "cancelled"):
        old, new, state = None, None, kind  # type: ignore[assignment]
    elif kind == "confirmation":
        old = None  # type: ignore[assignment]
    consent = kind == "consent_requested"
    return {"line": n, "sku": f"SKU-{n}", "name": name, "qty": qty, "qty_text": f"{qty} × " if qty > 1 else "",
            "state": state, "old_date": old, "new_date": new, "why": why(kind, data), "changes": [kind],
            "deadline": "2026-12-10" if consent else None, "default": "cancel" if consent else None}
