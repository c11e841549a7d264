"""Properties of the fair_share allocation policy (BRIEF: short shipments; STYLE habit 1).

The worlds are the FIFO property tests' worlds with the SKU switched to fair_share, so shortages,
ties, priorities and channel restrictions are common.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from allot.domain.model import (
    STOCK_KEY,
    Allocation,
    Bucket,
    ChannelRule,
    Demand,
    SkuRule,
    Source,
    State,
    Supply,
)
from allot.domain.planner import plan, sell, view
from allot.domain.policies import proportional
from tests.properties import examples
from tests.unit.test_planner_properties import (
    CHANNEL_NAMES,
    OPENING,
    TODAY,
    UNKNOWN_CHANNEL,
    in_queue_order,
    others,
    queues,
    supplies,
    tail_line,
    taken_per_bucket,
    usable,
)

fast = settings(max_examples=examples(100), deadline=None)
# Sales are only interesting when the channel can sell something, so the worlds are smaller and
# many are still discarded: that filtering is the point, not a slow strategy.
selling = settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
channels = st.sampled_from((*CHANNEL_NAMES, UNKNOWN_CHANNEL))


def fair(supply: Supply) -> Supply:
    return replace(supply, sku=replace(supply.sku, allocation=Allocation.FAIR_SHARE))


fair_supplies = supplies().map(fair)


@fast
@given(fair_supplies, queues())
def test_no_bucket_gives_more_than_its_capacity(supply: Supply, queue: list[Demand]) -> None:
    result = plan(supply, queue, TODAY)
    taken = taken_per_bucket(result)

    for bucket in supply.buckets:
        assert taken.get(bucket.key, 0) <= max(0, bucket.capacity)
        assert result.free[bucket.key] == max(0, bucket.capacity) - taken.get(bucket.key, 0)
    assert result.uncovered == sum(d.qty for d in queue) - sum(p.covered for p in result.placements.values())


@fast
@given(fair_supplies, queues())
def test_a_line_takes_only_usable_units_and_its_state_says_whether_it_is_covered(
    supply: Supply, queue: list[Demand]
) -> None:
    result = plan(supply, queue, TODAY)

    for line in queue:
        placed = result.placements[line.key]
        assert all(t.qty > 0 and t.bucket in usable(supply, line.channel) for t in placed.takes)
        assert len({t.bucket for t in placed.takes}) == len(placed.takes)
        assert placed.covered <= line.qty
        assert (placed.state is State.BACKORDERED) == (placed.covered < line.qty)


@fast
@given(fair_supplies, queues())
def test_with_enough_supply_fair_share_is_first_come_first_served(supply: Supply, queue: list[Demand]) -> None:
    fifo = replace(supply, sku=replace(supply.sku, allocation=Allocation.FIFO))
    assume(plan(fifo, queue, TODAY).uncovered == 0)

    assert plan(supply, queue, TODAY) == plan(fifo, queue, TODAY)


@fast
@given(fair_supplies, queues())
def test_no_short_line_sits_beside_free_units_it_may_use(supply: Supply, queue: list[Demand]) -> None:
    result = plan(supply, queue, TODAY)

    for line in queue:
        if result.placements[line.key].covered < line.qty:
            assert all(result.free[k] == 0 for k in usable(supply, line.channel)), line


@fast
@given(fair_supplies, queues())
def test_classes_above_the_first_short_one_are_placed_as_first_come_first_served(
    supply: Supply, queue: list[Demand]
) -> None:
    fifo_plan = plan(replace(supply, sku=replace(supply.sku, allocation=Allocation.FIFO)), queue, TODAY)
    short = [d for d in in_queue_order(queue) if fifo_plan.placements[d.key].covered < d.qty]
    assume(short)
    result = plan(supply, queue, TODAY)

    for line in queue:
        if line.priority > short[0].priority:
            assert result.placements[line.key] == fifo_plan.placements[line.key]


def sellable(supply: Supply, queue: list[Demand], channel: str, data: st.DataObject) -> int:
    """A quantity the channel could sell right now (the world is discarded when it can sell none)."""
    available = view(supply, plan(supply, queue, TODAY), channel, TODAY).available
    assume(available >= 1)
    return data.draw(st.integers(1, min(available, 6)), label="qty")


@selling
@given(fair_supplies, queues(max_size=8), channels, st.data())
def test_an_accepted_tail_sale_equals_a_full_replan_and_moves_nobody(
    supply: Supply, queue: list[Demand], channel: str, data: st.DataObject
) -> None:
    """The selling fast path appends first come, first served; under fair_share that must still be
    exactly what a full re-plan gives, or a later re-plan would re-promise lines nobody touched."""
    before = plan(supply, queue, TODAY)
    line = tail_line(queue, sellable(supply, queue, channel, data), channel)
    sale = sell(supply, queue, before, line, TODAY, at_tail=True)
    full = plan(supply, [*queue, line], TODAY)

    assert sale.accepted
    assert sale.plan.placements == full.placements
    assert sale.plan.free == full.free
    assert sale.plan.uncovered == full.uncovered
    assert others(full, line.key) == before.placements


@selling
@given(fair_supplies, queues(max_size=8), channels, st.integers(0, 2), st.data())
def test_an_accepted_sale_anywhere_in_the_queue_uncovers_no_one(
    supply: Supply, queue: list[Demand], channel: str, priority: int, data: st.DataObject
) -> None:
    current = plan(supply, queue, TODAY)
    qty = sellable(supply, queue, channel, data)
    line = Demand("new", qty, channel, priority, OPENING + timedelta(minutes=2), seq=1001)
    sale = sell(supply, queue, current, line, TODAY, at_tail=False)
    assume(sale.accepted)

    assert sale.placement is not None and sale.placement.covered == qty
    assert sale.plan == plan(supply, [*queue, line], TODAY)
    for key, placed in current.placements.items():
        assert sale.plan.placements[key].covered >= placed.covered, key


# --- a shortage the channels share unevenly ----------------------------------------------------
# Random worlds rarely hold a shortage in which a sale is still possible, so these draw one on
# purpose: scarce on-hand stock that every channel may use, POs only the wholesale channel may use.

SHARED = {
    "web": ChannelRule("web"),  # on hand only
    "wholesale": ChannelRule("wholesale", allow_backorder=True),
}


@st.composite
def contested(draw: st.DrawFn) -> tuple[Supply, list[Demand]]:
    stock = Bucket(STOCK_KEY, Source.STOCK, TODAY, draw(st.integers(0, 12)))
    pos = [Bucket(f"PO{i}", Source.PO, TODAY + timedelta(days=draw(st.integers(1, 30))), draw(st.integers(0, 30)),
                  f"PO{i}", 1, i) for i in range(draw(st.integers(0, 2)))]
    supply = Supply(SkuRule(allocation=Allocation.FAIR_SHARE), (stock, *pos), SHARED)
    size = draw(st.integers(1, 8))
    queue = [Demand(f"L{i}", draw(st.integers(1, 9)), draw(st.sampled_from(sorted(SHARED))),
                    draw(st.integers(0, 1)), OPENING + timedelta(minutes=draw(st.integers(0, 3))), seq=i,
                    shipped=draw(st.sampled_from((0, 0, 0, 1, 4))))
             for i in range(size)]
    return supply, queue


@selling
@given(contested(), st.sampled_from(sorted(SHARED)), st.data())
def test_in_a_shared_shortage_an_accepted_tail_sale_equals_a_full_replan(
    world: tuple[Supply, list[Demand]], channel: str, data: st.DataObject
) -> None:
    supply, queue = world
    before = plan(supply, queue, TODAY)
    line = tail_line(queue, sellable(supply, queue, channel, data), channel)
    sale = sell(supply, queue, before, line, TODAY, at_tail=True)

    assert sale.accepted
    assert sale.plan == plan(supply, [*queue, line], TODAY)


@fast
@given(contested())
def test_in_a_shared_shortage_the_rules_still_hold(world: tuple[Supply, list[Demand]]) -> None:
    supply, queue = world
    result = plan(supply, queue, TODAY)
    taken = taken_per_bucket(result)

    assert all(taken.get(b.key, 0) <= max(0, b.capacity) for b in supply.buckets)
    for line in queue:
        placed = result.placements[line.key]
        assert placed.covered <= line.qty and all(t.bucket in usable(supply, line.channel) for t in placed.takes)
        if placed.covered < line.qty:
            assert all(result.free[k] == 0 for k in usable(supply, line.channel))


# --- the proportional split ----------------------------------------------------------------------

EVERYONE = ChannelRule("web", allow_backorder=True, allow_preorder=True)


def one_bucket(capacity: int) -> Supply:
    sku = SkuRule(allocation=Allocation.FAIR_SHARE)
    return Supply(sku, (Bucket(STOCK_KEY, Source.STOCK, TODAY, capacity),), {"web": EVERYONE})


def lines_of(quantities: list[int]) -> list[Demand]:
    return [Demand(f"L{i}", q, "web", 0, OPENING, seq=i) for i, q in enumerate(quantities)]


def test_supply_of_10_for_lines_of_8_6_and_6_gives_4_3_and_3() -> None:
    result = plan(one_bucket(10), lines_of([8, 6, 6]), TODAY)

    assert [result.placements[k].covered for k in ("L0", "L1", "L2")] == [4, 3, 3]
    assert all(result.placements[k].state is State.BACKORDERED for k in ("L0", "L1", "L2"))
    assert result.uncovered == 10


def test_the_unit_left_by_rounding_goes_to_the_first_in_the_queue() -> None:
    result = plan(one_bucket(11), lines_of([8, 6, 6]), TODAY)

    assert [result.placements[k].covered for k in ("L0", "L1", "L2")] == [5, 3, 3]


@settings(max_examples=examples(100), deadline=None)
@given(st.integers(0, 60), st.lists(st.integers(1, 12), min_size=1, max_size=8))
def test_one_scarce_bucket_is_split_in_proportion_to_open_quantity(capacity: int, quantities: list[int]) -> None:
    """Each line gets ⌊C·q/Q⌋ or one more; the extra units go to the earliest lines; nothing is wasted."""
    asked = sum(quantities)
    assume(capacity < asked)
    result = plan(one_bucket(capacity), lines_of(quantities), TODAY)
    got = [result.placements[f"L{i}"].covered for i in range(len(quantities))]

    floors = [capacity * q // asked for q in quantities]
    assert sum(got) == capacity
    assert all(g - f in (0, 1) for g, f in zip(got, floors, strict=True))
    extra = [g - f for g, f in zip(got, floors, strict=True)]
    assert extra == sorted(extra, reverse=True) or any(g == q for g, q in zip(got, quantities, strict=True))


@settings(max_examples=examples(100), deadline=None)
@given(st.integers(0, 100), st.lists(st.integers(0, 20), min_size=1, max_size=10))
def test_a_proportional_split_hands_out_every_unit_and_no_line_more_than_it_asked(
    units: int, quantities: list[int]
) -> None:
    lines = [(f"L{i}", q) for i, q in enumerate(quantities)]
    units = min(units, sum(quantities))
    shares = proportional(units, lines)

    assert sum(shares.values()) == units
    assert all(0 <= shares[k] <= q for k, q in lines)


@settings(max_examples=examples(100), deadline=None)
@given(st.integers(1, 40), st.lists(st.integers(1, 12), min_size=2, max_size=6), st.data())
def test_shipping_part_of_a_share_leaves_every_other_share_alone(
    capacity: int, quantities: list[int], data: st.DataObject
) -> None:
    """Ship k of a line's on-hand share: on hand drops by k, the line's open quantity by k, and
    every other line keeps exactly the units it had (shipped units count toward the share)."""
    assume(capacity < sum(quantities))
    queue = lines_of(quantities)
    before = plan(one_bucket(capacity), queue, TODAY)
    shippers = [d for d in queue if 0 < before.placements[d.key].covered and d.qty > 1]
    assume(shippers)
    who = data.draw(st.sampled_from(shippers), label="ships")
    k = data.draw(st.integers(1, min(before.placements[who.key].covered, who.qty - 1)), label="units")

    shipped = [replace(d, qty=d.qty - k, shipped=k) if d.key == who.key else d for d in queue]
    after = plan(one_bucket(capacity - k), shipped, TODAY)

    for d in queue:
        left = before.placements[d.key].covered - (k if d.key == who.key else 0)
        assert after.placements[d.key].covered == left, d.key


def test_shipping_the_first_share_of_4_3_3_leaves_3_and_3() -> None:
    after = plan(one_bucket(6), [replace(d, qty=4, shipped=4) if d.key == "L0" else d
                                 for d in lines_of([8, 6, 6])], TODAY)

    assert [after.placements[k].covered for k in ("L0", "L1", "L2")] == [0, 3, 3]
