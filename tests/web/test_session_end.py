"""A dashboard session ends on the server: signing out, revoking the key, or idling past the timeout."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from allot.api.app import create_app
from allot.services import keys
from allot.settings import Settings
from allot.store.db import Database
from allot.web.session import COOKIE
from tests.web.helpers import make_key, sign_in


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def dashboard_at(db: Database, clock: Clock, idle: int = 1800) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=db.url, session_idle_seconds=idle), clock=clock, sweep=False)
    with TestClient(app, follow_redirects=False) as client:
        yield client


def test_a_cookie_copied_before_signing_out_no_longer_works(db: Database, now: datetime) -> None:
    with dashboard_at(db, Clock(now)) as client:
        csrf = sign_in(client, make_key(db, now, "ops"))
        copied = client.cookies[COOKIE]
        assert client.post("/signout", data={"csrf": csrf}).status_code == 303
        client.cookies.set(COOKIE, copied)
        answer = client.get("/skus")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")


def test_revoking_a_key_ends_its_sessions_rows(db: Database, now: datetime) -> None:
    secret = make_key(db, now, "ops")
    with dashboard_at(db, Clock(now)) as client:
        sign_in(client, secret)
        with db.write() as conn:
            principal = keys.authenticate(conn, secret)
            assert principal is not None
            keys.revoke(conn, principal.key_id, now)
        with db.read() as conn:
            open_sessions = conn.exec_driver_sql(
                "SELECT count(*) FROM dashboard_sessions WHERE ended_at IS NULL").scalar()
        assert open_sessions == 0
        assert client.get("/skus").status_code == 303


def test_a_session_idle_past_the_timeout_ends_and_an_active_one_lives_on(db: Database, now: datetime) -> None:
    clock = Clock(now)
    with dashboard_at(db, clock, idle=600) as client:
        sign_in(client, make_key(db, now, "viewer"))
        for _ in range(4):  # active every 5 minutes for 20 minutes: still signed in
            clock.now += timedelta(minutes=5)
            assert client.get("/skus").status_code == 200
        clock.now += timedelta(minutes=11)
        answer = client.get("/skus")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
