"""Availability out: one `availability.changed` event per SKU × channel per transaction whose
`available` or `next_promise_date` really moved.

The first time a write transaction locks a SKU (`Book._locked`), `watch` notes the plan as the
transaction found it; each flush of the SKU's summary notes the book (`seen`); just before the
commit (store/db.py `before_commit`) `announce` compares every channel's numbers then and now.
So a batch of a hundred sales of one SKU costs two views per channel and at most one event per
channel, and a write that moves nothing records nothing. Every channel that exists counts, not
only those a SKU has a quota row for: a storefront of an untouched channel sells from the same
buckets.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from allot.domain import planner
from allot.domain.events import AVAILABILITY_CHANGED
from allot.domain.model import Supply
from allot.domain.planner import Plan
from allot.services import history
from allot.services.common import Event, iso, record
from allot.store.db import before_commit, local
from allot.store.tables import sku_channels

if TYPE_CHECKING:
    from allot.services.book import Book

WATCH = "allot_availability_watch"
ANY = "*"  # reports.ANY_CHANNEL: the SKU as a whole, not a channel


@dataclass(slots=True)
class Seen:
    """A SKU's plan as far as a channel's numbers depend on it."""

    supply: Supply
    free: dict[str, int]
    uncovered: int
    by_channel: dict[str, int]
    today: date


@dataclass(slots=True)
class Watched:
    sku: str
    before: Seen
    book: Book | None = None  # the book whose summary was flushed last
    quota_was: dict[str, int | None] = field(default_factory=dict)  # quotas changed in this transaction


def _seen(book: Book) -> Seen:
    s = book.summary
    return Seen(book.supply, s["free"], s["uncovered"], s["by_channel"], book.today)


def watch(conn: Connection, books: dict[str, Book]) -> None:
    """Note the plans of newly locked SKUs as this transaction found them (before any tidy-up)."""
    if not conn.get_execution_options().get("allot_write"):
        return  # not a `Database.write` transaction: nothing would announce, nor forget, what it noted
    watched: dict[Any, Watched] = local(conn, WATCH, dict)
    if not watched:
        before_commit(conn, announce)
    for book in books.values():
        if book.id not in watched:
            watched[book.id] = Watched(book.sku, _seen(book))


def seen(books: list[Book]) -> None:
    """The books whose summaries were just written: what `announce` compares against."""
    if not books:
        return
    watched: dict[Any, Watched] | None = local(books[0].conn, WATCH)
    if watched is None:
        return
    for book in books:
        w = watched.get(book.id)
        if w is not None:
            w.book = book


def quota_changed(book: Book, channel: str, was: int | None, now_quota: int | None) -> None:
    """A channel's quota moved: its `available` may have, though the plan did not."""
    watched: dict[Any, Watched] | None = local(book.conn, WATCH)
    w = watched.get(book.id) if watched else None
    if w is None:
        return
    w.quota_was.setdefault(channel, was)
    book.know_quota(channel, now_quota)
    w.book = book


def announce(conn: Connection) -> None:
    """Record one event per SKU × channel whose numbers differ from when the transaction began."""
    watched: dict[Any, Watched] = local(conn, WATCH, dict)
    moved = [w for w in watched.values() if w.book is not None and _may_differ(w)]
    if not moved:
        return
    quotas = _quotas(conn, moved)
    events: list[Event] = []
    flips: list[history.Flip] = []  # insight: sold-out and oversold spans (only when crossing zero)
    now: datetime | None = None
    for w in moved:
        book = w.book
        assert book is not None
        now = book.now if now is None else max(now, book.now)
        after = _seen(book)
        flips += history.oversold_flips(book.id, w.before.uncovered, after.uncovered)
        for channel in book.supply.channels:
            if channel not in w.before.supply.channels:
                continue
            quota = None if channel == ANY else quotas[book.id].get(channel)
            old = numbers(w.before, channel, w.quota_was.get(channel, quota))
            new = numbers(after, channel, quota)
            flips += history.flips(book.id, channel, old[0], new[0])
            if old != new and channel != ANY:
                events.append(Event(AVAILABILITY_CHANGED, w.sku, {
                    "channel": channel, "available": new[0], "next_promise_date": iso(new[1])}))
    if events and now is not None:
        record(conn, now, events)
    if flips and now is not None:
        history.spans(conn, now, flips)


def _may_differ(w: Watched) -> bool:
    book = w.book
    assert book is not None
    b, s = w.before, book.summary
    if w.quota_was:
        return True
    return not (b.supply is book.supply and b.free is s["free"] and b.uncovered == s["uncovered"]
                and b.by_channel is s["by_channel"])


def _quotas(conn: Connection, moved: list[Watched]) -> dict[Any, dict[str, int | None]]:
    """Each SKU's quota per channel: the batch already read them all; otherwise one query."""
    found: dict[Any, dict[str, int | None]] = {}
    unknown = []
    for w in moved:
        book = w.book
        assert book is not None
        known = book.known_quotas()
        if all(c in known for c in book.supply.channels if c != ANY):
            found[book.id] = known
        else:
            found[book.id] = {}
            unknown.append(book.id)
    if unknown:
        rows = conn.execute(select(sku_channels.c.sku_id, sku_channels.c.channel, sku_channels.c.quota)
                            .where(sku_channels.c.sku_id.in_(unknown)))
        for sku_id, channel, quota in rows:
            found[sku_id][channel] = quota
    return found


def numbers(seen: Seen, channel: str, quota: int | None) -> tuple[int, date | None]:
    """`available` and `next_promise_date` as the availability read answers them (reports.py)."""
    view = planner.view(seen.supply, Plan({}, seen.free, seen.uncovered), channel, seen.today)
    available = view.available
    if quota is not None:
        available = min(available, quota - seen.by_channel.get(channel, 0))
    return available, view.next_promise_date if available >= 1 else None
