"""Loading one SKU's book: its row, its supply (from the plan summary or from the rows) and its queue.

`BookRows` is the base of `Book` (services/book.py): the state every other part works on.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Self

from sqlalchemy import Connection, Text, bindparam, cast, select

from allot.domain.model import (
    MADE_TO_ORDER_KEY,
    MAIN,
    Allocation,
    Bucket,
    ChannelRule,
    Demand,
    Mode,
    SkuRule,
    Source,
    Split,
    State,
    Supply,
    Take,
    po_capacity,
    stock_key,
)
from allot.services.common import Event, as_utc, today
from allot.store import deferred
from allot.store.bulk import fetch_rows
from allot.store.tables import (
    channels,
    holds,
    locations,
    order_lines,
    orders,
    po_lines,
    purchase_orders,
    stock_levels,
    transfer_lines,
    transfers,
)

# A SKU's open order lines, as Book._open_lines reads them (allocation as its JSON text).
_ol = order_lines.c
OPEN_LINES = (
    select(_ol.id, _ol.line, _ol.channel, _ol.priority, _ol.queued_at, _ol.seq, cast(_ol.allocation, Text),
           _ol.state, _ol.promise_date, _ol.qty - _ol.qty_shipped - _ol.qty_cancelled, _ol.qty_shipped,
           orders.c.ref)
    .join(orders, orders.c.id == _ol.order_id)
    .where(_ol.sku_id == bindparam("sku_id"), _ol.open.is_(True))
)

# conn.info keys (services/batching.py): the books shared by the requests of one batch; the
# names the current request has opened; and, per open savepoint, what to restore if it rolls back.
BATCH = "allot_batch"
IN_USE = "allot_in_use"
SCOPES = "allot_scopes"

EMPTY_SUMMARY: dict[str, Any] = {
    "buckets": [], "free": {}, "uncovered": 0, "committed": 0, "reserved": 0, "incoming": 0,
    "by_channel": {}, "next_expiry": None,
}


@dataclass(slots=True)
class Entry:
    """A stored queue line: what the planner sees, and what was last told to the customer."""

    demand: Demand
    row_id: Any
    takes: tuple[Take, ...]
    state: State
    promise_date: date | None
    order_ref: str | None = None
    line: int | None = None

    @property
    def is_hold(self) -> bool:
        return self.order_ref is None


def sku_rule(row: Any) -> SkuRule:
    return SkuRule(Mode(row.mode), row.release_date, row.handling_days, Allocation(row.allocation_policy))


def takes_from_json(raw: list[dict[str, Any]]) -> tuple[Take, ...]:
    return tuple(Take(t["bucket"], t["qty"]) for t in raw)


def takes_to_json(takes: Iterable[Take]) -> list[dict[str, Any]]:
    return [{"bucket": t.bucket, "qty": t.qty} for t in takes]


def bucket_to_json(bucket: Bucket) -> dict[str, Any]:
    return {"key": bucket.key, "source": bucket.source.value, "date": bucket.date.isoformat(),
            "capacity": bucket.capacity, "po_ref": bucket.po_ref,
            "po_line": bucket.po_line, "po_seq": bucket.po_seq, "location": bucket.location}


def load_channels(conn: Connection) -> dict[str, ChannelRule]:
    rows = conn.execute(select(channels)).all()
    return {r.name: ChannelRule(r.name, r.allow_backorder, r.allow_preorder, r.padding_days,
                                tuple(r.locations or ()), Split(r.split)) for r in rows}


@dataclass(frozen=True, slots=True)
class Places:
    """Every location, `main` first then in creation order, and the handling days of those that add any."""

    codes: tuple[str, ...] = (MAIN,)
    handling: dict[str, int] = field(default_factory=dict)


def _places_of(summary: dict[str, Any]) -> Places:
    """The locations the last plan knew (a read needs no query for them)."""
    return Places(tuple(summary.get("places") or (MAIN,)), dict(summary.get("handling") or {}))


def load_places(conn: Connection) -> Places:
    rows = conn.execute(select(locations.c.code, locations.c.handling_days).order_by(locations.c.id)).all()
    codes = [MAIN, *(r.code for r in rows if r.code != MAIN)]
    return Places(tuple(codes), {r.code: r.handling_days for r in rows if r.handling_days})


class BookRows:
    def __init__(self, conn: Connection, row: Any, rules: dict[str, ChannelRule], now: datetime,
                 places: Places | None = None) -> None:
        self.conn = conn
        self.row = row
        self.id = row.id
        self.sku = row.sku
        self.now = now
        self.today = today(now)
        self.rule = sku_rule(row)
        self.on_hand: int = row.on_hand
        self.summary: dict[str, Any] = dict(row.summary or EMPTY_SUMMARY)
        self.next_seq: int = row.next_seq
        self.last_queued_at = as_utc(row.last_queued_at) if row.last_queued_at else None
        self.places = places or _places_of(self.summary)
        self.supply = Supply(self.rule, self._buckets_from_summary(), rules, self.places.codes, self.places.handling)
        self.incoming_at: dict[str, int] = {}
        self.events: list[Event] = []
        self.dirty = False
        self._quotas: dict[str, int | None] = {}
        # drops (migration 0014): each channel's window, the decision clock once read, and the units
        # each customer has of a limited SKU (read under the lock; a re-plan forgets them)
        self._windows: dict[str, tuple[datetime | None, datetime | None]] = {}
        self._clock: datetime | None = None
        self.customers: dict[str, int] = {}
        self.wake_at: datetime | None = row.wake_at  # the stored `next_opening` (migration 0015: the sweeper's)

    def advance(self, now: datetime) -> Self:
        """Reuse this locked book for a later request of the same batch."""
        if now > self.now:
            self.now = now
            if today(now) != self.today:
                self.today = today(now)
                self.supply = self._with(self._buckets_from_summary())
        return self

    def snapshot(self) -> tuple[Any, ...]:
        # A shallow copy is enough: the summary's nested values are replaced, never changed in place.
        return (dict(self.summary), self.next_seq, self.last_queued_at, self.on_hand, self.supply,
                list(self.events), self.dirty, self.now, self.today, dict(self.customers))

    def restore(self, saved: tuple[Any, ...]) -> None:
        """Forget what a failed request of a batch did in memory (its savepoint undid the rows)."""
        (self.summary, self.next_seq, self.last_queued_at, self.on_hand, self.supply, self.events,
         self.dirty, self.now, self.today, self.customers) = saved

    def holds_expired(self) -> bool:
        due = self.summary.get("next_expiry")
        return due is not None and datetime.fromisoformat(due) <= self.now

    def consent_due(self) -> bool:
        """A consent deadline has passed since the last plan: its default must apply first."""
        due = self.summary.get("next_consent_deadline")
        return due is not None and datetime.fromisoformat(due) <= self.now

    def _with(self, buckets: tuple[Bucket, ...]) -> Supply:
        return Supply(self.rule, buckets, self.supply.channels, self.places.codes, self.places.handling)

    def levels(self) -> dict[str, int]:
        """On hand per location. Only locations other than `main` have a stock_levels row: `main`
        holds the rest of skus.on_hand, so a store with one location never reads or writes one."""
        rows = self.conn.execute(select(stock_levels.c.location, stock_levels.c.on_hand)
                                 .where(stock_levels.c.sku_id == self.id)).all()
        found = {r.location: r.on_hand for r in rows if r.location != MAIN}
        return {MAIN: self.on_hand - sum(found.values()), **found}

    def _buckets_from_summary(self) -> tuple[Bucket, ...]:
        return tuple(self._bucket(b) for b in self.summary["buckets"])

    def _bucket(self, raw: dict[str, Any]) -> Bucket:
        source = Source(raw["source"])
        day = date.fromisoformat(raw["date"])
        if source is Source.STOCK:
            day = self.today
        elif source is Source.MADE_TO_ORDER:
            day = self.today + timedelta(days=self.row.backorder_lead_days or 0)
        return Bucket(raw["key"], source, day, raw["capacity"], raw["po_ref"], raw["po_line"], raw["po_seq"],
                      raw.get("location", MAIN))

    def supply_from_rows(self) -> tuple[Supply, int]:
        """Buckets rebuilt from stock, purchase orders and transfers; returns them with units incoming.

        Safety stock is held back at `main`; transfers are not buffered (the units exist already)."""
        row = self.row
        known = set(self.places.codes)
        levels = self.levels() if len(known) > 1 else {MAIN: self.on_hand}
        buckets = [Bucket(stock_key(loc), Source.STOCK, self.today, n - (row.safety_stock if loc == MAIN else 0), location=loc)
                   for loc, n in levels.items() if loc == MAIN or (loc in known and n)]
        self.incoming_at = {}
        stmt = (
            select(po_lines.c.id, po_lines.c.line, po_lines.c.qty, po_lines.c.received, po_lines.c.expected_date,
                   purchase_orders.c.ref, purchase_orders.c.id.label("po_id"), purchase_orders.c.location)
            .join(purchase_orders, purchase_orders.c.id == po_lines.c.po_id)
            .where(po_lines.c.sku_id == self.id, po_lines.c.closed.is_(False), purchase_orders.c.status == "open")
        )
        incoming = 0
        buffer = Decimal(row.incoming_buffer or 0)
        for r in self.conn.execute(stmt):
            remaining = max(0, r.qty - r.received)
            incoming += remaining
            if remaining:
                buckets.append(Bucket(f"po:{r.id}", Source.PO, r.expected_date, po_capacity(remaining, buffer),
                                      r.ref, r.line, r.po_id, r.location))
                self.incoming_at[r.location] = self.incoming_at.get(r.location, 0) + remaining
        if len(known) > 1:
            incoming += self._transfers_in(buckets)
        if row.backorder_limit:
            lead = timedelta(days=row.backorder_lead_days or 0)
            buckets.append(Bucket(MADE_TO_ORDER_KEY, Source.MADE_TO_ORDER, self.today + lead, row.backorder_limit))
        return self._with(tuple(buckets)), incoming

    def _transfers_in(self, buckets: list[Bucket]) -> int:
        """Open transfer lines of this SKU: incoming at their destination on their date."""
        tl, tr = transfer_lines.c, transfers.c
        incoming = 0
        for r in self.conn.execute(
            select(tl.id, tl.line, tl.qty, tl.received, tr.ref, tr.id.label("transfer_id"), tr.to_location,
                   tr.expected_date)
            .join(transfers, tr.id == tl.transfer_id)
            .where(tl.sku_id == self.id, tl.closed.is_(False), tr.status == "open")
        ):
            remaining = max(0, r.qty - r.received)
            if remaining:
                incoming += remaining
                buckets.append(Bucket(f"tr:{r.id}", Source.TRANSFER, r.expected_date, remaining, r.ref, r.line,
                                      r.transfer_id, r.to_location))
                self.incoming_at[r.to_location] = self.incoming_at.get(r.to_location, 0) + remaining
        return incoming

    def load_queue(self) -> list[Entry]:
        """Active (unexpired) holds and the open units of order lines."""
        deferred.flush(self.conn)  # the batch's new holds
        h = holds.c
        hold_rows = self.conn.execute(
            select(h.id, h.channel, h.qty, h.priority, h.queued_at, h.seq, h.allocation, h.state, h.promise_date)
            .where(h.sku_id == self.id, h.status == "active", h.expires_at > self.now)
        )
        entries = [
            Entry(Demand(f"h:{r.id}", r.qty, r.channel, r.priority, as_utc(r.queued_at), r.seq), r.id,
                  takes_from_json(r.allocation), State(r.state), r.promise_date)
            for r in hold_rows
        ]
        return entries + self._open_lines()

    def _open_lines(self) -> list[Entry]:
        """The open units of order lines, read through the driver's cursor: a slip reads 100,000.

        Allocations, states and promise dates repeat across a SKU's lines, so each distinct one
        is decoded once; SQLite hands dates and times back as the ISO text SQLAlchemy wrote.
        """
        rows = fetch_rows(self.conn, OPEN_LINES, {"sku_id": self.id})
        takes: dict[str, tuple[Take, ...]] = {}
        states: dict[str, State] = {}
        days: dict[Any, date | None] = {None: None}
        entries = []
        for row_id, line, channel, priority, queued_at, seq, allocation, state, promise, open_qty, shipped, ref in rows:
            if open_qty <= 0:
                continue
            if isinstance(queued_at, str):
                queued_at = datetime.fromisoformat(queued_at)
            if allocation not in takes:
                takes[allocation] = takes_from_json(json.loads(allocation))
            if state not in states:
                states[state] = State(state)
            if promise not in days:
                days[promise] = date.fromisoformat(promise) if isinstance(promise, str) else promise
            entries.append(Entry(Demand(f"l:{row_id}", open_qty, channel, priority, as_utc(queued_at), seq, shipped),
                                 row_id, takes[allocation], states[state], days[promise], ref, line))
        return entries
