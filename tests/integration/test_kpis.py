"""KPIs (BRIEF §8, docs/kpis.md): constructed histories give the hand-computed figures, on both databases."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from allot.domain.errors import Invalid
from allot.services import kpis, orders, purchasing, stock
from allot.store.db import Database
from tests import factories as f

DAY0 = datetime(2026, 3, 2, 9, 0)


def at(day: int, now: datetime) -> datetime:
    return now.replace(year=DAY0.year, month=DAY0.month, day=DAY0.day) + timedelta(days=day)


def on(day: int) -> date:
    return DAY0.date() + timedelta(days=day)


def figures(db: Database, today: int, now: datetime, **filters: Any) -> dict[str, Any]:
    with db.read() as conn:
        w = kpis.window(conn, on(today), filters.pop("start", on(-1)), filters.pop("end", on(30)),
                        filters.get("sku"), filters.get("channel"), filters.get("supplier"))
        return kpis.kpis(conn, w, on(today))


def test_seven_of_ten_lines_shipped_by_their_first_promise_keep_seventy_percent(db: Database, now: datetime) -> None:
    t0 = at(0, now)
    with db.write() as conn:
        f.channel(conn, "web", t0)
        f.sku(conn, "MUG", t0)
        f.receive(conn, "MUG", 10, t0)
        for i in range(10):
            f.order(conn, f"O{i}", t0, ("MUG", 1))
    with db.write() as conn:
        for i in range(7):
            orders.ship(conn, f"O{i}", [{"line": 1, "qty": 1}], t0)
    with db.write() as conn:
        for i in range(7, 10):
            orders.ship(conn, f"O{i}", [{"line": 1, "qty": 1}], at(2, now))
    got = figures(db, 2, now)
    assert got["promise_kept"] == 0.7
    assert got["promise_kept_latest"] == 0.7
    assert got["shipped_units"] == 10
    assert got["order_to_ship_days"] == {"p50": 0, "p90": 2, "shipments": 10}


def test_a_supplier_whose_two_lines_arrived_three_and_nine_days_late_is_six_days_late_on_mean(
        db: Database, now: datetime) -> None:
    t0 = at(0, now)
    with db.write() as conn:
        f.channel(conn, "web", t0)
        for name in ("B", "C", "D"):
            f.sku(conn, name, t0)
        purchasing.create(conn, "P1", "Acme", [{"sku": "B", "qty": 5, "expected_date": on(2)},
                                               {"sku": "C", "qty": 5, "expected_date": on(4)}], t0)
        purchasing.create(conn, "P2", "Bolt", [{"sku": "D", "qty": 10, "expected_date": on(6)}], t0)
    with db.write() as conn:
        purchasing.receive(conn, "P1", [{"line": 1, "qty": 5}], False, at(5, now))
    with db.write() as conn:
        purchasing.receive(conn, "P1", [{"line": 2, "qty": 5}], False, at(13, now))
    with db.write() as conn:
        purchasing.receive(conn, "P2", [{"line": 1, "qty": 8}], True, at(6, now))
    got = {s["supplier"]: s for s in figures(db, 13, now)["suppliers"]}
    assert got["Acme"]["mean_days_late"] == 6
    assert got["Acme"]["on_time"] == 0
    assert got["Acme"]["fill_rate"] == 1
    assert got["Bolt"] == {"supplier": "Bolt", "received_units": 8, "on_time": 1, "mean_days_late": 0,
                           "receipts": 1, "fill_rate": 0.8}
    only = figures(db, 13, now, supplier="Bolt")["suppliers"]
    assert [s["supplier"] for s in only] == ["Bolt"]


def test_a_slip_is_measured_from_the_first_promise_and_a_cancelled_slipped_line_counts(db: Database,
                                                                                       now: datetime) -> None:
    t0 = at(0, now)
    with db.write() as conn:
        f.channel(conn, "web", t0)
        f.sku(conn, "D", t0)
        purchasing.create(conn, "P1", None, [{"sku": "D", "qty": 2, "expected_date": on(5)}], t0)
        f.order(conn, "KEEP", t0, ("D", 1))
        f.order(conn, "GO", t0, ("D", 1))
    with db.write() as conn:
        purchasing.update_line(conn, "P1", 1, on(12), None, at(1, now))
    with db.write() as conn:
        orders.cancel(conn, "GO", None, at(2, now))
    got = figures(db, 2, now)
    assert got["slip_days"] == {"mean": 7, "p90": 7, "lines": 1, "lost_promise_lines": 0}
    assert got["cancelled_after_slip"] == {"share": 1, "lines": 1, "slipped_lines": 1}


def test_lines_backordered_now_have_an_age_and_are_oversold(db: Database, now: datetime) -> None:
    t0 = at(0, now)
    with db.write() as conn:
        f.channel(conn, "web", t0)
        f.sku(conn, "E", t0)
        f.sku(conn, "F", t0)
        purchasing.create(conn, "P1", None, [{"sku": "E", "qty": 2, "expected_date": on(3)}], t0)
        f.order(conn, "A", t0, ("E", 1))
    with db.write() as conn:
        f.order(conn, "B", t0, ("E", 1))
    with db.write() as conn:
        purchasing.cancel(conn, "P1", at(1, now))
    got = figures(db, 13, now)
    assert got["backorder_age_days"] == {"p50": 13, "p90": 13, "lines": 2}
    assert got["oversold_units"] == 2
    assert figures(db, 13, now, sku="F")["oversold_units"] == 0
    with db.write() as conn:
        stock.adjust(conn, "E", 2, "found", at(13, now))
    assert figures(db, 13, now)["oversold_units"] == 0


def test_bad_questions_name_the_field(db: Database, now: datetime) -> None:
    with db.write() as conn:
        f.channel(conn, "web", now)
    cases: list[tuple[dict[str, Any], str]] = [({"start": on(5), "end": on(1)}, "from"), ({"sku": "NOPE"}, "sku"), ({"channel": "nope"}, "channel"),
             ({"supplier": "Nobody"}, "supplier")]
    for filters, field in cases:
        with pytest.raises(Invalid) as refused:
            figures(db, 0, now, **filters)
        assert refused.value.field == field


def test_nearest_rank_percentiles_of_a_histogram() -> None:
    assert kpis.percentiles([(0, 7), (2, 3)], 0.5, 0.9) == [0, 2]
    assert kpis.percentiles([(3, 1), (9, 1)], 0.5, 0.9) == [3, 9]
    assert kpis.percentiles([], 0.5) == [None]
