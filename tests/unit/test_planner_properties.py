"""Properties of the pure planner over random supplies and queues (BRIEF §2, STYLE habit 1).

The strategies draw small worlds on purpose: 1–4 buckets with capacities from -2 to 6 (negative
is on hand below safety stock), 0–25 queue lines of 1–5 units, so that shortages, ties and
channel restrictions are common rather than rare.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from allot.domain.model import (
    MADE_TO_ORDER_KEY,
    STOCK_KEY,
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
    queue_order,
)
from allot.domain.planner import Plan, append, placement, plan, sell, view
from tests.properties import examples

TODAY = date(2025, 3, 1)
OPENING = datetime(2025, 2, 1, 9, 0)
CHANNEL_NAMES = ("web", "amazon", "wholesale")
UNKNOWN_CHANNEL = "pop-up"  # not configured: may sell on hand only
EVERYTHING = ChannelRule("everything", allow_backorder=True, allow_preorder=True)

fast = settings(max_examples=examples(100), deadline=None)


# --- strategies ----------------------------------------------------------------------------------

capacities = st.integers(min_value=-2, max_value=6)


def _day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


@st.composite
def buckets(draw: st.DrawFn) -> tuple[Bucket, ...]:
    """1–4 buckets: at most one on hand, at most one made to order, the rest PO lines."""
    count = draw(st.integers(1, 4))
    sources = draw(st.lists(st.sampled_from(Source), min_size=count, max_size=count))
    drawn: list[Bucket] = []
    for i, source in enumerate(sources):
        capacity = draw(capacities)
        if source is Source.STOCK and all(b.source is not Source.STOCK for b in drawn):
            drawn.append(Bucket(STOCK_KEY, Source.STOCK, TODAY, capacity))
        elif source is Source.MADE_TO_ORDER and all(b.source is not Source.MADE_TO_ORDER for b in drawn):
            lead = draw(st.integers(0, 30))
            drawn.append(Bucket(MADE_TO_ORDER_KEY, Source.MADE_TO_ORDER, _day(lead), capacity))
        else:
            due = _day(draw(st.integers(0, 40)))
            seq, line = draw(st.integers(0, 2)), i + 1  # distinct line numbers: no full key ties
            drawn.append(Bucket(f"PO{seq}/{line}", Source.PO, due, capacity, f"PO{seq}", line, seq))
    return tuple(drawn)


channel_rules = st.builds(
    ChannelRule,
    name=st.just(""),
    allow_backorder=st.booleans(),
    allow_preorder=st.booleans(),
    padding_days=st.integers(0, 3),
)


@st.composite
def supplies(draw: st.DrawFn) -> Supply:
    mode = draw(st.sampled_from(Mode))
    release = draw(st.none() | st.integers(-5, 30).map(_day))
    sku = SkuRule(mode=mode, release_date=release, handling_days=draw(st.integers(0, 3)))
    names = draw(st.lists(st.sampled_from(CHANNEL_NAMES), min_size=1, max_size=3, unique=True))
    channels = {n: replace(draw(channel_rules), name=n) for n in names}
    return Supply(sku, draw(buckets()), channels)


_queued_at = st.sampled_from([OPENING + timedelta(minutes=m) for m in (0, 1, 5)])


@st.composite
def queues(draw: st.DrawFn, max_size: int = 25) -> list[Demand]:
    """0–25 lines with unique keys and unique arrival sequences, in no particular order."""
    size = draw(st.integers(0, max_size))
    seqs = draw(st.lists(st.integers(0, 1000), min_size=size, max_size=size, unique=True))
    return [
        Demand(
            key=f"L{i}",
            qty=draw(st.integers(1, 5)),
            channel=draw(st.sampled_from((*CHANNEL_NAMES, UNKNOWN_CHANNEL))),
            priority=draw(st.integers(0, 2)),
            queued_at=draw(_queued_at),
            seq=seq,
        )
        for i, seq in enumerate(seqs)
    ]


def tail_line(queue: list[Demand], qty: int, channel: str) -> Demand:
    """A default-priority line whose queue key sorts after every line already queued."""
    last_at = max((d.queued_at for d in queue), default=OPENING)
    last_seq = max((d.seq for d in queue), default=0)
    return Demand("new", qty, channel, 0, last_at + timedelta(minutes=1), last_seq + 1)


# --- helpers -------------------------------------------------------------------------------------


def in_queue_order(queue: list[Demand]) -> list[Demand]:
    return sorted(queue, key=queue_order)


def usable(supply: Supply, channel: str) -> set[str]:
    rule = supply.channel(channel)
    return {b.key for b in supply.buckets if supply.sku.may_use(rule, b.source, TODAY)}


def taken_per_bucket(result: Plan) -> dict[str, int]:
    taken: dict[str, int] = {}
    for placed in result.placements.values():
        for t in placed.takes:
            taken[t.bucket] = taken.get(t.bucket, 0) + t.qty
    return taken


def others(result: Plan, but: str) -> dict[str, Placement]:
    return {k: p for k, p in result.placements.items() if k != but}


# --- (a) capacity ------------------------------------------------------------------------------


@fast
@given(supplies(), queues())
def test_no_bucket_gives_more_than_its_capacity(supply: Supply, queue: list[Demand]) -> None:
    """Per bucket, Σ takes ≤ max(0, capacity) and free = max(0, capacity) − Σ takes."""
    result = plan(supply, queue, TODAY)
    taken = taken_per_bucket(result)

    for bucket in supply.buckets:
        assert taken.get(bucket.key, 0) <= max(0, bucket.capacity)
        assert result.free[bucket.key] == max(0, bucket.capacity) - taken.get(bucket.key, 0)
    assert set(taken) <= {b.key for b in supply.buckets}


@fast
@given(supplies(), queues())
def test_a_line_takes_only_positive_units_from_buckets_its_channel_may_use(
    supply: Supply, queue: list[Demand]
) -> None:
    """Every take is a positive number of units from a usable bucket; no line is over-covered."""
    result = plan(supply, queue, TODAY)

    for line in queue:
        placed = result.placements[line.key]
        assert all(t.qty > 0 and t.bucket in usable(supply, line.channel) for t in placed.takes)
        assert placed.covered <= line.qty
        assert (placed.state is State.BACKORDERED) == (placed.covered < line.qty)
        assert (placed.promise_date is None) == (placed.covered < line.qty)


# --- (b) first come, first served --------------------------------------------------------------


@fast
@given(supplies(), queues())
def test_an_earlier_line_never_gets_a_later_bucket_than_a_later_line(
    supply: Supply, queue: list[Demand]
) -> None:
    """For lines a before b in queue order whose channels let b use no bucket a may not
    (in particular: the same channel, hence FIFO within a priority):

    1. every bucket b takes from is at or after, in bucket order, the last bucket a takes from;
    2. if a is short (backordered), b takes nothing at all.

    Why it holds: a moves past a usable bucket only after emptying it, and free only shrinks.
    """
    result = plan(supply, queue, TODAY)
    position = {b.key: i for i, b in enumerate(supply.buckets)}
    ordered = in_queue_order(queue)

    for i, a in enumerate(ordered):
        placed_a = result.placements[a.key]
        last_a = max((position[t.bucket] for t in placed_a.takes), default=-1)
        for b in ordered[i + 1:]:
            if not usable(supply, b.channel) <= usable(supply, a.channel):
                continue
            placed_b = result.placements[b.key]
            assert all(position[t.bucket] >= last_a for t in placed_b.takes), (a, b)
            if placed_a.covered < a.qty:
                assert placed_b.takes == (), (a, b)


# --- (c) appending at the tail -----------------------------------------------------------------


@fast
@given(supplies(), queues(), st.integers(1, 5), st.sampled_from((*CHANNEL_NAMES, UNKNOWN_CHANNEL)))
def test_a_default_priority_line_joining_the_tail_never_moves_anyone(
    supply: Supply, queue: list[Demand], qty: int, channel: str
) -> None:
    """Whether re-planned in full, appended, or sold at the tail, every other placement is unchanged."""
    before = plan(supply, queue, TODAY)
    line = tail_line(queue, qty, channel)

    assert others(plan(supply, [*queue, line], TODAY), line.key) == before.placements
    assert others(append(supply, before, line, TODAY), line.key) == before.placements
    for at_tail in (True, False):
        sale = sell(supply, queue, before, line, TODAY, at_tail=at_tail)
        assert others(sale.plan, line.key) == before.placements


# --- (d) incremental equals full re-plan -------------------------------------------------------


@fast
@given(supplies(), queues(), st.integers(1, 5), st.sampled_from((*CHANNEL_NAMES, UNKNOWN_CHANNEL)))
def test_appending_at_the_tail_equals_a_full_replan(
    supply: Supply, queue: list[Demand], qty: int, channel: str
) -> None:
    """append(plan(q), line) == plan(q + [line]): same placements, free units and uncovered count."""
    line = tail_line(queue, qty, channel)
    incremental = append(supply, plan(supply, queue, TODAY), line, TODAY)
    full = plan(supply, [*queue, line], TODAY)

    assert incremental.placements == full.placements
    assert incremental.free == full.free
    assert incremental.uncovered == full.uncovered


@fast
@given(supplies(), queues())
def test_lines_that_share_a_placement_each_get_what_a_line_by_line_walk_gives(
    supply: Supply, queue: list[Demand]
) -> None:
    """The plan works out each distinct placement once and shares it; a naive walk agrees line by line."""
    free = {b.key: max(0, b.capacity) for b in supply.buckets}
    expected: dict[str, Placement] = {}
    for line in in_queue_order(queue):
        rule = supply.channel(line.channel)
        need, takes = line.qty, []
        for b in supply.buckets:
            if need and free[b.key] > 0 and supply.sku.may_use(rule, b.source, TODAY):
                n = min(need, free[b.key])
                free[b.key] -= n
                need -= n
                takes.append(Take(b.key, n))
        expected[line.key] = placement(supply, rule, tuple(takes), need, TODAY)

    assert plan(supply, queue, TODAY).placements == expected


@settings(max_examples=examples(100), deadline=None)
@given(supplies(), st.lists(st.tuples(st.integers(1, 5), st.sampled_from(CHANNEL_NAMES)), max_size=15))
def test_a_queue_built_one_sale_at_a_time_equals_a_full_replan(
    supply: Supply, sales: list[tuple[int, str]]
) -> None:
    """Folding `append` over a queue in arrival order gives the same plan as planning it at once."""
    queue: list[Demand] = []
    incremental = plan(supply, [], TODAY)
    for i, (qty, channel) in enumerate(sales):
        line = replace(tail_line(queue, qty, channel), key=f"L{i}")
        incremental = append(supply, incremental, line, TODAY)
        queue.append(line)

    assert incremental == plan(supply, queue, TODAY)


# --- (e) supply shrinks hit the tail -----------------------------------------------------------


@fast
@given(supplies(), queues(), st.data())
def test_a_supply_decrease_changes_no_line_ahead_of_the_first_one_it_pushes_out(
    supply: Supply, queue: list[Demand], data: st.DataObject
) -> None:
    """Lower one bucket's capacity from C to C'. Walk the old plan in queue order adding up the
    units each line took from that bucket; the first line whose running total exceeds max(0, C')
    is the first that loses a unit. Every line before it keeps its placement (takes, state and
    promise). If no line crosses, no line changes at all and only that bucket's free count drops.
    """
    index = data.draw(st.integers(0, len(supply.buckets) - 1), label="bucket")
    shrunk_bucket = supply.buckets[index]
    new_capacity = data.draw(st.integers(-2, shrunk_bucket.capacity), label="new capacity")
    shrunk = replace(
        supply, buckets=tuple(replace(b, capacity=new_capacity) if i == index else b
                              for i, b in enumerate(supply.buckets))
    )
    before, after = plan(supply, queue, TODAY), plan(shrunk, queue, TODAY)

    running, unchanged = 0, []
    for line in in_queue_order(queue):
        running += sum(t.qty for t in before.placements[line.key].takes if t.bucket == shrunk_bucket.key)
        if running > max(0, new_capacity):
            break
        unchanged.append(line.key)

    for key in unchanged:
        assert after.placements[key] == before.placements[key], key
    if len(unchanged) == len(queue):
        drop = max(0, shrunk_bucket.capacity) - max(0, new_capacity)
        assert after.free == {**before.free, shrunk_bucket.key: before.free[shrunk_bucket.key] - drop}


# --- (f) the numbers add up ----------------------------------------------------------------------


@fast
@given(supplies(), queues())
def test_uncovered_units_and_availability_add_up(supply: Supply, queue: list[Demand]) -> None:
    """uncovered = Σ qty − Σ covered; for a channel that may use every bucket,
    available = Σ max(0, capacity) − Σ qty (sellable supply − committed), negative iff oversold."""
    omni = replace(supply, channels={**supply.channels, EVERYTHING.name: EVERYTHING})
    result = plan(omni, queue, TODAY)
    demanded = sum(d.qty for d in queue)
    sellable = sum(max(0, b.capacity) for b in omni.buckets)

    assert result.uncovered == demanded - sum(p.covered for p in result.placements.values())
    for name in (*omni.channels, UNKNOWN_CHANNEL):
        if usable(omni, name) == {b.key for b in omni.buckets}:
            available = view(omni, result, name, TODAY).available
            assert available == sellable - demanded
            if available < 0:
                assert result.oversold


@fast
@given(supplies(), queues())
def test_available_is_free_units_in_usable_buckets_less_every_uncovered_unit(
    supply: Supply, queue: list[Demand]
) -> None:
    """Any channel: available = Σ free over its usable buckets − the SKU's uncovered units;
    the timeline rises with its dates and ends at that same number."""
    result = plan(supply, queue, TODAY)

    for name in (*supply.channels, UNKNOWN_CHANNEL):
        seen = view(supply, result, name, TODAY)
        assert seen.available == sum(result.free[k] for k in usable(supply, name)) - result.uncovered
        dates = [p.date for p in seen.timeline]
        counts = [p.available for p in seen.timeline]
        assert dates == sorted(set(dates))
        assert counts == sorted(counts)
        assert counts[-1:] == ([seen.available] if usable(supply, name) else [])


@fast
@given(supplies(), queues(), st.sampled_from((*CHANNEL_NAMES, UNKNOWN_CHANNEL)))
def test_next_promise_date_is_the_promise_one_more_unit_would_get(
    supply: Supply, queue: list[Demand], channel: str
) -> None:
    """With nothing uncovered, next_promise_date equals the promise a one-unit tail line gets
    (None exactly when it would be backordered), whatever the order of the bucket dates.
    """
    current = plan(supply, queue, TODAY)
    assume(current.uncovered == 0)
    line = tail_line(queue, 1, channel)
    one_more = append(supply, current, line, TODAY).placements[line.key]

    assert view(supply, current, channel, TODAY).next_promise_date == one_more.promise_date


# --- (g) selling never takes a unit from anyone ------------------------------------------------


@fast
@given(
    supplies(),
    queues(),
    st.integers(1, 5),
    st.sampled_from((*CHANNEL_NAMES, UNKNOWN_CHANNEL)),
    st.integers(0, 2),
    _queued_at,
    st.none() | st.integers(0, 6),
)
def test_an_accepted_sale_is_fully_covered_and_uncovers_no_one(
    supply: Supply,
    queue: list[Demand],
    qty: int,
    channel: str,
    priority: int,
    queued_at: datetime,
    quota_left: int | None,
) -> None:
    """Inserted at its place in the queue, an accepted sale is fully covered, fits what the channel
    could sell and its quota, and leaves no existing line with fewer covered units. A refused sale
    changes nothing."""
    current = plan(supply, queue, TODAY)
    line = Demand("new", qty, channel, priority, queued_at, seq=1001)
    sale = sell(supply, queue, current, line, TODAY, at_tail=False, quota_left=quota_left)

    if not sale.accepted:
        assert sale.plan is current
        return
    assert sale.placement is not None and sale.placement.covered == qty
    assert sale.plan == plan(supply, [*queue, line], TODAY)
    assert qty <= sale.available <= view(supply, current, channel, TODAY).available
    assert quota_left is None or qty <= quota_left
    for key, placed in current.placements.items():
        assert sale.plan.placements[key].covered >= placed.covered, key


@fast
@given(supplies(), queues(), st.integers(1, 5), st.sampled_from((*CHANNEL_NAMES, UNKNOWN_CHANNEL)))
def test_a_tail_sale_within_availability_is_accepted_and_changes_no_promise(
    supply: Supply, queue: list[Demand], qty: int, channel: str
) -> None:
    """Default-priority FIFO: a tail sale of at most what the channel may sell is accepted, and
    every existing line keeps its state and promise date."""
    current = plan(supply, queue, TODAY)
    line = tail_line(queue, qty, channel)
    sale = sell(supply, queue, current, line, TODAY, at_tail=True)

    assert sale.accepted == (qty <= view(supply, current, channel, TODAY).available)
    for key, placed in current.placements.items():
        assert (sale.plan.placements[key].state, sale.plan.placements[key].promise_date) == (
            placed.state, placed.promise_date)
