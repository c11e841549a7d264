"""Example tests for the pure planner: one per rule of BRIEF §2 (buckets, queue, plan, states,
promise date, availability, selling) and §3 (SKU modes, channels).

Each test builds its world with the small factories below; expected values are derived from the
inputs (dates, capacities) rather than written down as magic results.
"""
from __future__ import annotations

import itertools
import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from allot.domain.model import (
    MADE_TO_ORDER_KEY,
    STOCK_KEY,
    Bucket,
    ChannelRule,
    Demand,
    Mode,
    SkuRule,
    Source,
    State,
    Supply,
    bucket_order,
    po_capacity,
    queue_order,
)
from allot.domain.planner import Plan, append, changed_lines, plan, promise_date, sell, view

TODAY = date(2025, 3, 1)
OPENING = datetime(2025, 2, 1, 9, 0)
_arrivals = itertools.count(1)


# --- factories -------------------------------------------------------------------------------


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


def on_hand(capacity: int) -> Bucket:
    return Bucket(STOCK_KEY, Source.STOCK, TODAY, capacity)


def po_line(ref: str, line: int, capacity: int, due: date, *, seq: int = 1) -> Bucket:
    return Bucket(f"{ref}/{line}", Source.PO, due, capacity, po_ref=ref, po_line=line, po_seq=seq)


def made_to_order(capacity: int, lead_days: int) -> Bucket:
    return Bucket(MADE_TO_ORDER_KEY, Source.MADE_TO_ORDER, days(lead_days), capacity)


def channel(
    name: str = "web", *, backorder: bool = True, preorder: bool = True, padding: int = 0
) -> ChannelRule:
    return ChannelRule(name, allow_backorder=backorder, allow_preorder=preorder, padding_days=padding)


def supply(
    *buckets: Bucket,
    mode: Mode = Mode.BACKORDER,
    release: date | None = None,
    handling: int = 0,
    channels: tuple[ChannelRule, ...] = (channel(),),
) -> Supply:
    sku = SkuRule(mode=mode, release_date=release, handling_days=handling)
    return Supply(sku, buckets, {c.name: c for c in channels})


def order(
    key: str,
    qty: int = 1,
    *,
    on: str = "web",
    priority: int = 0,
    at: datetime = OPENING,
    seq: int | None = None,
) -> Demand:
    """A queue line; without an explicit `seq` lines arrive in the order they are built."""
    return Demand(key, qty, on, priority, at, next(_arrivals) if seq is None else seq)


def takes(result: Plan, key: str) -> dict[str, int]:
    return {t.bucket: t.qty for t in result.placements[key].takes}


def keys_in_queue_order(lines: list[Demand]) -> list[str]:
    return [d.key for d in sorted(lines, key=queue_order)]


# --- buckets -----------------------------------------------------------------------------------


def test_prefers_stock_to_purchase_orders() -> None:
    po = po_line("PO1", 1, 10, days(5))
    result = plan(supply(po, on_hand(10)), [order("a", 3)], TODAY)

    assert takes(result, "a") == {STOCK_KEY: 3}


def test_spills_over_from_stock_into_the_next_bucket() -> None:
    po = po_line("PO1", 1, 10, days(5))
    result = plan(supply(on_hand(2), po), [order("a", 5)], TODAY)

    assert takes(result, "a") == {STOCK_KEY: 2, po.key: 3}


def test_prefers_the_purchase_order_expected_first() -> None:
    late = po_line("PO1", 1, 10, days(20), seq=1)
    early = po_line("PO2", 1, 10, days(5), seq=2)
    result = plan(supply(late, early), [order("a", 3)], TODAY)

    assert takes(result, "a") == {early.key: 3}


def test_breaks_a_tie_on_expected_date_by_po_creation_order() -> None:
    created_second = po_line("PO-A", 1, 10, days(5), seq=2)
    created_first = po_line("PO-B", 1, 10, days(5), seq=1)
    result = plan(supply(created_second, created_first), [order("a", 3)], TODAY)

    assert takes(result, "a") == {created_first.key: 3}


