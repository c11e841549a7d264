"""The waitlist (BRIEF §11): customers who wait for a SKU on a channel, offered units in turn.

When units become sellable on a channel (a receipt, a new or larger PO, a cancellation, a hold
that expired or was released: every one of them re-plans the SKU), `offer` runs right after the
re-plan, under the same SKU lock: in waitlist order it places a hold for each waiting customer
whose units the channel may sell now. The hold is an ordinary tail sale (`Book.sell`), so an offer
never exceeds what the channel may sell and never takes a unit an existing line needs; it counts
against the customer's `per_customer_limit` like any hold. An offer that lapses frees its units,
which re-plans and offers them to the next in line; the storefront confirms an offer with an
ordinary `POST /v1/orders` naming the hold.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select, update

from allot.domain import planner
from allot.domain.errors import Conflict, CustomerLimit, Invalid, NotFound, NotOpen, SaleRefused
from allot.domain.planner import Plan
from allot.services.book_rows import takes_to_json
from allot.services.common import Event, as_utc
from allot.store import deferred
from allot.store.tables import holds, skus, waitlist

if TYPE_CHECKING:
    from allot.services.book import Book

OFFER_TTL = 24 * 3600  # a day, unless the SKU says otherwise (`offer_ttl_seconds`)
OFFERS_PER_PLAN = 200  # the waiting entries one re-plan looks at; the rest wait for the next one
NEW_HOLD = insert(holds)


class WaitlistAvailable(Conflict):
    """The channel can sell the units now: buy them instead of waiting."""

    code = "available"


def join(conn: Connection, sku: str, channel: str, customer: str, email: str | None, qty: int,
         now: datetime, api_key_id: int | None = None) -> dict[str, Any]:
    from allot.services.book import Book
    from allot.services.catalog import require_channel

    book = Book.open(conn, [sku], now, {sku: "sku"})[sku]
    if channel not in book.supply.channels:
        require_channel(conn, channel, field="channel")
    limit = book.row.per_customer_limit
    if limit is not None and qty > limit:
        raise Invalid("qty", f"{sku} is limited to {limit} per customer")
    available = _available(book, channel) if _open(book, channel) else 0  # before a drop opens: wait
    if available >= qty and not _waiting(conn, book.id, channel):
        raise WaitlistAvailable(f"{channel} can sell {available} of {sku} now: place a hold or an order",
                                available=available, sku=sku, channel=channel)
    entry_id = conn.execute(insert(waitlist).values(
        sku_id=book.id, channel=channel, customer=customer, email=email, qty=qty, status="waiting",
        api_key_id=api_key_id, created_at=now).returning(waitlist.c.id)).scalar_one()
    offer(book)  # units free while others wait ahead: they are offered in order, this entry included
    book.save()
    return entry(conn, entry_id, now)


def leave(conn: Connection, entry_id: int, now: datetime) -> dict[str, Any]:
    """Leave the list; an open offer's hold is released, so its units pass on at once."""
    row = _row(conn, entry_id)
    if row.status in ("waiting", "offered") and row.hold_status != "confirmed":  # a claimed offer stands
        conn.execute(update(waitlist).where(waitlist.c.id == entry_id).values(status="left"))
        if row.status == "offered" and row.hold_id:
            from allot.services.selling import release_hold
            release_hold(conn, row.hold_id, now)
    return entry(conn, entry_id, now)


def entry(conn: Connection, entry_id: int, now: datetime) -> dict[str, Any]:
    row = _row(conn, entry_id)
    return _view(row, _position(conn, row), now)


def listing(conn: Connection, sku: str, now: datetime) -> dict[str, Any]:
    sku_id = conn.execute(select(skus.c.id).where(skus.c.sku == sku)).scalar()
    if sku_id is None:
        raise NotFound(f"unknown SKU {sku!r}", sku=sku)
    rows = conn.execute(_rows().where(waitlist.c.sku_id == sku_id, waitlist.c.status != "left")
                        .order_by(waitlist.c.id)).all()
    place: dict[str, int] = {}
    items = []
    for row in rows:
        position = None
        if row.status == "waiting":
            place[row.channel] = position = place.get(row.channel, 0) + 1
        items.append(_view(row, position, now))
    return {"sku": sku, "items": items}


def owner(conn: Connection, entry_id: int) -> tuple[int | None, str]:
    row = _row(conn, entry_id)
    return row.api_key_id, row.channel


