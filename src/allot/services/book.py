"""One SKU's book inside a write transaction: its supply, its queue, its plan.

Every change to a SKU goes through a `Book`: lock the SKU row, change supply or demand, then
either `sell` (the fast path appends to the tail of the queue and touches no other line) or
`replan` (the full plan, persisting only the lines that moved and one event per line whose
state or promise date changed). `save` writes the plan summary the fast path reads.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Text, bindparam, cast, select, update

from allot.domain import planner
from allot.domain.errors import Invalid, NotFound, SaleRefused
from allot.domain.model import (
    MADE_TO_ORDER_KEY,
    STOCK_KEY,
    Allocation,
    Bucket,
    ChannelRule,
    Demand,
    Mode,
    Placement,
    SkuRule,
    Source,
    State,
    Supply,
    Take,
    po_capacity,
)
from allot.domain.planner import Plan
from allot.services import availability_out, consent, history
from allot.services.common import Event, as_utc, iso, no_cycle_collection, record, today
from allot.store import deferred
from allot.store.bulk import PlacementRow as Placed
from allot.store.bulk import fetch_rows, update_placements
from allot.store.db import WRITES
from allot.store.tables import (
    channels,
    holds,
    order_lines,
    orders,
    po_lines,
    purchase_orders,
    sku_channels,
    skus,
)

# Built once: constructing a statement per call costs more than running it on the hot path.
SAVE_SKU = update(skus).where(skus.c.id == bindparam("_id"))

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
            "po_line": bucket.po_line, "po_seq": bucket.po_seq}


def load_channels(conn: Connection) -> dict[str, ChannelRule]:
    rows = conn.execute(select(channels)).all()
    return {r.name: ChannelRule(r.name, r.allow_backorder, r.allow_preorder, r.padding_days) for r in rows}


class Book:
    def __init__(self, conn: Connection, row: Any, rules: dict[str, ChannelRule], now: datetime) -> None:
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
        self.supply = Supply(self.rule, self._buckets_from_summary(), rules)
        self.events: list[Event] = []
        self.dirty = False
        self._quotas: dict[str, int | None] = {}

    # -- loading -------------------------------------------------------------------------

    @classmethod
    def open(
        cls, conn: Connection, names: Iterable[str], now: datetime, fields: dict[str, str] | None = None
    ) -> dict[str, Book]:
        """Lock the SKUs in one fixed order (by key), so multi-SKU writes cannot deadlock.

        `fields` names the input each SKU came from: an unknown one is then bad input (422)
        rather than a missing resource (404).
        """
        wanted = sorted(set(names))
        shared: dict[str, Book] | None = conn.info.get(BATCH)
        if shared is None:
            books = cls._lock(conn, wanted, now, fields)
        else:
            books = cls._from_batch(conn, shared, wanted, now, fields)
        for book in books.values():
            book.tidy()
        return books

    @classmethod
    def lock_all(cls, conn: Connection, names: list[str], now: datetime) -> None:
        """A batch's first step: lock every SKU it will touch, in key order, for its whole transaction.

        Unknown names are skipped; the request that asked for one gets its own error when it opens it.
        """
        books = cls._locked(conn, names, now)
        if not books:
            return
        by_id = {book.id: book for book in books.values()}
        channel_names = list(next(iter(books.values())).supply.channels)
        for book in books.values():
            book._quotas = dict.fromkeys(channel_names)  # no row: no quota
        quotas = select(sku_channels.c.sku_id, sku_channels.c.channel, sku_channels.c.quota)
        for sku_id, channel, quota in conn.execute(quotas.where(sku_channels.c.sku_id.in_(list(by_id)))):
            by_id[sku_id]._quotas[channel] = quota
        for book in books.values():
            book.tidy()  # before any request, so that a request that fails has written nothing
        conn.info[BATCH].update(books)

    @classmethod
    def _from_batch(cls, conn: Connection, shared: dict[str, Book], wanted: list[str], now: datetime,
                    fields: dict[str, str] | None) -> dict[str, Book]:
        """The batch's books for these names, noted as used by the current request so that a
        savepoint of that request can undo what it does to them (see `atomic`)."""
        missing = [n for n in wanted if n not in shared]
        for scope in conn.info.get(SCOPES, ()):
            for n in wanted:
                if n not in scope:
                    scope[n] = None if n in missing else shared[n].snapshot()
        if missing:
            shared.update(cls._lock(conn, missing, now, fields))
        conn.info.setdefault(IN_USE, set()).update(wanted)
        return {n: shared[n].advance(now) for n in wanted}

    @classmethod
    def _lock(cls, conn: Connection, wanted: list[str], now: datetime, fields: dict[str, str] | None) -> dict[str, Book]:
        books = cls._locked(conn, wanted, now)
        missing = [n for n in wanted if n not in books]
        if missing and fields:
            raise Invalid(fields[missing[0]], f"unknown SKU {missing[0]!r}; create it with PUT /v1/skus/{{sku}}")
        if missing:
            raise NotFound(f"unknown SKU {missing[0]!r}", sku=missing[0])
        return {n: books[n] for n in wanted}

    @classmethod
    def _locked(cls, conn: Connection, names: list[str], now: datetime) -> dict[str, Book]:
        """Books for the SKUs of these names that exist, their rows locked in key order."""
        stmt = select(skus).where(skus.c.sku.in_(names)).order_by(skus.c.sku).with_for_update()
        rows = conn.execute(stmt).all()
        if not rows:
            return {}
        rules = load_channels(conn)
        books = {r.sku: cls(conn, r, rules, now) for r in rows}
        availability_out.watch(conn, books)  # before any tidy-up: it may move the numbers too
        return books

    def tidy(self) -> None:
        """Apply what time did since the last plan: expired holds, passed consent deadlines."""
        if self.holds_expired():
            self.replan({"op": "hold.expired"})
            self.save()  # announced now, whatever the caller does next
        elif self.consent_due():
            self.replan({"op": "consent.expired"})
            self.save()

    def advance(self, now: datetime) -> Book:
        """Reuse this locked book for a later request of the same batch."""
        if now > self.now:
            self.now = now
            if today(now) != self.today:
                self.today = today(now)
                self.supply = Supply(self.rule, self._buckets_from_summary(), self.supply.channels)
        return self

    def snapshot(self) -> tuple[Any, ...]:
        # A shallow copy is enough: the summary's nested values are replaced, never changed in place.
        return (dict(self.summary), self.next_seq, self.last_queued_at, self.on_hand, self.supply,
                list(self.events), self.dirty, self.now, self.today)

    def restore(self, saved: tuple[Any, ...]) -> None:
        """Forget what a failed request of a batch did in memory (its savepoint undid the rows)."""
        (self.summary, self.next_seq, self.last_queued_at, self.on_hand, self.supply, self.events,
         self.dirty, self.now, self.today) = saved

    def holds_expired(self) -> bool:
        due = self.summary.get("next_expiry")
        return due is not None and datetime.fromisoformat(due) <= self.now

    def consent_due(self) -> bool:
        """A consent deadline has passed since the last plan: its default must apply first."""
        due = self.summary.get("next_consent_deadline")
        return due is not None and datetime.fromisoformat(due) <= self.now

    def _buckets_from_summary(self) -> tuple[Bucket, ...]:
        return tuple(self._bucket(b) for b in self.summary["buckets"])

    def _bucket(self, raw: dict[str, Any]) -> Bucket:
        source = Source(raw["source"])
        day = date.fromisoformat(raw["date"])
        if source is Source.STOCK:
            day = self.today
        elif source is Source.MADE_TO_ORDER:
            day = self.today + timedelta(days=self.row.backorder_lead_days or 0)
        return Bucket(raw["key"], source, day, raw["capacity"], raw["po_ref"], raw["po_line"], raw["po_seq"])

    def supply_from_rows(self) -> tuple[Supply, int]:
        """Buckets rebuilt from stock and purchase orders; returns them with units incoming."""
        row = self.row
        buckets = [Bucket(STOCK_KEY, Source.STOCK, self.today, self.on_hand - row.safety_stock)]
        stmt = (
            select(po_lines.c.id, po_lines.c.line, po_lines.c.qty, po_lines.c.received, po_lines.c.expected_date,
                   purchase_orders.c.ref, purchase_orders.c.id.label("po_id"))
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
                                      r.ref, r.line, r.po_id))
        if row.backorder_limit:
            lead = timedelta(days=row.backorder_lead_days or 0)
            buckets.append(Bucket(MADE_TO_ORDER_KEY, Source.MADE_TO_ORDER, self.today + lead, row.backorder_limit))
        return Supply(self.rule, tuple(buckets), self.supply.channels), incoming

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

    # -- selling -------------------------------------------------------------------------

    def know_quota(self, channel: str | None, quota: int | None) -> None:
        """The channel's quota for this SKU, read with the SKU by the caller (None: no quota)."""
        if channel is not None:
            self._quotas[channel] = quota

    def known_quotas(self) -> dict[str, int | None]:
        """The channels' quotas read so far (a batch reads every channel's up front)."""
        return self._quotas

    def quota_left(self, channel: str) -> int | None:
        if channel not in self._quotas:
            self._quotas[channel] = self.conn.execute(
                select(sku_channels.c.quota)
                .where(sku_channels.c.sku_id == self.id, sku_channels.c.channel == channel)
            ).scalar()
        quota = self._quotas[channel]
        if quota is None:
            return None
        return quota - int(self.summary["by_channel"].get(channel, 0))

    def next_place(self, priority: int) -> tuple[datetime, int]:
        """Queue time and sequence for a new line; never earlier than the last, whatever the clock."""
        queued_at = max(self.now, self.last_queued_at) if self.last_queued_at else self.now
        seq = self.next_seq
        self.next_seq += 1
        self.last_queued_at = queued_at
        self.dirty = True
        return queued_at, seq

    def queue_imported(self, queued_at: datetime) -> int:
        """The sequence for a line sold before it reached Allot (a CSV import): it keeps its own queue
        time, and lines imported with the same time keep the file's order."""
        seq = self.next_seq
        self.next_seq += 1
        if self.last_queued_at is None or queued_at > self.last_queued_at:
            self.last_queued_at = queued_at
        self.dirty = True
        return seq

    def sell(self, key: str, qty: int, channel: str, priority: int, place: tuple[datetime, int]) -> Placement:
        """Accept the sale only if its channel may sell it and no other line loses a unit."""
        line = Demand(key, qty, channel, priority, place[0], place[1])
        quota = self.quota_left(channel)
        if priority == 0:  # the lowest priority: a new line sorts after every line already queued
            current = Plan({}, dict(self.summary["free"]), self.summary["uncovered"])
            sale = planner.sell(self.supply, [], current, line, self.today, at_tail=True, quota_left=quota)
            entries: list[Entry] = []
        else:
            entries = self.load_queue()
            queue = [e.demand for e in entries]
            current = planner.plan(self.supply, queue, self.today)
            sale = planner.sell(self.supply, queue, current, line, self.today, at_tail=False, quota_left=quota)
        if not sale.accepted or sale.placement is None:
            raise SaleRefused(f"{channel} cannot get {qty} of {self.sku}", max(0, sale.available), sku=self.sku)
        if entries:
            self._persist(entries, sale.plan, {"op": "sale", "priority": priority})
        self._absorb(sale.plan, channel, qty, is_hold=key.startswith("h:"))
        return sale.placement

    def take(self, key: str, qty: int, channel: str, place: tuple[datetime, int]) -> Placement:
        """A fact (an order the shop already sold) joins the tail of the queue and is never refused:
        it takes the free units its channel may use, and units that find none stay uncovered."""
        line = Demand(key, qty, channel, 0, place[0], place[1])
        current = Plan({}, dict(self.summary["free"]), self.summary["uncovered"])
        after = planner.append(self.supply, current, line, self.today)  # nobody else moves
        if after.uncovered > 0 and current.uncovered == 0:
            self.events.append(Event("sku.oversold", self.sku, {"uncovered": after.uncovered}))
        self._absorb(after, channel, qty, is_hold=False)
        return after.placements[key]

    def _absorb(self, after: Plan, channel: str, qty: int, *, is_hold: bool) -> None:
        s = self.summary
        s["free"] = after.free
        s["uncovered"] = after.uncovered
        s["reserved" if is_hold else "committed"] += qty
        s["by_channel"] = {**s["by_channel"], channel: s["by_channel"].get(channel, 0) + qty}
        self.dirty = True

    def note_hold_expiry(self, expires_at: datetime) -> None:
        due = self.summary.get("next_expiry")
        if due is None or expires_at < datetime.fromisoformat(due):
            self.summary["next_expiry"] = expires_at.isoformat()

    def placement_of(self, takes: tuple[Take, ...], channel: str) -> Placement:
        """State and promise of a line that keeps exactly these units (a partly confirmed hold)."""
        return planner.placement(self.supply, self.supply.channel(channel), takes, 0, self.today)

    def swap_hold_for_line(self, qty: int) -> None:
        """A hold confirmed in full keeps its units and place: reserved becomes committed."""
        self.summary["reserved"] -= qty
        self.summary["committed"] += qty
        self.dirty = True

    # -- re-planning ---------------------------------------------------------------------

    def replan(self, cause: dict[str, Any]) -> Plan:
        """Re-run the plan from the rows; persist and announce every line that moved."""
        deferred.flush(self.conn)  # the batch's new holds, before reading holds
        with no_cycle_collection():
            return self._replan(cause)

    def _replan(self, cause: dict[str, Any]) -> Plan:
        self._expire_holds()
        self.events += consent.apply_due(self.conn, self.id, self.sku, self.now)
        supply, incoming = self.supply_from_rows()
        self.supply = supply
        entries = self.load_queue()
        after = planner.plan(supply, [e.demand for e in entries], self.today)
        self._persist(entries, after, cause)
        self._summarise(after, entries, incoming)
        return after

    def _expire_holds(self) -> None:
        h = holds.c
        expired = self.conn.execute(
            select(h.id, h.qty, h.channel)
            .where(h.sku_id == self.id, h.status == "active", h.expires_at <= self.now)
        ).all()
        if not expired:
            return
        self.conn.execute(update(holds).where(h.id.in_([r.id for r in expired])).values(status="expired"))
        self.events += [Event("hold.expired", self.sku, {"hold_id": r.id, "qty": r.qty, "channel": r.channel})
                        for r in expired]

    def _summarise(self, after: Plan, entries: list[Entry], incoming: int) -> None:
        by_channel: dict[str, int] = {}
        for e in entries:
            by_channel[e.demand.channel] = by_channel.get(e.demand.channel, 0) + e.demand.qty
        expiries = self.conn.execute(
            select(holds.c.expires_at).where(holds.c.sku_id == self.id, holds.c.status == "active")
            .order_by(holds.c.expires_at).limit(1)
        ).scalar()
        was_oversold = self.summary.get("uncovered", 0) > 0
        self.summary = {
            "buckets": [bucket_to_json(b) for b in self.supply.buckets],
            "free": after.free,
            "uncovered": after.uncovered,
            "committed": sum(e.demand.qty for e in entries if not e.is_hold),
            "reserved": sum(e.demand.qty for e in entries if e.is_hold),
            "incoming": incoming,
            "by_channel": by_channel,
            "next_expiry": as_utc(expiries).isoformat() if expiries else None,
            "next_consent_deadline": _iso_or_none(consent.next_deadline(self.conn, self.id)),
        }
        if after.uncovered > 0 and not was_oversold:
            self.events.append(Event("sku.oversold", self.sku, {"uncovered": after.uncovered}))
        self.dirty = True

    def _persist(self, entries: list[Entry], after: Plan, cause: dict[str, Any]) -> None:
        hold_updates: list[Placed] = []
        line_updates: list[Placed] = []
        moved: list[consent.Moved] = []
        promised: list[Any] = []  # insight: lines given their first promise by this plan
        # A slip moves many lines the same way: one JSON text per distinct allocation, one event
        # payload per distinct change. Lines with the same placement share its takes (planner),
        # so the takes' identity is the cheap key; `after` keeps them alive, so ids stay unique.
        encoded: dict[int, str] = {}
        said: dict[tuple[Any, ...], dict[str, Any]] = {}
        for e in entries:
            new = after.placements[e.demand.key]
            if e.state is State.READY and new.state is State.READY:
                new = replace(new, promise_date=e.promise_date)  # time passing does not re-promise
            if (new.takes, new.state, new.promise_date) == (e.takes, e.state, e.promise_date):
                continue
            allocation = encoded.get(id(new.takes))
            if allocation is None:
                allocation = encoded[id(new.takes)] = json.dumps(takes_to_json(new.takes))
            (hold_updates if e.is_hold else line_updates).append(
                (e.row_id, allocation, new.state.value, new.promise_date))
            if not e.is_hold and (new.state, new.promise_date) != (e.state, e.promise_date):
                self.events.append(line_change_event(self.sku, e, new, cause, said))
                moved.append(consent.Moved(e.row_id, e.order_ref or "", e.line or 0, e.demand.channel, new.state,
                                           new.promise_date))
                if e.promise_date is None and new.promise_date is not None:
                    promised.append(e.row_id)
        update_placements(self.conn, holds, hold_updates)
        update_placements(self.conn, order_lines, line_updates)
        history.first_promised(self.conn, promised)
        self._review_consent(moved, cause)

    def _review_consent(self, moved: list[consent.Moved], cause: dict[str, Any]) -> None:
        """Delay consent: ask (or stop asking) the customers whose lines just moved."""
        found = consent.review(self.conn, self.sku, moved, self.now, cause)
        self.events += found.events
        due = self.summary.get("next_consent_deadline")
        if found.earliest_deadline and (due is None or found.earliest_deadline < datetime.fromisoformat(due)):
            self.summary["next_consent_deadline"] = found.earliest_deadline.isoformat()
            self.dirty = True

    def save(self) -> None:
        """Record the collected events; write the plan summary and the queue counters.

        Inside a batch the summary is written once, by the batch, when every request is done.
        """
        record(self.conn, self.now, self.events)
        self.events = []
        if self.conn.info.get(BATCH) is None:
            self.flush()

    def flush(self) -> None:
        flush_all([self])

    def _saved(self) -> dict[str, Any]:
        return {"_id": self.id, "summary": self.summary, "on_hand": self.on_hand, "next_seq": self.next_seq,
                "last_queued_at": self.last_queued_at, "updated_at": self.now}