def test_breaks_a_tie_within_a_purchase_order_by_line_number() -> None:
    line_2 = po_line("PO1", 2, 10, days(5))
    line_1 = po_line("PO1", 1, 10, days(5))
    result = plan(supply(line_2, line_1), [order("a", 3)], TODAY)

    assert takes(result, "a") == {line_1.key: 3}


def test_uses_made_to_order_only_after_every_purchase_order() -> None:
    # Made to order comes last even when its date is earlier than a PO's.
    mto = made_to_order(10, lead_days=3)
    po = po_line("PO1", 1, 2, days(30))
    result = plan(supply(mto, po, on_hand(1)), [order("a", 5)], TODAY)

    assert [t.bucket for t in result.placements["a"].takes] == [STOCK_KEY, po.key, MADE_TO_ORDER_KEY]
    assert takes(result, "a")[MADE_TO_ORDER_KEY] == 5 - 1 - 2


def test_bucket_order_is_stock_then_pos_by_date_creation_and_line_then_made_to_order() -> None:
    buckets = [
        made_to_order(5, lead_days=1),
        po_line("PO2", 1, 5, days(5), seq=2),
        po_line("PO1", 2, 5, days(5), seq=1),
        po_line("PO1", 1, 5, days(5), seq=1),
        po_line("PO3", 1, 5, days(2), seq=3),
        on_hand(5),
    ]
    ordered = [b.key for b in supply(*buckets).buckets]

    assert ordered == [STOCK_KEY, "PO3/1", "PO1/1", "PO1/2", "PO2/1", MADE_TO_ORDER_KEY]
    assert ordered == [b.key for b in sorted(buckets, key=bucket_order)]


def test_a_bucket_with_negative_capacity_gives_nothing() -> None:
    # Safety stock above on hand leaves a negative capacity; it must not lend units to the PO.
    po = po_line("PO1", 1, 4, days(5))
    result = plan(supply(on_hand(-3), po), [order("a", 2)], TODAY)

    assert takes(result, "a") == {po.key: 2}
    assert result.free == {STOCK_KEY: 0, po.key: 2}


def test_po_capacity_holds_back_the_buffer_and_rounds_down() -> None:
    remaining, buffer = 10, Decimal("0.15")  # 8.5 promisable units: the half unit is not promised

    assert po_capacity(remaining, buffer) == remaining - 2
    assert po_capacity(remaining, Decimal(0)) == remaining
    assert po_capacity(remaining, Decimal(1)) == 0
    assert po_capacity(0, Decimal("0.1")) == 0


def test_a_buffered_purchase_order_promises_no_more_than_its_capacity() -> None:
    capacity = po_capacity(100, Decimal("0.1"))
    po = po_line("PO1", 1, capacity, days(5))
    result = plan(supply(po), [order("a", capacity), order("b", 1)], TODAY)

    assert result.placements["a"].covered == capacity
    assert result.placements["b"].state is State.BACKORDERED
    assert result.free[po.key] == 0


# --- queue ---------------------------------------------------------------------------------------


def test_serves_a_higher_priority_line_before_an_earlier_one() -> None:
    early = order("early", at=OPENING)
    urgent = order("urgent", priority=1, at=OPENING + timedelta(hours=1))
    result = plan(supply(on_hand(1)), [early, urgent], TODAY)

    assert result.placements["urgent"].state is State.READY
    assert result.placements["early"].state is State.BACKORDERED


def test_serves_the_earlier_queued_line_first_within_a_priority() -> None:
    # A hold confirmed into an order keeps the hold's queued_at, even if it arrived later.
    later = order("later", at=OPENING + timedelta(minutes=5), seq=1)
    earlier = order("earlier", at=OPENING, seq=2)
    result = plan(supply(on_hand(1)), [later, earlier], TODAY)

    assert result.placements["earlier"].state is State.READY
    assert result.placements["later"].state is State.BACKORDERED


