"""Properties of the planner with locations (issue #13, BRIEF §9).

With one location the planner must give exactly what it gave before locations: the old planner is
kept as the oracle (tests/unit/oracle_planner.py). With several, every bucket belongs to one
location, channels name where they may ship from, and `split: avoid` keeps a line whole when it can.
Worlds stay small (2–4 locations, 1–6 buckets, up to 12 lines) so shortages and ties are common.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from allot.domain.model import (
    MAIN,
    Bucket,
    ChannelRule,
    Demand,
    Mode,
    SkuRule,
    Source,
    Split,
    Supply,
    Take,
    queue_order,
    stock_key,
)
from allot.domain.planner import Plan, append, plan, sell, view
from tests.unit import oracle_planner as old
from tests.unit.test_planner_properties import OPENING, TODAY, queues, supplies, tail_line

fast = settings(max_examples=150, deadline=None)
PLACES = (MAIN, "3pl", "store", "fba")
CHANNELS = ("web", "amazon", "wholesale")


# --- one location: the old planner is the oracle ------------------------------------------------


@fast
@given(supplies(), queues())
def test_with_one_location_the_plan_is_the_old_plan(supply: Supply, queue: list[Demand]) -> None:
    assert parts(plan(supply, queue, TODAY)) == parts(old.plan(supply, queue, TODAY))


def parts(result: Plan | old.Plan) -> tuple[object, ...]:
    return (result.placements, result.free, result.uncovered)


@fast
@given(supplies(), queues(max_size=12), st.integers(1, 6), st.sampled_from(CHANNELS))
def test_with_one_location_sales_and_views_are_the_old_ones(supply: Supply, queue: list[Demand], qty: int,
                                                           channel: str) -> None:
    current, before = plan(supply, queue, TODAY), old.plan(supply, queue, TODAY)
    line = tail_line(queue, qty, channel)
    new_sale = sell(supply, queue, current, line, TODAY, at_tail=True)
    old_sale = old.sell(supply, queue, before, line, TODAY, at_tail=True)
    assert (new_sale.accepted, new_sale.available, parts(new_sale.plan), new_sale.placement) == (
        old_sale.accepted, old_sale.available, parts(old_sale.plan), old_sale.placement)
    new_view, old_view = view(supply, current, channel, TODAY), old.view(supply, before, channel, TODAY)
    assert (new_view.available, new_view.next_promise_date) == (old_view.available, old_view.next_promise_date)
    assert [(p.date, p.available) for p in new_view.timeline] == [(p.date, p.available) for p in old_view.timeline]


# --- several locations --------------------------------------------------------------------------


@st.composite
def located(draw: st.DrawFn) -> Supply:
    """2–4 locations (`main` first), on hand and POs and transfers at each, channels with their own
    locations, split policy and padding, handling days per location."""
    places = PLACES[:draw(st.integers(2, 4))]
    buckets = []
    for i, loc in enumerate(places):
        if draw(st.booleans()):
            buckets.append(Bucket(stock_key(loc), Source.STOCK, TODAY, draw(st.integers(-1, 6)), location=loc))
        for n in range(draw(st.integers(0, 2))):
            source = draw(st.sampled_from((Source.PO, Source.TRANSFER)))
            due = TODAY + timedelta(days=draw(st.integers(0, 20)))
            key = f"{source.value}:{i}.{n}"
            buckets.append(Bucket(key, source, due, draw(st.integers(0, 6)), key, n + 1, draw(st.integers(0, 3)),
                                  location=loc))
    assume(buckets)
    channels = {}
    for name in draw(st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=3, unique=True)):
        mine = tuple(draw(st.permutations(places))[:draw(st.integers(0, len(places)))])
        channels[name] = ChannelRule(name, draw(st.booleans()), draw(st.booleans()), draw(st.integers(0, 2)),
                                     mine, draw(st.sampled_from(Split)))
    handling = {loc: draw(st.integers(0, 3)) for loc in places if draw(st.booleans())}
    sku = SkuRule(mode=draw(st.sampled_from((Mode.BACKORDER, Mode.STOCK))), handling_days=draw(st.integers(0, 2)))
    return Supply(sku, tuple(buckets), channels, places, handling)


def lines(draw_queue: list[Demand]) -> list[Demand]:
    return sorted(draw_queue, key=queue_order)


def located_queues() -> st.SearchStrategy[list[Demand]]:
    return queues(max_size=12).map(lambda q: [replace(d, channel=CHANNELS[d.seq % 3]) for d in q])


def taken(result: Plan) -> dict[str, int]:
    units: dict[str, int] = {}
    for placed in result.placements.values():
        for t in placed.takes:
            units[t.bucket] = units.get(t.bucket, 0) + t.qty
    return units


def locations_of(supply: Supply, takes: tuple[Take, ...]) -> set[str]:
    return {supply.by_key[t.bucket].location for t in takes}


def all_allow(supply: Supply) -> Supply:
    channels = {n: replace(c, split=Split.ALLOW) for n, c in supply.channels.items()}
    return Supply(supply.sku, supply.buckets, channels, supply.locations, supply.handling)


@fast
@given(located(), located_queues())
def test_no_bucket_over_capacity_and_a_channel_ships_only_from_its_locations(
        supply: Supply, queue: list[Demand]) -> None:
    result = plan(supply, queue, TODAY)
    units = taken(result)
    for bucket in supply.buckets:
        assert units.get(bucket.key, 0) <= max(0, bucket.capacity)
        assert result.free[bucket.key] == max(0, bucket.capacity) - units.get(bucket.key, 0)
    for line in queue:
        placed = result.placements[line.key]
        assert locations_of(supply, placed.takes) <= set(supply.ships_from(supply.channel(line.channel)))
        assert placed.covered <= line.qty


@fast
@given(located(), located_queues())
def test_first_come_first_served_within_a_priority_across_locations(supply: Supply, queue: list[Demand]) -> None:
    """A line of a channel that is short leaves nothing at that channel's locations for a later line
    of the same channel and priority, whichever locations either would have used."""
    result = plan(supply, queue, TODAY)
    ordered = lines(queue)
    for i, a in enumerate(ordered):
        if result.placements[a.key].covered == a.qty:
            continue
        for b in ordered[i + 1:]:
            if (b.channel, b.priority) == (a.channel, a.priority):
                assert result.placements[b.key].covered == 0, (a, b)


@fast
@given(located(), located_queues())
def test_keeping_lines_whole_never_costs_another_line_a_unit(supply: Supply, queue: list[Demand]) -> None:
    """Every line covers at least what it covers when every channel allows splits."""
    kept = plan(supply, queue, TODAY)
    split = plan(all_allow(supply), queue, TODAY)
    for line in queue:
        assert kept.placements[line.key].covered >= split.placements[line.key].covered, line


@fast
@given(located(), located_queues(), st.integers(1, 8))
def test_a_line_is_split_only_when_no_one_location_can_cover_it(supply: Supply, queue: list[Demand],
                                                               qty: int) -> None:
    """The last line of an avoiding channel is split only if, with what the lines ahead of it left,
    no single location of its channel has the units (no later line can object to it)."""
    rule = replace(supply.channel("web"), split=Split.AVOID)
    supply = Supply(supply.sku, supply.buckets, {**supply.channels, "web": rule}, supply.locations, supply.handling)
    line = tail_line(queue, qty, "web")
    result = plan(supply, [*queue, line], TODAY)
    placed = result.placements[line.key]
    if len(locations_of(supply, placed.takes)) <= 1:
        return
    usable = [b for b in supply.ordered_for(rule) if supply.sku.may_use(rule, b.source, TODAY)]
    left = {b.key: max(0, b.capacity) for b in supply.buckets}
    for key, other in result.placements.items():
        if key != line.key:
            for t in other.takes:
                left[t.bucket] -= t.qty
    for loc in supply.ships_from(rule):
        assert sum(left[b.key] for b in usable if b.location == loc) < qty, loc


@fast
@given(located(), st.integers(1, 10))
def test_a_lone_avoiding_line_is_whole_whenever_a_location_can_cover_it(supply: Supply, qty: int) -> None:
    rule = replace(supply.channel("web"), split=Split.AVOID)
    supply = Supply(supply.sku, supply.buckets, {"web": rule}, supply.locations, supply.handling)
    line = Demand("only", qty, "web", queued_at=OPENING)
    placed = plan(supply, [line], TODAY).placements["only"]
    usable = [b for b in supply.ordered_for(rule) if supply.sku.may_use(rule, b.source, TODAY)]
    can = any(sum(max(0, b.capacity) for b in usable if b.location == loc) >= qty for loc in supply.ships_from(rule))
    if can:
        assert placed.covered == qty and len(locations_of(supply, placed.takes)) == 1


@fast
@given(located(), located_queues(), st.integers(1, 6), st.sampled_from(CHANNELS))
def test_the_tail_sale_fast_path_equals_a_full_replan(supply: Supply, queue: list[Demand], qty: int,
                                                      channel: str) -> None:
    """Whenever no line was kept whole at another's expense risk (`kept_whole`, which sends the book
    to the full path), appending a tail sale gives exactly the full plan."""
    current = plan(supply, queue, TODAY)
    assume(current.kept_whole == 0)
    line = tail_line(queue, qty, channel)
    fast_path = append(supply, Plan({}, dict(current.free), current.uncovered), line, TODAY)
    full = plan(supply, [*queue, line], TODAY)
    assert fast_path.placements[line.key] == full.placements[line.key]
    assert fast_path.free == full.free and fast_path.uncovered == full.uncovered
    assert {k: p for k, p in full.placements.items() if k != line.key} == current.placements


def test_a_channel_that_ships_from_3pl_only_waits_for_the_transfer_not_mains_stock() -> None:
    """Acceptance 2 at the planner: main has stock, 3pl has 20 units arriving in 5 days."""
    shop = ChannelRule("shop", allow_backorder=True, locations=("3pl",))
    supply = Supply(SkuRule(handling_days=1),
                    (Bucket(stock_key(MAIN), Source.STOCK, TODAY, 50),
                     Bucket("tr:1", Source.TRANSFER, TODAY + timedelta(days=5), 20, "T1", 1, 1, "3pl")),
                    {"shop": shop}, (MAIN, "3pl"), {"3pl": 2})
    result = plan(supply, [Demand("a", 20, "shop", queued_at=OPENING)], TODAY)
    placed = result.placements["a"]
    assert placed.takes == (Take("tr:1", 20),)
    assert placed.promise_date == TODAY + timedelta(days=5 + 1 + 2)
    assert view(supply, result, "shop", TODAY).available == 0


@fast
@given(located(), located_queues())
def test_on_the_same_date_a_line_prefers_its_channels_earlier_location(supply: Supply, queue: list[Demand]) -> None:
    """A line of a splitting channel never takes from a bucket while a bucket of the same class and
    date at a location its channel prefers still has free units after the plan."""
    result = plan(supply, queue, TODAY)
    for line in queue:
        rule = supply.channel(line.channel)
        if rule.split is Split.AVOID:
            continue
        rank = {loc: i for i, loc in enumerate(supply.ships_from(rule))}
        usable = [b for b in supply.ordered_for(rule) if supply.sku.may_use(rule, b.source, TODAY)]
        for t in result.placements[line.key].takes:
            used = supply.by_key[t.bucket]
            for b in usable:
                same = (b.source is Source.STOCK) == (used.source is Source.STOCK) and b.date == used.date
                if same and rank[b.location] < rank[used.location] and b.source is not Source.MADE_TO_ORDER:
                    assert result.free[b.key] == 0, (line, used, b)


def test_a_channel_takes_its_preferred_locations_stock_first() -> None:
    store_first = ChannelRule("web", locations=("store", MAIN))
    supply = Supply(SkuRule(), (Bucket(stock_key(MAIN), Source.STOCK, TODAY, 5),
                                Bucket(stock_key("store"), Source.STOCK, TODAY, 5, location="store")),
                    {"web": store_first}, (MAIN, "store"))
    result = plan(supply, [Demand("a", 7, "web", queued_at=OPENING)], TODAY)
    assert result.placements["a"].takes == (Take("stock@store", 5), Take("stock", 2))
