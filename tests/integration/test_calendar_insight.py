"""Insight on the merchant's calendar: demand history, backorder age and KPI windows count local days
(ALLOT_TIMEZONE), on both databases, across a daylight-saving change."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allot.domain.calendar import fixed_offsets, local_day, zone_named
from allot.services import forecasts, kpis, purchasing, stock
from allot.services.common import use_zone
from allot.store.db import Database
from allot.web import words
from allot.workers.sweeper import sweep
from tests.factories import channel, order, receive, sku

LA = "America/Los_Angeles"  # PST (UTC-8) until 10:00 UTC on 8 March 2026, PDT (UTC-7) until 09:00 UTC on 1 Nov


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture(autouse=True)
def california() -> Iterator[None]:
    use_zone(zone_named(LA))
    yield
    use_zone(ZoneInfo("UTC"))  # the zone is process-wide: leave it as the rest of the suite expects


@settings(max_examples=150, deadline=None)
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)),
       st.integers(min_value=1, max_value=800 * 86400), st.floats(min_value=0, max_value=1),
       st.sampled_from([LA, "Australia/Lord_Howe", "America/Santiago", "Pacific/Chatham", "Asia/Kathmandu", "UTC"]))
def test_within_each_fixed_offset_a_moment_plus_the_offset_is_on_the_merchants_day(
        lo: datetime, seconds: int, where: float, name: str) -> None:
    zone = zone_named(name)
    hi = lo + timedelta(seconds=seconds)
    found = fixed_offsets(lo, hi, zone)
    assert found[0][0] == lo and all(a[0] < b[0] for a, b in pairwise(found))
    moment = lo + (hi - lo) * where
    if moment >= hi:
        return
    offset = [o for at, o in found if at <= moment][-1]
    assert (moment + timedelta(seconds=offset)).date() == local_day(moment, zone)


def test_california_changes_its_offset_twice_in_2026() -> None:
    assert fixed_offsets(utc(2026, 1, 1), utc(2027, 1, 1), zone_named(LA)) == [
        (utc(2026, 1, 1), -8 * 3600), (utc(2026, 3, 8, 10), -7 * 3600), (utc(2026, 11, 1, 9), -8 * 3600)]


def _past(db: Database, name: str, today: date) -> dict[date, float | None]:
    with db.read() as conn:
        got = forecasts.forecast(conn, name, forecasts.Ask(), today)
    return {p["date"]: p["units"] for p in got["chart"]["past"]}


def test_an_order_at_half_past_eleven_at_night_is_demand_of_that_local_day(db: Database) -> None:
    with db.write() as conn:
        channel(conn, "web", utc(2026, 2, 1))
        sku(conn, "MUG", utc(2026, 2, 1), mode="stock")
        receive(conn, "MUG", 1000, utc(2026, 2, 1))
    placed = [(utc(2026, 3, 8, 7, 30), 1),  # 23:30 PST on Saturday 7 March
              (utc(2026, 3, 9, 6, 30), 2),  # 23:30 PDT on Sunday 8 March, the 23-hour day
              (utc(2026, 3, 9, 7, 30), 4),  # 00:30 PDT on the 9th
              (utc(2026, 3, 10, 6, 30), 8),  # 23:30 PDT on the 9th: UTC's 10th
              (utc(2026, 3, 10, 7, 30), 16)]  # 00:30 on the 10th, today: not over, not history
    for i, (at, qty) in enumerate(placed):
        with db.write() as conn:
            order(conn, f"O{i}", at, ("MUG", qty))
    past = _past(db, "MUG", date(2026, 3, 10))
    assert (past[date(2026, 3, 7)], past[date(2026, 3, 8)], past[date(2026, 3, 9)]) == (1, 2, 12)
    assert sum(v or 0 for v in past.values()) == 15


def test_a_sku_sold_out_for_half_of_the_short_day_is_hidden_demand_that_day(db: Database) -> None:
    with db.write() as conn:
        channel(conn, "web", utc(2026, 3, 1))
        sku(conn, "LAMP", utc(2026, 3, 1), mode="stock")
        receive(conn, "LAMP", 10, utc(2026, 3, 1))
        order(conn, "A", utc(2026, 3, 2, 20), ("LAMP", 1))
    with db.write() as conn:  # noon PDT on the 8th: sold out for 12 of its 23 hours
        stock.adjust(conn, "LAMP", -9, "count", utc(2026, 3, 8, 19))
    with db.write() as conn:  # the 9th's local midnight
        stock.adjust(conn, "LAMP", 9, "count", utc(2026, 3, 9, 7))
    past = _past(db, "LAMP", date(2026, 3, 10))
    assert past[date(2026, 3, 8)] is None  # a UTC day would see 5 and 7 hours: neither half
    assert past[date(2026, 3, 7)] == 0 and past[date(2026, 3, 9)] == 0


def test_a_backorder_is_as_old_as_the_local_days_since_it_was_placed(db: Database) -> None:
    with db.write() as conn:
        channel(conn, "web", utc(2026, 3, 1))
        sku(conn, "TEE", utc(2026, 3, 1))
        purchasing.create(conn, "PO-1", None, [{"sku": "TEE", "qty": 3, "expected_date": date(2026, 3, 30)}],
                          utc(2026, 3, 1))
    for i, at in enumerate([utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 7, 30), utc(2026, 3, 10, 6, 30)]):
        with db.write() as conn:  # 23:30 on the 7th, 00:30 on the 9th, 23:30 on the 9th, local time
            order(conn, f"B{i}", at, ("TEE", 1))
    with db.write() as conn:
        purchasing.cancel(conn, "PO-1", utc(2026, 3, 10, 12))  # all three backordered
    with db.read() as conn:
        w = kpis.window(conn, date(2026, 3, 10), None, None, None, None, None)
        assert kpis.backorder_ages(conn, w, date(2026, 3, 10)) == [(1, 2), (3, 1)]
        assert kpis.kpis(conn, w, date(2026, 3, 10))["backorder_age_days"] == {"p50": 1, "p90": 3, "lines": 3}


def test_a_kpi_window_and_its_weeks_start_at_local_midnights(db: Database) -> None:
    """Monday 2 November begins at 08:00 UTC in California: what happened at 23:30 the night before is
    last week's; 23:30 on Sunday the 15th is still this window's."""
    sunday_night, last_night = utc(2026, 11, 2, 7, 30), utc(2026, 11, 16, 7, 30)
    with db.write() as conn:
        channel(conn, "web", utc(2026, 10, 1), consent_after_days=7, consent_window_days=1, consent_default="cancel")
        for name in ("GONE", "OLD", "MID", "NEW"):
            sku(conn, name, utc(2026, 10, 1))
        channel(conn, "shop", utc(2026, 10, 1))  # asks no consent
        purchasing.create(conn, "PO-GONE", None, [{"sku": "GONE", "qty": 1, "expected_date": date(2026, 11, 20)}],
                          utc(2026, 10, 1))
        order(conn, "X", utc(2026, 10, 30, 12), ("GONE", 1), channel="shop")
        purchasing.cancel(conn, "PO-GONE", utc(2026, 10, 30, 12))  # oversold until stock comes on Sunday night
    with db.write() as conn:
        receive(conn, "GONE", 1, sunday_night)
    for name, at in (("OLD", sunday_night), ("MID", utc(2026, 11, 10, 20)), ("NEW", last_night)):
        with db.write() as conn:  # a delay the customer must accept, asked as the line is placed
            purchasing.create(conn, f"PO-{name}", None, [{"sku": name, "qty": 1, "expected_date": at.date()
                                                          + timedelta(days=13)}], at)
            order(conn, f"C-{name}", at, (name, 1))
            purchasing.cancel(conn, f"PO-{name}", at)
    sweep(db, utc(2026, 12, 1))  # every request unanswered by its deadline: expired
    with db.read() as conn:
        def ask(start: date, end: date) -> kpis.Window:
            return kpis.window(conn, date(2026, 12, 1), start, end, None, None, None)
        now = ask(date(2026, 11, 2), date(2026, 11, 15))
        assert kpis.kpis(conn, now, date(2026, 12, 1))["consent"]["defaulted"] == 2  # MID and NEW
        assert kpis.kpis(conn, ask(date(2026, 10, 26), date(2026, 11, 1)), date(2026, 12, 1))["consent"]["defaulted"] == 1
        assert kpis.kpis(conn, ask(date(2026, 11, 16), date(2026, 11, 22)), date(2026, 12, 1))["consent"]["defaulted"] == 0
        weeks = {o["week"]: o["skus"] for o in kpis.oversold_weekly(conn, now)}
    # GONE was oversold until 23:30 on Sunday the 1st; OLD from then on (its PO cancelled), MID from
    # the 10th, NEW from 23:30 on Sunday the 15th. UTC weeks would say 2 and 2.
    assert weeks == {date(2026, 11, 2): 1, date(2026, 11, 9): 3}


def test_the_day_of_a_moment_on_the_dashboard_is_the_merchants() -> None:
    assert words.day(utc(2026, 12, 2, 7, 30)) == "2026-12-01"  # 23:30 on 1 Dec in California
    assert words.day(utc(2026, 12, 2, 8, 30)) == "2026-12-02"
    assert words.day(date(2026, 12, 2)) == "2026-12-02"
    assert words.moment(utc(2026, 12, 2, 7, 30, 15)) == "2026-12-02 07:30 UTC"  # moments stay UTC