def test_breaks_a_queued_at_tie_by_arrival_sequence() -> None:
    second = order("second", at=OPENING, seq=2)
    first = order("first", at=OPENING, seq=1)
    result = plan(supply(on_hand(1)), [second, first], TODAY)

    assert result.placements["first"].state is State.READY
    assert result.placements["second"].state is State.BACKORDERED


def test_the_plan_does_not_depend_on_the_order_lines_are_given_in() -> None:
    lines = [order(f"o{i}", qty=1 + i % 3, priority=i % 2, at=OPENING + timedelta(minutes=i % 4))
             for i in range(12)]
    buckets = (on_hand(4), po_line("PO1", 1, 6, days(5)), po_line("PO2", 1, 3, days(9)))
    shuffled = lines[:]
    random.Random(7).shuffle(shuffled)

    assert plan(supply(*buckets), shuffled, TODAY) == plan(supply(*buckets), lines, TODAY)


# --- states ----------------------------------------------------------------------------------------


def test_a_line_covered_from_stock_is_ready() -> None:
    result = plan(supply(on_hand(5)), [order("a", 5)], TODAY)

    assert result.placements["a"].state is State.READY


def test_a_preorder_line_covered_from_stock_awaits_release_before_the_release_date() -> None:
    result = plan(supply(on_hand(5), mode=Mode.PREORDER, release=days(1)), [order("a", 2)], TODAY)

    assert result.placements["a"].state is State.AWAITING_RELEASE


def test_a_preorder_line_covered_from_stock_is_ready_on_the_release_date() -> None:
    result = plan(supply(on_hand(5), mode=Mode.PREORDER, release=TODAY), [order("a", 2)], TODAY)

    assert result.placements["a"].state is State.READY


def test_a_line_with_any_unit_on_a_purchase_order_awaits_stock() -> None:
    po = po_line("PO1", 1, 5, days(5))
    result = plan(supply(on_hand(4), po), [order("a", 5)], TODAY)

    assert result.placements["a"].state is State.AWAITING_STOCK


def test_a_line_made_to_order_awaits_stock() -> None:
    mto = made_to_order(5, lead_days=10)
    result = plan(supply(on_hand(0), mto), [order("a", 2)], TODAY)

    assert takes(result, "a") == {MADE_TO_ORDER_KEY: 2}
    assert result.placements["a"].state is State.AWAITING_STOCK
    assert result.placements["a"].promise_date == mto.date


def test_a_line_with_any_unit_uncovered_is_backordered_and_keeps_its_partial_allocation() -> None:
    result = plan(supply(on_hand(3)), [order("a", 5)], TODAY)
    placed = result.placements["a"]

    assert placed.state is State.BACKORDERED
    assert placed.promise_date is None
    assert placed.covered == 3
    assert result.uncovered == 5 - 3
    assert result.oversold


# --- promise date ----------------------------------------------------------------------------------


def test_promise_is_the_latest_bucket_date_plus_handling_and_channel_padding() -> None:
    first, second = po_line("PO1", 1, 2, days(5)), po_line("PO2", 1, 2, days(12))
    web = channel("web", padding=2)
    result = plan(supply(on_hand(1), first, second, handling=3, channels=(web,)), [order("a", 4)], TODAY)

    assert result.placements["a"].promise_date == second.date + timedelta(days=3 + 2)


def test_promise_of_a_ready_line_is_today_plus_handling_and_padding() -> None:
    web = channel("web", padding=1)
    result = plan(supply(on_hand(5), handling=2, channels=(web,)), [order("a")], TODAY)

    assert result.placements["a"].promise_date == TODAY + timedelta(days=2 + 1)


