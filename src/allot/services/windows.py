"""Drop windows as the dashboard shows them: where each channel's window stands, and the time left.

The time left is to the second (a drop opens on the second and the page counts down: countdown.js);
the edges themselves are moments like any other, written by the page's `moment` filter."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from allot.services.common import as_utc
from allot.store.tables import sku_channels


def windows(conn: Connection, sku_id: Any, now: datetime) -> list[dict[str, Any]]:
    """The SKU's channel windows for the dashboard: each with where it stands and the time left."""
    c = sku_channels.c
    rows = conn.execute(select(c.channel, c.opens_at, c.closes_at).where(
        c.sku_id == sku_id, (c.opens_at.is_not(None)) | (c.closes_at.is_not(None))).order_by(c.channel)).all()
    out = []
    for r in rows:
        opens = as_utc(r.opens_at) if r.opens_at else None
        closes = as_utc(r.closes_at) if r.closes_at else None
        state = "before" if opens and now < opens else "closed" if closes and now >= closes else "open"
        target = opens if state == "before" else closes if state == "open" else None
        out.append({"channel": r.channel, "state": state,
                    "opens_at": opens, "closes_at": closes,  # moments: the page's `moment` filter writes them
                    "opens_at_iso": opens.isoformat() if opens else None,
                    "closes_at_iso": closes.isoformat() if closes else None,
                    "left": _left(target - now) if target else ""})
    return out


def _left(delta: timedelta) -> str:
    s = max(0, int(delta.total_seconds()))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    parts = [f"{d} d" if d else "", f"{h} h" if d or h else "", f"{m} min" if d or h or m else "", f"{s % 60} s"]
    return "in " + " ".join(p for p in parts if p)
