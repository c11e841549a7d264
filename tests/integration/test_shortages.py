"""Short shipments (the events issue): the uncovered tail with queue positions, bulk cancel or keep
waiting, and the fair_share policy for wholesale lines."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allot.api.app import create_app
from allot.domain.errors import Invalid
from allot.services import keys, orders, purchasing, selling, shortages
from allot.settings import Settings
from allot.store.db import Database
from allot.workers.sweeper import sweep
from tests.factories import channel, event_types, line, order, po, sku

KEY = "shortage-test-admin-key-0123456789"


def ships_short(db: Database, now: datetime, received: int, *quantities: int, policy: str = "fifo",
                **channel_settings: Any) -> None:
    """PO-1 was to bring enough for every order; the supplier ships `received` and closes it."""
    with db.write() as conn:
        channel(conn, "web", now, **channel_settings)
        sku(conn, "TEE", now, allocation_policy=policy)
        po(conn, "PO-1", now, ("TEE", sum(quantities), now.date() + timedelta(days=10)))
        for n, qty in enumerate(quantities, start=1):
            order(conn, f"W-{n}", now, ("TEE", qty))
        purchasing.receive(conn, "PO-1", [{"line": 1, "qty": received}], True, now)


def short_list(db: Database, now: datetime) -> dict[str, Any]:
    with db.read() as conn:
        found: dict[str, Any] = shortages.backordered(conn, "TEE", now)
    return found


def test_the_uncovered_tail_is_listed_with_queue_positions(db: Database, now: datetime) -> None:
    with db.write() as conn:
        channel(conn, "web", now)
        sku(conn, "TEE", now)
        po(conn, "PO-1", now, ("TEE", 30, now.date() + timedelta(days=10)))
        order(conn, "W-1", now, ("TEE", 10))
        selling.place_hold(conn, "TEE", 5, "web", 3600, now)
        order(conn, "W-2", now, ("TEE", 10))
        order(conn, "W-3", now, ("TEE", 5))
        purchasing.receive(conn, "PO-1", [{"line": 1, "qty": 22}], True, now)

    found = short_list(db, now)

    assert found["uncovered"] == 8 and found["queue_length"] == 4
    assert [(x["order_ref"], x["position"], x["covered"], x["uncovered"]) for x in found["lines"]] == [
        ("W-2", 3, 7, 3), ("W-3", 4, 0, 5)]


def test_cancelling_the_uncovered_units_lets_a_line_ship_what_came(db: Database, now: datetime) -> None:
    ships_short(db, now, 25, 10, 10, 10)

    with db.write() as conn:
        left = shortages.cancel(conn, "TEE", "supplier shipped short", None, False, now)

    assert left["lines"] == [] and left["uncovered"] == 0
    with db.read() as conn:
        w3 = line(conn, "W-3")
        types = [t for t in event_types(conn) if t != "availability.changed"]  # those come last, at commit
    assert (w3["state"], w3["qty_cancelled"], w3["promise_date"]) == ("ready", 5, now.date())
    assert types[-2:] == ["order_line.cancelled", "order_line.ready"]


def test_cancelling_whole_lines_frees_their_units_to_the_next_in_queue(db: Database, now: datetime) -> None:
    ships_short(db, now, 15, 10, 10, 10)

    with db.write() as conn:
        left = shortages.cancel(conn, "TEE", "out of season", [{"order_ref": "W-2", "line": 1}], True, now)

    assert [(x["order_ref"], x["covered"], x["uncovered"]) for x in left["lines"]] == [("W-3", 5, 5)]
    with db.read() as conn:
        assert line(conn, "W-2")["state"] == "cancelled"


def test_keeping_lines_waiting_settles_their_consent_for_good(db: Database, now: datetime) -> None:
    ships_short(db, now, 15, 10, 10, 10, consent_after_days=3, consent_window_days=2, consent_default="cancel")
    assert [x["consent_status"] for x in short_list(db, now)["lines"]] == ["needs_consent"] * 2

    with db.write() as conn:
        kept = shortages.keep(conn, "TEE", "restock coming", None, now)
    sweep(db, now + timedelta(days=5))

    assert [(x["order_ref"], x["consent_status"]) for x in kept["lines"]] == [("W-2", "kept"), ("W-3", "kept")]
    assert [x["order_ref"] for x in short_list(db, now + timedelta(days=5))["lines"]] == ["W-2", "W-3"]
    with db.read() as conn:
        assert event_types(conn).count("order_line.kept") == 2


def test_naming_a_line_that_is_not_backordered_is_bad_input(db: Database, now: datetime) -> None:
    ships_short(db, now, 15, 10, 10, 10)

    with pytest.raises(Invalid) as refused, db.write() as conn:
        shortages.cancel(conn, "TEE", "x", [{"order_ref": "W-3", "line": 1}, {"order_ref": "W-1", "line": 1}],
                         False, now)
    assert refused.value.field == "lines.1"


def test_fair_share_splits_10_units_among_lines_of_8_6_and_6_as_4_3_and_3(db: Database, now: datetime) -> None:
    ships_short(db, now, 10, 8, 6, 6, policy="fair_share")

    found = short_list(db, now)
    assert [(x["order_ref"], x["covered"], x["uncovered"]) for x in found["lines"]] == [
        ("W-1", 4, 4), ("W-2", 3, 3), ("W-3", 3, 3)]
    with db.write() as conn:  # each wholesale customer can be sent its share now
        shipped = orders.ship(conn, "W-1", [{"line": 1, "qty": 4}], now)
    assert shipped["lines"][0]["qty_shipped"] == 4
    assert [x["covered"] for x in short_list(db, now)["lines"]] == [0, 3, 3]


def test_the_same_shortage_under_fifo_serves_the_queue_in_order(db: Database, now: datetime) -> None:
    ships_short(db, now, 10, 8, 6, 6)

    assert [(x["order_ref"], x["covered"]) for x in short_list(db, now)["lines"]] == [("W-2", 2), ("W-3", 0)]


@pytest.fixture
def client(db: Database, now: datetime) -> Iterator[TestClient]:
    with db.write() as conn:
        keys.ensure(conn, KEY, now)
    with TestClient(create_app(Settings(db.url), clock=lambda: now, sweep=False),
                    headers={"Authorization": f"Bearer {KEY}"}) as api:
        yield api


def test_short_shipments_over_http(db: Database, now: datetime, client: TestClient) -> None:
    ships_short(db, now, 10, 8, 6, 6, policy="fair_share")

    listed = client.get("/v1/skus/TEE/backordered")
    assert listed.status_code == 200 and listed.json()["allocation_policy"] == "fair_share"
    assert [x["covered"] for x in listed.json()["lines"]] == [4, 3, 3]
    kept = client.post("/v1/skus/TEE/backordered/keep", json={"lines": [{"order_ref": "W-1", "line": 1}]})
    assert kept.json()["lines"][0]["consent_status"] == "kept"
    cut = client.post("/v1/skus/TEE/backordered/cancel", json={"reason": "short", "whole_line": True,
                                                               "lines": [{"order_ref": "W-3", "line": 1}]})
    assert [(x["order_ref"], x["covered"]) for x in cut.json()["lines"]] == [("W-1", 6), ("W-2", 4)]
    bad = client.post("/v1/skus/TEE/backordered/cancel", json={"lines": [{"order_ref": "W-9", "line": 1}],
                                                               "reason": "x"})
    assert bad.status_code == 422 and bad.json()["field"] == "lines.0"
    assert client.post("/v1/skus/TEE/backordered/cancel", json={}).json()["field"] == "reason"
    assert client.get("/v1/skus/NOPE/backordered").status_code == 404


def test_allocation_policy_is_an_optional_sku_setting(client: TestClient) -> None:
    plain = client.put("/v1/skus/MUG", json={"mode": "backorder"})
    wholesale = client.put("/v1/skus/CRATE", json={"mode": "backorder", "allocation_policy": "fair_share"})

    assert plain.json()["allocation_policy"] == "fifo"
    assert wholesale.json()["allocation_policy"] == "fair_share"
    assert client.get("/v1/skus/CRATE").json()["allocation_policy"] == "fair_share"
    bad = client.put("/v1/skus/X", json={"mode": "backorder", "allocation_policy": "lottery"})
    assert bad.status_code == 422 and bad.json()["field"] == "allocation_policy"
