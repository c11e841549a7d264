"""Delay consent (the events issue): a slip beyond consent_after_days asks the customer; accept keeps
the line, reject cancels it and frees its units to the next in the queue; silence applies the default."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allot.api.app import create_app
from allot.services import keys, orders, purchasing
from allot.settings import Settings
from allot.store.db import Database
from allot.workers.sweeper import sweep
from tests.factories import channel, event_types, line, order, po, sku

KEY = "consent-test-admin-key-0123456789"


def day(now: datetime, n: int) -> str:
    return (now.date() + timedelta(days=n)).isoformat()


def world(db: Database, now: datetime, default: str = "cancel", after_days: int | None = 7) -> None:
    """PO-1 brings 10 TEE in ten days for A and B; PO-2 brought C's 5 until it was cancelled."""
    with db.write() as conn:
        channel(conn, "web", now, consent_after_days=after_days, consent_window_days=3, consent_default=default)
        sku(conn, "TEE", now)
        po(conn, "PO-1", now, ("TEE", 10, now.date() + timedelta(days=10)))
        po(conn, "PO-2", now, ("TEE", 5, now.date() + timedelta(days=12)))
        for ref in ("A", "B", "C"):
            order(conn, ref, now, ("TEE", 5))
        purchasing.cancel(conn, "PO-2", now)


def slip_po_1(db: Database, now: datetime, to_day: int, at: datetime | None = None) -> None:
    """Move PO-1 to `to_day` days after `now`, at `at` (default: now)."""
    with db.write() as conn:
        purchasing.update_line(conn, "PO-1", 1, now.date() + timedelta(days=to_day), None, at or now)


def looked_up(db: Database, ref: str) -> dict[str, Any]:
    with db.read() as conn:
        return line(conn, ref)


def test_a_backordered_line_and_a_slip_beyond_seven_days_ask_for_consent(db: Database, now: datetime) -> None:
    world(db, now)
    assert looked_up(db, "C")["consent_status"] == "needs_consent"  # backordered when PO-2 was cancelled
    assert looked_up(db, "A")["consent_status"] is None

    slip_po_1(db, now, to_day=24)

    a = looked_up(db, "A")
    assert (a["state"], a["promise_date"].isoformat(), a["consent_status"]) == ("awaiting_stock", day(now, 24),
                                                                             "needs_consent")
    # the window ends at the merchant's midnight after its third day (UTC here)
    assert a["consent_deadline"] == now.replace(hour=0) + timedelta(days=4)
    with db.read() as conn:
        types = event_types(conn)
    assert types.count("order_line.consent_requested") == 3


def test_a_slip_within_consent_after_days_asks_nobody(db: Database, now: datetime) -> None:
    world(db, now)
    slip_po_1(db, now, to_day=17)  # seven days: not more than seven

    assert looked_up(db, "A")["consent_status"] is None
    assert looked_up(db, "B")["consent_status"] is None


def test_a_channel_without_consent_after_days_never_asks(db: Database, now: datetime) -> None:
    world(db, now, after_days=None)
    slip_po_1(db, now, to_day=60)

    assert [looked_up(db, r)["consent_status"] for r in ("A", "B", "C")] == [None, None, None]


def test_accept_keeps_the_line_and_reject_cancels_it_and_frees_its_units_to_the_next_in_queue(
    db: Database, now: datetime
) -> None:
    world(db, now)
    slip_po_1(db, now, to_day=24)
    assert looked_up(db, "C")["state"] == "backordered"

    with db.write() as conn:
        orders.answer_consent(conn, "B", 1, True, now + timedelta(days=1))
    with db.write() as conn:
        orders.answer_consent(conn, "A", 1, False, now + timedelta(days=1))

    a, b, c = looked_up(db, "A"), looked_up(db, "B"), looked_up(db, "C")
    assert (a["state"], a["qty_cancelled"], a["consent_status"]) == ("cancelled", 5, "rejected")
    assert (b["state"], b["promise_date"].isoformat(), b["consent_status"]) == ("awaiting_stock", day(now, 24),
                                                                             "accepted")
    assert (c["state"], c["promise_date"].isoformat()) == ("awaiting_stock", day(now, 24))  # A's units
    assert [t["po_ref"] for t in c["allocation"]] == ["PO-1"]


def test_nobody_answering_by_the_deadline_cancels_under_a_cancel_default(db: Database, now: datetime) -> None:
    world(db, now, default="cancel")
    slip_po_1(db, now, to_day=24)

    assert sweep(db, now + timedelta(days=2)) == 0  # before the deadline nothing happens
    assert looked_up(db, "A")["state"] == "awaiting_stock"
    assert sweep(db, now + timedelta(days=3, hours=12, seconds=1)) == 1

    assert [looked_up(db, r)["state"] for r in ("A", "B", "C")] == ["cancelled"] * 3
    assert [looked_up(db, r)["consent_status"] for r in ("A", "B", "C")] == ["expired"] * 3
    with db.read() as conn:
        types = event_types(conn)
    assert types.count("order_line.consent_expired") == 3
    assert types[-6:].count("order_line.cancelled") == 3


