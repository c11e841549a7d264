"""The merchant's calendar (issue 12): "today", release days, promises and consent deadlines are days
of ALLOT_TIMEZONE, on both sides of the zone's midnight and across a daylight-saving change, while
timestamps in the API stay UTC."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from allot.api.app import create_app
from allot.domain.calendar import UnknownZone, day_end, day_start, local_day, zone_named
from allot.services import keys, purchasing
from allot.services.common import use_zone
from allot.settings import Settings
from allot.store.db import Database
from allot.workers.sweeper import sweep
from tests.factories import channel, line, order, po, sku

KEY = "calendar-test-admin-key-0123456789"
LA = "America/Los_Angeles"  # UTC-8, UTC-7 from 8 March 2026
KIRITIMATI = "Pacific/Kiritimati"  # UTC+14: its day starts ten hours before the UTC day


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def back_to_utc() -> Iterator[None]:
    """The zone is process-wide (set at start-up): leave it as the rest of the suite expects."""
    yield
    use_zone(ZoneInfo("UTC"))


def serve(db: Database, zone: str, at: datetime) -> tuple[TestClient, Clock]:
    with db.write() as conn:
        keys.ensure(conn, KEY, at)
    clock = Clock(at)
    app = create_app(Settings(db.url, timezone=zone), clock=clock, sweep=False)
    return TestClient(app, headers={"Authorization": f"Bearer {KEY}"}), clock


def test_a_moment_falls_on_the_merchants_day() -> None:
    la, tokyo = zone_named(LA), zone_named("Asia/Tokyo")
    evening = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)  # 23:30 on 1 Dec in California, 16:30 on 2 Dec in Tokyo
    assert local_day(evening, la) == date(2026, 12, 1)
    assert local_day(evening, tokyo) == date(2026, 12, 2)
    assert local_day(evening.replace(tzinfo=None), la) == date(2026, 12, 1)  # naive is UTC (SQLite)
    # Midnight in California is 08:00 UTC in winter and 07:00 UTC once the clocks go forward.
    assert day_start(date(2026, 3, 8), la) == datetime(2026, 3, 8, 8, tzinfo=UTC)
    assert day_start(date(2026, 3, 9), la) == datetime(2026, 3, 9, 7, tzinfo=UTC)
    assert day_start(date(2026, 11, 2), la) == datetime(2026, 11, 2, 8, tzinfo=UTC)


# Far from UTC, with daylight saving at 2 am, at midnight (Santiago), by half an hour (Lord Howe).
ZONES = [LA, KIRITIMATI, "Asia/Tokyo", "America/Santiago", "Australia/Lord_Howe", "Pacific/Chatham", "UTC"]


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
       st.sampled_from(ZONES))
def test_every_moment_lies_within_its_merchant_days_midnights(moment: datetime, name: str) -> None:
    zone = zone_named(name)
    day = local_day(moment, zone)
    assert day_start(day, zone) <= moment < day_end(day, zone)
    assert local_day(day_start(day, zone), zone) == day  # a day starts on itself, even across a gap
    assert timedelta(hours=22) <= day_end(day, zone) - day_start(day, zone) <= timedelta(hours=26)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "/etc/localtime", "utc "])
def test_an_unknown_zone_is_refused_at_start_up_with_what_is_expected(name: str, tmp_path: Path) -> None:
    with pytest.raises(UnknownZone, match="IANA name such as America/Los_Angeles"):
        zone_named(name)
    with pytest.raises(UnknownZone):  # before anything is opened or served
        create_app(Settings(f"sqlite:///{tmp_path / 'never.db'}", timezone=name), sweep=False)
    assert not (tmp_path / "never.db").exists()


def test_promises_follow_the_merchants_day_on_both_sides_of_its_midnight(db: Database) -> None:
    before = datetime(2026, 12, 2, 7, 59, tzinfo=UTC)  # 23:59 on 1 Dec in California; 2 Dec in UTC
    client, clock = serve(db, LA, before)
    with client:
        assert "merchant's calendar, America/Los_Angeles" in client.get("/openapi.json").json()["info"]["description"]
        client.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True})
        client.put("/v1/skus/TEE", json={"mode": "stock", "handling_days": 0})
        client.post("/v1/stock/adjustments", json={"sku": "TEE", "delta": 10, "reason": "count"})

        late = client.post("/v1/orders", json={"ref": "A", "channel": "web", "lines": [{"sku": "TEE", "qty": 1}]})
        assert late.json()["lines"][0]["promise_date"] == "2026-12-01"
        assert client.get("/v1/availability/TEE?channel=web").json()["next_promise_date"] == "2026-12-01"

        clock.now = before + timedelta(minutes=2)  # 00:01 on 2 Dec in California
        early = client.post("/v1/orders", json={"ref": "B", "channel": "web", "lines": [{"sku": "TEE", "qty": 1}]})
        assert early.json()["lines"][0]["promise_date"] == "2026-12-02"
        assert client.get("/v1/availability/TEE?channel=web").json()["next_promise_date"] == "2026-12-02"

        # Timestamps stay UTC.
        events = client.get("/v1/events?limit=100").json()["events"]
        assert events[-1]["occurred_at"].replace("Z", "+00:00") == "2026-12-02T08:01:00+00:00"


def test_a_preorder_is_released_at_the_zones_midnight_not_the_utc_one(db: Database) -> None:
    before = datetime(2026, 12, 1, 9, 59, tzinfo=UTC)  # 23:59 on 1 Dec in Kiritimati
    client, _ = serve(db, KIRITIMATI, before)
    with client:
        client.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True})
        client.put("/v1/skus/LAMP", json={"mode": "preorder", "release_date": "2026-12-02", "handling_days": 0})
        client.post("/v1/stock/adjustments", json={"sku": "LAMP", "delta": 5, "reason": "early delivery"})
        placed = client.post("/v1/orders", json={"ref": "P", "channel": "web", "lines": [{"sku": "LAMP", "qty": 1}]})
        assert placed.json()["lines"][0]["state"] == "awaiting_release"

        assert sweep(db, before) == 0  # still 1 Dec where the merchant is
        assert sweep(db, before + timedelta(minutes=2)) == 1  # 00:01 on 2 Dec there, still 1 Dec in UTC
        shown = client.get("/v1/orders/P").json()["lines"][0]
        assert (shown["state"], shown["promise_date"]) == ("ready", "2026-12-02")


def test_consent_expires_at_the_zones_midnight_across_a_daylight_saving_change(db: Database) -> None:
    asked_at = datetime(2026, 3, 7, 20, 0, tzinfo=UTC)  # noon on Saturday 7 March in California (PST)
    client, _ = serve(db, LA, asked_at)
    with client, db.write() as conn:
        channel(conn, "web", asked_at, consent_after_days=7, consent_window_days=1, consent_default="cancel")
        sku(conn, "MUG", asked_at)
        po(conn, "PO-1", asked_at, ("MUG", 3, date(2026, 3, 20)))
        order(conn, "A", asked_at, ("MUG", 3))
        purchasing.cancel(conn, "PO-1", asked_at)  # A is backordered: consent is asked
        asked = line(conn, "A")
    # One day's window ends at midnight after Sunday 8 March, which is PDT by then: 07:00 UTC, not 08:00.
    assert asked["consent_deadline"].replace(tzinfo=UTC) == datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
    assert sweep(db, datetime(2026, 3, 9, 6, 59, tzinfo=UTC)) == 0
    assert sweep(db, datetime(2026, 3, 9, 7, 0, 1, tzinfo=UTC)) == 1
    with db.read() as conn:
        assert line(conn, "A")["state"] == "cancelled"


def test_the_day_after_the_clocks_go_forward_starts_an_hour_earlier_in_utc(db: Database) -> None:
    """At 07:30 UTC on 9 March California is at 00:30 PDT: the 9th, which a fixed UTC-8 would call the 8th."""
    at = datetime(2026, 3, 9, 7, 30, tzinfo=UTC)
    client, _ = serve(db, LA, at)
    with client:
        client.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True})
        client.put("/v1/skus/TEE", json={"mode": "stock", "handling_days": 1})
        client.post("/v1/stock/adjustments", json={"sku": "TEE", "delta": 1, "reason": "count"})
        placed = client.post("/v1/orders", json={"ref": "A", "channel": "web", "lines": [{"sku": "TEE", "qty": 1}]})
        assert placed.json()["lines"][0]["promise_date"] == "2026-03-10"


def test_why_a_line_ships_when_it_does_dates_stock_on_the_merchants_day(db: Database) -> None:
    at = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 23:00 on 1 Dec in California
    client, _ = serve(db, LA, at)
    with client:
        client.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True})
        client.put("/v1/skus/TEE", json={"mode": "stock", "handling_days": 0})
        client.post("/v1/stock/adjustments", json={"sku": "TEE", "delta": 1, "reason": "count"})
        client.post("/v1/orders", json={"ref": "A", "channel": "web", "lines": [{"sku": "TEE", "qty": 1}]})
        why = client.get("/v1/orders/A/lines/1/explain").json()
        assert why["covered_by"][0]["date"] == "2026-12-01"


@pytest.mark.parametrize(("at", "overdue"), [
    (datetime(2026, 12, 2, 7, 30, tzinfo=UTC), False),  # 23:30 on 1 Dec in California: due today, not late
    (datetime(2026, 12, 2, 8, 30, tzinfo=UTC), True),  # 00:30 on 2 Dec there: now it is late
])
def test_the_dashboard_calls_a_po_late_on_the_merchants_day(db: Database, at: datetime, overdue: bool) -> None:
    client, _ = serve(db, LA, at)
    with client:
        client.put("/v1/skus/TEE", json={"mode": "backorder", "handling_days": 0})
        client.post("/v1/purchase-orders", json={"ref": "PO-1", "lines": [{"sku": "TEE", "qty": 5,
                                                                              "expected_date": "2026-12-01"}]})
        client.headers.pop("Authorization")
        signin = client.get("/signin").text
        token = signin.split('name="csrf" value="')[1].split('"')[0]
        assert client.post("/signin", data={"csrf": token, "api_key": KEY, "next": "/skus"},
                           follow_redirects=False).status_code == 303
        page = client.get("/purchase-orders/PO-1").text
        assert ('class="badge bad">overdue' in page) is overdue
