"""The planner as it was before locations (commit eaaef9d), kept as the oracle for
test_location_planner.py: with one location the new planner must give exactly these plans.
Only `_usable` is changed, to sort by the old bucket order itself rather than trust Supply's.

The plan: walk the queue, give each line units from the earliest buckets it may use.

A pure function of (supply, queue, today); the SKU's allocation policy picks first come, first
served (the default) or a fair share of a shortage. `append` is the fast path for a sale that joins
the tail of the queue; property tests prove it equals a full `plan`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from allot.domain import policies
from allot.domain.model import (
    Allocation,
    Bucket,
    ChannelRule,
    Demand,
    Mode,
    Placement,
    Source,
    State,
    Supply,
    Take,
    queue_order,
)


@dataclass(frozen=True, slots=True)
class Plan:
    placements: dict[str, Placement]
    free: dict[str, int]
    uncovered: int

    @property
    def oversold(self) -> bool:
        return self.uncovered > 0


@dataclass(frozen=True, slots=True)
class Point:
    date: date
    available: int


@dataclass(frozen=True, slots=True)
class ChannelView:
    """What a channel can still sell: units, the date one more unit would get, the timeline."""

    available: int
    next_promise_date: date | None
    timeline: tuple[Point, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Sale:
    """The answer to a sale: accepted with the new plan, or refused with what the channel could get."""

    accepted: bool
    available: int
    plan: Plan
    placement: Placement | None = None


def plan(supply: Supply, queue: Iterable[Demand], today: date) -> Plan:
    """Give every line, in queue order, units from the earliest buckets its channel may use.

    Under the SKU's `fair_share` policy a shortage is then shared out instead (domain/policies.py).
    """
    ordered = sorted(queue, key=queue_order)
    first = _first_come(supply, ordered, today)
    if supply.sku.allocation is Allocation.FAIR_SHARE and first.uncovered:
        shares = policies.fair_shares(supply, ordered, first.placements, today)
        if shares is not None:
            return _shared(supply, ordered, today, shares)
    return first


def _first_come(supply: Supply, ordered: list[Demand], today: date) -> Plan:
    free = {b.key: max(0, b.capacity) for b in supply.buckets}
    placements: dict[str, Placement] = {}
    uncovered = 0
    usable: dict[str, list[Bucket]] = {}
    # A placement depends only on the channel, the takes and the shortfall. Lines that agree on all
    # three share one (immutable) placement, worked out once: a big re-plan has few distinct ones.
    known: dict[tuple[str, int, tuple[Take, ...]], Placement] = {}
    for line in ordered:
        channel = line.channel
        if channel not in usable:
            usable[channel] = _usable(supply, supply.channel(channel), today)
        takes = tuple(_take(supply, free, line, line.qty, today, usable=usable[channel]))
        short = line.qty - sum(t.qty for t in takes)
        key = (channel, short, takes)
        placed = known.get(key)
        if placed is None:
            placed = known[key] = placement(supply, supply.channel(channel), takes, short, today)
        placements[line.key] = placed
        uncovered += short
    return Plan(placements, free, uncovered)


def _shared(supply: Supply, ordered: list[Demand], today: date, shares: policies.Shares) -> Plan:
    """Classes above the shortage first come, first served; then each competing line takes its share
    of the contested buckets; then, in queue order, the shortage's class and those below take what
    they still need from whatever their channel may use (so no short line sits beside free units)."""
    free = {b.key: max(0, b.capacity) for b in supply.buckets}
    taken: dict[str, list[Take]] = {line.key: [] for line in ordered}
    for line in ordered:
        if line.priority > shares.priority:
            taken[line.key] = _take(supply, free, line, line.qty, today)
    for line in ordered:
        if line.key in shares.targets:
            taken[line.key] = _take(supply, free, line, shares.targets[line.key], today, shares.contested)
    for line in ordered:
        if line.priority <= shares.priority:
            taken[line.key] += _take(supply, free, line, line.qty - sum(t.qty for t in taken[line.key]), today)
    placements: dict[str, Placement] = {}
    for line in ordered:
        takes = _merged(supply, taken[line.key])
        placements[line.key] = placement(supply, supply.channel(line.channel), takes,
                                         line.qty - sum(t.qty for t in takes), today)
    return Plan(placements, free, sum(line.qty - placements[line.key].covered for line in ordered))


def _merged(supply: Supply, takes: list[Take]) -> tuple[Take, ...]:
    """One take per bucket, in bucket order."""
    units: dict[str, int] = {}
    for t in takes:
        units[t.bucket] = units.get(t.bucket, 0) + t.qty
    return tuple(Take(b.key, units[b.key]) for b in supply.buckets if b.key in units)


def append(supply: Supply, current: Plan, line: Demand, today: date) -> Plan:
    """The plan after `line` joins the tail of the queue: nobody else moves."""
    free = dict(current.free)
    placed = _place(supply, free, line, today)
    return Plan({**current.placements, line.key: placed}, free, current.uncovered + line.qty - placed.covered)


def sell(
    supply: Supply,
    queue: list[Demand],
    current: Plan,
    line: Demand,
    today: date,
    *,
    at_tail: bool,
    quota_left: int | None = None,
) -> Sale:
    """Accept a sale only if it fits what its channel may sell and takes no unit from anyone."""
    available = view(supply, current, line.channel, today).available
    if quota_left is not None:
        available = min(available, quota_left)
    if line.qty > available:
        return Sale(False, available, current)
    after = append(supply, current, line, today) if at_tail else plan(supply, [*queue, line], today)
    placed = after.placements[line.key]
    if placed.covered < line.qty or _uncovers_anyone(current, after):
        return Sale(False, available, current)
    return Sale(True, available, after, placed)


def _uncovers_anyone(before: Plan, after: Plan) -> bool:
    return any(after.placements[k].covered < p.covered for k, p in before.placements.items())


def view(supply: Supply, current: Plan, channel: str, today: date) -> ChannelView:
    """Free units in the buckets the channel may use, less every unit the SKU already owes.

    The timeline says, for each bucket's promise date d, how many units a sale could take
    with a promise no later than d: a sale takes buckets in bucket order, so it counts the
    free units of the buckets before the first one that has free units but promises later.
    """
    rule = supply.channel(channel)
    dated = [(promise_date(supply, rule, [b.date], today), current.free.get(b.key, 0))
             for b in _usable(supply, rule, today)]
    timeline = tuple(Point(d, _sellable_by(dated, d) - current.uncovered) for d in sorted({d for d, _ in dated}))
    available = sum(free for _, free in dated if free > 0) - current.uncovered
    upcoming = next((p.date for p in timeline if p.available >= 1), None)
    return ChannelView(available, upcoming, timeline)


def _sellable_by(dated: list[tuple[date, int]], by: date) -> int:
    units = 0
    for promised, free in dated:
        if free <= 0:
            continue
        if promised > by:
            break
        units += free
    return units


def promise_date(supply: Supply, channel: ChannelRule, dates: Iterable[date], today: date) -> date:
    """Latest supply date plus handling and channel padding; never before a preorder's release.

    An overdue PO counts as arriving today: a promise is never in the past.
    """
    promised = max(today, *dates) + timedelta(days=supply.sku.handling_days + channel.padding_days)
    release = supply.sku.release_date
    if supply.sku.mode is Mode.PREORDER and release is not None:
        promised = max(promised, release)
    return promised


def _old_bucket_order(bucket: Bucket) -> tuple[int, date, int, int]:
    rank = {Source.STOCK: 0, Source.PO: 1, Source.MADE_TO_ORDER: 2}[bucket.source]
    return (rank, bucket.date, bucket.po_seq, bucket.po_line or 0)


def _usable(supply: Supply, rule: ChannelRule, today: date) -> list[Bucket]:
    return [b for b in sorted(supply.buckets, key=_old_bucket_order) if supply.sku.may_use(rule, b.source, today)]


def _place(supply: Supply, free: dict[str, int], line: Demand, today: date,
           usable: list[Bucket] | None = None) -> Placement:
    takes = _take(supply, free, line, line.qty, today, usable=usable)
    rule = supply.channel(line.channel)
    return placement(supply, rule, tuple(takes), line.qty - sum(t.qty for t in takes), today)


def _take(supply: Supply, free: dict[str, int], line: Demand, need: int, today: date,
          only: frozenset[str] | None = None, usable: list[Bucket] | None = None) -> list[Take]:
    """Up to `need` units from the earliest buckets the line's channel may use (of `only`, if given);
    `free` shrinks."""
    takes: list[Take] = []
    for bucket in _usable(supply, supply.channel(line.channel), today) if usable is None else usable:
        if need <= 0:
            break
        if only is not None and bucket.key not in only:
            continue
        n = min(need, free[bucket.key])
        if n > 0:
            free[bucket.key] -= n
            need -= n
            takes.append(Take(bucket.key, n))
    return takes


def placement(supply: Supply, rule: ChannelRule, takes: tuple[Take, ...], short: int, today: date) -> Placement:
    """State and promise of a line holding `takes` and still `short` units."""
    if short > 0:
        return Placement(takes, State.BACKORDERED, None)
    used = [supply.by_key[t.bucket] for t in takes]
    if any(b.source is not Source.STOCK for b in used):
        state = State.AWAITING_STOCK
    elif supply.sku.released(today):
        state = State.READY
    else:
        state = State.AWAITING_RELEASE
    return Placement(takes, state, promise_date(supply, rule, [b.date for b in used], today))


def changed_lines(before: Mapping[str, Placement], after: Mapping[str, Placement]) -> list[str]:
    """Keys of lines whose state or promise date differ between two plans."""
    return [
        k for k, p in after.items()
        if k not in before or (before[k].state, before[k].promise_date) != (p.state, p.promise_date)
    ]
