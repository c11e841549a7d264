"""The channel page in a real browser: a connected shop's push health, readable on a phone too."""
from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import PHONE, SHOTS, Site
from tests.browser.test_dashboard import signed_in
from tests.shop_standins import ShopifyStandIn

pytestmark = pytest.mark.browser
TOKEN = "shpat_browser-token-31c9"


@pytest.fixture
def connected(site: Site) -> Iterator[ShopifyStandIn]:
    """The demo's `web` channel connected to a stand-in shop that has only the lamp."""
    shop = ShopifyStandIn(TOKEN)
    shop.add("AURORA-LAMP", 0)
    with httpx.Client(base_url=site.base, headers={"Authorization": f"Bearer {site.admin}"}) as api:
        api.put("/v1/channels/web/storefront", json={
            "platform": "shopify", "secret": "whsec", "shop": "demo.myshopify.com", "admin_token": TOKEN,
            "location_id": "1", "api_base": shop.base}).raise_for_status()
        deadline = time.monotonic() + 15
        while not api.get("/v1/channels/web/storefront").json()["push"]["last_push_at"]:
            assert time.monotonic() < deadline, "no push"
            time.sleep(0.1)
    yield shop
    shop.close()


def test_the_channel_page_shows_the_push_health_on_a_phone(browser: Browser, site: Site,
                                                          connected: ShopifyStandIn) -> None:
    context, page = signed_in(browser, site, site.viewer, PHONE)
    page.get_by_role("link", name="Channels").click()
    page.get_by_role("link", name="web", exact=True).click()
    expect(page.get_by_role("heading", name="Stock pushed to the shop")).to_be_visible()
    expect(page.get_by_text("Working: the shop's counts follow Allot's availability.")).to_be_visible()
    expect(page.get_by_role("link", name="TERRA-MUG")).to_be_visible()  # the shop has no mug
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "channel-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert TOKEN not in page.content()
    context.close()
