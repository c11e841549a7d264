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
    slip: dict[str, Any] = {"cause": {"op": "po_line.updated", "expected_date": {"from": "2026-12-03",
                                                                                 "to": "2026-12-17"}}}
    old, new, state = SAMPLE_CHANGES.get(kind, ("2026-12-03", "2026-12-17", "awaiting_stock"))
    consent = kind == "consent_requested"
    return {"line": n, "sku": f"SKU-{n}", "name": name, "qty": qty, "qty_text": f"{qty} × " if qty > 1 else "",
            "state": state, "old_date": old, "new_date": new, "why": why(kind, {**slip, "state": state}),
            "changes": [kind], "deadline": "2026-12-10" if consent else None, "default": "cancel" if consent else None}


# kind -> (old date, new date, state) of a sample line
SAMPLE_CHANGES: dict[str, tuple[str | None, str | None, str]] = {
    "confirmation": (None, "2026-12-03", "awaiting_stock"),
    "backordered": ("2026-12-03", None, "backordered"),
    "ready": ("2026-12-17", "2026-12-17", "ready"),
    "shipped": (None, None, "shipped"),
    "cancelled": (None, None, "cancelled"),
}