def test_nobody_answering_by_the_deadline_keeps_waiting_under_a_keep_default_until_the_next_slip(
    db: Database, now: datetime
) -> None:
    world(db, now, default="keep")
    slip_po_1(db, now, to_day=24)
    later = now + timedelta(days=4)
    sweep(db, later)

    a = looked_up(db, "A")
    assert (a["state"], a["consent_status"]) == ("awaiting_stock", "expired")
    slip_po_1(db, now, to_day=30, at=later)  # six days past the agreed date: fine
    assert looked_up(db, "A")["consent_status"] == "expired"
    slip_po_1(db, now, to_day=32, at=later)  # eight days past it: ask again
    assert looked_up(db, "A")["consent_status"] == "needs_consent"


def test_a_request_is_withdrawn_when_the_promise_comes_back(db: Database, now: datetime) -> None:
    world(db, now)
    slip_po_1(db, now, to_day=24)
    slip_po_1(db, now, to_day=11)

    assert looked_up(db, "A")["consent_status"] == "withdrawn"
    assert sweep(db, now + timedelta(days=10)) == 1  # only C, still backordered, is past its deadline
    assert looked_up(db, "A")["state"] == "awaiting_stock"


def test_the_line_keeps_its_queue_place_while_consent_is_pending(db: Database, now: datetime) -> None:
    world(db, now)
    slip_po_1(db, now, to_day=24)
    with db.write() as conn:
        purchasing.update_line(conn, "PO-1", 1, None, 5, now)  # only 5 will come: the first in the queue keeps them

    assert (looked_up(db, "A")["state"], looked_up(db, "B")["state"]) == ("awaiting_stock", "backordered")


# --- over HTTP, with the server's clock under the test's control --------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def api(db: Database, now: datetime) -> Iterator[tuple[TestClient, Clock]]:
    with db.write() as conn:
        keys.ensure(conn, KEY, now)
    clock = Clock(now)
    app = create_app(Settings(db.url), clock=clock, sweep=False)
    with TestClient(app, headers={"Authorization": f"Bearer {KEY}"}) as client:
        yield client, clock


def test_consent_is_answered_over_http(db: Database, now: datetime, api: tuple[TestClient, Clock]) -> None:
    client, _ = api
    world(db, now)
    slip_po_1(db, now, to_day=24)

    assert client.get("/v1/orders/A").json()["lines"][0]["consent_status"] == "needs_consent"
    kept = client.post("/v1/orders/A/lines/1/consent", json={"accept": True})
    assert kept.status_code == 200 and kept.json()["lines"][0]["consent_status"] == "accepted"
    again = client.post("/v1/orders/A/lines/1/consent", json={"accept": False})
    assert again.status_code == 409 and again.json()["code"] == "consent_not_requested"
    gone = client.post("/v1/orders/B/lines/1/consent", json={"accept": False})
    assert gone.json()["lines"][0]["state"] == "cancelled"
    assert client.get("/v1/orders/C").json()["lines"][0]["state"] == "awaiting_stock"
    assert client.post("/v1/orders/B/lines/2/consent", json={"accept": True}).status_code == 404
    assert client.post("/v1/orders/B/lines/1/consent", json={"accept": "maybe"}).json()["field"] == "accept"


def test_the_default_applies_when_the_order_is_read_after_its_deadline(
    db: Database, now: datetime, api: tuple[TestClient, Clock]
) -> None:
    client, clock = api
    world(db, now, default="cancel")
    slip_po_1(db, now, to_day=24)

    clock.now = now + timedelta(days=3, hours=12, minutes=1)  # no sweeper runs: reading is enough
    assert client.get("/v1/orders/A").json()["lines"][0]["state"] == "cancelled"
    late = client.post("/v1/orders/B/lines/1/consent", json={"accept": True})
    assert late.status_code == 409 and late.json()["consent_status"] == "expired"


def test_channel_consent_settings_are_optional_and_returned(api: tuple[TestClient, Clock]) -> None:
    client, _ = api
    plain = client.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": False})
    asked = client.put("/v1/channels/b2b", json={"allow_backorder": True, "allow_preorder": False,
                                                   "consent_after_days": 5, "consent_default": "cancel"})

    assert plain.status_code == 201 and plain.json()["consent_after_days"] is None
    assert plain.json()["consent_default"] == "keep" and plain.json()["consent_window_days"] == 7
    assert asked.json()["consent_after_days"] == 5 and asked.json()["consent_default"] == "cancel"
    bad = client.put("/v1/channels/x", json={"allow_backorder": True, "allow_preorder": False,
                                              "consent_default": "shrug"})
    assert bad.status_code == 422 and bad.json()["field"] == "consent_default"
