"""The Import page in a real browser: a bad file shows every bad row and writes nothing; a good
file is previewed, confirmed, and its data is there."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site
from tests.browser.test_dashboard import signed_in

pytestmark = pytest.mark.browser


@pytest.fixture
def ops(browser: Browser, site: Site) -> Iterator[Page]:
    context, page = signed_in(browser, site, site.admin)
    yield page
    context.close()


def upload(page: Page, kind: str, path: Path) -> None:
    page.goto("/import")
    page.get_by_label("The file holds").select_option(kind)
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Preview import").click()


def order(site: Site, ref: str) -> httpx.Response:
    return httpx.get(f"{site.base}/v1/orders/{ref}", headers={"Authorization": f"Bearer {site.admin}"})


def test_a_bad_file_lists_every_bad_row_and_writes_nothing(ops: Page, site: Site, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"ref,channel,sku,qty\nIMP-1,web,TERRA-MUG,1\nIMP-2,web,TERRA-MUG,-1\nIMP-3,web,NOPE,1\n"
                    b"IMP-4,nowhere,TERRA-MUG,1\n")
    upload(ops, "orders", bad)
    expect(ops.locator("#import-problems-summary")).to_contain_text("3 problem(s)")
    rows = ops.locator("#import-problems tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("qty")
    expect(rows.nth(1)).to_contain_text("unknown SKU")
    expect(rows.nth(2)).to_contain_text("unknown channel")
    assert order(site, "IMP-1").status_code == 404


def test_a_good_file_is_previewed_then_confirmed_and_its_data_is_there(ops: Page, site: Site, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes(b"ref,channel,sku,qty,customer\nIMP-10,web,TERRA-MUG,2,ada@example.com\n"
                     b"IMP-11,web,CANVAS-TOTE,1,\n")
    upload(ops, "orders", good)
    expect(ops.locator("#import-preview")).to_contain_text("2 rows of orders")
    expect(ops.locator("#import-preview")).to_contain_text("Nothing has been saved yet")
    expect(ops.locator("#import-changes")).to_contain_text("order IMP-10: created")
    assert order(site, "IMP-10").status_code == 404  # the preview wrote nothing
    confirm = {name: ops.locator(f"form.confirm input[name={name}]").get_attribute("value") or ""
               for name in ("csrf", "kind", "token", "filename")}
    ops.get_by_role("button", name="Confirm and import").click()
    expect(ops.locator("#import-done")).to_contain_text("Imported 2 rows of orders")
    assert order(site, "IMP-10").json()["lines"][0]["qty"] == 2
    again = ops.request.post("/import/confirm", form=confirm)  # a second confirm of the same upload
    assert again.status == 409 and "Already imported" in again.text()
