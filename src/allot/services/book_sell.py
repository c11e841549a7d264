"""Selling from one SKU's book: the fast path appends a default-priority sale to the tail of the
queue and touches no other line; a higher priority re-plans to find its place."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from allot.domain import planner
from allot.domain.errors import SaleRefused
from allot.domain.model import MAIN, Demand, Placement, Take
from allot.domain.planner import Plan
from allot.services.book_replan import Replanning
from allot.services.book_rows import Entry
from allot.services.common import Event
from allot.store.tables import sku_channels


class Selling(Replanning):
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
        # The lowest priority sorts after every line already queued: the fast path, unless a line was
        # kept at one location on the condition that no later line would want it split (planner._choose).
        fast = priority == 0 and not self.summary.get("kept_whole")
        if fast:
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
        self._absorb(sale.plan, channel, qty, is_hold=key.startswith("h:"), takes=sale.placement.takes,
                     fast=fast)
        return sale.placement

    def take(self, key: str, qty: int, channel: str, place: tuple[datetime, int]) -> Placement:
        """A fact (an order the shop already sold) joins the tail of the queue and is never refused:
        it takes the free units its channel may use, and units that find none stay uncovered."""
        line = Demand(key, qty, channel, 0, place[0], place[1])
        current = Plan({}, dict(self.summary["free"]), self.summary["uncovered"])
        after = planner.append(self.supply, current, line, self.today)  # nobody else moves
        if after.uncovered > 0 and current.uncovered == 0:
            self.events.append(Event("sku.oversold", self.sku, {"uncovered": after.uncovered}))
        self._absorb(after, channel, qty, is_hold=False, takes=after.placements[key].takes)
        return after.placements[key]

    def _absorb(self, after: Plan, channel: str, qty: int, *, is_hold: bool, takes: tuple[Take, ...] = (),
                fast: bool = True) -> None:
        s = self.summary
        self._hold_at(takes, +1, is_hold)
        # Lines kept at one location: while any stands, a sale here takes the full path (planner._choose).
        # The fast path's plan counts only the new line; a full plan counts them all.
        s["kept_whole"] = s.get("kept_whole", 0) + after.kept_whole if fast else after.kept_whole
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

    def _hold_at(self, takes: tuple[Take, ...], sign: int, is_hold: bool) -> None:
        """Keep the summary's units per location (book_replan._held_at) in step with a fast-path change."""
        if not takes or "at" not in self.summary:  # planned before locations: the next re-plan counts them
            return
        at = {loc: list(units) for loc, units in self.summary.get("at", {}).items()}
        for t in takes:
            bucket = self.supply.by_key.get(t.bucket)
            units = at.setdefault(bucket.location if bucket else MAIN, [0, 0])
            units[is_hold] += sign * t.qty
        self.summary["at"] = at

    def swap_hold_for_line(self, qty: int, takes: tuple[Take, ...] = ()) -> None:
        """A hold confirmed in full keeps its units and place: reserved becomes committed."""
        self._hold_at(takes, -1, True)
        self._hold_at(takes, +1, False)
        self.summary["reserved"] -= qty
        self.summary["committed"] += qty
        self.dirty = True
