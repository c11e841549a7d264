"""A first hour without surprises (issue 12): the commands an operator runs first say what they did,
refuse clearly, and never answer with a traceback."""
from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from allot.demo import load
from allot.store.db import Database
from allot.store.migrate import head, upgrade
from allot.store.tables import api_keys
from tests.conftest import Server
from tests.e2e.trust import allot


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'allot.db'}"


def test_db_upgrade_says_what_it_applied_then_that_nothing_was_left(tmp_path: Path) -> None:
    latest = head(Database(sqlite_url(tmp_path)))
    first = allot(sqlite_url(tmp_path), "db", "upgrade", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "applied 0001 initial schema" in first.stdout
    assert f"migrations: the database is now at {latest}" in first.stdout
    assert "up to date" not in first.stdout

    again = allot(sqlite_url(tmp_path), "db", "upgrade", cwd=tmp_path)
    assert again.returncode == 0 and f"nothing to apply: the database was already at {latest}" in again.stdout
    assert "applied" not in again.stdout


def test_the_demo_loaded_twice_says_it_is_there_without_a_traceback(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))
    upgrade(db)
    load(db, datetime.now(UTC))  # the first time, as `allot demo` does
    db.dispose()
    again = allot(sqlite_url(tmp_path), "demo", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already loaded" in again.stdout and "nothing changed" in again.stdout
    assert "Traceback" not in again.stdout + again.stderr


def test_a_key_needs_its_role_named(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))
    upgrade(db)
    unnamed = allot(sqlite_url(tmp_path), "keys", "create", "ci-bot", cwd=tmp_path)
    assert unnamed.returncode == 2 and "--role" in unnamed.stderr
    assert "Traceback" not in unnamed.stdout + unnamed.stderr
    named = allot(sqlite_url(tmp_path), "keys", "create", "ci-bot", "--role", "viewer", cwd=tmp_path)
    assert named.returncode == 0 and "(viewer)" in named.stdout
    with db.read() as conn:
        assert list(conn.execute(select(api_keys.c.name, api_keys.c.role))) == [("ci-bot", "viewer")]
    db.dispose()


def test_an_unknown_time_zone_stops_a_command_in_one_clear_line(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOT_TIMEZONE", "America/Las_Vegas")
    refused = allot(sqlite_url(tmp_path), "db", "upgrade", cwd=tmp_path)
    assert refused.returncode != 0
    assert "ALLOT_TIMEZONE='America/Las_Vegas' is not a time zone" in refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
    assert not (tmp_path / "allot.db").exists()  # stopped before touching the database


def test_serve_says_where_it_is_once_it_is_ready(tmp_path: Path) -> None:
    srv = Server(sqlite_url(tmp_path), tmp_path, env={"ALLOT_TIMEZONE": "Asia/Tokyo"})
    try:
        log = tmp_path / f"server-{srv.port}.log"
        deadline = time.monotonic() + 10
        while "ready" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        ready = [line for line in log.read_text().splitlines() if "ready" in line]
        assert ready == [f"Allot is ready at {srv.base}  (dashboard: {srv.base}/  API docs: {srv.base}/docs)"]
    finally:
        srv.stop()
