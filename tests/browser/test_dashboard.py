"""The dashboard in a real browser: the slip story end to end, roles, CSRF, keyboard, screenshots."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, SHOTS, Site

pytestmark = pytest.mark.browser


def signed_in(browser: Browser, site: Site, key: str, viewport: dict[str, int] = DESKTOP) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport=viewport, base_url=site.base)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto("/signin")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="SKUs", exact=True)).to_be_visible()
    return context, page


@pytest.fixture
def ops(browser: Browser, site: Site) -> Iterator[Page]:
    context, page = signed_in(browser, site, site.admin)
    yield page
    context.close()


def shoot(page: Page, name: str, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def test_create_a_po_slip_it_with_a_preview_and_see_the_promises_move(ops: Page) -> None:
    today = datetime.now(UTC).date()
    ops.goto("/purchase-orders/new?sku=AURORA-LAMP")
    ops.get_by_label("Reference").fill("PO-SLIP")
    ops.get_by_label("Line 1 SKU").fill("AURORA-LAMP")
    ops.get_by_label("Quantity").first.fill("40")
    ops.get_by_label("Expected date").first.fill((today + timedelta(days=40)).isoformat())  # after PO-1002
    ops.get_by_role("button", name="Create purchase order").click()
    expect(ops.get_by_role("status")).to_contain_text("newly covered")

    slipped = today + timedelta(days=54)
    ops.get_by_label("New date").fill(slipped.isoformat())
    ops.get_by_role("button", name="Preview change").click()
    expect(ops.get_by_role("heading", level=1)).to_contain_text("Preview: Change PO-SLIP line 1")
    expect(ops.locator("#impact-summary")).to_contain_text("Nothing has been saved yet")
    affected = ops.locator("#affected tbody tr")
    assert affected.count() > 0
    first = affected.first.locator("th a").inner_text()
    expect(affected.first).to_contain_text("+14")
    old_promise = (today + timedelta(days=42)).isoformat()
    new_promise = (slipped + timedelta(days=2)).isoformat()  # + handling days
    expect(affected.first).to_contain_text(old_promise)
    shoot(ops, "preview", DESKTOP["width"])

    ops.get_by_role("button", name="Confirm and save").click()
    expect(ops.get_by_role("status")).to_contain_text("Line changed")

    ops.goto("/skus/AURORA-LAMP")
    last = re.search(r"Page 1 of (\d+)", ops.locator(".pager").first.inner_text())
    assert last, "the demo's queue spans several pages"
    ops.goto(f"/skus/AURORA-LAMP?page={last.group(1)}")  # the lines PO-SLIP covers are the tail of the queue
    row = ops.locator("table.queue tbody tr", has=ops.get_by_role("link", name=first, exact=True))
    expect(row.locator(".promise")).to_have_text(new_promise)
    ops.goto(f"/orders/{first}")
    expect(ops.locator(".promise").first).to_have_text(new_promise)
    expect(ops.locator(".events")).to_contain_text(
        f"PO-SLIP slipped 14 days: promise moved from {old_promise} to {new_promise}")


def test_a_viewer_sees_no_edit_controls(browser: Browser, site: Site) -> None:
    context, page = signed_in(browser, site, site.viewer)
    page.goto("/purchase-orders/PO-1002")
    expect(page.get_by_text("you can look")).to_be_visible()
    assert page.locator("form.inline, input[name^=receive_]").count() == 0
    assert page.get_by_role("button", name=re.compile("Preview")).count() == 0
    page.goto("/skus/AURORA-LAMP")
    assert page.get_by_role("link", name="New PO for this SKU").count() == 0
    page.goto("/purchase-orders")
    assert page.get_by_role("link", name="New purchase order").count() == 0
    answer = page.goto("/purchase-orders/new")
    assert answer is not None and answer.status == 403
    context.close()


def test_csrf_is_enforced_and_the_session_cookie_is_httponly_and_samesite(ops: Page) -> None:
    ops.goto("/purchase-orders/PO-1002")
    token = ops.locator("input[name=csrf]").first.get_attribute("value")
    for forged in ({}, {"csrf": "not-the-token"}):
        answer = ops.request.post("/purchase-orders/PO-1002/lines/1", form={**forged, "expected_date": "2030-01-01"})
        assert answer.status == 403 and "security token" in answer.text()
    ops.reload()
    expect(ops.locator("tbody")).not_to_contain_text("2030-01-01")
    assert token
    cookie = next(c for c in ops.context.cookies() if c["name"] == "allot_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert ops.evaluate("document.cookie") == ""


def test_the_keyboard_reaches_the_content_first(ops: Page) -> None:
    ops.goto("/skus")
    ops.keyboard.press("Tab")
    expect(ops.locator(".skip")).to_be_focused()
    ops.keyboard.press("Enter")
    ops.keyboard.press("Tab")
    expect(ops.get_by_label("Search SKU or name")).to_be_focused()


def test_search_filters_the_sku_table_as_you_type(ops: Page) -> None:
    ops.goto("/skus")
    ops.get_by_label("Search SKU or name").fill("mug")
    expect(ops.locator("#sku-results tbody tr")).to_have_count(1)
    expect(ops.locator("#sku-results")).to_contain_text("TERRA-MUG")
    assert "q=mug" in ops.url


PAGES = {
    "signin": "/signin", "skus": "/skus", "sku": "/skus/AURORA-LAMP", "purchase-orders": "/purchase-orders",
    "purchase-order": "/purchase-orders/PO-1002", "purchase-order-new": "/purchase-orders/new",
    "orders": "/orders", "order": "/orders/W-1200", "at-risk": "/at-risk?days=30", "not-found": "/skus/NO-SUCH-SKU",
}
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label')).map(el => el.name || el.id)"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_is_labelled_fits_the_screen_and_is_photographed(browser: Browser, site: Site,
                                                                     viewport: dict[str, Any]) -> None:
    context, page = signed_in(browser, site, site.admin, viewport)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    for name, path in PAGES.items():
        if name == "signin":
            page.context.clear_cookies()
        page.goto(path)
        assert page.evaluate(UNLABELLED) == [], f"{path}: inputs without a label"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {viewport['width']}px"
        shoot(page, name, viewport["width"])
        if name == "sku" and viewport is DESKTOP:  # the README's picture: the first screen of a SKU
            page.screenshot(path=str(SHOTS / "sku-first-screen-1280.png"))
        if name == "signin":
            page.get_by_label("API key").fill(site.admin)
            page.get_by_role("button", name="Sign in").click()
    page.goto("/purchase-orders/PO-1002")
    page.get_by_label("New date").fill((datetime.now(UTC).date() + timedelta(days=60)).isoformat())
    page.get_by_role("button", name="Preview change").click()
    shoot(page, "preview", viewport["width"])
    context.close()
    assert [e for e in errors if "404" not in e] == []  # no CSP violation, no script error (the 404 page is expected)