def test_the_channels_padding_is_the_lines_own() -> None:
    web, wholesale = channel("web", padding=0), channel("wholesale", padding=4)
    both = supply(on_hand(5), channels=(web, wholesale))
    result = plan(both, [order("a"), order("b", on="wholesale")], TODAY)

    assert result.placements["b"].promise_date == result.placements["a"].promise_date + timedelta(days=4)


def test_a_preorder_promise_is_never_before_the_release_date() -> None:
    release = days(30)
    po = po_line("PO1", 1, 5, days(10))
    preorder = supply(on_hand(1), po, mode=Mode.PREORDER, release=release, handling=2)
    result = plan(preorder, [order("a", 3)], TODAY)

    assert result.placements["a"].promise_date == release


def test_a_preorder_promise_after_the_release_date_follows_the_bucket() -> None:
    release = days(3)
    po = po_line("PO1", 1, 5, days(10))
    result = plan(supply(po, mode=Mode.PREORDER, release=release, handling=2), [order("a", 3)], TODAY)

    assert result.placements["a"].promise_date == po.date + timedelta(days=2)


# --- channels and SKU modes ------------------------------------------------------------------------


def test_stock_mode_sells_on_hand_only_even_to_a_channel_that_allows_everything() -> None:
    po = po_line("PO1", 1, 10, days(5))
    result = plan(supply(on_hand(2), po, made_to_order(10, 7), mode=Mode.STOCK), [order("a", 3)], TODAY)

    assert takes(result, "a") == {STOCK_KEY: 2}
    assert result.placements["a"].state is State.BACKORDERED


def test_backorder_mode_lets_a_backorder_channel_use_incoming_stock() -> None:
    po = po_line("PO1", 1, 10, days(5))
    web = channel("web", backorder=True, preorder=False)
    result = plan(supply(on_hand(1), po, channels=(web,)), [order("a", 3)], TODAY)

    assert takes(result, "a") == {STOCK_KEY: 1, po.key: 2}


def test_a_channel_that_allows_neither_backorder_nor_preorder_uses_only_on_hand() -> None:
    po = po_line("PO1", 1, 10, days(5))
    strict = channel("wholesale", backorder=False, preorder=False)
    for mode in (Mode.BACKORDER, Mode.PREORDER):
        released = supply(on_hand(1), po, made_to_order(5, 3), mode=mode, release=TODAY, channels=(strict,))
        result = plan(released, [order("a", 3, on="wholesale")], TODAY)

        assert takes(result, "a") == {STOCK_KEY: 1}, mode


def test_a_backorder_channel_may_not_promise_a_preorder_skus_incoming_stock() -> None:
    po = po_line("PO1", 1, 10, days(5))
    backorder_only = channel("web", backorder=True, preorder=False)
    result = plan(supply(on_hand(1), po, mode=Mode.PREORDER, release=TODAY, channels=(backorder_only,)),
                  [order("a", 3)], TODAY)

    assert takes(result, "a") == {STOCK_KEY: 1}


def test_before_release_a_channel_without_allow_preorder_can_use_no_bucket_at_all() -> None:
    strict = channel("wholesale", backorder=True, preorder=False)
    unreleased = supply(on_hand(5), po_line("PO1", 1, 5, days(5)), mode=Mode.PREORDER, release=days(10),
                        channels=(strict,))
    result = plan(unreleased, [order("a", 1, on="wholesale")], TODAY)

    assert result.placements["a"].takes == ()
    assert result.placements["a"].state is State.BACKORDERED
    assert view(unreleased, result, "wholesale", TODAY).available == -1


def test_before_release_a_preorder_channel_may_use_every_bucket() -> None:
    po = po_line("PO1", 1, 5, days(5))
    unreleased = supply(on_hand(1), po, mode=Mode.PREORDER, release=days(10))
    result = plan(unreleased, [order("a", 3)], TODAY)

    assert takes(result, "a") == {STOCK_KEY: 1, po.key: 2}


