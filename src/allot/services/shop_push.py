"""The push worker's steps against the database, each one short transaction; never any HTTP in here.

follow: a connected channel's cursor walks the published `availability.changed` events and marks
each changed SKU × channel due, coalesced: a row's `wanted` version goes up with every change, so a
thousand changes while a push is in flight leave one more push to do, not a thousand. claim: take
due rows (SKIP LOCKED on PostgreSQL, so several workers never push the same row) under a lease.
settle: record what the shop said — pushed, missing, or failed and when to try again.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from allot.services import outbox
from allot.services.storefronts import Storefront
from allot.store.bulk import insert_new
from allot.store.tables import events, shop_push_channels, shop_pushes, skus

CHANGED = "availability.changed"
P = shop_pushes.c


@dataclass(frozen=True, slots=True)
class Claimed:
    """One SKU × channel taken for pushing: the version it settles and the item remembered for it."""

    channel: str
    sku: str
    version: int
    shop_ref: str | None
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the shop made of one push: a quantity set, no such SKU, or an error to retry after."""

    claimed: Claimed
    quantity: int | None = None
    shop_ref: str | None = None
    missing: bool = False
    error: str | None = None
    retry_at: datetime | None = None


def shop_of(found: Storefront) -> str:
    """Which shop a connection points at, without any credential: the remembered ids belong to it."""
    c = found.credentials
    return f"{found.platform}|{found.api_base or ''}|{c.get('shop') or c.get('url') or ''}|{c.get('location_id') or ''}"[:300]


def follow(conn: Connection, found: Storefront, now: datetime, limit: int = 2000) -> int:
    """Mark due every SKU whose availability on the channel changed since the cursor; how many events it passed.

    A channel seen for the first time, or now pointed at another shop, has every SKU marked due.
    """
    shop = shop_of(found)
    start = {"channel": found.channel, "cursor": outbox.last_position(conn), "shop": shop}
    if insert_new(conn, shop_push_channels, start, ["channel"]):
        _forget_and_mark_all(conn, found.channel, now)
        return 0
    row = conn.execute(select(shop_push_channels).where(shop_push_channels.c.channel == found.channel)
                       .with_for_update(skip_locked=True)).first()
    if row is None:  # another worker is following this channel right now
        return 0
    if row.shop != shop:
        conn.execute(update(shop_push_channels).where(shop_push_channels.c.channel == found.channel)
                     .values(shop=shop, last_error=None, last_error_at=None))
        _forget_and_mark_all(conn, found.channel, now)
    passed = conn.execute(select(events.c.position, events.c.type, events.c.sku, events.c.data)
                          .where(events.c.position > row.cursor).order_by(events.c.position).limit(limit)).all()
    mine = {e.sku for e in passed
            if e.type == CHANGED and e.sku and (e.data or {}).get("channel") == found.channel}
    mark(conn, found.channel, sorted(mine), now)
    if passed:
        conn.execute(update(shop_push_channels).where(shop_push_channels.c.channel == found.channel)
                     .values(cursor=passed[-1].position))
    return len(passed)


def _forget_and_mark_all(conn: Connection, channel: str, now: datetime) -> None:
    conn.execute(update(shop_pushes).where(P.channel == channel)
                 .values(shop_ref=None, missing=False, next_attempt_at=now, attempts=0))
    mark(conn, channel, list(conn.execute(select(skus.c.sku).order_by(skus.c.sku)).scalars()), now)


def mark(conn: Connection, channel: str, changed: Sequence[str], now: datetime) -> None:
    """Something about these SKUs changed: each gets one more version to push (however many changes)."""
    if not changed:
        return
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(changed), 1000):
        rows = [{"channel": channel, "sku": sku, "wanted": 1, "pushed": 0, "attempts": 0, "missing": False,
                 "next_attempt_at": now} for sku in changed[start:start + 1000]]
        stmt = dialect_insert(shop_pushes).values(rows)
        conn.execute(stmt.on_conflict_do_update(index_elements=["channel", "sku"],
                                                set_={"wanted": shop_pushes.c.wanted + 1}))


