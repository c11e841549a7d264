"""/docs works in a real browser from this server's own files: no request leaves for a CDN, no CSP violation."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.browser.conftest import Site


def test_the_api_docs_render_from_the_servers_own_files(site: Site, browser: Any) -> None:
    page = browser.new_page()
    hosts: set[str] = set()
    problems: list[str] = []
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(site.base + "/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=15_000)
    assert page.get_by_text("/v1/holds/release").count() > 0
    assert hosts == {urlsplit(site.base).netloc}, hosts
    assert not problems, problems
    page.close()