def flush_all(books: Iterable[Book]) -> None:
    """Write the plan summaries that changed, in one statement (a batch may hold many SKUs)."""
    dirty = [book for book in books if book.dirty]
    if dirty:
        dirty[0].conn.execute(SAVE_SKU, [book._saved() for book in dirty])
        availability_out.seen(dirty)
    for book in dirty:
        book.dirty = False


def line_change_event(sku: str, before: Entry, after: Placement, cause: dict[str, Any],
                      said: dict[tuple[Any, ...], dict[str, Any]] | None = None) -> Event:
    """One event per order line whose state or promise moved, named for what the customer feels.

    `said` shares one payload among the events of a call that say the same thing (never mutated).
    """
    if after.state is State.BACKORDERED:
        kind = "order_line.backordered"
    elif after.state is State.READY and before.state is not State.READY:
        kind = "order_line.ready"
    else:
        kind = "order_line.promise_changed"
    change = (before.promise_date, after.promise_date, before.state, after.state)
    data = said.get(change) if said is not None else None
    if data is None:
        data = {"from": iso(before.promise_date), "to": iso(after.promise_date), "state_from": before.state.value,
                "state": after.state.value, "reason": _reason(before.promise_date, after.promise_date),
                "cause": cause}
        if said is not None:
            said[change] = data
    return Event(kind, sku, data, before.order_ref, before.line)


