"""A drop window's countdown ticks in a real browser, then says the window is open."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site
from tests.browser.test_dashboard import signed_in

pytestmark = pytest.mark.browser


@pytest.fixture
def viewer(browser: Browser, site: Site) -> Iterator[Page]:
    context, page = signed_in(browser, site, site.viewer)
    yield page
    context.close()


def test_the_countdown_to_a_window_ticks_down_to_now(viewer: Page, site: Site) -> None:
    opens = datetime.now(UTC) + timedelta(seconds=4)
    with httpx.Client(base_url=site.base, headers={"Authorization": f"Bearer {site.admin}"}) as api:
        assert api.put("/v1/skus/DROP-TEE", json={"mode": "stock"}).status_code in (200, 201)
        assert api.put("/v1/channels/drop-web", json={"allow_backorder": False, "allow_preorder": False}
                       ).status_code in (200, 201)
        assert api.put("/v1/skus/DROP-TEE/channels/drop-web", json={"opens_at": opens.isoformat()}
                       ).status_code in (200, 201)
    viewer.goto("/skus/DROP-TEE")
    countdown = viewer.locator("#windows time[data-countdown]")
    expect(countdown).to_contain_text(" s")
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3000)  # it moves without a reload
    expect(countdown).to_have_text("now", timeout=8000)
