"""Insight in a real browser: the Reports page, a SKU's forecast chart, and reorder → draft PO → saved,
at desktop and phone width (screenshots under test-artifacts/, which git ignores)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import DESKTOP, PHONE, SHOTS, Site
from tests.browser.test_dashboard import signed_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def history(site: Site) -> None:
    """Sixty days of the mug selling 30 a day: more than its stock covers, so it must be reordered."""
    today = datetime.now(UTC).date()
    rows = "".join(f"TERRA-MUG,web,{today - timedelta(days=d)},30\n" for d in range(1, 61))
    with httpx.Client(base_url=site.base, headers={"Authorization": f"Bearer {site.admin}"}) as api:
        answer = api.post("/v1/imports/sales-history", content=("sku,channel,date,qty\n" + rows).encode(),
                          headers={"Content-Type": "text/csv"})
        assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_reports_page_and_a_forecast_chart_read_at_any_width(browser: Browser, site: Site, history: None,
                                                                 viewport: dict[str, int]) -> None:
    context, page = signed_in(browser, site, site.viewer, viewport)
    width = viewport["width"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto("/reports")
    expect(page.get_by_role("heading", name="Promise kept per week")).to_be_visible()
    expect(page.get_by_role("heading", name="Slip by supplier")).to_be_visible()
    expect(page.get_by_role("img", name="Mean days late per supplier")).to_be_visible()
    page.screenshot(path=str(SHOTS / f"reports-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.goto("/skus/TERRA-MUG")
    chart = page.get_by_role("img", name="Demand ahead for TERRA-MUG")
    expect(chart).to_be_visible()  # the forecast panel arrived after the page loaded
    expect(page.locator(".forecast-panel figcaption")).to_contain_text("method: steady")
    chart.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"forecast-{width}.png"), full_page=True)
    page.locator("#forecast").screenshot(path=str(SHOTS / f"forecast-panel-{width}.png"))
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    context.close()


def test_a_reorder_suggestion_becomes_a_saved_purchase_order(browser: Browser, site: Site, history: None) -> None:
    context, page = signed_in(browser, site, site.admin, PHONE)
    page.get_by_role("link", name="Reorder").click()
    row = page.locator("#reorder tbody tr", has_text="TERRA-MUG")
    expect(row).to_be_visible()
    suggested = row.locator("td").nth(2).inner_text()
    assert int(suggested) > 0
    page.screenshot(path=str(SHOTS / "reorder-390.png"), full_page=True)
    row.get_by_role("link", name="Draft PO").click()
    expect(page.get_by_role("heading", name="Draft purchase order TERRA-MUG")).to_be_visible()
    expect(page.get_by_label("Quantity")).to_have_value(suggested)
    page.get_by_label("Supplier (optional)").fill("Terra Ceramics")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("Nothing has been saved yet")).to_be_visible()
    page.screenshot(path=str(SHOTS / "reorder-preview-390.png"), full_page=True)
    page.get_by_role("button", name="Confirm and save").click()
    expect(page.get_by_text("Purchase order created.")).to_be_visible()
    expect(page.get_by_text("Terra Ceramics")).to_be_visible()
    page.screenshot(path=str(SHOTS / "reorder-po-390.png"), full_page=True)
    context.close()
