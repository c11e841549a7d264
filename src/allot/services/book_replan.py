"""Re-planning one SKU's book: the full plan from the rows, persisting only the lines that moved
and one event per line whose state or promise date changed."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update

from allot.domain import planner
from allot.domain.model import Placement, State
from allot.domain.planner import Plan
from allot.services import consent, history
from allot.services.book_rows import Entry, bucket_to_json, load_places, takes_to_json
from allot.services.book_save import Saving
from allot.services.common import Event, as_utc, iso, no_cycle_collection
from allot.store import deferred
from allot.store.bulk import PlacementRow as Placed
from allot.store.bulk import update_placements
from allot.store.tables import holds, order_lines


class Replanning(Saving):
    def tidy(self) -> None:
        """Apply what time did since the last plan: expired holds, passed consent deadlines."""
        if self.holds_expired():
            self.replan({"op": "hold.expired"})
            self.save()  # announced now, whatever the caller does next
        elif self.consent_due():
            self.replan({"op": "consent.expired"})
            self.save()

    def replan(self, cause: dict[str, Any]) -> Plan:
        """Re-run the plan from the rows; persist and announce every line that moved."""
        deferred.flush(self.conn)  # the batch's new holds, before reading holds
        with no_cycle_collection():
            return self._replan(cause)

    def _replan(self, cause: dict[str, Any]) -> Plan:
        self.customers = {}  # drops: holds may end here; a customer's units are counted again when asked
        self._expire_holds()
        self.events += consent.apply_due(self.conn, self.id, self.sku, self.now)
        self.places = load_places(self.conn)
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
            "incoming_at": self.incoming_at,
            "at": self._held_at(after, entries),
            "by_channel": by_channel,
            "next_expiry": as_utc(expiries).isoformat() if expiries else None,
            "next_consent_deadline": _iso_or_none(consent.next_deadline(self.conn, self.id)),
            "kept_whole": after.kept_whole,
            "places": list(self.places.codes),
            "handling": self.places.handling,
        }
        if after.uncovered > 0 and not was_oversold:
            self.events.append(Event("sku.oversold", self.sku, {"uncovered": after.uncovered}))
        self.dirty = True

    def _held_at(self, after: Plan, entries: list[Entry]) -> dict[str, list[int]]:
        """Units allocated per location: [committed to order lines, reserved by holds]."""
        at: dict[str, list[int]] = {}
        location = {b.key: b.location for b in self.supply.buckets}
        for e in entries:
            for t in after.placements[e.demand.key].takes:
                units = at.setdefault(location[t.bucket], [0, 0])
                units[e.is_hold] += t.qty
        return at

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

