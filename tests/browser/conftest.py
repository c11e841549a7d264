"""A real `allot serve` with the demo, and Debian's Chromium driven by Playwright.

Chromium comes from the system (`apt-get install chromium`), never from `playwright install`.
Without /usr/bin/chromium these tests skip with the reason; under CI=true they fail instead.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from allot.demo import load
from allot.services import keys
from tests.conftest import ADMIN_KEY, IN_CI, Server, sqlite_db

CHROMIUM = Path(os.environ.get("ALLOT_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}


def need_chromium() -> None:
    if CHROMIUM.exists():
        return
    why = f"{CHROMIUM} is missing: install it with `apt-get install chromium`"
    if IN_CI:
        pytest.fail(f"browser tests must run under CI=true: {why}")
    pytest.skip(why)


@dataclass(frozen=True)
class Site:
    base: str
    admin: str
    viewer: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo on SQLite behind a real server, with an admin key and a viewer key."""
    need_chromium()
    tmp = tmp_path_factory.mktemp("site")
    db = sqlite_db(tmp / "allot.db")
    now = datetime.now(UTC)
    load(db, now)
    with db.write() as conn:
        viewer = str(keys.create(conn, "Vera (viewer)", "viewer", None, now)["secret"])
    db.dispose()
    server = Server(f"sqlite:///{tmp / 'allot.db'}", tmp)
    yield Site(server.base, ADMIN_KEY, viewer)
    server.stop()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()