def offer(book: Book) -> None:
    """Offer units the channels may sell now to the waiting customers, in waitlist order."""
    conn = book.conn
    w = waitlist.c
    waiting = conn.execute(
        select(w.id, w.channel, w.customer, w.email, w.qty, w.api_key_id)
        .where(w.sku_id == book.id, w.status == "waiting").order_by(w.id).limit(OFFERS_PER_PLAN)
    ).all()
    done: set[str] = set()  # channels whose next in line cannot be served: nobody behind jumps them
    opening: list[str] = []  # windows that have customers waiting for them to open
    ttl = timedelta(seconds=book.row.offer_ttl_seconds or OFFER_TTL)
    for row in waiting:
        if row.channel in done or row.channel not in book.supply.channels:
            continue
        claimed = False
        try:
            now = book.check_open(row.channel)
            if _available(book, row.channel) < row.qty:
                done.add(row.channel)
                continue
            book.claim(row.customer, row.qty)
            claimed = True
            hold_id = f"hold_{uuid.uuid4().hex}"
            place = book.next_place(0)
            placed = book.sell(f"h:{hold_id}", row.qty, row.channel, 0, place)
        except NotOpen as closed:
            done.add(row.channel)
            opens = closed.extra.get("opens_at")
            if opens and book.decision_clock() < datetime.fromisoformat(opens):  # not yet open (not closed)
                opening.append(opens)
            continue
        except SaleRefused:
            if claimed:  # else the customer's later offers in this batch would meet a false limit
                book.unclaim(row.customer, row.qty)
            done.add(row.channel)
            continue
        except CustomerLimit:
            continue  # this customer has enough already; the next in line is not held up by it
        expires_at = now + ttl
        deferred.insert(conn, NEW_HOLD, {
            "id": hold_id, "sku_id": book.id, "channel": row.channel, "qty": row.qty, "priority": 0,
            "queued_at": place[0], "seq": place[1], "expires_at": expires_at, "status": "active",
            "allocation": takes_to_json(placed.takes), "state": placed.state.value,
            "promise_date": placed.promise_date, "api_key_id": row.api_key_id, "created_at": now,
            "customer": row.customer})
        book.note_hold_expiry(expires_at)
        conn.execute(update(waitlist).where(w.id == row.id).values(status="offered", hold_id=hold_id, offered_at=now))
        book.events.append(Event("waitlist.offered", book.sku, {
            "waitlist_id": row.id, "hold_id": hold_id, "expires_at": expires_at.isoformat(),
            "customer": row.customer, "email": row.email, "channel": row.channel, "qty": row.qty}))
    _wake_at(book, opening)


def _wake_at(book: Book, opening: list[str]) -> None:
    """The first opening someone waits for: the first look at the SKU after it re-plans and offers."""
    due = min(opening, key=datetime.fromisoformat) if opening else None
    if book.summary.get("next_opening") != due:
        book.summary = {**book.summary, "next_opening": due}
        book.dirty = True


def _open(book: Book, channel: str) -> bool:
    try:
        book.check_open(channel)
    except NotOpen:
        return False
    return True


def _available(book: Book, channel: str) -> int:
    s = book.summary
    view = planner.view(book.supply, Plan({}, s["free"], s["uncovered"]), channel, book.today)
    quota = book.quota_left(channel)
    return view.available if quota is None else min(view.available, quota)


def _waiting(conn: Connection, sku_id: Any, channel: str) -> bool:
    w = waitlist.c
    return conn.execute(select(w.id).where(w.sku_id == sku_id, w.channel == channel, w.status == "waiting")
                        .limit(1)).first() is not None


def _rows() -> Any:
    return (select(waitlist, skus.c.sku, holds.c.status.label("hold_status"), holds.c.expires_at.label("hold_expires"))
            .join(skus, skus.c.id == waitlist.c.sku_id).outerjoin(holds, holds.c.id == waitlist.c.hold_id))


def _row(conn: Connection, entry_id: int) -> Any:
    deferred.flush(conn)
    row = conn.execute(_rows().where(waitlist.c.id == entry_id)).first()
    if row is None:
        raise NotFound(f"unknown waitlist entry {entry_id}", waitlist_id=entry_id)
    return row


def _position(conn: Connection, row: Any) -> int | None:
    if row.status != "waiting":
        return None
    w = waitlist.c
    ahead: int = conn.execute(select(func.count()).select_from(waitlist).where(
        w.sku_id == row.sku_id, w.channel == row.channel, w.status == "waiting", w.id <= row.id)).scalar_one()
    return ahead


def _view(row: Any, position: int | None, now: datetime) -> dict[str, Any]:
    """An entry as the API shows it; an offer's state follows its hold (claimed, lapsed, open)."""
    status = row.status
    if status == "offered" and row.hold_status is not None:
        expired = row.hold_status == "expired" or (row.hold_status == "active" and as_utc(row.hold_expires) <= now)
        status = {"confirmed": "claimed", "released": "lapsed"}.get(row.hold_status, "lapsed" if expired else "offered")
    return {"id": row.id, "sku": row.sku, "channel": row.channel, "customer": row.customer, "email": row.email,
            "qty": row.qty, "status": status, "position": position, "hold_id": row.hold_id,
            "offer_expires_at": as_utc(row.hold_expires) if row.hold_expires else None,
            "created_at": as_utc(row.created_at)}

