"""The customer's page at phone width, with and without JavaScript, and the template editor's live
preview, in a real browser against a real server (screenshots in test-artifacts/, never committed)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import DESKTOP, PHONE, SHOTS, Site
from tests.browser.test_dashboard import signed_in

pytestmark = pytest.mark.browser


def _api(site: Site) -> httpx.Client:
    return httpx.Client(base_url=site.base, headers={"Authorization": f"Bearer {site.admin}"}, timeout=30)


def a_delayed_order(site: Site) -> str:
    """An order whose line slipped past the channel's consent threshold: its page asks the customer."""
    today = date.today()
    with _api(site) as api:
        for path, body in [
            ("/v1/channels/shop-b", {"allow_backorder": True, "allow_preorder": True, "consent_after_days": 3,
                                     "consent_window_days": 5, "consent_default": "keep"}),
            ("/v1/skus/BROWSER-KETTLE", {"mode": "backorder", "name": "Copper kettle", "handling_days": 0}),
        ]:
            api.put(path, json=body).raise_for_status()
        api.put("/v1/channels/shop-b/messages", json={"from": "Kettle Co <hi@kettle.example>",
                                                      "send": ["consent_requested"], "customer_cancel": True})
        api.post("/v1/purchase-orders", json={"ref": "PO-BROWSER", "lines": [
            {"sku": "BROWSER-KETTLE", "qty": 5, "expected_date": (today + timedelta(days=10)).isoformat()}]})
        api.post("/v1/orders", json={
            "ref": "BR-1", "channel": "shop-b", "customer": "Robin", "email": "robin@example.org",
            "lines": [{"sku": "BROWSER-KETTLE", "qty": 2}, {"sku": "BROWSER-KETTLE", "qty": 1}]}).raise_for_status()
        api.patch("/v1/purchase-orders/PO-BROWSER/lines/1",
                  json={"expected_date": (today + timedelta(days=30)).isoformat()}).raise_for_status()
        url: str = api.get("/v1/orders/BR-1/link").json()["url"]
    return "/my/" + url.split("/my/", 1)[1]


def test_the_customer_page_works_on_a_phone_without_javascript(browser: Browser, site: Site) -> None:
    path = a_delayed_order(site)
    context = browser.new_context(viewport=PHONE, base_url=site.base, java_script_enabled=False)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(path)
    expect(page.get_by_role("heading", name="Your order BR-1")).to_be_visible()
    expect(page.get_by_role("heading", name="2 × Copper kettle")).to_be_visible()
    expect(page.get_by_text("Our supplier's delivery moved to a later date.").first).to_be_visible()
    asks = page.get_by_role("heading", name="Would you like to wait?")
    expect(asks).to_have_count(2)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "customer-page-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    small = page.evaluate("""Array.from(document.querySelectorAll('button')).filter(b => {
        const r = b.getBoundingClientRect(); return r.height < 44 || r.width < 44; }).length""")
    assert small == 0  # touch targets of at least 44 px
    page.locator("#line-1").get_by_role("button", name="Yes, I will wait").click()
    expect(page.get_by_role("status")).to_contain_text("we will keep your item")
    expect(page.get_by_role("heading", name="Would you like to wait?")).to_have_count(1)
    page.locator("#line-2").get_by_role("button", name="No, cancel this item").click()
    expect(page.get_by_role("status")).to_contain_text("we have cancelled that item")
    page.screenshot(path=str(SHOTS / "customer-page-answered-390.png"), full_page=True)
    with _api(site) as api:
        lines: list[dict[str, Any]] = api.get("/v1/orders/BR-1").json()["lines"]
    assert [(ln["consent_status"], ln["qty_cancelled"]) for ln in lines] == [("accepted", 0), ("rejected", 1)]
    page.goto(path[:-4] + "AAAA")
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    assert "BR-1" not in page.content()
    context.close()


def test_the_template_editor_previews_as_you_type_and_shows_what_does_not_render(
        browser: Browser, site: Site) -> None:
    context, page = signed_in(browser, site, site.admin, DESKTOP)
    page.goto("/channels/web/templates/promise_later")
    expect(page.locator(".preview .subject")).to_contain_text("SAMPLE-1001")
    page.get_by_label("Subject").fill("News about {{ order_ref }} from {{ shop }}")
    expect(page.locator(".preview .subject")).to_have_text("News about SAMPLE-1001 from web")
    page.get_by_label("Subject").fill("News about {{ order_number }}")
    expect(page.get_by_role("alert")).to_contain_text("'order_number' is undefined")
    page.get_by_label("Text").fill("Hello\n{% for l in lines %}\n{{ l.name }\n{% endfor %}")
    expect(page.get_by_role("alert")).to_contain_text("line 3")
    page.screenshot(path=str(SHOTS / "template-editor.png"), full_page=True)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("does not render")
    with _api(site) as api:
        assert api.get("/v1/channels/web/templates/promise_later").json()["custom"] is False
    context.close()
