"""Holds as ops see them: a storefront key's caps, listing holds by key or SKU, and releasing them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from allot.domain.errors import HoldLimitReached, Invalid
from allot.services.book import BATCH, Book, save_all
from allot.services.selling import hold_view
from allot.store.tables import holds, skus

DEFAULT_MAX_TTL = 30 * 60  # a checkout takes minutes; a longer hold only keeps stock from other buyers
DEFAULT_MAX_HELD_UNITS = 500
STATUSES = ("active", "expired", "released", "confirmed")
HELD = "allot.held_by_key"  # conn.info: the batch's count of units held per key


@dataclass(frozen=True, slots=True)
class HoldLimits:
    """A storefront key's caps: how long one hold may last, how many units its holds may keep at once."""

    max_ttl_seconds: int = DEFAULT_MAX_TTL
    max_held_units: int = DEFAULT_MAX_HELD_UNITS

    def ttl(self, asked: int | None, default: int) -> int:
        """The hold's lifetime: what was asked for, refused beyond the cap; the default never exceeds it."""
        if asked is not None and asked > self.max_ttl_seconds:
            raise Invalid("ttl_seconds", f"at most {self.max_ttl_seconds} seconds for this storefront key")
        return asked or min(default, self.max_ttl_seconds)

    def check_units(self, conn: Connection, key_id: int, qty: int, now: datetime) -> None:
        """Refuse a hold that would take the key past its cap of units held at once."""
        held = _held(conn, key_id, now)
        if held + qty > self.max_held_units:
            raise HoldLimitReached(f"this key already holds {held} units; it may hold at most "
                                   f"{self.max_held_units} at once (release or confirm some holds first)",
                                   held=held, limit=self.max_held_units)

    @staticmethod
    def count(conn: Connection, key_id: int, qty: int) -> None:
        """A hold was placed: the batch's running count goes up without asking the database again."""
        memo = conn.info.get(HELD)
        if memo is not None and memo[0] is conn.info.get(BATCH):
            memo[1][key_id] = memo[1].get(key_id, 0) + qty


def _held(conn: Connection, key_id: int, now: datetime) -> int:
    """Units the key holds now: asked once per key per group-commit batch, then counted in memory.

    The batch's books dict identifies the batch (a new one each transaction), so a count never
    outlives the transaction it was read in; outside a batch it is asked every time.
    """
    batch = conn.info.get(BATCH)
    memo: tuple[Any, dict[int, int]] | None = conn.info.get(HELD)
    if batch is None or memo is None or memo[0] is not batch:
        memo = (batch, {})
        if batch is not None:
            conn.info[HELD] = memo
    if key_id not in memo[1]:
        h = holds.c
        memo[1][key_id] = int(conn.execute(select(func.coalesce(func.sum(h.qty), 0)).where(
            h.api_key_id == key_id, h.status == "active", h.expires_at > now)).scalar_one())
    return int(memo[1][key_id])


def page(conn: Connection, now: datetime, sku: str | None, key_id: int | None, status: str | None,
         after: str | None, limit: int) -> dict[str, Any]:
    """Holds by SKU, key or status, in id order after a cursor; `next` is null on the last page."""
    h = holds.c
    stmt = select(holds, skus.c.sku).join(skus, skus.c.id == h.sku_id).order_by(h.id).limit(limit)
    if sku:
        stmt = stmt.where(skus.c.sku == sku)
    if key_id is not None:
        stmt = stmt.where(h.api_key_id == key_id)
    if status:
        stmt = stmt.where(_status_is(status, now))
    if after:
        stmt = stmt.where(h.id > after)
    rows = conn.execute(stmt).all()
    items = [hold_view(r, now) | {"key_id": r.api_key_id, "created_at": r.created_at} for r in rows]
    return {"items": items, "next": rows[-1].id if len(rows) == limit else None}


def _status_is(status: str, now: datetime) -> Any:
    """A hold past its expiry is expired even before the sweeper marks it so."""
    h = holds.c
    if status == "active":
        return and_(h.status == "active", h.expires_at > now)
    if status == "expired":
        return or_(h.status == "expired", and_(h.status == "active", h.expires_at <= now))
    return h.status == status


def release(conn: Connection, now: datetime, sku: str | None = None, key_id: int | None = None,
            cause: str = "hold.released_by_ops") -> dict[str, Any]:
    """Release every live hold of a SKU and/or a key at once, re-planning each SKU they were on."""
    if sku is None and key_id is None:
        raise Invalid("sku", "name a sku, a key_id or both")
    names = _live_skus(conn, now, sku, key_id)
    books = Book.open(conn, names, now)  # locks in key order; then read again under the locks
    h = holds.c
    found = [r.id for r in conn.execute(_live(now, sku, key_id, select(h.id)))]
    if found:
        conn.execute(update(holds).where(h.id.in_(found)).values(status="released"))
    for book in books.values():
        book.replan({"op": cause, "key_id": key_id})
    save_all(books.values())
    return {"released": len(found), "holds": sorted(found)}


def release_for_key(conn: Connection, key_id: int, now: datetime) -> int:
    """A revoked key's holds end with it, in the revoking transaction."""
    return int(release(conn, now, key_id=key_id, cause="hold.released_key_revoked")["released"])


def _live(now: datetime, sku: str | None, key_id: int | None, stmt: Any) -> Any:
    h = holds.c
    stmt = stmt.where(h.status == "active", h.expires_at > now)
    if sku is not None:
        stmt = stmt.where(h.sku_id == select(skus.c.id).where(skus.c.sku == sku).scalar_subquery())
    if key_id is not None:
        stmt = stmt.where(h.api_key_id == key_id)
    return stmt


def _live_skus(conn: Connection, now: datetime, sku: str | None, key_id: int | None) -> list[str]:
    stmt = _live(now, sku, key_id, select(skus.c.sku).distinct().join_from(holds, skus, skus.c.id == holds.c.sku_id))
    return sorted(conn.execute(stmt).scalars())

