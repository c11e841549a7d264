"""Payment terms (BRIEF §10): deposit orders' balances fall due in queue order as stock arrives;
the report shows deposits held and balance due; bad terms and bad emails are 422s naming the field."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from allot.api.app import create_app
from allot.services import catalog, keys, purchasing
from allot.settings import Settings
from allot.store.db import Database
from allot.store.tables import events
from tests import factories as f


@contextmanager
def api(db: Database, now: datetime) -> Iterator[TestClient]:
    with db.write() as conn:
        secret = keys.create(conn, "admin", "admin", None, now)["secret"]
    app = create_app(Settings(database_url=db.url), clock=lambda: now, sweep=False)
    with TestClient(app, headers={"Authorization": f"Bearer {secret}"}) as client:
        yield client


def deposit_order(ref: str, qty: int, price: str = "40.00", deposit: str = "10.00") -> dict[str, Any]:
    return {"ref": ref, "channel": "web", "email": f"{ref.lower()}@example.org",
            "payment": {"terms": "deposit", "deposit": deposit, "currency": "EUR"},
            "lines": [{"sku": "KETTLE", "qty": qty, "unit_price": price}]}


def balances(db: Database) -> list[tuple[str, dict[str, Any]]]:
    with db.read() as conn:
        rows = conn.execute(select(events.c.order_ref, events.c.data).where(events.c.type == "order_line.balance_due")
                            .order_by(events.c.id)).all()
    return [(r.order_ref, r.data) for r in rows]


def preorder_world(db: Database, now: datetime) -> None:
    with db.write() as conn:
        f.channel(conn, "web", now)
        catalog.put_sku(conn, "KETTLE", {"mode": "preorder", "release_date": now.date(), "handling_days": 0}, now)
        f.po(conn, "PO-K", now, ("KETTLE", 5, now.date() + timedelta(days=20)))


def test_balances_fall_due_in_queue_order_as_a_po_arrives_in_two_parts(db: Database, now: datetime) -> None:
    preorder_world(db, now)
    with api(db, now) as client:
        for ref, qty in (("ANN", 2), ("BEN", 1), ("CAT", 2)):
            placed = client.post("/v1/orders", json=deposit_order(ref, qty))
            assert placed.status_code == 201, placed.text
        assert balances(db) == []
        with db.write() as conn:
            purchasing.receive(conn, "PO-K", [{"line": 1, "qty": 2}], False, now)
        assert [r for r, _ in balances(db)] == ["ANN"]
        assert balances(db)[0][1] == {"amount": "70.00", "currency": "EUR", "terms": "deposit", "qty": 2}
        report = client.get("/v1/reports/payments").json()
        assert report["currencies"] == [{"currency": "EUR", "deposits_held": "30.00", "balance_due": "70.00",
                                         "balance_to_come": "100.00"}]
        with db.write() as conn:
            purchasing.receive(conn, "PO-K", [{"line": 1, "qty": 3}], False, now)
        assert [r for r, _ in balances(db)] == ["ANN", "BEN", "CAT"]
        assert [d["amount"] for _, d in balances(db)] == ["70.00", "30.00", "70.00"]
        with db.write() as conn:  # ready again after a recount: told once only
            f.receive(conn, "KETTLE", -1, now)
            f.receive(conn, "KETTLE", 1, now)
        assert len(balances(db)) == 3


def test_an_order_on_stock_already_here_has_its_balance_due_at_once(db: Database, now: datetime) -> None:
    preorder_world(db, now)
    with db.write() as conn:
        f.receive(conn, "KETTLE", 3, now)
    with api(db, now) as client:
        order = {**deposit_order("DAN", 1), "payment": {"terms": "on_ready", "currency": "usd"}}
        assert client.post("/v1/orders", json=order).status_code == 201
    assert balances(db) == [("DAN", {"amount": "40.00", "currency": "USD", "terms": "on_ready", "qty": 1})]


def test_bad_terms_and_bad_emails_are_refused_naming_the_field(db: Database, now: datetime) -> None:
    preorder_world(db, now)
    bad = [
        ({**deposit_order("E1", 1), "email": "not an address"}, "email"),
        ({**deposit_order("E2", 1), "payment": {"terms": "deposit", "currency": "EUR"}}, "payment.deposit"),
        ({**deposit_order("E3", 1), "payment": {"terms": "on_ready"}}, "payment.currency"),
        ({**deposit_order("E4", 1), "lines": [{"sku": "KETTLE", "qty": 1}]}, "lines.0.unit_price"),
        (deposit_order("E5", 1, deposit="100.00"), "payment.deposit"),
        ({**deposit_order("E6", 1), "payment": {"terms": "later"}}, "payment.terms"),
    ]
    with api(db, now) as client:
        for body, field in bad:
            answer = client.post("/v1/orders", json=body)
            assert answer.status_code == 422, (field, answer.text)
            assert field in answer.text, (field, answer.text)
            assert client.get(f"/v1/orders/{body['ref']}").status_code == 404  # nothing half-written


def test_a_small_deposit_over_equal_lines_is_held_to_the_cent_with_no_line_below_zero(db: Database,
                                                                                       now: datetime) -> None:
    # 2 cents over four 24-cent lines: a quarter of a cent each, which rounded half up gave 1 cent to
    # each of the first three and -1 to the last (then billed 25 cents for a 24-cent line).
    preorder_world(db, now)
    order = {**deposit_order("EVE", 1, price="0.24", deposit="0.02"),
             "lines": [{"sku": "KETTLE", "qty": 1, "unit_price": "0.24"}] * 4}
    with api(db, now) as client:
        assert client.post("/v1/orders", json=order).status_code == 201
        held = [line["deposit_held"] for line in client.get("/v1/reports/payments").json()["lines"]]
        assert held == ["0.01", "0.01", "0.00", "0.00"]  # a tie: the earliest lines take the cents
        with db.write() as conn:
            purchasing.receive(conn, "PO-K", [{"line": 1, "qty": 4}], False, now)
    amounts = [d["amount"] for _, d in balances(db)]
    assert sorted(amounts) == ["0.23", "0.23", "0.24", "0.24"]
