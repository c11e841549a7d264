"""Insight pages in-process: the reorder list as CSV, its draft PO filled in, the Reports CSV files."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from allot.store.db import Database
from allot.store.tables import sales_history, skus
from tests import factories as f
from tests.web.helpers import csrf_of, dashboard, make_key, sign_in

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_the_reorder_list_exports_and_drafts_the_suggested_po(db: Database) -> None:
    with db.write() as conn:
        f.channel(conn, "web", NOW)
        f.sku(conn, "MUG", NOW)
        f.receive(conn, "MUG", 100, NOW)
        sku_id: int = conn.execute(select(skus.c.id).where(skus.c.sku == "MUG")).scalar_one()
        conn.execute(insert(sales_history), [{"sku_id": sku_id, "channel": "web", "qty": 10,
                                              "date": NOW.date() - timedelta(days=d)} for d in range(1, 91)])
    secret = make_key(db, NOW, "ops")
    with dashboard(db, NOW) as client:
        sign_in(client, secret)
        listed = client.get("/reorder.csv", params={"service_level": "0.9"})
        assert listed.status_code == 200 and listed.headers["content-type"].startswith("text/csv")
        lines = listed.text.splitlines()
        assert lines[0].startswith("sku,order_by,run_out_date,suggested_qty")
        assert lines[1].startswith("MUG,2026-05-28,2026-06-11,320,")
        draft = client.get("/reorder/MUG/draft", params={"service_level": "0.9"})
        assert draft.status_code == 200
        assert 'name="qty" type="number" min="1" inputmode="numeric" required value="320"' in draft.text
        assert 'value="2026-06-15"' in draft.text  # lead days from today
        csrf = csrf_of(draft.text)
        draft_po = {"csrf": csrf, "ref": "PO-MUG-1", "supplier": "Terra", "qty": "320", "expected_date": "2026-06-15"}
        shown = client.post("/reorder/MUG/draft/preview", data=draft_po)
        assert shown.status_code == 200 and "Nothing has been saved yet" in shown.text
        assert client.get("/purchase-orders/PO-MUG-1").status_code == 404  # a preview saves nothing
        nonce = re.search(r'name="nonce" value="([^"]+)"', shown.text)
        assert nonce, "the preview carries a one-time token"
        saved = client.post("/reorder/MUG/draft", data={**draft_po, "nonce": nonce.group(1)})
        assert saved.status_code == 303 and saved.headers["location"].startswith("/purchase-orders/PO-MUG-1?")
        assert client.post("/reorder/MUG/draft/preview", data={**draft_po, "qty": "0"}).status_code == 422
        weekly = client.get("/reports.csv", params={"table": "weekly"})
        assert weekly.text.splitlines()[0] == "week,shipped_units,promise_kept"
        assert client.get("/reports.csv", params={"table": "nope"}).status_code == 422
        assert client.get("/reports", params={"from": "2026-06-02", "to": "2026-06-01"}).status_code == 422
        report = client.get("/reports", params={"from": "2026-05-04", "to": "2026-05-17"}).text
        # Weeks are days like any other (docs/dashboard.md): ISO on the chart's axis and in its table.
        assert 'text-anchor="middle">2026-05-11</text>' in report and '<th scope="row">2026-05-11</th>' in report
