"""Selling (BRIEF §2 Selling, §4 Holds): holds, channel rules, quotas, priority and FIFO."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from allot.domain.errors import HoldExpired, Invalid, NotFound, SaleRefused
from allot.services import catalog, orders, purchasing, reports, selling, stock
from allot.store.db import Database
from allot.store.tables import events, holds, order_lines
from allot.store.tables import orders as orders_table

SKU = "TERRA-MUG"


def in_days(now: datetime, n: int) -> date:
    return now.date() + timedelta(days=n)


def shop(conn: Connection, now: datetime, on_hand: int = 0, mode: str = "backorder") -> None:
    """Channels web (may sell incoming), amazon (stock only), wholesale (3 days padding) and one SKU."""
    catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)
    catalog.put_channel(conn, "amazon", {"allow_backorder": False, "allow_preorder": False, "padding_days": 0}, now)
    catalog.put_channel(conn, "wholesale", {"allow_backorder": True, "allow_preorder": True, "padding_days": 3},
                        now)
    catalog.put_sku(conn, SKU, {"mode": mode, "handling_days": 1}, now)
    if on_hand:
        stock.adjust(conn, SKU, on_hand, "opening stock", now)


def po(conn: Connection, now: datetime, ref: str, qty: int, days: int) -> None:
    purchasing.create(conn, ref, None, [{"sku": SKU, "qty": qty, "expected_date": in_days(now, days)}], now)


def order(conn: Connection, now: datetime, ref: str, qty: int, channel: str = "web", priority: int = 0,
          hold_id: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"sku": SKU, "qty": qty}
    if hold_id:
        item["hold_id"] = hold_id
    selling.place_order(conn, ref, channel, priority, None, [item], now)
    return dict(orders.get(conn, ref)["lines"][0])


def hold(conn: Connection, now: datetime, qty: int, ttl: int = 600, channel: str = "web") -> dict[str, Any]:
    return selling.place_hold(conn, SKU, qty, channel, ttl, now)


def line(conn: Connection, ref: str) -> dict[str, Any]:
    return dict(orders.get(conn, ref)["lines"][0])


def told(conn: Connection, ref: str) -> tuple[str, date | None]:
    got = line(conn, ref)
    return got["state"], got["promise_date"]


def numbers(conn: Connection, now: datetime, channel: str | None = None) -> dict[str, Any]:
    return reports.availability(conn, SKU, channel, now)


def read_availability(db: Database, now: datetime) -> dict[str, Any]:
    """What GET /v1/availability does: the short read, or when the plan is stale, tidy then read."""
    answer = reports.fresh_availability(db, SKU, None, now)
    if answer is None:
        answer = reports.current_availability(db, SKU, None, now)
    with db.read() as conn:
        assert answer == reports.availability(conn, SKU, None, now)  # what was answered is what is stored
        return numbers(conn, now)


def last_event(conn: Connection) -> int:
    return int(conn.execute(select(func.max(events.c.id))).scalar() or 0)


def events_after(conn: Connection, seen: int) -> list[Any]:
    return list(conn.execute(select(events).where(events.c.id > seen).order_by(events.c.id)))


def count(conn: Connection, table: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# -- holds ---------------------------------------------------------------------------------------


def test_a_hold_reserves_units_and_lowers_availability(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=10)
        placed = hold(conn, now, 3)
    assert (placed["status"], placed["state"], placed["promise_date"]) == ("active", "ready", in_days(now, 1))
    assert placed["expires_at"] == now + timedelta(seconds=600)
    with db.read() as conn:
        a = numbers(conn, now)
    assert (a["on_hand"], a["committed"], a["reserved"], a["available"]) == (10, 0, 3, 7)


def test_a_hold_without_a_ttl_lasts_ten_minutes(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=1)
        placed = selling.place_hold(conn, SKU, 1, "web", None, now)
    assert placed["expires_at"] == now + timedelta(minutes=10)


def test_a_hold_beyond_availability_is_refused_with_what_is_left(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=2)
    with pytest.raises(SaleRefused) as refused, db.write() as conn:
        hold(conn, now, 3)
    assert refused.value.available == 2
    with db.read() as conn:
        assert count(conn, holds) == 0


def test_releasing_a_hold_frees_its_units_at_once(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=10)
        placed = hold(conn, now, 3)
        released = selling.release_hold(conn, placed["id"], now)
        again = selling.release_hold(conn, placed["id"], now)
    assert (released["status"], again["status"]) == ("released", "released")
    with db.read() as conn:
        a = numbers(conn, now)
    assert (a["reserved"], a["available"]) == (0, 10)


def test_releasing_an_unknown_hold_is_not_found(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=1)
    with pytest.raises(NotFound), db.write() as conn:
        selling.release_hold(conn, "hold_nope", now)


def test_an_expired_hold_frees_its_units_when_availability_is_read(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=10)
        placed = hold(conn, now, 4, ttl=60)
    assert read_availability(db, now + timedelta(seconds=59))["reserved"] == 4
    a = read_availability(db, now + timedelta(seconds=61))
    assert (a["reserved"], a["available"]) == (0, 10)
    with db.read() as conn:
        assert selling.get_hold(conn, placed["id"], now + timedelta(seconds=61))["status"] == "expired"
        expired = [e for e in events_after(conn, 0) if e.type == "hold.expired"]
    assert [e.data["hold_id"] for e in expired] == [placed["id"]]


def test_an_expired_holds_units_can_be_sold_without_anyone_tidying_first(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=5)
        hold(conn, now, 5, ttl=60)
    later = now + timedelta(minutes=2)
    with db.write() as conn:
        assert order(conn, later, "A", 5)["state"] == "ready"
    with db.read() as conn:
        a = numbers(conn, later)
    assert (a["committed"], a["reserved"], a["available"]) == (5, 0, 0)


def release_it(conn: Connection, hold_id: str, at: datetime) -> None:
    assert selling.release_hold(conn, hold_id, at)["status"] == "expired"


def count_unchanged_stock(conn: Connection, hold_id: str, at: datetime) -> None:
    assert stock.count(conn, SKU, 10, "cycle count", at)["delta"] == 0


def cancel_a_cancelled_po(conn: Connection, hold_id: str, at: datetime) -> None:
    assert purchasing.cancel(conn, "PO-GONE", at)["status"] == "cancelled"


@pytest.mark.parametrize("notice", [release_it, count_unchanged_stock, cancel_a_cancelled_po],
                         ids=["release", "zero_count", "cancel_cancelled_po"])
def test_an_expired_hold_is_announced_even_when_a_write_that_changes_nothing_notices_it_first(
    db: Database, now: datetime, notice: Any
) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=10)
        po(conn, now, "PO-GONE", 1, 5)
        purchasing.cancel(conn, "PO-GONE", now)
        placed = hold(conn, now, 4, ttl=60)
    later = now + timedelta(minutes=2)
    with db.write() as conn:
        notice(conn, placed["id"], later)
    with db.read() as conn:
        assert conn.execute(select(holds.c.status)).scalar_one() == "expired"
        stale_reserved = numbers(conn, later)["reserved"]
    assert read_availability(db, later)["reserved"] == 0
    with db.read() as conn:
        expired = [e.data["hold_id"] for e in events_after(conn, 0) if e.type == "hold.expired"]
    assert (expired, stale_reserved) == ([placed["id"]], 0)


def test_a_confirmed_hold_keeps_its_queue_place_and_needs_no_new_availability(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=5)
        po(conn, now, "PO-1", 5, 10)
        placed = hold(conn, now, 5)
        order(conn, now + timedelta(seconds=1), "LATER", 5)
        assert numbers(conn, now)["available"] == 0
        confirmed = order(conn, now + timedelta(seconds=2), "HELD", 5, hold_id=placed["id"])
    assert (confirmed["state"], confirmed["promise_date"], confirmed["hold_id"]) == (
        "ready", in_days(now, 1), placed["id"])
    with db.read() as conn:
        a = numbers(conn, now)
        assert (a["committed"], a["reserved"], a["available"]) == (10, 0, 0)
        assert conn.execute(select(holds.c.status)).scalar_one() == "confirmed"
    with db.write() as conn:  # the shortfall hits the later sale: the confirmed hold is ahead of it
        stock.adjust(conn, SKU, -5, "flood", now)
    with db.read() as conn:
        assert told(conn, "HELD") == ("awaiting_stock", in_days(now, 11))
        assert told(conn, "LATER") == ("backordered", None)


def test_a_sale_after_a_hold_was_confirmed_queues_behind_it(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=2)
        po(conn, now, "PO-1", 2, 10)
        placed = hold(conn, now, 2)
        order(conn, now + timedelta(seconds=5), "HELD", 2, hold_id=placed["id"])
        order(conn, now + timedelta(seconds=9), "NEXT", 2)
        stock.adjust(conn, SKU, -1, "dropped", now + timedelta(seconds=10))
    with db.read() as conn:
        assert told(conn, "HELD") == ("awaiting_stock", in_days(now, 11))
        assert told(conn, "NEXT") == ("backordered", None)


def test_confirming_part_of_a_hold_gives_back_the_rest(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=10)
        placed = hold(conn, now, 5)
        got = order(conn, now, "A", 3, hold_id=placed["id"])
    assert (got["qty"], got["state"]) == (3, "ready")
    with db.read() as conn:
        a = numbers(conn, now)
    assert (a["committed"], a["reserved"], a["available"]) == (3, 0, 7)


def test_confirming_part_of_a_hold_promises_what_the_kept_units_get(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=3)
        po(conn, now, "PO-1", 10, 10)
        placed = hold(conn, now, 5)
        assert (placed["state"], placed["promise_date"]) == ("awaiting_stock", in_days(now, 11))
        seen = last_event(conn)
        got = order(conn, now, "A", 3, hold_id=placed["id"])
    assert (got["state"], got["promise_date"]) == ("ready", in_days(now, 1))
    with db.read() as conn:
        news = [(e.type, e.data.get("state"), e.data.get("promise_date")) for e in events_after(conn, seen)
                if e.type != "availability.changed"]  # the setup's, announced when it committed
    assert (news, got["first_promise_date"]) == (
        [("order_line.promised", "ready", in_days(now, 1).isoformat())], in_days(now, 1))


def test_confirming_more_than_the_hold_is_invalid(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=10)
        placed = hold(conn, now, 2)
    with pytest.raises(Invalid) as bad, db.write() as conn:
        order(conn, now, "A", 3, hold_id=placed["id"])
    assert bad.value.field == "lines.0.qty"
    with db.read() as conn:
        assert selling.get_hold(conn, placed["id"], now)["status"] == "active"
        assert (count(conn, orders_table), numbers(conn, now)["reserved"]) == (0, 2)


def test_an_expired_hold_cannot_be_confirmed(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=10)
        placed = hold(conn, now, 2, ttl=60)
    with pytest.raises(HoldExpired), db.write() as conn:
        order(conn, now + timedelta(seconds=60), "A", 2, hold_id=placed["id"])
    with db.read() as conn:
        assert count(conn, orders_table) == 0


def test_a_released_hold_cannot_be_confirmed(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=10)
        placed = hold(conn, now, 2)
        selling.release_hold(conn, placed["id"], now)
    with pytest.raises(HoldExpired), db.write() as conn:
        order(conn, now, "A", 2, hold_id=placed["id"])


def test_an_unknown_hold_cannot_be_confirmed(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=10)
    with pytest.raises(NotFound), db.write() as conn:
        order(conn, now, "A", 2, hold_id="hold_does_not_exist")
    with db.read() as conn:
        assert count(conn, orders_table) == 0


def test_a_hold_is_confirmed_only_on_the_channel_it_was_placed_for(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=10)
        placed = hold(conn, now, 2)
    with pytest.raises(Invalid) as bad, db.write() as conn:
        order(conn, now, "A", 2, channel="wholesale", hold_id=placed["id"])
    assert bad.value.field == "lines.0.hold_id"


# -- what a channel is told ---------------------------------------------------------------------


def test_availability_gives_the_next_promise_date_and_a_timeline_per_channel(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=2)
        po(conn, now, "PO-1", 5, 10)
        po(conn, now, "PO-2", 5, 20)
        web = numbers(conn, now, "web")
        b2b = numbers(conn, now, "wholesale")
        amazon = numbers(conn, now, "amazon")
    assert (web["available"], web["next_promise_date"]) == (12, in_days(now, 1))
    assert [(p["date"], p["available"]) for p in web["timeline"]] == [
        (in_days(now, 1), 2), (in_days(now, 11), 7), (in_days(now, 21), 12)]
    assert (b2b["next_promise_date"], b2b["timeline"][-1]["date"]) == (in_days(now, 4), in_days(now, 24))
    assert (amazon["available"], [(p["date"], p["available"]) for p in amazon["timeline"]]) == (
        2, [(in_days(now, 1), 2)])
    with db.write() as conn:
        order(conn, now, "A", 2)
        assert numbers(conn, now, "web")["next_promise_date"] == in_days(now, 11)
        assert numbers(conn, now, "amazon")["next_promise_date"] is None


def test_a_made_to_order_bucket_sells_beyond_supply_with_its_lead_time(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=1)
        catalog.put_sku(conn, SKU, {"mode": "backorder", "handling_days": 1, "backorder_limit": 4,
                                    "backorder_lead_days": 14}, now)
        assert numbers(conn, now, "web")["available"] == 5
        assert order(conn, now, "A", 3)["promise_date"] == in_days(now, 15)
        assert numbers(conn, now, "web")["available"] == 2
        assert numbers(conn, now, "amazon")["available"] == 0


# -- channels and quotas -------------------------------------------------------------------------


def test_a_stock_only_channel_cannot_sell_against_a_purchase_order(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=2)
        po(conn, now, "PO-1", 10, 7)
        assert numbers(conn, now, "amazon")["available"] == 2
    with pytest.raises(SaleRefused) as refused, db.write() as conn:
        order(conn, now, "AMZ-1", 3, channel="amazon")
    assert refused.value.available == 2
    with db.write() as conn:
        assert order(conn, now, "AMZ-2", 2, channel="amazon")["state"] == "ready"
        assert order(conn, now, "WEB-1", 3)["state"] == "awaiting_stock"
    with db.read() as conn:
        assert (numbers(conn, now, "amazon")["available"], numbers(conn, now, "web")["available"]) == (0, 7)


def test_a_channel_padding_pushes_its_promise_date(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=1)
        po(conn, now, "PO-1", 10, 7)
        assert order(conn, now, "B2B-1", 2, channel="wholesale")["promise_date"] == in_days(now, 7 + 1 + 3)


def test_an_unknown_channel_is_invalid(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=1)
    with pytest.raises(Invalid) as bad, db.write() as conn:
        order(conn, now, "X-1", 1, channel="ebay")
    assert bad.value.field == "channel"


def test_a_quota_refuses_units_beyond_it_and_leaves_other_channels_alone(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=20)
        catalog.put_quota(conn, SKU, "wholesale", 5)
        order(conn, now, "B2B-1", 3, channel="wholesale")
        assert numbers(conn, now, "wholesale")["available"] == 2
    with pytest.raises(SaleRefused) as refused, db.write() as conn:
        order(conn, now, "B2B-2", 3, channel="wholesale")
    assert refused.value.available == 2
    with db.write() as conn:
        order(conn, now, "B2B-3", 2, channel="wholesale")
        order(conn, now, "WEB-1", 10)
    with db.read() as conn:
        assert (numbers(conn, now, "wholesale")["available"], numbers(conn, now, "web")["available"]) == (0, 5)


def test_cancelled_units_give_quota_back(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=20)
        catalog.put_quota(conn, SKU, "wholesale", 5)
        order(conn, now, "B2B-1", 5, channel="wholesale")
        orders.cancel(conn, "B2B-1", [{"line": 1, "qty": 2}], now)
        assert order(conn, now, "B2B-2", 2, channel="wholesale")["state"] == "ready"


def test_a_hold_counts_against_the_quota(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=20)
        catalog.put_quota(conn, SKU, "wholesale", 5)
        hold(conn, now, 4, channel="wholesale")
    with pytest.raises(SaleRefused) as refused, db.write() as conn:
        order(conn, now, "B2B-1", 2, channel="wholesale")
    assert refused.value.available == 1


# -- priority and FIFO ---------------------------------------------------------------------------


def test_a_priority_order_may_delay_a_default_order_and_says_so(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=5)
        po(conn, now, "PO-1", 10, 10)
        order(conn, now, "WEB-1", 5)
        seen = last_event(conn)
        vip = order(conn, now + timedelta(seconds=1), "VIP-1", 3, priority=5)
    assert (vip["state"], vip["promise_date"]) == ("ready", in_days(now, 1))
    with db.read() as conn:
        assert told(conn, "WEB-1") == ("awaiting_stock", in_days(now, 11))
        moved = [e for e in events_after(conn, seen) if e.order_ref == "WEB-1"]
        assert [(e.type, e.data["reason"], e.data["cause"]["op"]) for e in moved] == [
            ("order_line.promise_changed", "later", "sale")]
        assert numbers(conn, now)["available"] == 7


def test_a_priority_order_that_would_uncover_a_line_is_refused(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=5)
        po(conn, now, "PO-1", 10, 10)
        order(conn, now, "AMZ-1", 5, channel="amazon")  # stock only: it cannot move to the PO
        assert numbers(conn, now, "web")["available"] == 10
    with pytest.raises(SaleRefused), db.write() as conn:
        order(conn, now + timedelta(seconds=1), "VIP-1", 3, priority=5)
    with db.read() as conn:
        assert told(conn, "AMZ-1") == ("ready", in_days(now, 1))
        assert count(conn, order_lines) == 1
    with db.write() as conn:  # the same units at default priority queue behind and come from the PO
        assert order(conn, now + timedelta(seconds=2), "WEB-1", 3)["state"] == "awaiting_stock"


def test_a_priority_order_jumps_the_queue_when_supply_shrinks(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=4)
        order(conn, now, "WEB-1", 2)
        order(conn, now + timedelta(seconds=1), "VIP-1", 2, priority=5)
        stock.adjust(conn, SKU, -2, "broken", now)
    with db.read() as conn:
        assert told(conn, "VIP-1") == ("ready", in_days(now, 1))
        assert told(conn, "WEB-1") == ("backordered", None)


def test_a_default_priority_sale_never_changes_an_existing_promise(db: Database, now: datetime) -> None:
    with db.write() as conn:
        shop(conn, now, on_hand=3)
        po(conn, now, "PO-1", 4, 10)
        po(conn, now, "PO-2", 4, 20)
    refs: list[str] = []
    for i, qty in enumerate([2, 2, 1, 3, 1, 2]):
        with db.write() as conn:
            before = {r: (line(conn, r)["state"], line(conn, r)["promise_date"], line(conn, r)["allocation"])
                      for r in refs}
            seen = last_event(conn)
            ref = f"W-{i}"
            order(conn, now + timedelta(seconds=i), ref, qty)
            assert {r: (line(conn, r)["state"], line(conn, r)["promise_date"], line(conn, r)["allocation"])
                    for r in refs} == before
            assert [(e.type, e.order_ref) for e in events_after(conn, seen)] == [("order_line.promised", ref)]
            refs.append(ref)
    with db.read() as conn:
        assert [told(conn, r)[1] for r in refs] == [in_days(now, d) for d in (1, 11, 11, 21, 21, 21)]
        assert numbers(conn, now)["available"] == 0