def test_an_unknown_channel_may_sell_on_hand_stock_only() -> None:
    po = po_line("PO1", 1, 10, days(5))
    result = plan(supply(on_hand(1), po), [order("a", 3, on="pop-up")], TODAY)

    assert takes(result, "a") == {STOCK_KEY: 1}


# --- availability ----------------------------------------------------------------------------------


def test_available_is_the_free_capacity_left_in_the_buckets_the_channel_may_use() -> None:
    po = po_line("PO1", 1, 10, days(5))
    web, wholesale = channel("web"), channel("wholesale", backorder=False, preorder=False)
    stock = supply(on_hand(4), po, channels=(web, wholesale))
    result = plan(stock, [order("a", 3)], TODAY)

    assert view(stock, result, "web", TODAY).available == 4 + 10 - 3
    assert view(stock, result, "wholesale", TODAY).available == 4 - 3


def test_available_is_negative_by_the_uncovered_units_when_oversold() -> None:
    po = po_line("PO1", 1, 10, days(5))
    web, wholesale = channel("web"), channel("wholesale", backorder=False, preorder=False)
    stock = supply(on_hand(2), po, channels=(web, wholesale))
    result = plan(stock, [order("a", 5, on="wholesale")], TODAY)

    # The wholesale line is 3 short; web still sees the whole PO free but owes those 3 first.
    assert view(stock, result, "wholesale", TODAY).available == -3
    assert view(stock, result, "web", TODAY).available == 10 - 3
    assert [p.available for p in view(stock, result, "web", TODAY).timeline] == [0 - 3, 10 - 3]


def test_next_promise_date_is_the_promise_of_the_first_bucket_with_a_free_unit() -> None:
    po = po_line("PO1", 1, 10, days(5))
    web = channel("web", padding=1)
    stock = supply(on_hand(2), po, handling=2, channels=(web,))
    result = plan(stock, [order("a", 2)], TODAY)

    assert view(stock, result, "web", TODAY).next_promise_date == po.date + timedelta(days=2 + 1)


def test_next_promise_date_is_none_when_nothing_is_available() -> None:
    stock = supply(on_hand(2), po_line("PO1", 1, 1, days(5)))
    result = plan(stock, [order("a", 3)], TODAY)

    assert view(stock, result, "web", TODAY).next_promise_date is None
    assert view(stock, result, "web", TODAY).available == 0


def test_next_promise_date_is_what_one_more_unit_gets_when_made_to_order_is_sooner_than_a_full_po() -> None:
    full_po = po_line("PO1", 1, 3, days(30))
    mto = made_to_order(5, lead_days=7)
    stock = supply(on_hand(0), full_po, mto)
    queue = [order("a", 3)]
    current = plan(stock, queue, TODAY)
    one_more = append(stock, current, order("b", 1), TODAY).placements["b"]

    assert one_more.promise_date == mto.date
    assert view(stock, current, "web", TODAY).next_promise_date == one_more.promise_date


def test_timeline_gives_units_sellable_for_delivery_by_each_bucket_date() -> None:
    first, second = po_line("PO1", 1, 5, days(5)), po_line("PO2", 1, 7, days(9))
    stock = supply(on_hand(3), first, second, handling=1)
    result = plan(stock, [order("a", 4)], TODAY)
    timeline = view(stock, result, "web", TODAY).timeline

    assert [(p.date, p.available) for p in timeline] == [
        (TODAY + timedelta(days=1), 0),  # the order took all 3 on hand, and 1 from PO1
        (first.date + timedelta(days=1), 3 + 5 - 4),
        (second.date + timedelta(days=1), 3 + 5 + 7 - 4),
    ]


