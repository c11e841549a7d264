"""Forecast and reorder over HTTP (BRIEF §8), the app in-process with its clock moved by the test."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from allot.api.app import create_app
from allot.settings import Settings
from allot.store.db import Database
from tests.web.helpers import make_key

CSV = {"Content-Type": "text/csv"}
TODAY = date(2026, 6, 1)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@contextmanager
def api(db: Database) -> Iterator[tuple[TestClient, Clock]]:
    clock = Clock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    secret = make_key(db, clock.at, "admin")
    app = create_app(Settings(database_url=db.url), clock=clock, sweep=False)
    with TestClient(app, headers={"Authorization": f"Bearer {secret}"}) as client:
        yield client, clock


def history(sku: str, days: int, qty: int = 10, end: date = TODAY) -> bytes:
    rows = [f"{sku},web,{end - timedelta(days=d)},{qty}" for d in range(1, days + 1)]
    return ("sku,channel,date,qty\n" + "\n".join(rows) + "\n").encode()


def setup(client: TestClient, sku: str = "MUG", on_hand: int = 100) -> None:
    assert client.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True}).status_code in (200, 201)
    assert client.put(f"/v1/skus/{sku}", json={"mode": "stock"}).status_code in (200, 201)
    if on_hand:
        assert client.post("/v1/stock/adjustments", json={"sku": sku, "delta": on_hand, "reason": "count"}).is_success


def ok(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_a_steady_ten_a_day_gives_velocity_ten_and_the_hand_computed_suggestion(db: Database) -> None:
    with api(db) as (client, _):
        setup(client)
        ok(client.post("/v1/imports/sales-history", content=history("MUG", 120), headers=CSV))
        got = ok(client.get("/v1/skus/MUG/forecast", params={"lead_days": 14, "cover_days": 28,
                                                              "service_level": 0.9}))
        listed = ok(client.get("/v1/reports/reorder", params={"lead_days": 14, "cover_days": 28,
                                                               "service_level": 0.9}))
    assert got["velocity"] == {"7": 10.0, "28": 10.0, "90": 10.0}
    # 42 days × 10 units, no spread in a perfectly steady history; 100 on hand, nothing incoming or committed.
    assert got["demand"] == {"p50": 420.0, "at_service_level": 420.0, "days": 42}
    assert got["safety_stock"] == 0
    assert got["reorder_point"] == 140
    assert got["suggested_qty"] == 320
    assert got["run_out_date"] == "2026-06-11"  # 100 units at 10 a day: the eleventh day has none left
    assert got["order_by"] == "2026-05-28"
    assert [(x["sku"], x["suggested_qty"]) for x in listed["items"]] == [("MUG", 320)]


def test_sold_out_days_are_not_read_as_low_demand(db: Database) -> None:
    with api(db) as (client, clock):
        setup(client, on_hand=0)
        ok(client.post("/v1/imports/sales-history", content=history("MUG", 60, end=TODAY - timedelta(days=10)),
                       headers=CSV))
        # Sold out from 10 days ago until today: a sale is refused, the days are hidden demand.
        clock.at = datetime(2026, 5, 22, 0, 0, tzinfo=UTC)
        assert client.post("/v1/stock/adjustments", json={"sku": "MUG", "delta": 5, "reason": "count"}).is_success
        assert client.post("/v1/stock/adjustments", json={"sku": "MUG", "delta": -5, "reason": "count"}).is_success
        clock.at = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        got = ok(client.get("/v1/skus/MUG/forecast", params={"channel": "web"}))
    assert got["velocity"]["28"] == 10.0
    assert got["velocity"]["7"] is None  # not one sellable day in the last week: no rate, not zero


def test_a_sku_with_no_history_says_so_and_suggests_nothing(db: Database) -> None:
    with api(db) as (client, _):
        setup(client)
        got = ok(client.get("/v1/skus/MUG/forecast"))
        listed = ok(client.get("/v1/reports/reorder"))
    assert got["velocity"] == {"7": None, "28": None, "90": None}
    assert got["suggested_qty"] is None and got["demand"] is None and got["run_out_date"] is None
    assert "no demand history" in got["note"]
    assert listed == {"items": []}


def test_the_reorder_list_puts_the_most_urgent_first(db: Database) -> None:
    with api(db) as (client, _):
        for sku, stock in (("SLOW", 130), ("FAST", 20), ("FINE", 5000)):
            setup(client, sku, stock)
            ok(client.post("/v1/imports/sales-history", content=history(sku, 60), headers=CSV))
        got = ok(client.get("/v1/reports/reorder"))
    assert [x["sku"] for x in got["items"]] == ["FAST", "SLOW"]
    assert got["items"][0]["order_by"] < got["items"][1]["order_by"]


def test_bad_questions_are_422_naming_the_field(db: Database) -> None:
    with api(db) as (client, _):
        setup(client)
        cases = [("/v1/skus/NOPE/forecast", {}, "sku"), ("/v1/skus/MUG/forecast", {"channel": "nope"}, "channel"),
                 ("/v1/skus/MUG/forecast", {"service_level": "0.5"}, "service_level"),
                 ("/v1/skus/MUG/forecast", {"service_level": "0.999"}, "service_level"),
                 ("/v1/skus/MUG/forecast", {"lead_days": "-1"}, "lead_days"),
                 ("/v1/skus/MUG/forecast", {"cover_days": "400"}, "cover_days"),
                 ("/v1/reports/reorder", {"channel": "nope"}, "channel"),
                 ("/v1/reports/kpis", {"from": "2026-05-02", "to": "2026-05-01"}, "from"),
                 ("/v1/reports/kpis", {"sku": "NOPE"}, "sku"), ("/v1/reports/kpis", {"supplier": "Nobody"}, "supplier")]
        for path, params, field in cases:
            answer = client.get(path, params=params)
            assert answer.status_code == 422, (path, params, answer.text)
            assert field in answer.text, (path, params, answer.text)


def test_a_preorder_sku_before_release_projects_its_total_by_the_release_day(db: Database) -> None:
    with api(db) as (client, _):
        setup(client, on_hand=0)
        assert client.put("/v1/skus/LAMP", json={"mode": "preorder", "release_date": "2026-06-11"}).is_success
        ok(client.post("/v1/imports/sales-history", content=history("LAMP", 20, qty=5), headers=CSV))
        got = ok(client.get("/v1/skus/LAMP/forecast", params={"service_level": 0.9}))
    # 20 days × 5 so far; 10 days left at 5 a day (a flat curve has no spread).
    assert got["preorder"] == {"release_date": "2026-06-11", "so_far": 100, "days_left": 10, "p50": 150.0,
                               "at_service_level": 150.0}
