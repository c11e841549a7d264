"""The holds page: ops see a key's holds and release them; the release is audited and gives the units back."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from allot.services import keys, reports, selling
from allot.store.db import Database
from allot.store.tables import audit_log
from tests import factories as f
from tests.web.helpers import dashboard, make_key, sign_in


def test_ops_find_a_keys_holds_and_release_them_from_the_dashboard(db: Database, now: datetime) -> None:
    with db.write() as conn:
        f.channel(conn, "web", now)
        f.sku(conn, "LAMP", now, mode="stock")
        f.receive(conn, "LAMP", 4, now)
        shop = keys.create(conn, "shop", "storefront", ["web"], now)
        held = selling.place_hold(conn, "LAMP", 4, "web", 900, now, shop["id"])
    with dashboard(db, now) as client:
        csrf = sign_in(client, make_key(db, now, "ops"))
        page = client.get("/holds", params={"key": shop["id"]})
        assert page.status_code == 200 and held["id"] in page.text and "Release every live hold" in page.text
        answer = client.post("/holds/release", data={"csrf": csrf, "key": str(shop["id"])})
        assert answer.status_code == 303
        assert "Released 1 hold" in client.get(answer.headers["location"]).text
    with db.read() as conn:
        assert selling.get_hold(conn, held["id"], now)["status"] == "released"
        entry = conn.execute(select(audit_log).order_by(audit_log.c.id.desc())).first()
    assert entry is not None and entry.action == "release_holds" and entry.summary["body"]["key_id"] == shop["id"]
    assert reports.current_availability(db, "LAMP", "web", now)["available"] == 4
