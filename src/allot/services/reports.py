"""Read models: availability for a channel, and the events feed."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select

from allot.domain import planner
from allot.domain.errors import NotFound
from allot.domain.model import MAIN, ChannelRule, Source, Split
from allot.domain.planner import Plan
from allot.services.book import Book
from allot.services.catalog import unknown_channel
from allot.store.db import Database
from allot.store.tables import channels, events, sku_channels, skus

# A channel that may use every bucket: what the SKU as a whole can still sell.
ANY_CHANNEL = ChannelRule("*", allow_backorder=True, allow_preorder=True)


def tidy(db: Database, sku: str, now: datetime) -> None:
    """Before a read: apply what time did since the last plan (expired holds, passed consent
    deadlines). A tidy-up, so nothing is audited; usually just one read."""
    with db.read() as conn:
        stale = needs_tidy(conn, sku, now)
    if stale:
        _replan(db, sku, now)


def _replan(db: Database, sku: str, now: datetime) -> None:
    with db.write() as conn:
        Book.open(conn, [sku], now)[sku].save()


def needs_tidy(conn: Connection, sku: str, now: datetime) -> bool:
    """True when a hold expired or a consent deadline passed since the last plan: the caller
    re-plans before reading."""
    return stale(Book(conn, _sku_row(conn, sku), {}, now))


def stale(book: Book) -> bool:
    return book.holds_expired() or book.consent_due() or book.opening_due()  # opening: drops (0014)


def _sku_row(conn: Connection, sku: str) -> Any:
    row = conn.execute(select(skus).where(skus.c.sku == sku)).first()
    if row is None:
        raise NotFound(f"unknown SKU {sku!r}", sku=sku)
    return row


def fresh_availability(db: Database, sku: str, channel: str | None, now: datetime) -> dict[str, Any] | None:
    """`availability` in one short read transaction (three queries), or None when time moved the
    plan since it was made (a hold expired, a consent deadline passed): then `current_availability`."""
    with db.read_one() as conn:
        book = _reading(conn, sku, channel, now)
        return None if stale(book) else availability_of_book(book, channel)


def current_availability(db: Database, sku: str, channel: str | None, now: datetime) -> dict[str, Any]:
    """`availability`, after applying what time did to the plan (the caller found it stale)."""
    _replan(db, sku, now)  # re-plans only if still stale once locked: another request may have been first
    with db.read() as conn:
        return availability(conn, sku, channel, now)


def availability(conn: Connection, sku: str, channel: str | None, now: datetime) -> dict[str, Any]:
    """What one more unit on `channel` would get, read from the plan summary without locking."""
    return availability_of_book(_reading(conn, sku, channel, now), channel)


# One query for an availability read: the SKU, the channel's rules and the SKU's quota on it
# (services/availability_batch.py asks the same for many SKUs).
_ch, _q = channels.c, sku_channels.c
SKU_WITH_CHANNEL = (
    select(skus, _ch.name.label("ch_name"), _ch.allow_backorder.label("ch_backorder"),
           _ch.allow_preorder.label("ch_preorder"), _ch.padding_days.label("ch_padding"), _q.quota.label("ch_quota"),
           _q.opens_at.label("ch_opens_at"), _q.closes_at.label("ch_closes_at"),
           _ch.locations.label("ch_locations"), _ch.split.label("ch_split"))
    .select_from(skus)
    .outerjoin(channels, _ch.name == bindparam("channel"))
    .outerjoin(sku_channels, and_(_q.sku_id == skus.c.id, _q.channel == bindparam("channel")))
)
AVAILABILITY_READ = SKU_WITH_CHANNEL.where(skus.c.sku == bindparam("sku"))


def _reading(conn: Connection, sku: str, channel: str | None, now: datetime) -> Book:
    row = conn.execute(AVAILABILITY_READ, {"sku": sku, "channel": channel}).first()
    if row is None:
        raise NotFound(f"unknown SKU {sku!r}", sku=sku)
    if channel is not None and row.ch_name is None:
        raise unknown_channel(channel, field="channel")
    return reading_book(conn, row, channel, now)


def reading_book(conn: Connection, row: Any, channel: str | None, now: datetime) -> Book:
    """A read-only Book from a SKU_WITH_CHANNEL row: the SKU's plan summary and that channel's rules."""
    rules = {ANY_CHANNEL.name: ANY_CHANNEL}
    if channel is not None:
        rules[channel] = ChannelRule(channel, row.ch_backorder, row.ch_preorder, row.ch_padding,
                                     tuple(row.ch_locations or ()), Split(row.ch_split or Split.ALLOW))
    book = Book(conn, row, rules, now)
    book.know_quota(channel, row.ch_quota)
    book.know_window(channel, row.ch_opens_at, row.ch_closes_at)
    return book


def availability_of_book(book: Book, channel: str | None) -> dict[str, Any]:
    s = book.summary
    current = Plan({}, s["free"], s["uncovered"])
    view = planner.view(book.supply, current, channel or ANY_CHANNEL.name, book.today)
    available = view.available
    quota = book.quota_left(channel) if channel else None
    if quota is not None:
        available = min(available, quota)
    return {
        "sku": book.sku, "channel": channel, "on_hand": book.on_hand, "incoming": s["incoming"],
        "committed": s["committed"], "reserved": s["reserved"], "available": available,
        "next_promise_date": view.next_promise_date if available >= 1 else None,
        "timeline": [{"date": p.date, "available": p.available} for p in view.timeline],
        "oversold": s["uncovered"] > 0, "quota_left": quota,
        "locations": by_location(book, planner.free_at(book.supply, current, channel or ANY_CHANNEL.name, book.today)),
        **_window(book, channel),
    }


def _window(book: Book, channel: str | None) -> dict[str, Any]:
    """Drops: the channel's window for the SKU (known from the read, no query)."""
    opens, closes = book._windows.get(channel, (None, None)) if channel else (None, None)
    return {"opens_at": opens, "closes_at": closes}


