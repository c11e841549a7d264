"""Changing supply from the dashboard: preview first (nothing written), then confirm exactly once."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from allot.services import catalog, purchasing
from allot.store.db import Database
from allot.store.tables import events
from tests.fresh_db import load_demo
from tests.web.helpers import dashboard, make_key, sign_in

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def event_count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def confirm_fields(preview_html: str) -> dict[str, str]:
    form = preview_html.split('class="confirm"', 1)[1].split("</form>", 1)[0]
    return dict(HIDDEN.findall(form))


def create_po(client: TestClient, csrf: str, ref: str, sku: str, qty: int, due: str) -> str:
    answer = client.post("/purchase-orders", data={"csrf": csrf, "ref": ref, "supplier": "Acme",
                                                   "line_sku_1": sku, "line_qty_1": str(qty), "line_date_1": due})
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def test_creating_a_po_covers_backordered_customers_and_says_so(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        csrf = sign_in(client, make_key(db, now, "ops"))
        where = create_po(client, csrf, "PO-NEW", "AURORA-LAMP", 50, (now.date() + timedelta(days=20)).isoformat())
        assert where.startswith("/purchase-orders/PO-NEW?notice=created") and "covered=0" not in where
        assert "newly covered" in client.get(where).text


def test_a_bad_new_po_is_shown_again_with_the_reason(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        csrf = sign_in(client, make_key(db, now, "ops"))
        answer = client.post("/purchase-orders", data={"csrf": csrf, "ref": "PO-1001", "line_sku_1": "AURORA-LAMP",
                                                       "line_qty_1": "5", "line_date_1": "2027-01-01"})
        assert answer.status_code == 422 and "already exists" in answer.text and 'value="PO-1001"' in answer.text


def test_a_slip_preview_lists_the_lines_that_move_and_writes_nothing(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        csrf = sign_in(client, make_key(db, now, "ops"))
        before = event_count(db)
        page = client.post("/purchase-orders/PO-1002/lines/1/preview",
                           data={"csrf": csrf, "expected_date": (now.date() + timedelta(days=44)).isoformat(),
                                 "qty": "150"}).text
        assert "+14 days" in page and "Nothing has been saved yet" in page
        moved = re.search(r"<strong>(\d+) line\(s\) change promise</strong>", page)
        assert moved and int(moved.group(1)) > 0 and page.count('data-label="Days">+14<') == min(50, int(moved.group(1)))
        assert event_count(db) == before
        with db.read() as conn:
            assert purchasing.get(conn, "PO-1002")["lines"][0]["expected_date"] == now.date() + timedelta(days=30)


def test_confirming_a_slip_re_promises_the_lines(db: Database, now: datetime) -> None:
    load_demo(db, now)
    later = now.date() + timedelta(days=44)
    with dashboard(db, now) as client:
        csrf = sign_in(client, make_key(db, now, "ops"))
        page = client.post("/purchase-orders/PO-1002/lines/1/preview",
                           data={"csrf": csrf, "expected_date": later.isoformat(), "qty": "150"}).text
        answer = client.post("/purchase-orders/PO-1002/lines/1", data=confirm_fields(page))
        assert answer.status_code == 303 and "notice=line_changed" in answer.headers["location"]
        queue = client.get("/skus/AURORA-LAMP?page=8").text
        assert (later + timedelta(days=2)).isoformat() in queue


def test_shrinking_a_po_line_previews_who_becomes_backordered(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        csrf = sign_in(client, make_key(db, now, "ops"))
        page = client.post("/purchase-orders/PO-1002/lines/1/preview", data={"csrf": csrf, "qty": "100"}).text
        found = re.search(r"<strong>(\d+) become backordered</strong>", page)
        assert found and int(found.group(1)) > 0 and "Quantity 150 → 100" in page


def test_a_receipt_confirmed_twice_is_booked_once(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        csrf = sign_in(client, make_key(db, now, "ops"))
        page = client.post("/purchase-orders/PO-1002/receipts/preview", data={"csrf": csrf, "receive_1": "10"}).text
        assert "receive 10 of 150" in page
        fields = confirm_fields(page)
        first = client.post("/purchase-orders/PO-1002/receipts", data=fields)
        second = client.post("/purchase-orders/PO-1002/receipts", data=fields)
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"]
    with db.read() as conn:
        assert catalog.get_sku(conn, "AURORA-LAMP")["on_hand"] == 340
        assert purchasing.get(conn, "PO-1002")["lines"][0]["received"] == 10


def test_a_refused_change_says_why_and_links_back(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        csrf = sign_in(client, make_key(db, now, "ops"))
        answer = client.post("/purchase-orders/PO-1001/lines/1/preview", data={"csrf": csrf, "qty": "5"})
        assert answer.status_code == 409 and "closed" in answer.text and 'href="/purchase-orders/PO-1001"' in answer.text
        empty = client.post("/purchase-orders/PO-1002/receipts/preview", data={"csrf": csrf, "receive_1": "0"})
        assert empty.status_code == 422 and "Enter how many units arrived" in empty.text
