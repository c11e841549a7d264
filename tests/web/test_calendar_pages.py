"""Dashboard days are the merchant's (ALLOT_TIMEZONE): the audit log's "since" starts at their midnight."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from allot.api.app import create_app
from allot.services import audit
from allot.services.common import use_zone
from allot.settings import Settings
from allot.store.db import Database
from tests.web.helpers import make_key, sign_in


@pytest.fixture(autouse=True)
def back_to_utc() -> Iterator[None]:
    yield
    use_zone(ZoneInfo("UTC"))  # the zone is process-wide (set by create_app): leave the suite's


def test_the_audit_logs_since_is_the_merchants_midnight(db: Database) -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    with db.write() as conn:
        for action, at in (("late_night", datetime(2026, 12, 2, 7, 30, tzinfo=UTC)),  # 23:30 on 1 Dec in California
                           ("early_morning", datetime(2026, 12, 2, 8, 30, tzinfo=UTC))):  # 00:30 on 2 Dec there
            audit.record(conn, at, audit.CLI, audit.Change("r" * 32, "POST", "/x", action, 200, {}))
    app = create_app(Settings(database_url=db.url, timezone="America/Los_Angeles"), clock=lambda: now, sweep=False)
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client, make_key(db, now, "admin"))
        page = client.get("/audit", params={"since": "2026-12-02"}).text
        assert "early morning" in page and "late night" not in page
        assert "late night" in client.get("/audit", params={"since": "2026-12-01"}).text
        assert client.get("/audit", params={"since": "2.12.2026"}).status_code == 422