def lagging(conn: Connection, shops: dict[str, Storefront]) -> set[str]:
    """The channels with something to follow: events past their cursor, a new or a changed shop."""
    last = outbox.last_position(conn)
    seen = {r.channel: r for r in conn.execute(select(shop_push_channels))}
    return {c for c, sf in shops.items() if c not in seen or seen[c].cursor < last or seen[c].shop != shop_of(sf)}


def anything_due(conn: Connection, channels: Iterable[str], now: datetime) -> bool:
    return conn.execute(select(P.sku).where(_due(channels, now)).limit(1)).first() is not None


def _due(channels: Iterable[str], now: datetime) -> Any:
    return and_(P.channel.in_(list(channels)), P.wanted > P.pushed, P.next_attempt_at <= now,
                or_(P.lease_until.is_(None), P.lease_until <= now))


def ensure(conn: Connection, channel: str, names: Sequence[str], now: datetime) -> None:
    """Rows for SKUs pushed outside the worker (`allot shop push`), with nothing left to push."""
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(names), 1000):
        rows = [{"channel": channel, "sku": sku, "wanted": 0, "pushed": 0, "attempts": 0, "missing": False,
                 "next_attempt_at": now} for sku in names[start:start + 1000]]
        conn.execute(dialect_insert(shop_pushes).values(rows).on_conflict_do_nothing(
            index_elements=["channel", "sku"]))


def claim(conn: Connection, channels: Iterable[str], now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Take up to `limit` due pushes of these channels under a lease, oldest due first."""
    rows = conn.execute(select(P.channel, P.sku, P.wanted, P.shop_ref, P.attempts).where(_due(channels, now))
                        .order_by(P.next_attempt_at, P.channel, P.sku).limit(limit)
                        .with_for_update(skip_locked=True)).all()
    for channel in {r.channel for r in rows}:
        taken = [r.sku for r in rows if r.channel == channel]
        conn.execute(update(shop_pushes).where(P.channel == channel, P.sku.in_(taken))
                     .values(claimed=P.wanted, lease_until=now + lease))
    return [Claimed(r.channel, r.sku, r.wanted, r.shop_ref, r.attempts) for r in rows]


def settle(conn: Connection, outcomes: Sequence[Outcome], now: datetime, missing_recheck: timedelta) -> None:
    """Record each push's outcome, and the channel's health (last push, last error)."""
    for o in outcomes:
        c = o.claimed
        values: dict[str, Any] = {"lease_until": None, "claimed": None}
        if o.error is None:
            values |= {"pushed": c.version, "attempts": 0, "last_error": None, "missing": o.missing,
                       "shop_ref": o.shop_ref}
            if o.missing:  # not retried until it changes again, and then not before the re-check
                values["next_attempt_at"] = now + missing_recheck
            else:
                values |= {"quantity": o.quantity, "pushed_at": now}
        else:
            values |= {"attempts": c.attempts + 1, "last_error": o.error[:500], "next_attempt_at": o.retry_at,
                       "shop_ref": o.shop_ref}
        conn.execute(update(shop_pushes).where(P.channel == c.channel, P.sku == c.sku, P.claimed == c.version)
                     .values(**values))
    for channel in {o.claimed.channel for o in outcomes}:
        _health(conn, channel, [o for o in outcomes if o.claimed.channel == channel], now)


def _health(conn: Connection, channel: str, outcomes: Sequence[Outcome], now: datetime) -> None:
    values: dict[str, Any] = {}
    if any(o.error is None and not o.missing for o in outcomes):
        values["last_push_at"] = now
    failed = [o.error for o in outcomes if o.error]
    if failed:
        values |= {"last_error": failed[-1][:500], "last_error_at": now}
    if values:
        conn.execute(update(shop_push_channels).where(shop_push_channels.c.channel == channel).values(**values))

