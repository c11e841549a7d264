"""SKUs, channels and per-channel quotas: the settings the plan obeys."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, update

from allot.domain.errors import Invalid, NotFound
from allot.domain.model import Mode
from allot.services import availability_out, locations, waitlist
from allot.services.book import EMPTY_SUMMARY, Book
from allot.store.bulk import insert_new
from allot.store.tables import channels, sku_channels, skus

SKU_SETTINGS = ("name", "mode", "release_date", "handling_days", "incoming_buffer", "safety_stock",
                "backorder_limit", "backorder_lead_days", "allocation_policy",
                "per_customer_limit", "offer_ttl_seconds")  # drops (migration 0014)


def put_sku(conn: Connection, sku: str, settings: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Create or change a SKU; a change re-plans it, since promises depend on every setting."""
    _check_sku_settings(settings)
    values = {k: settings[k] for k in SKU_SETTINGS if k in settings}
    created = insert_new(conn, skus, {"sku": sku, "summary": EMPTY_SUMMARY, "on_hand": 0, "next_seq": 1,
                                      "created_at": now, "updated_at": now, **_defaults(values)}, ["sku"])
    book = Book.open(conn, [sku], now)[sku]
    if not created:
        conn.execute(update(skus).where(skus.c.sku == sku).values(**values, updated_at=now))
        book = Book.open(conn, [sku], now)[sku]  # read the new settings under the lock
    book.replan({"op": "sku.created" if created else "sku.updated", "sku": sku})
    book.save()
    return get_sku(conn, sku) | {"created": created}


def _defaults(values: dict[str, Any]) -> dict[str, Any]:
    base = {"handling_days": 0, "incoming_buffer": Decimal(0), "safety_stock": 0}
    return base | {k: v for k, v in values.items() if v is not None}


def _check_sku_settings(settings: dict[str, Any]) -> None:
    mode = settings.get("mode")
    if mode == Mode.PREORDER and not settings.get("release_date"):
        raise Invalid("release_date", "a preorder SKU needs a release_date")
    buffer = settings.get("incoming_buffer")
    if buffer is not None and not 0 <= Decimal(str(buffer)) < 1:
        raise Invalid("incoming_buffer", "must be at least 0 and below 1")


def get_sku(conn: Connection, sku: str) -> dict[str, Any]:
    row = conn.execute(select(skus).where(skus.c.sku == sku)).first()
    if row is None:
        raise NotFound(f"unknown SKU {sku!r}", sku=sku)
    return sku_view(row)


def sku_view(row: Any) -> dict[str, Any]:
    """A SKU's settings and on hand, as every read shows them."""
    return {
        "sku": row.sku, "name": row.name, "mode": row.mode, "release_date": row.release_date,
        "handling_days": row.handling_days, "incoming_buffer": float(row.incoming_buffer),
        "safety_stock": row.safety_stock, "backorder_limit": row.backorder_limit,
        "backorder_lead_days": row.backorder_lead_days, "allocation_policy": row.allocation_policy,
        "on_hand": row.on_hand,
        "per_customer_limit": row.per_customer_limit, "offer_ttl_seconds": row.offer_ttl_seconds,
    }


def sku_names(conn: Connection) -> list[str]:
    return list(conn.execute(select(skus.c.sku).order_by(skus.c.sku)).scalars())


def put_channel(conn: Connection, name: str, settings: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Create or change a channel; every SKU is re-planned, since buckets and padding may change."""
    for i, loc in enumerate(settings.get("locations") or ()):
        locations.require(conn, loc, field=f"locations.{i}")
    if len(set(settings.get("locations") or ())) != len(settings.get("locations") or ()):
        raise Invalid("locations", "names a location twice")
    created = insert_new(conn, channels, {"name": name, **settings}, ["name"])
    if not created:
        names = sku_names(conn)
        Book.open(conn, names, now)  # lock every SKU first: their sales read this channel's rules
        conn.execute(update(channels).where(channels.c.name == name).values(**settings))
        for book in Book.open(conn, names, now).values():
            book.replan({"op": "channel.updated", "channel": name})
            book.save()
    return {"channel": name, **settings, "created": created}


def put_quota(conn: Connection, sku: str, channel: str, quota: int | None,
              now: datetime | None = None, opens_at: datetime | None = None,
              closes_at: datetime | None = None, keep_window: bool = False) -> dict[str, Any]:
    """Cap the units one channel may hold open for a SKU; applies to new sales only.

    `opens_at` / `closes_at` (drops): the channel sells the SKU only in that window. `keep_window`:
    set the quota alone (the dashboard's quota form, a CSV import), leaving a drop's window as it is."""
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise Invalid("closes_at", "must be after opens_at")
    sku_id = conn.execute(select(skus.c.id).where(skus.c.sku == sku)).scalar()
    if sku_id is None:
        raise NotFound(f"unknown SKU {sku!r}", sku=sku)
    require_channel(conn, channel, field="channel")
    # Locked like a sale: a sale reads the quota, and the channel's `available` may move with it.
    book = Book.open(conn, [sku], now or datetime.now(UTC))[sku]
    key = (sku_channels.c.sku_id == sku_id) & (sku_channels.c.channel == channel)
    before = conn.execute(select(sku_channels.c.quota, sku_channels.c.opens_at, sku_channels.c.closes_at)
                          .where(key)).first()
    was = before.quota if before else None
    if keep_window and before is not None:
        opens_at, closes_at = before.opens_at, before.closes_at
    window = {"opens_at": opens_at, "closes_at": closes_at}
    created = insert_new(conn, sku_channels, {"sku_id": sku_id, "channel": channel, "quota": quota, **window},
                         ["sku_id", "channel"])
    if not created:
        conn.execute(update(sku_channels).where(key).values(quota=quota, **window))
    if was != quota:
        availability_out.quota_changed(book, channel, was, quota)
    book.know_window(channel, opens_at, closes_at)
    if ((before.opens_at, before.closes_at) if before else (None, None)) != (opens_at, closes_at):
        # Those waiting may wait for another opening now (the sweeper's `wake_at`), or the channel
        # opened: offer to them as at any other moment units become sellable.
        waitlist.offer(book)
        book.save()
    shown = window if opens_at or closes_at else {}  # without a window the answer is what it always was
    return {"sku": sku, "channel": channel, "quota": quota, **shown, "created": created}


def require_channel(conn: Connection, name: str, *, field: str) -> None:
    if conn.execute(select(channels.c.id).where(channels.c.name == name)).first() is None:
        raise unknown_channel(name, field=field)


def unknown_channel(name: str, *, field: str) -> Invalid:
    return Invalid(field, f"unknown channel {name!r}; create it with PUT /v1/channels/{name}")
