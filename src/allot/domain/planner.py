"""The plan: walk the queue, give each line units from the earliest buckets it may use.

A pure function of (supply, queue, today); the SKU's allocation policy picks first come, first
served (the default) or a fair share of a shortage. `append` is the fast path for a sale that joins
the tail of the queue; property tests prove it equals a full `plan`.

Locations: buckets belong to locations; a channel uses the buckets of its locations in the one
order `model.bucket_order` gives (class, date, the channel's preference for the location, PO
order). A channel that avoids splits keeps a line at one location when one can cover it and
doing so costs no later line a unit (`_choose`).
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
    Split,
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
    kept_whole: int = 0  # lines kept at one location: a line that joins later could change that

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
    kept_whole = 0
    for i, line in enumerate(ordered):
        channel = line.channel
        if channel not in usable:
            usable[channel] = _usable(supply, supply.channel(channel), today)
        takes = tuple(_take(supply, free, line, line.qty, today, usable=usable[channel]))
        if len(supply.locations) > 1 and supply.channel(channel).split is Split.AVOID:
            whole = _choose(supply, free, line, takes, today, ordered[i + 1:], usable)
            if whole is not None:
                takes, kept_whole = whole, kept_whole + 1
        short = line.qty - sum(t.qty for t in takes)
        key = (channel, short, takes)
        placed = known.get(key)
        if placed is None:
            placed = known[key] = placement(supply, supply.channel(channel), takes, short, today)
        placements[line.key] = placed
        uncovered += short
    return Plan(placements, free, uncovered, kept_whole)


def _choose(supply: Supply, free: dict[str, int], line: Demand, split: tuple[Take, ...], today: date,
            rest: list[Demand], usable: dict[str, list[Bucket]]) -> tuple[Take, ...] | None:
    """`split: avoid`: the takes of one location instead of `split` (already taken from `free`),
    or None to keep them. Candidates are the locations that can cover the whole line, earliest
    promise first, then the channel's preference; one is used only if no later line, planned first
    come first served, covers fewer units than after the split takes."""
    locations = {supply.by_key[t.bucket].location for t in split}
    if len(locations) <= 1:
        return None
    rule = supply.channel(line.channel)
    before = dict(free)
    for t in split:
        before[t.bucket] += t.qty
    candidates = []
    for rank, loc in enumerate(supply.ships_from(rule)):
        at = [b for b in usable[line.channel] if b.location == loc]
        trial = dict(before)
        takes = tuple(_take(supply, trial, line, line.qty, today, usable=at))
        if sum(t.qty for t in takes) == line.qty:
            promised = _promise(supply, rule, [supply.by_key[t.bucket] for t in takes], today)
            candidates.append((promised, rank, takes, trial))
    if not candidates:
        return None
    baseline = _coverage(supply, dict(free), rest, today, usable) if rest else []
    for _, _, takes, trial in sorted(candidates, key=lambda c: (c[0], c[1])):
        if not rest or all(a >= b for a, b in zip(_coverage(supply, dict(trial), rest, today, usable),
                                                  baseline, strict=True)):
            free.clear()
            free.update(trial)
            return takes
    return None


def _coverage(supply: Supply, free: dict[str, int], rest: list[Demand], today: date,
              usable: dict[str, list[Bucket]]) -> list[int]:
    """Units each line would cover, first come first served, splits allowed (`free` shrinks)."""
    covered = []
    for line in rest:
        if line.channel not in usable:
            usable[line.channel] = _usable(supply, supply.channel(line.channel), today)
        covered.append(sum(t.qty for t in _take(supply, free, line, line.qty, today, usable=usable[line.channel])))
    return covered


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
    """One take per bucket, in bucket order (fair share keeps splits: `split: avoid` is first come's)."""
    units: dict[str, int] = {}
    for t in takes:
        units[t.bucket] = units.get(t.bucket, 0) + t.qty
    return tuple(Take(b.key, units[b.key]) for b in supply.buckets if b.key in units)


def append(supply: Supply, current: Plan, line: Demand, today: date) -> Plan:
    """The plan after `line` joins the tail of the queue: nobody else moves."""
    free = dict(current.free)
    placed, whole = _place(supply, free, line, today)
    return Plan({**current.placements, line.key: placed}, free, current.uncovered + line.qty - placed.covered,
                current.kept_whole + whole)


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
    dated = [(_promise(supply, rule, [b], today), current.free.get(b.key, 0))
             for b in _usable(supply, rule, today)]
    timeline = tuple(Point(d, _sellable_by(dated, d) - current.uncovered) for d in sorted({d for d, _ in dated}))
    available = sum(free for _, free in dated if free > 0) - current.uncovered
    upcoming = next((p.date for p in timeline if p.available >= 1), None)
    return ChannelView(available, upcoming, timeline)


def free_at(supply: Supply, current: Plan, channel: str, today: date) -> dict[str, int]:
    """Free units per location in the buckets the channel may use."""
    units: dict[str, int] = {}
    for b in _usable(supply, supply.channel(channel), today):
        units[b.location] = units.get(b.location, 0) + max(0, current.free.get(b.key, 0))
    return units


def _sellable_by(dated: list[tuple[date, int]], by: date) -> int:
    units = 0
    for promised, free in dated:
        if free <= 0:
            continue
        if promised > by:
            break
        units += free
    return units


def promise_date(supply: Supply, channel: ChannelRule, dates: Iterable[date], today: date,
                 location_days: int = 0) -> date:
    """Latest supply date plus handling (the SKU's and the location's) and channel padding; never
    before a preorder's release.

    An overdue PO counts as arriving today: a promise is never in the past.
    """
    days = supply.sku.handling_days + location_days + channel.padding_days
    promised = max(today, *dates) + timedelta(days=days)
    release = supply.sku.release_date
    if supply.sku.mode is Mode.PREORDER and release is not None:
        promised = max(promised, release)
    return promised


def _promise(supply: Supply, rule: ChannelRule, used: list[Bucket], today: date) -> date:
    """The promise of units from these buckets: each location adds its own handling days."""
    if not supply.handling or not used:
        return promise_date(supply, rule, [b.date for b in used], today)
    return max(promise_date(supply, rule, [b.date], today, supply.handling.get(b.location, 0)) for b in used)


def _usable(supply: Supply, rule: ChannelRule, today: date) -> list[Bucket]:
    return [b for b in supply.ordered_for(rule) if supply.sku.may_use(rule, b.source, today)]


def _place(supply: Supply, free: dict[str, int], line: Demand, today: date) -> tuple[Placement, bool]:
    """The placement of a line at the tail of the queue (no later line to look out for), and whether
    it was kept at one location: a line that joins later could change that decision."""
    rule = supply.channel(line.channel)
    usable = {line.channel: _usable(supply, rule, today)}
    takes = tuple(_take(supply, free, line, line.qty, today, usable=usable[line.channel]))
    whole = None
    if len(supply.locations) > 1 and rule.split is Split.AVOID:
        whole = _choose(supply, free, line, takes, today, [], usable)
    return placement(supply, rule, whole or takes, line.qty - sum(t.qty for t in whole or takes), today), bool(whole)


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
    return Placement(takes, state, _promise(supply, rule, used, today))


def changed_lines(before: Mapping[str, Placement], after: Mapping[str, Placement]) -> list[str]:
    """Keys of lines whose state or promise date differ between two plans."""
    return [
        k for k, p in after.items()
        if k not in before or (before[k].state, before[k].promise_date) != (p.state, p.promise_date)
    ]
