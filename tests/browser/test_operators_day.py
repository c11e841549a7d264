"""The operator's day (#12) in a real browser: every dashboard action end to end, each role's view,
and every page photographed at desktop and phone width without sideways scrolling.

One server and one Chromium for the module (tests/browser/conftest.py); the world each test needs
is added to the demo through the real API first, so the tests do not depend on their order.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, SHOTS, Site
from tests.conftest import free_port

pytestmark = pytest.mark.browser
TODAY = datetime.now(UTC).date()


@dataclass(frozen=True)
class World:
    ops: str
    webhook: int


def _api(site: Site) -> httpx.Client:
    return httpx.Client(base_url=site.base, headers={"Authorization": f"Bearer {site.admin}"}, timeout=30)


def _ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else {}  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def world(site: Site) -> World:
    """On top of the demo: a channel that asks consent, a line waiting for it, a short SKU, an ops key, a webhook."""
    with _api(site) as api:
        _ok(api.put("/v1/channels/phone", json={"allow_backorder": True, "allow_preorder": True,
                                                "consent_after_days": 2, "consent_window_days": 5}))
        _ok(api.put("/v1/skus/DESK-KIT", json={"mode": "backorder", "name": "Desk kit"}))
        _ok(api.post("/v1/stock/adjustments", json={"sku": "DESK-KIT", "delta": 4, "reason": "opening stock"}))
        _ok(api.post("/v1/purchase-orders", json={"ref": "PO-KIT", "lines": [
            {"sku": "DESK-KIT", "qty": 10, "expected_date": (TODAY + timedelta(days=5)).isoformat()}]}))
        for ref, qty in (("PH-1", 3), ("PH-2", 4), ("PH-3", 2)):
            _ok(api.post("/v1/orders", json={"ref": ref, "channel": "phone", "customer": f"{ref.lower()}@example.com",
                                             "lines": [{"sku": "DESK-KIT", "qty": qty}]}))
        _ok(api.patch("/v1/purchase-orders/PO-KIT/lines/1",
                      json={"expected_date": (TODAY + timedelta(days=30)).isoformat()}))
        _ok(api.put("/v1/skus/SHORT-KIT", json={"mode": "backorder", "name": "Short kit"}))
        _ok(api.post("/v1/stock/adjustments", json={"sku": "SHORT-KIT", "delta": 3, "reason": "opening stock"}))
        for ref, qty in (("SK-1", 2), ("SK-2", 1)):
            _ok(api.post("/v1/orders", json={"ref": ref, "channel": "web", "lines": [{"sku": "SHORT-KIT", "qty": qty}]}))
        _ok(api.post("/v1/stock/adjustments", json={"sku": "SHORT-KIT", "delta": -2, "reason": "broken"}))
        ops = _ok(api.post("/v1/keys", json={"name": "Olga (ops)", "role": "ops"}))["secret"]
        hook = _ok(api.post("/v1/webhooks", json={"url": f"http://127.0.0.1:{free_port()}/gone",
                                                  "events": ["order_line.*"]}))["id"]
    return World(ops, hook)


def signed_in(browser: Browser, site: Site, key: str, viewport: dict[str, int] = DESKTOP) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport=viewport, base_url=site.base)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto("/signin")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="SKUs", exact=True)).to_be_visible()
    return context, page


@pytest.fixture(scope="module")
def admin(browser: Browser, site: Site, world: World) -> Iterator[Page]:
    context, page = signed_in(browser, site, site.admin)
    yield page
    context.close()


def confirm(page: Page, title: str) -> None:
    """On a preview: it names the change and saves nothing until confirmed."""
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Preview: {title}")
    expect(page.locator("#impact-summary")).to_contain_text("Nothing has been saved yet")
    page.get_by_role("button", name="Confirm and save").click()


def test_ship_and_cancel_an_order_from_its_page(admin: Page) -> None:
    admin.goto("/orders/M-2012")  # a mug line ready on the shelf
    admin.get_by_label(re.compile("Ship line 1")).fill("1")
    admin.get_by_role("button", name="Preview shipment").click()
    confirm(admin, "Ship on M-2012")
    expect(admin.locator("#notice")).to_contain_text("Shipped.")
    admin.goto("/orders/W-1300")
    admin.get_by_role("button", name="Preview cancelling the whole order").click()
    confirm(admin, "Cancel order W-1300")
    expect(admin.locator("#notice")).to_contain_text("Cancelled.")
    expect(admin.locator(".state").first).to_have_text("cancelled")


def test_answer_consent_for_the_customer_from_at_risk(admin: Page) -> None:
    admin.goto("/at-risk")
    rows = admin.locator("#consent-lines tbody tr")
    expect(rows.first).to_contain_text("left")
    rows.filter(has_text="PH-2").get_by_role("link", name="PH-2").click()
    admin.get_by_role("button", name="Preview: customer declines").click()
    expect(admin.locator(".change")).to_contain_text("declines")
    confirm(admin, "Answer consent on PH-2 line 1")
    expect(admin.locator("#notice")).to_contain_text("Answer recorded")
    expect(admin.locator(".events")).to_contain_text("Customer declined the later date")


def test_adjust_and_count_stock_with_a_preview(admin: Page) -> None:
    admin.goto("/skus/CANVAS-TOTE")
    admin.get_by_role("link", name="Adjust or count stock").click()
    admin.get_by_label("Change in units").fill("-3")
    admin.get_by_label("Reason", exact=True).first.fill("water damage")
    admin.get_by_role("button", name="Preview adjustment").click()
    expect(admin.locator(".change")).to_contain_text("(-3, water damage)")
    confirm(admin, "Adjust stock of CANVAS-TOTE")
    expect(admin.locator("#notice")).to_contain_text("Stock saved")
    admin.goto("/skus/CANVAS-TOTE/stock")
    admin.get_by_label("Units counted").fill("90")
    admin.get_by_role("button", name="Preview count").click()
    confirm(admin, "Stock count of CANVAS-TOTE")
    expect(admin.locator(".figures dd").first).to_have_text("90")


def test_change_sku_settings_and_see_promises_move_first(admin: Page) -> None:
    admin.goto("/skus/TERRA-MUG/settings")
    admin.get_by_label("Handling days").fill("4")
    admin.get_by_role("button", name="Preview settings").click()
    expect(admin.locator(".change")).to_contain_text("Handling days: 1 → 4")
    expect(admin.locator("#affected tbody tr").first).to_contain_text("+3")
    confirm(admin, "Change the settings of TERRA-MUG")
    expect(admin.locator(".settings")).to_contain_text("handling 4 day(s)")


def test_the_backordered_tail_keep_and_bulk_cancel_with_a_reason(admin: Page) -> None:
    admin.goto("/skus/SHORT-KIT/backordered")
    rows = admin.locator("#tail tbody tr")
    expect(rows.first).to_be_visible()
    admin.locator("#tail tbody input[type=checkbox]").first.check()
    admin.get_by_role("button", name="Keep waiting").click()
    expect(admin.locator("#notice")).to_contain_text("Kept waiting")
    admin.get_by_label("Which lines").select_option("all")
    admin.get_by_label(re.compile("^Reason")).fill("supplier discontinued the kit")
    admin.get_by_role("button", name="Preview cancelling").click()
    expect(admin.locator(".change")).to_contain_text("supplier discontinued the kit")
    confirm(admin, "Cancel backordered SHORT-KIT")
    expect(admin.locator("#notice")).to_contain_text("Backordered units cancelled")
    expect(admin.locator(".empty")).to_contain_text("No line of SHORT-KIT is short")


def test_channel_rules_previewed_and_a_quota_saved(admin: Page) -> None:
    admin.goto("/channels/wholesale")
    admin.get_by_role("link", name="Rules and quotas").click()
    admin.get_by_label("Padding days on every promise").fill("5")
    admin.get_by_role("button", name="Preview rules").click()
    expect(admin.locator(".change")).to_contain_text("Padding days: 3 → 5")
    confirm(admin, "Change the rules of channel wholesale")
    expect(admin.locator("#notice")).to_contain_text("Channel rules saved")
    admin.get_by_label("SKU", exact=True).fill("TERRA-MUG")
    admin.get_by_label("Quota (blank: no cap)").fill("12")
    admin.get_by_role("button", name="Save quota").click()
    expect(admin.locator("#notice")).to_contain_text("Quota saved")
    expect(admin.get_by_role("row", name=re.compile("TERRA-MUG"))).to_contain_text("12")


def test_release_holds_redeliver_webhooks_make_and_revoke_a_key_and_read_the_audit(admin: Page, site: Site,
                                                                                    world: World) -> None:
    with _api(site) as api:
        _ok(api.post("/v1/holds", json={"sku": "CANVAS-TOTE", "qty": 1, "channel": "amazon", "ttl_seconds": 600}))
    admin.goto("/holds?sku=CANVAS-TOTE")
    admin.get_by_role("button", name=re.compile("Release every live hold")).first.click()
    expect(admin.get_by_role("status")).to_contain_text("Released 1 hold")

    admin.goto("/webhooks")
    admin.get_by_role("link", name=f"#{world.webhook}").click()
    admin.get_by_role("button", name="Send every dead delivery again").click()
    expect(admin.locator("#notice")).to_contain_text("Queued for redelivery")
    for _ in range(40):  # the server's worker fans the events of the changes above out to the webhook
        if admin.locator("#deliveries button").count():
            break
        admin.wait_for_timeout(250)
        admin.goto(f"/webhooks/{world.webhook}")
    one = admin.locator("#deliveries button").first
    name = one.inner_text()
    one.click()
    expect(admin.locator("#notice")).to_contain_text("Queued for redelivery")
    assert name.startswith("Redeliver #")

    admin.goto("/keys")
    admin.get_by_label("Name").fill("temp reader")
    admin.get_by_label("Role").select_option("viewer")
    admin.get_by_role("button", name="Make key").click()
    expect(admin.locator("#secret")).to_contain_text("allot_")
    row = admin.locator("#key-list tbody tr", has_text="temp reader")
    row.get_by_role("button", name=re.compile("Revoke")).click()
    expect(admin.locator("#notice")).to_contain_text("Key revoked")
    expect(admin.locator("#key-list tbody tr", has_text="temp reader")).to_contain_text("revoked")

    admin.goto("/audit")
    expect(admin.locator("#audit-entries")).to_contain_text("key revoke")
    admin.get_by_label("Action").fill("commit_stock")
    admin.get_by_role("button", name="Show").click()
    expect(admin.locator("#audit-entries tbody tr").first).to_contain_text("commit stock")


def test_the_chart_reads_out_a_date_on_tap(admin: Page) -> None:
    admin.goto("/skus/AURORA-LAMP")
    expect(admin.locator("svg.atp .release-label")).to_contain_text("release")
    admin.locator("svg.atp .hit").last.click()
    expect(admin.locator("#atp-readout")).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d: supply \d+, promised \d+"))


def test_each_role_sees_what_it_may_do(browser: Browser, site: Site, world: World) -> None:
    context, viewer = signed_in(browser, site, site.viewer)
    for path in ("/orders/PH-1", "/skus/DESK-KIT", "/skus/AURORA-LAMP/backordered", "/at-risk", "/channels/web"):
        viewer.goto(path)
        assert viewer.locator("main form[method=post]").count() == 0, path
        assert viewer.get_by_role("button", name=re.compile("Preview|Keep|Release|Revoke")).count() == 0, path
    for path in ("/skus/DESK-KIT/settings", "/keys", "/audit", "/webhooks"):
        answer = viewer.goto(path)
        assert answer is not None and answer.status == 403, path
    expect(viewer.get_by_role("link", name="Keys")).to_have_count(0)
    context.close()

    context, ops = signed_in(browser, site, world.ops)
    ops.goto("/skus/DESK-KIT")
    expect(ops.get_by_role("link", name="Change settings")).to_be_visible()
    expect(ops.get_by_role("link", name="Audit")).to_have_count(0)
    answer = ops.goto("/keys")
    assert answer is not None and answer.status == 403
    context.close()

    context = browser.new_context(base_url=site.base)
    page = context.new_page()
    page.goto("/signin")
    with _api(site) as api:
        shop = _ok(api.post("/v1/keys", json={"name": "shop", "role": "storefront", "channels": ["web"]}))["secret"]
    page.get_by_label("API key").fill(shop)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("main")).to_contain_text("storefront key")
    context.close()


# Every page of the dashboard (admin's view), and a preview of each kind of change.
PAGES = {
    "skus": "/skus", "sku": "/skus/AURORA-LAMP", "sku-stock": "/skus/TERRA-MUG/stock",
    "sku-settings": "/skus/AURORA-LAMP/settings", "sku-backordered": "/skus/AURORA-LAMP/backordered",
    "purchase-orders": "/purchase-orders", "purchase-order": "/purchase-orders/PO-1002",
    "purchase-order-new": "/purchase-orders/new", "orders": "/orders", "order": "/orders/W-1200",
    "order-consent": "/orders/PH-1", "at-risk": "/at-risk?days=30", "holds": "/holds?status=",
    "channels": "/channels", "channel": "/channels/web", "channel-settings": "/channels/web/settings",
    "import": "/import", "webhooks": "/webhooks", "keys": "/keys", "audit": "/audit", "not-found": "/skus/NO-SUCH",
}
PREVIEWS = {  # name: (page, button to press)
    "preview-po-slip": ("/purchase-orders/PO-1002", "Preview change"),
    "preview-order-cancel": ("/orders/W-1201", "Preview cancelling the whole order"),
    "preview-settings": ("/skus/AURORA-LAMP/settings", "Preview settings"),
    "preview-channel": ("/channels/web/settings", "Preview rules"),
}
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_fits_the_screen_and_is_photographed(browser: Browser, site: Site, world: World,
                                                        viewport: dict[str, int]) -> None:
    context, page = signed_in(browser, site, site.admin, viewport)
    SHOTS.mkdir(parents=True, exist_ok=True)
    wide: list[str] = []
    for name, path in PAGES.items():
        page.goto(path)
        if name == "webhooks":
            page.goto(f"/webhooks/{world.webhook}")
            _shoot(page, "webhook", viewport, wide)
            page.goto(path)
        _shoot(page, name, viewport, wide)
    for name, (path, button) in PREVIEWS.items():
        page.goto(path)
        if name == "preview-po-slip":
            page.get_by_label("New date").fill((TODAY + timedelta(days=60)).isoformat())
        if name == "preview-settings":
            page.get_by_label("Handling days").fill("3")
        page.get_by_role("button", name=button).click()
        expect(page.locator("#impact-summary")).to_be_visible()
        _shoot(page, name, viewport, wide)
    context.close()
    assert not wide, f"pages that scroll sideways at {viewport['width']}px: {wide}"


def _shoot(page: Page, name: str, viewport: dict[str, int], wide: list[str]) -> None:
    overflow = page.evaluate(OVERFLOW)
    if overflow > 0:
        wide.append(f"{name} ({overflow}px)")
    page.screenshot(path=str(SHOTS / f"day-{name}-{viewport['width']}.png"), full_page=True)


def test_key_columns_stay_in_view_on_the_phone(browser: Browser, site: Site, world: World) -> None:
    """On a phone a wide table becomes one card per row: the SKU and its available count, an order's
    state and promise, are on screen without scrolling sideways."""
    context, page = signed_in(browser, site, site.admin, PHONE)
    for path, wanted in (("/skus", 'td[data-label="Available"]'), ("/orders", 'td[data-label="Lines"]'),
                         ("/skus/AURORA-LAMP", 'td[data-label="Promise"]')):
        page.goto(path)
        cell = page.locator(wanted).first
        expect(cell).to_be_visible()
        box = cell.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], (path, box)
    context.close()
