"""Events (BRIEF §2 Re-planning, §5 /v1/events): one per line that moved, none for lines that did not."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, func, select

from allot.services import catalog, orders, outbox, purchasing, reports, selling, stock
from allot.store.db import Database
from allot.store.tables import events

MUG = "TERRA-MUG"
LAMP = "AURORA-LAMP"


def in_days(now: datetime, n: int) -> date:
    return now.date() + timedelta(days=n)


def web(conn: Connection, now: datetime) -> None:
    catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)


def mug_on_two_pos(conn: Connection, now: datetime) -> None:
    """A backorder mug, nothing on hand, 5 due in 10 days on PO-A and 5 in 20 days on PO-B."""
    web(conn, now)
    catalog.put_sku(conn, MUG, {"mode": "backorder", "handling_days": 1}, now)
    for ref, days in (("PO-A", 10), ("PO-B", 20)):
        purchasing.create(conn, ref, None, [{"sku": MUG, "qty": 5, "expected_date": in_days(now, days)}], now)


def one_unit_orders(conn: Connection, now: datetime, count: int, sku: str = MUG) -> list[str]:
    refs = [f"W-{i:02d}" for i in range(1, count + 1)]
    for ref in refs:
        selling.place_order(conn, ref, "web", 0, None, [{"sku": sku, "qty": 1}], now)
    return refs


def last_event(conn: Connection) -> int:
    return int(conn.execute(select(func.max(events.c.id))).scalar() or 0)


def line_events_after(conn: Connection, seen: int) -> list[Any]:
    return list(conn.execute(
        select(events).where(events.c.id > seen, events.c.order_ref.is_not(None)).order_by(events.c.id)))


def all_ids(conn: Connection) -> list[int]:
    return list(conn.execute(select(events.c.id).order_by(events.c.id)).scalars())


def busy_day(conn: Connection, now: datetime) -> None:
    """A little of everything, so the feed has many kinds of events from many transactions."""
    mug_on_two_pos(conn, now)
    stock.adjust(conn, MUG, 3, "found", now)
    one_unit_orders(conn, now, 6)
    purchasing.update_line(conn, "PO-A", 1, in_days(now, 12), None, now)
    orders.cancel(conn, "W-01", None, now)
    orders.ship(conn, "W-02", [{"line": 1, "qty": 1}], now)


def test_a_po_slip_announces_only_the_lines_it_moves(db: Database, now: datetime) -> None:
    with db.write() as conn:
        mug_on_two_pos(conn, now)
        refs = one_unit_orders(conn, now, 10)
        seen = last_event(conn)
        purchasing.update_line(conn, "PO-B", 1, in_days(now, 30), None, now)
    with db.read() as conn:
        moved = line_events_after(conn, seen)
        assert [(e.type, e.order_ref, e.line) for e in moved] == [
            ("order_line.promise_changed", r, 1) for r in refs[5:]]
        assert {(e.data["from"], e.data["to"]) for e in moved} == {
            (in_days(now, 21).isoformat(), in_days(now, 31).isoformat())}
        assert [orders.get(conn, r)["lines"][0]["promise_date"] for r in refs[:5]] == [in_days(now, 11)] * 5


def test_a_change_that_moves_nobody_announces_nobody(db: Database, now: datetime) -> None:
    with db.write() as conn:
        mug_on_two_pos(conn, now)
        one_unit_orders(conn, now, 5)
        seen = last_event(conn)
        purchasing.update_line(conn, "PO-B", 1, in_days(now, 30), None, now)
        purchasing.update_line(conn, "PO-B", 1, None, 8, now)
        purchasing.create(conn, "PO-C", None, [{"sku": MUG, "qty": 5, "expected_date": in_days(now, 40)}], now)
    with db.read() as conn:
        assert line_events_after(conn, seen) == []


def test_a_line_that_only_changes_which_po_it_waits_for_is_not_announced(db: Database, now: datetime) -> None:
    with db.write() as conn:
        web(conn, now)
        catalog.put_sku(conn, MUG, {"mode": "backorder", "handling_days": 1}, now)
        for ref in ("PO-A", "PO-B"):
            purchasing.create(conn, ref, None, [{"sku": MUG, "qty": 3, "expected_date": in_days(now, 10)}], now)
        refs = one_unit_orders(conn, now, 2)
        seen = last_event(conn)
        purchasing.cancel(conn, "PO-A", now)
    with db.read() as conn:
        assert line_events_after(conn, seen) == []
        lines = [orders.get(conn, r)["lines"][0] for r in refs]
    assert [(ln["allocation"][0]["po_ref"], ln["promise_date"]) for ln in lines] == [("PO-B", in_days(now, 11))] * 2


def test_a_ready_line_is_not_re_promised_just_because_days_pass(db: Database, now: datetime) -> None:
    with db.write() as conn:
        web(conn, now)
        catalog.put_sku(conn, MUG, {"mode": "backorder", "handling_days": 1}, now)
        stock.adjust(conn, MUG, 5, "opening stock", now)
        (ref,) = one_unit_orders(conn, now, 1)
        seen = last_event(conn)
    two_days_later = now + timedelta(days=2)
    with db.write() as conn:
        stock.adjust(conn, MUG, 1, "found", two_days_later)
    with db.read() as conn:
        assert line_events_after(conn, seen) == []
        line = orders.get(conn, ref)["lines"][0]
    assert (line["state"], line["promise_date"]) == ("ready", in_days(now, 1))


def test_a_slip_hidden_behind_a_preorder_release_date_announces_nobody(db: Database, now: datetime) -> None:
    with db.write() as conn:
        web(conn, now)
        catalog.put_sku(conn, LAMP, {"mode": "preorder", "release_date": in_days(now, 30), "handling_days": 1},
                        now)
        purchasing.create(conn, "PO-1", None, [{"sku": LAMP, "qty": 5, "expected_date": in_days(now, 10)}], now)
        refs = one_unit_orders(conn, now, 3, sku=LAMP)
        seen = last_event(conn)
        purchasing.update_line(conn, "PO-1", 1, in_days(now, 20), None, now)
    with db.read() as conn:
        assert line_events_after(conn, seen) == []
        assert [orders.get(conn, r)["lines"][0]["promise_date"] for r in refs] == [in_days(now, 30)] * 3


def test_moving_a_release_date_announces_every_line_waiting_for_it(db: Database, now: datetime) -> None:
    with db.write() as conn:
        web(conn, now)
        catalog.put_sku(conn, LAMP, {"mode": "preorder", "release_date": in_days(now, 10), "handling_days": 1},
                        now)
        stock.adjust(conn, LAMP, 2, "early", now)
        refs = one_unit_orders(conn, now, 2, sku=LAMP)
        seen = last_event(conn)
        catalog.put_sku(conn, LAMP, {"mode": "preorder", "release_date": in_days(now, 15), "handling_days": 1},
                        now)
    with db.read() as conn:
        moved = line_events_after(conn, seen)
    assert [(e.type, e.order_ref, e.data["to"], e.data["cause"]["op"]) for e in moved] == [
        ("order_line.promise_changed", r, in_days(now, 15).isoformat(), "sku.updated") for r in refs]


def test_every_line_of_an_order_that_moves_gets_its_own_event(db: Database, now: datetime) -> None:
    with db.write() as conn:
        mug_on_two_pos(conn, now)
        selling.place_order(conn, "BIG", "web", 0, None, [{"sku": MUG, "qty": 2}, {"sku": MUG, "qty": 1}], now)
        seen = last_event(conn)
        purchasing.cancel(conn, "PO-A", now)
    with db.read() as conn:
        moved = line_events_after(conn, seen)
        assert sorted((e.type, e.order_ref, e.line) for e in moved) == [
            ("order_line.promise_changed", "BIG", 1), ("order_line.promise_changed", "BIG", 2)]
        assert {e.data["to"] for e in moved} == {in_days(now, 21).isoformat()}


def test_a_supply_change_is_recorded_on_the_sku_as_well(db: Database, now: datetime) -> None:
    with db.write() as conn:
        mug_on_two_pos(conn, now)
        seen = last_event(conn)
        purchasing.update_line(conn, "PO-B", 1, in_days(now, 30), None, now)
    with db.read() as conn:
        news = list(conn.execute(select(events).where(events.c.id > seen,
                                                      events.c.type != "availability.changed")))
    assert [(e.type, e.sku, e.data["po_ref"]) for e in news] == [("purchase_order.updated", MUG, "PO-B")]


def test_event_ids_strictly_increase_in_the_order_things_happened(db: Database, now: datetime) -> None:
    with db.write() as conn:
        busy_day(conn, now)
        first_batch = all_ids(conn)
    with db.write() as conn:
        stock.adjust(conn, MUG, 1, "late find", now)
    with db.read() as conn:
        ids = all_ids(conn)
        kinds = list(conn.execute(select(events.c.type).order_by(events.c.id)).scalars())
    assert len(ids) > 10
    assert all(a < b for a, b in pairwise(ids))
    assert ids[:len(first_batch)] == first_batch and min(ids[len(first_batch):]) > max(first_batch)
    assert kinds.index("order_line.promised") < kinds.index("order_line.cancelled") < kinds.index(
        "order_line.shipped")


def publish(db: Database) -> None:
    """What GET /v1/events (and the relay) do first: give committed events their feed positions."""
    with db.write() as conn:
        outbox.sequence(conn)


def test_the_event_feed_pages_with_a_cursor(db: Database, now: datetime) -> None:
    with db.write() as conn:
        busy_day(conn, now)
    publish(db)
    with db.read() as conn:
        everything = reports.event_page(conn, 0, 1000)["events"]
        pages: list[list[dict[str, Any]]] = []
        cursor = 0
        while True:
            page = reports.event_page(conn, cursor, 4)
            if not page["events"]:
                assert page["next"] == cursor
                break
            assert len(page["events"]) <= 4 and page["next"] == page["events"][-1]["id"]
            pages.append(page["events"])
            cursor = page["next"]
        assert all(len(p) == 4 for p in pages[:-1])
        assert [e for p in pages for e in p] == everything
        assert reports.event_page(conn, everything[-1]["id"], 10) == {"events": [], "next": everything[-1]["id"]}
        middle = everything[5]["id"]
        assert reports.event_page(conn, middle, 3)["events"] == everything[6:9]


def test_the_event_feed_filters_by_sku(db: Database, now: datetime) -> None:
    with db.write() as conn:
        busy_day(conn, now)
        catalog.put_sku(conn, LAMP, {"mode": "backorder"}, now)
        stock.adjust(conn, LAMP, 1, "sample", now)
        selling.place_order(conn, "LAMP-1", "web", 0, None, [{"sku": LAMP, "qty": 1}], now)
    publish(db)
    with db.read() as conn:
        everything = reports.event_page(conn, 0, 1000)["events"]
        lamp = reports.event_page(conn, 0, 1000, sku=LAMP)["events"]
    assert lamp == [e for e in everything if e["sku"] == LAMP] and lamp