def by_location(book: Book, free: dict[str, int]) -> list[dict[str, Any]]:
    """The SKU's numbers per location, from the plan summary (no query): on hand from the stock
    buckets, incoming, units allocated to order lines and holds, and what the channel may still use."""
    s = book.summary
    on_hand = {b.location: b.capacity for b in book.supply.buckets if b.source is Source.STOCK}
    on_hand[MAIN] = on_hand.get(MAIN, 0) + (book.row.safety_stock or 0)
    at = s.get("at")
    if at is None:  # planned before locations: everything is at main
        at = {MAIN: [s["committed"], s["reserved"]]}
    incoming = s.get("incoming_at") or {MAIN: s["incoming"]}
    return [{"location": loc, "on_hand": on_hand.get(loc, 0), "incoming": incoming.get(loc, 0),
             "committed": at.get(loc, [0, 0])[0], "reserved": at.get(loc, [0, 0])[1], "available": free.get(loc, 0)}
            for loc in book.supply.locations]


def event_page(conn: Connection, after: int, limit: int, sku: str | None = None, kind: str | None = None,
               order_ref: str | None = None) -> dict[str, Any]:
    """Published events in position order after a cursor; `next` is the cursor for the following page.

    An event's public id is its position (services/outbox.py): strictly increasing, never skipped.
    """
    stmt = (select(events).where(events.c.position.is_not(None), events.c.position > after)
            .order_by(events.c.position).limit(limit))
    if sku:
        stmt = stmt.where(events.c.sku == sku)
    if kind:  # a type, or a family: `order_line.*` is every type that starts with `order_line.`
        family = kind.endswith(".*")
        stmt = stmt.where(events.c.type.startswith(kind[:-1], autoescape=True) if family else events.c.type == kind)
    if order_ref:
        stmt = stmt.where(events.c.order_ref == order_ref)
    rows = conn.execute(stmt).all()
    return {"events": [event_view(r) for r in rows], "next": rows[-1].position if rows else after}


def event_view(row: Any) -> dict[str, Any]:
    """One event as the feed and the webhooks publish it."""
    return {"id": row.position, "type": row.type, "version": row.version, "occurred_at": row.occurred_at,
            "sku": row.sku, "order_ref": row.order_ref, "line": row.line, "data": row.data}