def test_timeline_of_an_unreleased_preorder_merges_every_bucket_due_before_release() -> None:
    release = days(10)
    first, second = po_line("PO1", 1, 5, days(5)), po_line("PO2", 1, 7, days(20))
    stock = supply(on_hand(3), first, second, mode=Mode.PREORDER, release=release)
    timeline = view(stock, plan(stock, [], TODAY), "web", TODAY).timeline

    assert [(p.date, p.available) for p in timeline] == [(release, 3 + 5), (second.date, 3 + 5 + 7)]


# --- selling ---------------------------------------------------------------------------------------


def test_refuses_a_sale_of_more_than_available_and_says_what_is_left() -> None:
    stock = supply(on_hand(3))
    current = plan(stock, [order("a", 2)], TODAY)
    sale = sell(stock, [order("a", 2)], current, order("b", 2), TODAY, at_tail=True)

    assert not sale.accepted
    assert sale.available == 3 - 2
    assert sale.plan is current


def test_accepts_a_sale_of_exactly_what_is_available() -> None:
    stock = supply(on_hand(3))
    queue = [order("a", 2)]
    current = plan(stock, queue, TODAY)
    sale = sell(stock, queue, current, order("b", 1), TODAY, at_tail=True)

    assert sale.accepted
    assert sale.placement is not None and sale.placement.covered == 1
    assert view(stock, sale.plan, "web", TODAY).available == 0


def test_refuses_a_sale_beyond_the_channels_quota_left() -> None:
    stock = supply(on_hand(10))
    current = plan(stock, [], TODAY)
    sale = sell(stock, [], current, order("a", 3), TODAY, at_tail=True, quota_left=2)

    assert not sale.accepted
    assert sale.available == 2


def test_a_default_priority_sale_at_the_tail_never_changes_an_existing_promise() -> None:
    stock = supply(on_hand(2), po_line("PO1", 1, 5, days(5)), po_line("PO2", 1, 5, days(9)))
    queue = [order("a", 1), order("b", 3)]
    current = plan(stock, queue, TODAY)
    sale = sell(stock, queue, current, order("c", 4), TODAY, at_tail=True)

    assert sale.accepted
    assert changed_lines(current.placements, sale.plan.placements) == ["c"]


def test_a_higher_priority_sale_may_delay_a_lower_priority_promise() -> None:
    po = po_line("PO1", 1, 5, days(5))
    stock = supply(on_hand(2), po)
    queue = [order("a", 2)]
    current = plan(stock, queue, TODAY)
    sale = sell(stock, queue, current, order("vip", 2, priority=1), TODAY, at_tail=False)

    assert sale.accepted
    assert takes(sale.plan, "vip") == {STOCK_KEY: 2}
    assert sale.plan.placements["a"].promise_date == po.date
    assert current.placements["a"].promise_date == TODAY


def test_a_higher_priority_sale_is_refused_if_it_would_uncover_a_line() -> None:
    # Wholesale may use on hand only; a priority web sale would take its stock and leave it short,
    # although web sees enough free units on the PO.
    po = po_line("PO1", 1, 5, days(5))
    web, wholesale = channel("web"), channel("wholesale", backorder=False, preorder=False)
    stock = supply(on_hand(5), po, channels=(web, wholesale))
    queue = [order("w", 5, on="wholesale")]
    current = plan(stock, queue, TODAY)
    vip = order("vip", 2, priority=1)
    refused = sell(stock, queue, current, vip, TODAY, at_tail=False)

    assert vip.qty <= view(stock, current, "web", TODAY).available
    assert not refused.accepted
    assert refused.plan is current
    assert sell(stock, queue, current, order("tail", 2), TODAY, at_tail=True).accepted


def test_append_places_a_tail_line_exactly_as_a_full_replan_would() -> None:
    stock = supply(on_hand(2), po_line("PO1", 1, 3, days(5)))
    queue = [order("a", 2), order("b", 2)]
    tail = order("c", 2)

    assert append(stock, plan(stock, queue, TODAY), tail, TODAY) == plan(stock, [*queue, tail], TODAY)


