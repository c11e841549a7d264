"""Holds and orders: the storefront's hot path. A sale is accepted only if nobody loses a unit."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, insert, select, update

from allot.domain.errors import Conflict, HoldExpired, Invalid, NotFound
from allot.domain.model import Allocation, Placement, State, Take
from allot.services.book import Book, atomic, save_all, takes_from_json, takes_to_json
from allot.services.catalog import require_channel
from allot.services.common import Event, as_utc, iso
from allot.store import deferred
from allot.store.tables import holds, order_lines, orders, skus

NEW_HOLD = insert(holds)  # built once; the hot path writes one per sale
NEW_LINE = insert(order_lines)
DEFAULT_TTL = 600
MAX_TTL = 7 * 24 * 3600


class Limits(Protocol):
    """A storefront key's hold caps (services/holds.HoldLimits)."""

    def ttl(self, asked: int | None, default: int) -> int: ...

    def check_units(self, conn: Connection, key_id: int, qty: int, now: datetime) -> None: ...

    def count(self, conn: Connection, key_id: int, qty: int) -> None: ...


def place_hold(conn: Connection, sku: str, qty: int, channel: str, ttl_seconds: int | None,
               now: datetime, api_key_id: int | None = None, limits: Limits | None = None,
               customer: str | None = None) -> dict[str, Any]:
    """Reserve units during checkout; they free themselves when the hold expires.

    A storefront key's holds are capped (`limits`): in lifetime, and in units held at once.
    A SKU's `per_customer_limit` and a channel's window are decided here too, under the SKU lock.
    """
    if limits is not None and api_key_id is not None:
        ttl_seconds = limits.ttl(ttl_seconds, DEFAULT_TTL)
        limits.check_units(conn, api_key_id, qty, now)
    book = Book.open(conn, [sku], now, {sku: "sku"})[sku]
    if channel not in book.supply.channels:
        require_channel(conn, channel, field="channel")
    now = book.check_open(channel)
    book.claim(customer, qty)
    hold_id = f"hold_{uuid.uuid4().hex}"
    expires_at = now + timedelta(seconds=ttl_seconds or DEFAULT_TTL)
    queued_at, seq = book.next_place(0)
    placed = book.sell(f"h:{hold_id}", qty, channel, 0, (queued_at, seq))
    deferred.insert(conn, NEW_HOLD, {
        "id": hold_id, "sku_id": book.id, "channel": channel, "qty": qty, "priority": 0, "queued_at": queued_at,
        "seq": seq, "expires_at": expires_at, "status": "active", "allocation": takes_to_json(placed.takes),
        "state": placed.state.value, "promise_date": placed.promise_date, "api_key_id": api_key_id,
        "created_at": now, "customer": customer})
    book.note_hold_expiry(expires_at)
    book.save()
    if limits is not None and api_key_id is not None:
        limits.count(conn, api_key_id, qty)
    return {"id": hold_id, "sku": sku, "channel": channel, "qty": qty, "status": "active",
            "expires_at": expires_at, "state": placed.state.value, "promise_date": placed.promise_date,
            "customer": customer}


def release_hold(conn: Connection, hold_id: str, now: datetime) -> dict[str, Any]:
    """Give a hold's units back at once; releasing a hold that already ended changes nothing."""
    name = _hold(conn, hold_id).sku
    book = Book.open(conn, [name], now)[name]
    row = _hold(conn, hold_id)  # read again under the SKU lock
    if row.status == "active" and as_utc(row.expires_at) > now:
        conn.execute(update(holds).where(holds.c.id == hold_id).values(status="released"))
        book.replan({"op": "hold.released", "hold_id": hold_id})
        book.save()
        return hold_view(_hold(conn, hold_id), now)
    return hold_view(row, now)


def hold_owner(conn: Connection, hold_id: str) -> int | None:
    """The API key that placed a hold (None for holds placed without one)."""
    owner: int | None = _hold(conn, hold_id).api_key_id
    return owner


def get_hold(conn: Connection, hold_id: str, now: datetime) -> dict[str, Any]:
    return hold_view(_hold(conn, hold_id), now)


def hold_view(row: Any, now: datetime) -> dict[str, Any]:
    status = "expired" if row.status == "active" and as_utc(row.expires_at) <= now else row.status
    sku = row.sku if "sku" in row._fields else None
    return {"id": row.id, "sku": sku, "channel": row.channel, "qty": row.qty, "status": status,
            "expires_at": as_utc(row.expires_at), "state": row.state, "promise_date": row.promise_date,
            "customer": getattr(row, "customer", None)}


@dataclass(frozen=True, slots=True)
class Extras:
    """What an order may carry beyond its lines; `facts` for an order a shop already sold."""

    email: str | None = None
    ignored_lines: list[dict[str, Any]] | None = None
    facts: bool = False


def place_order(conn: Connection, ref: str, channel: str, priority: int, customer: str | None,
                lines: list[dict[str, Any]], now: datetime, extras: Extras | None = None) -> None:
    """Place every line or none: each takes a new sale or confirms a hold in its queue place.

    A shop's order (`extras.facts`) is never refused: its lines join the tail of the queue and
    whatever finds no supply is backordered."""
    extras = extras or Extras()
    if conn.execute(select(orders.c.id).where(orders.c.ref == ref)).first():
        raise Conflict(f"order {ref!r} already exists", ref=ref)
    if not extras.facts:  # a shop's order comes through its channel's connection: the channel exists
        require_channel(conn, channel, field="channel")
    fields = {ln["sku"]: f"lines.{i}.sku" for i, ln in reversed(list(enumerate(lines)))}
    books = Book.open(conn, fields, now, fields)
    if not extras.facts:  # drops: every line's channel window, by one clock; the order is stamped with it
        now = max([now, *(books[name].check_open(channel) for name in fields)])
    if extras.facts:  # nothing is refused: no line can need undoing
        _place_lines(conn, books, ref, channel, priority, customer, lines, now, extras)
        return
    with atomic(conn):  # a refused line undoes the lines before it, even if the caller goes on
        _place_lines(conn, books, ref, channel, priority, customer, lines, now, extras)


