"""Small factories for dashboard tests: an in-process app on a test database, and a signed-in client."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from fastapi.testclient import TestClient

from allot.api.app import create_app
from allot.services import keys
from allot.settings import Settings
from allot.store.db import Database

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@contextmanager
def dashboard(db: Database, now: datetime, secret: str | None = None) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=db.url, session_secret=secret), clock=lambda: now, sweep=False)
    with TestClient(app, follow_redirects=False) as client:
        yield client


def make_key(db: Database, now: datetime, role: str) -> str:
    with db.write() as conn:
        return str(keys.create(conn, f"{role}-key", role, None, now)["secret"])


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, secret: str) -> str:
    """Sign in through the form; returns the session's CSRF token for later posts."""
    token = csrf_of(client.get("/signin").text)
    answer = client.post("/signin", data={"csrf": token, "api_key": secret, "next": "/skus"})
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/skus").text)
