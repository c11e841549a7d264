"""Every dashboard page renders the demo, says what to do when empty, and stays paginated at volume."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from allot.demo import load_volume
from allot.services.overview import PER_PAGE
from allot.store.db import Database
from tests.fresh_db import load_demo
from tests.web.helpers import dashboard, make_key, sign_in

PAGES = ["/skus", "/skus?q=lamp&mode=preorder", "/skus/AURORA-LAMP", "/skus/AURORA-LAMP?page=2",
         "/purchase-orders", "/purchase-orders?status=open", "/purchase-orders/PO-1002", "/purchase-orders/new",
         "/orders", "/orders?q=customer12", "/orders/W-1200", "/at-risk", "/at-risk?days=30"]



def test_every_page_renders_the_demo_with_security_headers(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        sign_in(client, make_key(db, now, "ops"))
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text[:500])
            assert "default-src 'self'" in answer.headers["content-security-policy"]
            assert answer.headers["cache-control"] == "no-store"
            assert answer.headers["server-timing"].startswith("app;dur=")


def test_the_sku_table_flags_oversold_and_filters_by_mode(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        sign_in(client, make_key(db, now, "viewer"))
        page = client.get("/skus").text
        assert 'class="oversold"' in page and "Oversold by" in page
        stock_only = client.get("/skus?mode=stock").text
        assert "CANVAS-TOTE" in stock_only and "AURORA-LAMP" not in stock_only


def test_empty_states_say_what_to_do_next(db: Database, now: datetime) -> None:
    with dashboard(db, now) as client:
        sign_in(client, make_key(db, now, "ops"))
        assert "allot demo" in client.get("/skus").text
        assert "Create the first one" in client.get("/purchase-orders").text
        assert "POST /v1/orders" in client.get("/orders").text
        risk = client.get("/at-risk").text
        assert "No SKU is oversold" in risk and "No customer is being asked" in risk and "not yet available" not in risk
        missing = client.get("/skus/NOPE")
        assert missing.status_code == 404 and "Search the SKU list" in missing.text
        assert client.get("/orders/NOPE").status_code == 404


def test_an_order_explains_its_promise(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        sign_in(client, make_key(db, now, "viewer"))
        page = client.get("/orders/W-1200").text
    assert "in the queue" in page and "Promise history" in page and "order_line.promised" in page


def test_looking_up_an_exact_ref_goes_straight_to_the_order(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        sign_in(client, make_key(db, now, "viewer"))
        answer = client.get("/orders?q=w-1200")
    assert answer.status_code == 303 and answer.headers["location"] == "/orders/W-1200"


def test_with_ten_thousand_order_lines_every_list_is_one_bounded_page(db: Database, now: datetime) -> None:
    load_demo(db, now)
    load_volume(db, now, 10_000)
    with dashboard(db, now) as client:
        sign_in(client, make_key(db, now, "ops"))
        sku = client.get("/skus/AURORA-LAMP").text
        queue = sku.split('id="queue-h"', 1)[1].split("</table>", 1)[0]
        assert queue.count("<tr class=\"row-") == PER_PAGE and "Page 1 of" in sku
        last = int(re.search(r"Page 1 of (\d+)", sku).group(1))  # type: ignore[union-attr]
        assert last > 100 and f"Page {last} of {last}" in client.get(f"/skus/AURORA-LAMP?page={last}").text
        orders = client.get("/orders").text
        assert orders.count("<th scope=\"row\">") == PER_PAGE
        risk = client.get("/at-risk?days=60").text
        for section in risk.split("<section")[1:]:
            assert section.count("<tr><td>") + section.count('<tr class="oversold">') <= PER_PAGE
        assert "Page 1 of" in risk


@pytest.mark.parametrize("nonsense", ["abc", "-5", "99999999"])
def test_a_nonsense_page_number_shows_a_real_page(db: Database, now: datetime, nonsense: str) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        sign_in(client, make_key(db, now, "viewer"))
        assert client.get(f"/skus/AURORA-LAMP?page={nonsense}").status_code == 200