def _place_lines(conn: Connection, books: dict[str, Book], ref: str, channel: str, priority: int,
                 customer: str | None, lines: list[dict[str, Any]], now: datetime, extras: Extras) -> None:
    order_id = conn.execute(insert(orders).values(
        ref=ref, channel=channel, priority=priority, customer=customer, created_at=now, email=extras.email,
        ignored_lines=extras.ignored_lines).returning(orders.c.id)).scalar_one()
    shrunk: set[str] = set()
    rows: list[dict[str, Any]] = []
    for n, item in enumerate(lines, start=1):
        book = books[item["sku"]]
        if item.get("hold_id"):
            values, placed, full = _confirm(conn, book, item, n - 1, channel, now, customer)
            if not full:
                shrunk.add(book.sku)
        elif extras.facts:
            queued_at, seq = book.next_place(0)
            placed = book.take("l:new", item["qty"], channel, (queued_at, seq))
            if placed.state is State.BACKORDERED and book.rule.allocation is Allocation.FAIR_SHARE:
                shrunk.add(book.sku)  # a shortage is shared out: the full plan decides who waits
            values = {"priority": 0, "queued_at": queued_at, "seq": seq, "hold_id": None}
        else:
            book.claim(customer, item["qty"])
            queued_at, seq = book.next_place(priority)
            try:
                placed = book.sell("l:new", item["qty"], channel, priority, (queued_at, seq))
            except Conflict as refused:
                refused.extra["line"] = n
                raise
            values = {"priority": priority, "queued_at": queued_at, "seq": seq, "hold_id": None}
        rows.append(dict(
            order_id=order_id, line=n, sku_id=book.id, channel=channel, qty=item["qty"], qty_shipped=0,
            qty_cancelled=0, open=True, allocation=takes_to_json(placed.takes), state=placed.state.value,
            promise_date=placed.promise_date, first_promise_date=placed.promise_date,
            external_id=item.get("external_id"), **values))
        book.events.append(Event("order_line.promised", book.sku, _promised(placed, item["qty"]), ref, n))
    conn.execute(NEW_LINE, rows[0] if len(rows) == 1 else rows)  # every line in one statement
    for name in shrunk:
        books[name].replan({"op": "order.ingested" if extras.facts else "hold.confirmed_short", "order_ref": ref})
    save_all(books.values())


def _confirm(conn: Connection, book: Book, item: dict[str, Any], i: int, channel: str,
             now: datetime, customer: str | None) -> tuple[dict[str, Any], Placement, bool]:
    """Turn a hold into an order line: same queue place, no new availability needed."""
    deferred.flush(conn)  # a hold placed earlier in this batch
    hold = conn.execute(select(holds).where(holds.c.id == item["hold_id"])).first()
    if hold is None:
        raise NotFound(f"unknown hold {item['hold_id']!r}", hold_id=item["hold_id"])
    if hold.status != "active" or as_utc(hold.expires_at) <= now:
        raise HoldExpired(f"hold {hold.id!r} is {hold_view(hold, now)['status']}", hold_id=hold.id)
    if hold.sku_id != book.id:
        raise Invalid(f"lines.{i}.hold_id", f"hold {hold.id!r} is for another SKU")
    if hold.channel != channel:
        raise Invalid(f"lines.{i}.hold_id", f"hold {hold.id!r} was placed for channel {hold.channel!r}")
    if item["qty"] > hold.qty:
        raise Invalid(f"lines.{i}.qty", f"hold {hold.id!r} covers only {hold.qty}")
    book.claim(customer, item["qty"], give_back=(hold.customer, hold.qty))
    conn.execute(update(holds).where(holds.c.id == hold.id).values(status="confirmed"))
    full = item["qty"] == hold.qty
    takes = takes_from_json(hold.allocation)
    if full:
        book.swap_hold_for_line(hold.qty, takes)
    placed = (Placement(takes, State(hold.state), hold.promise_date) if full
              else book.placement_of(_trim(takes, item["qty"]), channel))
    values = {"priority": hold.priority, "queued_at": hold.queued_at, "seq": hold.seq, "hold_id": hold.id}
    return values, placed, full


def _trim(takes: tuple[Take, ...], qty: int) -> tuple[Take, ...]:
    """The first `qty` units of an allocation; the re-plan that follows settles the rest."""
    out: list[Take] = []
    need = qty
    for t in takes:
        if need <= 0:
            break
        out.append(Take(t.bucket, min(t.qty, need)))
        need -= t.qty
    return tuple(out)


def _promised(placed: Placement, qty: int) -> dict[str, Any]:
    return {"qty": qty, "state": placed.state.value, "promise_date": iso(placed.promise_date)}


def _hold(conn: Connection, hold_id: str) -> Any:
    deferred.flush(conn)  # a hold placed earlier in this batch
    row = conn.execute(
        select(holds, skus.c.sku).join(skus, skus.c.id == holds.c.sku_id).where(holds.c.id == hold_id)
    ).first()
    if row is None:
        raise NotFound(f"unknown hold {hold_id!r}", hold_id=hold_id)
    return row
