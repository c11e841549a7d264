"""Transfer pages commit through the shared confirm step: its one-time token makes a double click or
a reload apply a create or a receipt once and show the first result (not a 'ref in use' page)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select

from allot.services import locations
from allot.store.db import Database
from allot.store.tables import audit_log
from tests.factories import receive, sku
from tests.web.helpers import dashboard, make_key, sign_in

NONCE = re.compile(r'name="nonce" value="([^"]+)"')


def test_a_double_submitted_transfer_is_created_and_received_once(db: Database, now: datetime) -> None:
    with db.write() as conn:
        locations.put(conn, "tp-3pl", None, 0, now)
        sku(conn, "TP-LAMP", now, mode="stock")
        receive(conn, "TP-LAMP", 10, now)
    form = {"ref": "T:1", "from": "main", "to": "tp-3pl", "sku_1": "TP-LAMP", "qty_1": "4",
            "expected_date": (now.date() + timedelta(days=3)).isoformat()}
    with dashboard(db, now) as client:
        csrf = sign_in(client, make_key(db, now, "ops"))
        preview = client.post("/transfers/preview", data={"csrf": csrf, **form})
        assert preview.status_code == 200, preview.text
        token = NONCE.search(preview.text)
        assert token, "the confirm form carries a one-time token"
        confirm = {"csrf": csrf, "nonce": token.group(1), **form}
        first, again = client.post("/transfers", data=confirm), client.post("/transfers", data=confirm)
        assert first.status_code == again.status_code == 303, again.text
        assert first.headers["location"] == again.headers["location"]
        assert first.headers["location"].startswith("/transfers/T%3A1?notice=created")
        page = client.get("/transfers/T:1")
        token = NONCE.search(page.text)
        assert token, "the receive form carries a one-time token"
        receipt = {"csrf": csrf, "nonce": token.group(1)}
        first, again = client.post("/transfers/T:1/receipts", data=receipt), \
            client.post("/transfers/T:1/receipts", data=receipt)
        assert first.status_code == again.status_code == 303, again.text
        assert "notice=received" in again.headers["location"]
        # a new confirm (a new token) of a transfer already received is refused on its page, saying why
        refused = client.post("/transfers/T:1/receipts", data={"csrf": csrf, "nonce": "another"})
        assert refused.status_code == 409 and 'role="alert"' in refused.text
    with db.read() as conn:
        audited = conn.execute(select(func.count()).select_from(audit_log)
                               .where(audit_log.c.path.like("/transfers%"))).scalar_one()
    assert audited == 2  # one create, one receipt
