"""Locations in a real browser (issue #13): a SKU at two locations, a transfer created with a
preview and received, per-location columns and the location filter on the SKU page, and where each
line ships from on the order page. Screenshots go to test-artifacts/screenshots (not committed)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, Site
from tests.browser.test_dashboard import shoot, signed_in

pytestmark = pytest.mark.browser


@pytest.fixture
def ops(browser: Browser, site: Site) -> Iterator[Page]:
    context, page = signed_in(browser, site, site.admin)
    yield page
    context.close()


def test_a_transfer_to_a_3pl_previewed_received_and_shipped_from_there(ops: Page, site: Site) -> None:
    arrives = datetime.now(UTC).date() + timedelta(days=5)
    with httpx.Client(base_url=site.base, headers={"Authorization": f"Bearer {site.admin}"}) as api:
        assert api.put("/v1/locations/3pl", json={"name": "Third party", "handling_days": 1}).status_code in (200, 201)
        assert api.put("/v1/skus/LOC-LAMP", json={"mode": "backorder", "handling_days": 1}).status_code in (200, 201)
        assert api.post("/v1/stock/adjustments", json={"sku": "LOC-LAMP", "delta": 30, "reason": "in"}).status_code == 201
        assert api.put("/v1/channels/market", json={"allow_backorder": True, "allow_preorder": False,
                                                    "locations": ["3pl"]}).status_code in (200, 201)

        ops.goto("/transfers")
        ops.get_by_label("Reference").fill("T-LAMP")
        ops.get_by_label("From").select_option("main")
        ops.get_by_label("To").select_option("3pl")
        ops.get_by_label("Arrives").fill(arrives.isoformat())
        ops.get_by_label("Line 1 SKU").fill("LOC-LAMP")
        ops.get_by_label("Quantity").first.fill("20")
        ops.get_by_role("button", name="Preview transfer").click()
        expect(ops.get_by_role("heading", level=1)).to_contain_text("Preview: transfer T-LAMP")
        expect(ops.locator("#preview-summary")).to_contain_text("Nothing is saved yet")
        shoot(ops, "transfer-preview", DESKTOP["width"])
        assert api.get("/v1/transfers/T-LAMP").status_code == 404  # the preview saved nothing
        ops.get_by_role("button", name="Create transfer").click()
        expect(ops.get_by_role("status")).to_contain_text("Transfer created")

        placed = api.post("/v1/orders", json={"ref": "MKT-1", "channel": "market",
                                              "lines": [{"sku": "LOC-LAMP", "qty": 5}]})
        assert placed.status_code == 201, placed.text
        assert api.post("/v1/orders", json={"ref": "WEB-LOC", "channel": "web",
                                            "lines": [{"sku": "LOC-LAMP", "qty": 2}]}).status_code == 201

    ops.goto("/skus/LOC-LAMP")
    rows = ops.locator("#by-location tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("main")
    expect(rows.nth(1)).to_contain_text("3pl")
    expect(rows.nth(1).locator("td").nth(1)).to_have_text("20")  # incoming at the 3pl
    expect(rows.nth(0).locator("td").nth(0)).to_have_text("10")  # on hand left at main
    ops.get_by_label("Show the queue at").select_option("3pl")
    ops.get_by_role("button", name="Filter").click()
    queue = ops.locator("table.queue tbody tr")
    expect(queue).to_have_count(1)
    expect(queue.first).to_contain_text("MKT-1")
    expect(queue.first).to_contain_text("transfer T-LAMP at 3pl")
    shoot(ops, "sku-locations", DESKTOP["width"])

    ops.goto("/transfers/T-LAMP")
    ops.get_by_role("button", name="Receive everything at 3pl").click()
    expect(ops.get_by_role("status")).to_contain_text("Received at 3pl")

    ops.goto("/orders/MKT-1")
    expect(ops.locator(".ships-from")).to_contain_text("3pl 5 (on hand)")
    shoot(ops, "order-ships-from", DESKTOP["width"])
    ops.goto("/orders/WEB-LOC")
    expect(ops.locator(".ships-from")).to_contain_text("main 2")
