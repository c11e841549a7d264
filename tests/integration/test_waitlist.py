"""The waitlist (BRIEF §11): offers in order, as holds; a lapsed offer passes on; nobody's units taken."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from allot.api.app import create_app
from allot.domain import planner
from allot.domain.errors import SaleRefused
from allot.services import keys, orders, selling, waitlist
from allot.services.book import Book
from allot.settings import Settings
from allot.store.db import Database
from allot.store.tables import events
from allot.store.tables import waitlist as waitlist_table
from tests.conftest import sqlite_db
from tests.factories import channel, po, receive, sku

KEY = "allot_test_waitlist_admin_key_0123456789"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def api(db: Database, now: datetime) -> Iterator[tuple[TestClient, Clock]]:
    with db.write() as conn:
        keys.ensure(conn, KEY, now)
        channel(conn, "web", now)
        sku(conn, "TEE", now, offer_ttl_seconds=60)
        receive(conn, "TEE", 1, now)
    clock = Clock(now)
    app = create_app(Settings(db.url), clock=clock, sweep=False)
    with TestClient(app, headers={"Authorization": f"Bearer {KEY}"}) as client:
        yield client, clock


def ok(resp: Any, status: int) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def offers(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(select(events.c.data).where(events.c.type == "waitlist.offered").order_by(events.c.id))
        return [dict(r.data) for r in rows]


def test_three_wait_a_po_of_two_offers_the_first_two_and_a_lapsed_offer_passes_to_the_third(
        db: Database, now: datetime, api: tuple[TestClient, Clock]) -> None:
    client, clock = api
    ok(client.post("/v1/orders", json={"ref": "O-1", "channel": "web", "lines": [{"sku": "TEE", "qty": 1}]}), 201)
    joined = [ok(client.post("/v1/waitlist", json={"sku": "TEE", "channel": "web", "customer": c,
                                                   "email": f"{c}@example.com", "qty": 1}), 201)
              for c in ("ann", "bob", "cat")]
    assert [j["position"] for j in joined] == [1, 2, 3]
    day = (now + timedelta(days=10)).date().isoformat()
    ok(client.post("/v1/purchase-orders", json={"ref": "PO-1", "supplier": "ACME",
                                                "lines": [{"sku": "TEE", "qty": 2, "expected_date": day}]}), 201)
    made = offers(db)
    assert [(o["customer"], o["waitlist_id"]) for o in made] == [("ann", joined[0]["id"]), ("bob", joined[1]["id"])]
    assert made[0]["email"] == "ann@example.com" and made[0]["hold_id"].startswith("hold_")
    listed = ok(client.get("/v1/skus/TEE/waitlist"), 200)["items"]
    assert [(e["customer"], e["status"], e["position"]) for e in listed] == [
        ("ann", "offered", None), ("bob", "offered", None), ("cat", "waiting", 1)]
    hold = ok(client.get(f"/v1/holds/{made[1]['hold_id']}"), 200)
    assert (hold["customer"], hold["qty"], hold["status"]) == ("bob", 1, "active")
    assert ok(client.get("/v1/availability/TEE", params={"channel": "web"}), 200)["available"] == 0
    # bob confirms with an ordinary order naming the hold; ann lets hers lapse
    ok(client.post("/v1/orders", json={"ref": "O-BOB", "channel": "web", "customer": "bob",
                                       "lines": [{"sku": "TEE", "qty": 1, "hold_id": made[1]["hold_id"]}]}), 201)
    clock.now = now + timedelta(seconds=61)
    ok(client.get("/v1/availability/TEE", params={"channel": "web"}), 200)  # any look at the SKU tidies it
    made = offers(db)
    assert [o["customer"] for o in made] == ["ann", "bob", "cat"]
    listed = ok(client.get("/v1/skus/TEE/waitlist"), 200)["items"]
    assert [(e["customer"], e["status"]) for e in listed] == [("ann", "lapsed"), ("bob", "claimed"), ("cat", "offered")]
    # leaving: a claimed offer stands; an open one is released at once, its unit free again
    assert ok(client.delete(f"/v1/waitlist/{joined[1]['id']}"), 200)["status"] == "claimed"
    assert ok(client.delete(f"/v1/waitlist/{joined[2]['id']}"), 200)["status"] == "left"
    assert ok(client.get(f"/v1/holds/{made[2]['hold_id']}"), 200)["status"] == "released"
    assert ok(client.get("/v1/availability/TEE", params={"channel": "web"}), 200)["available"] == 1


def test_joining_while_units_are_available_and_bad_input_are_refused(
        db: Database, now: datetime, api: tuple[TestClient, Clock]) -> None:
    client, _ = api
    body = {"sku": "TEE", "channel": "web", "customer": "ann", "qty": 1}
    refused = ok(client.post("/v1/waitlist", json=body), 409)
    assert (refused["code"], refused["available"]) == ("available", 1)
    assert ok(client.post("/v1/waitlist", json=body | {"qty": 0}), 422)["field"] == "qty"
    assert ok(client.post("/v1/waitlist", json=body | {"qty": -1}), 422)["field"] == "qty"
    assert ok(client.post("/v1/waitlist", json=body | {"sku": "NOPE"}), 422)["field"] == "sku"
    assert ok(client.post("/v1/waitlist", json=body | {"channel": "nope"}), 422)["field"] == "channel"
    assert ok(client.post("/v1/waitlist", json={k: v for k, v in body.items() if k != "customer"}), 422)["field"] == "customer"
    assert ok(client.get("/v1/skus/NOPE/waitlist"), 404)["code"] == "not_found"
    assert ok(client.delete("/v1/waitlist/999"), 404)["code"] == "not_found"
    shop = ok(client.post("/v1/keys", json={"name": "shop", "role": "storefront", "channels": ["web"]}), 201)
    with db.write() as conn:
        channel(conn, "members", now)
    other = client.post("/v1/waitlist", json=body | {"channel": "members", "qty": 5},
                        headers={"Authorization": f"Bearer {shop['secret']}"})
    assert other.status_code == 403 and "members" in other.json()["detail"]
    # waiting, then leaving: the entry is gone from the list
    entry = ok(client.post("/v1/waitlist", json=body | {"qty": 5}), 201)
    assert ok(client.delete(f"/v1/waitlist/{entry['id']}"), 200)["status"] == "left"
    assert ok(client.get("/v1/skus/TEE/waitlist"), 200)["items"] == []
    # before the channel's window opens, units on hand are not available to it: joining is fine
    opens = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    ok(client.put("/v1/skus/TEE/channels/web", json={"opens_at": opens}), 201)
    assert ok(client.post("/v1/waitlist", json=body), 201)["position"] == 1
    assert offers(db) == []


def test_customers_waiting_for_a_window_are_offered_units_at_the_first_look_after_it_opens(
        db: Database, now: datetime, api: tuple[TestClient, Clock]) -> None:
    client, clock = api
    opens = datetime.now(UTC) + timedelta(seconds=1)  # windows follow the database's clock, not the app's
    ok(client.put("/v1/skus/TEE/channels/web", json={"opens_at": opens.isoformat()}), 201)
    ok(client.post("/v1/waitlist", json={"sku": "TEE", "channel": "web", "customer": "ann", "qty": 1}), 201)
    assert offers(db) == []
    time.sleep(max(0.0, (opens - datetime.now(UTC)).total_seconds()) + 0.05)
    clock.now = datetime.now(UTC)
    ok(client.get("/v1/availability/TEE", params={"channel": "web"}), 200)  # a read finds the opening due
    assert [o["customer"] for o in offers(db)] == ["ann"]


def test_the_opening_is_due_by_the_database_clock_even_when_the_request_clock_lags_it(
        db: Database, now: datetime, api: tuple[TestClient, Clock]) -> None:
    client, clock = api
    assert clock.now < datetime.now(UTC)  # the app's clock stays days behind the database's throughout
    opens = datetime.now(UTC) + timedelta(seconds=1)
    ok(client.put("/v1/skus/TEE/channels/web", json={"opens_at": opens.isoformat()}), 201)
    ok(client.post("/v1/waitlist", json={"sku": "TEE", "channel": "web", "customer": "ann", "qty": 1}), 201)
    time.sleep(max(0.0, (opens - datetime.now(UTC)).total_seconds()) + 0.05)
    # the window is open by the database's clock: a newcomer's sale must not get ahead of ann
    late = client.post("/v1/holds", json={"sku": "TEE", "qty": 1, "channel": "web", "customer": "bob"})
    assert late.status_code == 409, late.text
    assert [o["customer"] for o in offers(db)] == ["ann"]


def test_offers_respect_the_per_customer_limit(db: Database, now: datetime, api: tuple[TestClient, Clock]) -> None:
    client, _ = api
    ok(client.put("/v1/skus/TEE", json={"mode": "backorder", "per_customer_limit": 2, "offer_ttl_seconds": 60}), 200)
    ok(client.post("/v1/orders", json={"ref": "O-1", "channel": "web", "customer": "ann",
                                       "lines": [{"sku": "TEE", "qty": 1}]}), 201)
    assert ok(client.post("/v1/waitlist", json={"sku": "TEE", "channel": "web", "customer": "ann", "qty": 3}),
              422)["field"] == "qty"
    ok(client.post("/v1/waitlist", json={"sku": "TEE", "channel": "web", "customer": "ann", "qty": 2}), 201)
    ok(client.post("/v1/waitlist", json={"sku": "TEE", "channel": "web", "customer": "bob", "qty": 1}), 201)
    with db.write() as conn:
        receive(conn, "TEE", 3, now)
    assert [o["customer"] for o in offers(db)] == ["bob"]  # ann has 1 of her 2 already: 2 more is past it


def test_an_offer_whose_sale_is_refused_gives_back_the_units_it_counted_for_the_customer(
        db: Database, now: datetime, api: tuple[TestClient, Clock], monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = api
    with db.write() as conn:
        channel(conn, "members", now)
        sku(conn, "CAP", now, mode="stock", per_customer_limit=2, offer_ttl_seconds=60)
    ok(client.post("/v1/waitlist", json={"sku": "CAP", "channel": "web", "customer": "ann", "qty": 2}), 201)
    ok(client.post("/v1/waitlist", json={"sku": "CAP", "channel": "members", "customer": "ann", "qty": 1}), 201)
    sell = Book.sell

    def refuse_web(self: Book, key: str, qty: int, channel: str, priority: int, place: Any) -> Any:
        if channel == "web":  # as a plan may refuse what the summary showed (e.g. a line kept whole)
            raise SaleRefused(f"{channel} cannot get {qty} of {self.sku}", 0, sku=self.sku)
        return sell(self, key, qty, channel, priority, place)

    monkeypatch.setattr(Book, "sell", refuse_web)
    with db.write() as conn:
        receive(conn, "CAP", 5, now)
    # the refused web offer counted nothing: ann, with no units yet, is offered her one on members
    assert [(o["customer"], o["channel"]) for o in offers(db)] == [("ann", "members")]


# ── Property: no offer ever takes a unit an existing line needs ──

STEPS = st.lists(st.one_of(
    st.tuples(st.just("join"), st.integers(0, 4), st.integers(1, 3)),
    st.tuples(st.just("po"), st.integers(1, 4), st.integers(1, 20)),
    st.tuples(st.just("receive"), st.integers(1, 3), st.just(0)),
    st.tuples(st.just("order"), st.integers(1, 3), st.integers(0, 2)),
    st.tuples(st.just("hold"), st.integers(1, 2), st.just(0)),
    st.tuples(st.just("cancel"), st.integers(0, 5), st.just(0)),
    st.tuples(st.just("wait"), st.integers(1, 3), st.just(0)),
    st.tuples(st.just("leave"), st.integers(0, 5), st.just(0)),
), min_size=3, max_size=14)


@pytest.fixture(scope="module")
def prop_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = sqlite_db(tmp_path_factory.mktemp("waitlist") / "allot.db")
    yield database
    database.dispose()


@example(steps=[("order", 1, 0), ("join", 0, 1), ("join", 1, 2), ("po", 2, 5), ("order", 1, 1), ("wait", 3, 0),
                 ("receive", 1, 0), ("cancel", 0, 0)])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_no_offer_ever_takes_a_unit_an_existing_line_needs(prop_db: Database, steps: list[tuple[str, int, int]]) -> None:
    db, now, name = prop_db, datetime(2026, 11, 23, 12, 0, tzinfo=UTC), f"P{uuid.uuid4().hex[:12]}"
    with db.write() as conn:
        channel(conn, "web", now)
        sku(conn, name, now, offer_ttl_seconds=60)
    refs: list[str] = []
    for n, (kind, a, b) in enumerate(steps):
        with db.write() as conn:
            if kind == "join":
                try:
                    waitlist.join(conn, name, "web", f"c{a}", None, b, now)
                except waitlist.WaitlistAvailable:
                    pass
            elif kind == "po":
                po(conn, f"{name}-PO{n}", now, (name, a, (now + timedelta(days=b)).date()))
            elif kind == "receive":
                receive(conn, name, a, now)
            elif kind in ("order", "hold"):
                try:
                    if kind == "order":
                        selling.place_order(conn, f"{name}-O{n}", "web", b, None, [{"sku": name, "qty": a}], now)
                        refs.append(f"{name}-O{n}")
                    else:
                        selling.place_hold(conn, name, a, "web", 600, now)
                except selling.Conflict:
                    pass
            elif kind == "cancel" and refs:
                orders.cancel(conn, refs[a % len(refs)], None, now)
            elif kind == "wait":
                now += timedelta(seconds=30 * a)
                Book.open(conn, [name], now)[name].save()
            elif kind == "leave":
                ids = list(conn.execute(select(waitlist_table.c.id).order_by(waitlist_table.c.id)).scalars())
                if ids:
                    waitlist.leave(conn, ids[a % len(ids)], now)
        _offers_take_nothing_from_earlier_lines(db, name, now)
    if steps[:4] == [("order", 1, 0), ("join", 0, 1), ("join", 1, 2), ("po", 2, 5)]:  # the example: offers made
        with db.read() as conn:
            assert conn.execute(select(waitlist_table.c.status).where(waitlist_table.c.customer == "c0")
                                .order_by(waitlist_table.c.id.desc())).scalar() == "offered"


def _offers_take_nothing_from_earlier_lines(db: Database, name: str, now: datetime) -> None:
    """Planned with and without the open offers, every line queued before the first offer covers the same."""
    with db.write() as conn:
        book = Book.open(conn, [name], now)[name]
        offered = {f"h:{h}" for h in conn.execute(select(waitlist_table.c.hold_id)
                                                   .where(waitlist_table.c.hold_id.is_not(None))).scalars()}
        supply, _ = book.supply_from_rows()
        queue = [e.demand for e in book.load_queue()]
        firsts = [(d.queued_at, d.seq) for d in queue if d.key in offered]
        if not firsts:
            return
        first = min(firsts)
        earlier = [d for d in queue if d.key not in offered and (d.queued_at, d.seq) < first]
        with_offers = planner.plan(supply, queue, book.today)
        without = planner.plan(supply, [d for d in queue if d.key not in offered], book.today)
        for d in earlier:
            got = sum(t.qty for t in with_offers.placements[d.key].takes)
            needs = sum(t.qty for t in without.placements[d.key].takes)
            assert got == needs, f"{d.key} covers {got} beside the offers, {needs} without them"