def _reason(was: date | None, now: date | None) -> str:
    if now is None:
        return "uncovered"
    if was is None:
        return "covered"
    return "later" if now > was else "earlier" if now < was else "unchanged"


def _iso_or_none(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment else None


def save_all(books: Iterable[Book]) -> None:
    """`save` for several books: their events in one statement (in book order), their summaries in another."""
    books = list(books)
    if not books:
        return
    conn = books[0].conn
    record(conn, books[0].now, [e for book in books for e in book.events])
    for book in books:
        book.events = []
    if conn.info.get(BATCH) is None:
        flush_all(books)


@contextmanager
def atomic(conn: Connection) -> Iterator[None]:
    """A savepoint that, when it rolls back, also undoes what the work did to a batch's books.

    Every place that catches a failure and carries on in the same transaction must use this,
    not a bare savepoint: the books of a batch outlive one request, and a summary that kept a
    rolled-back sale's units would sell them twice.
    """
    if conn.info.get(BATCH) is None:
        with conn.begin_nested():
            yield
        return
    deferred.flush(conn)  # rows queued before the savepoint must outlive its rollback
    counted = conn.info.get(WRITES)
    with remembered(conn):
        try:
            with conn.begin_nested():
                yield
        except BaseException:
            # (a connection that died refuses conn.info until the rollback: the batch is lost anyway)
            if counted is not None and not conn.invalidated:
                conn.info[WRITES] = counted  # the savepoint undid them: as if never written
            raise


@contextmanager
def remembered(conn: Connection) -> Iterator[None]:
    """The in-memory half of `atomic`: if the work fails, the batch's books and deferred rows are
    as they were before it. Only the books the current request touches are copied: those it
    already holds now, the rest when it opens them (`Book._from_batch`)."""
    books: dict[str, Book] = conn.info[BATCH]
    held = conn.info.get(IN_USE, ())
    scope: dict[str, tuple[Any, ...] | None] = {n: books[n].snapshot() for n in held if n in books}
    scopes: list[dict[str, tuple[Any, ...] | None]] = conn.info.setdefault(SCOPES, [])
    scopes.append(scope)
    rows = deferred.mark(conn)
    try:
        yield
    except BaseException:
        for name, saved in scope.items():
            if saved is None:
                books.pop(name, None)  # locked by the undone work: the lock may be gone with the savepoint
            elif name in books:
                books[name].restore(saved)
        deferred.undo_to(conn, rows)
        raise
    finally:
        scopes.pop()
