"""The availability of many SKUs at once (GET /v1/availability?channel=&skus=): one query for all.

Each SKU is answered exactly as the single read answers it (reports.py); the few whose plan
time has moved since it was made (a hold expired, a consent deadline passed) are re-planned
first, one by one, like the single read does.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam

from allot.services import reports
from allot.services.catalog import require_channel
from allot.store.db import Database
from allot.store.tables import skus

# reports.AVAILABILITY_READ for many SKUs: each with the channel's rules and its quota on it.
MANY_READ = reports.SKU_WITH_CHANNEL.where(skus.c.sku.in_(bindparam("names", expanding=True)))


def availability_of(db: Database, names: list[str], channel: str | None, now: datetime) -> dict[str, Any]:
    """Every named SKU's availability on `channel`, in the order asked; names Allot does not manage
    are listed under `unknown` rather than failing the whole read (a shop sells things Allot does not plan)."""
    wanted = list(dict.fromkeys(names))
    with db.read() as conn:
        found, stale = _read(conn, wanted, channel, now)
    for name in stale:
        found[name] = reports.current_availability(db, name, channel, now)
    return {"items": [found[n] for n in wanted if n in found], "unknown": [n for n in wanted if n not in found]}


def _read(conn: Connection, names: list[str], channel: str | None,
          now: datetime) -> tuple[dict[str, dict[str, Any]], list[str]]:
    rows = conn.execute(MANY_READ, {"names": names, "channel": channel}).all()
    if channel is not None and (not rows or rows[0].ch_name is None):
        require_channel(conn, channel, field="channel")
    found: dict[str, dict[str, Any]] = {}
    stale: list[str] = []
    for row in rows:
        book = reports.reading_book(conn, row, channel, now)
        if reports.stale(book):
            stale.append(book.sku)
        else:
            found[book.sku] = reports.availability_of_book(book, channel)
    return found, stale