def test_promise_date_helper_adds_handling_and_padding_to_the_latest_date() -> None:
    stock = supply(on_hand(1), handling=2)
    dates = [days(4), days(9), days(1)]

    assert promise_date(stock, channel(padding=3), dates, TODAY) == max(dates) + timedelta(days=2 + 3)


def test_a_promise_is_never_in_the_past_even_on_an_overdue_po() -> None:
    stock = supply(on_hand(0), po_line("PO1", 1, 3, days(-3)), handling=1)

    assert plan(stock, [order("a", 1)], TODAY).placements["a"].promise_date == days(1)


# --- the seed case: a supplier ships 480 of 500 ----------------------------------------------------


def _drop(size: int) -> list[Demand]:
    """`size` one-unit preorders, handed to the planner in scrambled order."""
    lines = [order(f"p{i:03}", at=OPENING + timedelta(seconds=i), seq=i) for i in range(size)]
    random.Random(500).shuffle(lines)
    return lines


def test_a_short_shipment_backorders_the_tail_of_the_queue() -> None:
    release = days(14)
    queue = _drop(500)
    on_po = supply(po_line("PO1", 1, 500, days(7)), mode=Mode.PREORDER, release=release)
    before = plan(on_po, queue, TODAY)
    received = supply(on_hand(480), mode=Mode.PREORDER, release=release)  # PO closed short
    after = plan(received, queue, TODAY)
    in_order = keys_in_queue_order(queue)

    assert all(before.placements[k].state is State.AWAITING_STOCK for k in in_order)
    assert {after.placements[k].state for k in in_order[:480]} == {State.AWAITING_RELEASE}
    assert {after.placements[k].promise_date for k in in_order[:480]} == {release}
    assert {after.placements[k].state for k in in_order[480:]} == {State.BACKORDERED}
    assert {after.placements[k].promise_date for k in in_order[480:]} == {None}
    assert view(received, after, "web", TODAY).available == 480 - 500
    assert set(changed_lines(before.placements, after.placements)) == set(in_order)


def test_after_release_the_short_shipment_leaves_the_head_of_the_queue_ready() -> None:
    queue = _drop(500)
    received = supply(on_hand(480), mode=Mode.PREORDER, release=TODAY)
    after = plan(received, queue, TODAY)
    in_order = keys_in_queue_order(queue)

    assert {after.placements[k].state for k in in_order[:480]} == {State.READY}
    assert {after.placements[k].state for k in in_order[480:]} == {State.BACKORDERED}


def test_a_second_purchase_order_re_promises_the_backordered_tail_on_its_date() -> None:
    release = days(14)
    queue = _drop(500)
    received = supply(on_hand(480), mode=Mode.PREORDER, release=release)
    short = plan(received, queue, TODAY)
    second = po_line("PO2", 1, 20, days(40), seq=2)
    restocked = supply(on_hand(480), second, mode=Mode.PREORDER, release=release)
    after = plan(restocked, queue, TODAY)
    in_order = keys_in_queue_order(queue)

    assert set(changed_lines(short.placements, after.placements)) == set(in_order[480:])
    assert {after.placements[k].promise_date for k in in_order[480:]} == {second.date}
    assert {after.placements[k].state for k in in_order[480:]} == {State.AWAITING_STOCK}
    assert view(restocked, after, "web", TODAY).available == 0


def test_a_second_purchase_order_too_small_for_the_tail_promises_in_queue_order() -> None:
    release = days(14)
    queue = _drop(500)
    second = po_line("PO2", 1, 12, days(40), seq=2)
    after = plan(supply(on_hand(480), second, mode=Mode.PREORDER, release=release), queue, TODAY)
    tail = keys_in_queue_order(queue)[480:]

    assert [after.placements[k].promise_date for k in tail] == [second.date] * 12 + [None] * (20 - 12)
