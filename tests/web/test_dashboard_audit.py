"""Changes made on the dashboard are in the audit log, with who made them; previews and repeats are not."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from allot.store.db import Database
from allot.store.tables import audit_log
from tests.fresh_db import load_demo
from tests.web.helpers import dashboard, make_key, sign_in
from tests.web.test_purchase_orders import confirm_fields, create_po


def audited(db: Database) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(select(audit_log).order_by(audit_log.c.id)))


def test_a_po_made_and_received_on_the_dashboard_is_audited_once_each(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        csrf = sign_in(client, make_key(db, now, "ops"))
        due = (now.date() + timedelta(days=20)).isoformat()
        create_po(client, csrf, "PO-AUD", "TERRA-MUG", 12, due)
        page = client.post("/purchase-orders/PO-AUD/receipts/preview", data={"csrf": csrf, "receive_1": "5"}).text
        assert len(audited(db)) == 1  # a preview writes nothing, so it is not audited
        for _ in range(2):  # a double click: booked once, audited once
            assert client.post("/purchase-orders/PO-AUD/receipts", data=confirm_fields(page)).status_code == 303
    made, received = audited(db)
    assert (made.role, made.key_name, made.method, made.path, made.action, made.status) == (
        "ops", "ops-key", "POST", "/purchase-orders", "po_create", 303)
    assert made.summary["body"]["ref"] == "PO-AUD" and made.summary["body"]["lines"][0]["qty"] == 12
    assert "csrf" not in str(made.summary) and len(made.request_id) == 32
    assert (received.path, received.action) == ("/purchase-orders/PO-AUD/receipts", "commit_receipt")
    assert received.summary["params"] == {"ref": "PO-AUD"} and received.summary["body"]["receive_1"] == "5"
    assert received.api_key_id == made.api_key_id is not None
