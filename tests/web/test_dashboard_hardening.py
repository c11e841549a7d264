"""Small holes in the dashboard, closed: NUL bytes, extra form fields in the audit log, sign-in guessing."""
from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from allot.api.app import create_app
from allot.settings import Settings
from allot.store.db import Database
from allot.store.tables import audit_log
from tests.fresh_db import load_demo
from tests.web.helpers import csrf_of, dashboard, make_key, sign_in
from tests.web.test_purchase_orders import confirm_fields, create_po


def test_nul_bytes_in_paths_searches_and_forms_are_refused_not_a_server_error(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        csrf = sign_in(client, make_key(db, now, "ops"))
        for path in ("/skus/A%00B", "/orders/W%00", "/purchase-orders/PO%00"):
            assert client.get(path).status_code == 404, path
        for path, query in (("/skus", "q=%00"), ("/orders", "q=a%00b"), ("/holds", "sku=%00"),
                            ("/at-risk", "days=%00")):
            assert client.get(f"{path}?{query}").status_code == 422, path
        answer = client.post("/holds/release", data={"csrf": csrf, "sku": "A\x00B"})
        assert answer.status_code == 422
        assert client.get("/v1/skus/A%00B", headers={"Authorization": "Bearer x"}).status_code == 404


def test_a_confirmed_change_audits_only_the_fields_it_reads(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        csrf = sign_in(client, make_key(db, now, "ops"))
        due = (now.date() + timedelta(days=20)).isoformat()
        create_po(client, csrf, "PO-EXTRA", "TERRA-MUG", 12, due)
        page = client.post("/purchase-orders/PO-EXTRA/receipts/preview", data={"csrf": csrf, "receive_1": "5"}).text
        fields = {**confirm_fields(page), "note": "<script>alert(1)</script>", "receive_99": "7", "x" * 50: "y" * 5000}
        assert client.post("/purchase-orders/PO-EXTRA/receipts", data=fields).status_code == 303
    with db.read() as conn:
        entry = conn.execute(select(audit_log).order_by(audit_log.c.id.desc())).first()
    assert entry is not None and entry.action == "commit_receipt"
    assert set(entry.summary["body"]) == {"close_short", "receive_1"}, entry.summary


def test_sign_in_guessing_is_throttled_per_address_and_logged(db: Database, now: datetime, caplog: object) -> None:
    secret = make_key(db, now, "ops")
    app = create_app(Settings(database_url=db.url, auth_failures_per_minute=3), clock=lambda: now, sweep=False)
    with TestClient(app, follow_redirects=False) as client:
        token = csrf_of(client.get("/signin").text)
        for _ in range(3):
            assert client.post("/signin", data={"csrf": token, "api_key": "guess"}).status_code == 401
        blocked = client.post("/signin", data={"csrf": token, "api_key": secret})
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        assert "Too many failed sign-ins" in blocked.text
    logged = " ".join(r.getMessage() for r in caplog.records)  # type: ignore[attr-defined]
    assert "refused a dashboard sign-in" in logged and "guess" not in logged
