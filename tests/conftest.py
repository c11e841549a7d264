"""Shared fixtures: a real database (SQLite file, and PostgreSQL when reachable) and a real server.

PostgreSQL comes from ALLOT_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test).
Without it the PostgreSQL tests skip with the reason; under CI=true they fail instead.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from allot.store.db import Database
from allot.store.tables import metadata
from tests import fresh_db, properties  # noqa: F401 - properties: loads the hypothesis profile

# Servers and commands the tests start inherit this: no push ever leaves this machine, even for the
# made-up shops some tests connect (settings.py, ALLOT_SHOP_PUSH_LOOPBACK_ONLY).
os.environ["ALLOT_SHOP_PUSH_LOOPBACK_ONLY"] = "1"
PG_URL = os.environ.get("ALLOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_KEY = "test-admin-key-0123456789abcdef"
IN_CI = os.environ.get("CI", "").lower() == "true"


def pg_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        db = Database(PG_URL, pool_size=1)
        with db.read() as conn:
            conn.execute(text("SELECT 1"))
        db.dispose()
        return None
    except Exception as e:  # noqa: BLE001 - any failure to connect means "not here"
        return f"{type(e).__name__}: {str(e).splitlines()[0]}"


_pg_problem: list[str | None] = []


def need_postgres() -> None:
    if not _pg_problem:
        _pg_problem.append(pg_reachable())
    problem = _pg_problem[0]
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"PostgreSQL at {PG_URL} is required under CI=true: {problem}")
    pytest.skip(f"PostgreSQL not reachable at {PG_URL} ({problem}); set ALLOT_TEST_PG_URL to run these")


def reset_postgres() -> Database:
    """An empty, migrated schema in the test database (migrated once, then emptied: tests/fresh_db.py)."""
    return fresh_db.reset_postgres(PG_URL)


def sqlite_db(path: Path) -> Database:
    """A migrated, empty SQLite file (a copy of one migrated once: tests/fresh_db.py)."""
    return fresh_db.sqlite_db(path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database of each kind."""
    if request.param == "postgres":
        need_postgres()
        database = reset_postgres()
    else:
        database = sqlite_db(tmp_path / "allot.db")
    yield database
    database.dispose()


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`allot serve` in its own process, talked to over real HTTP."""

    def __init__(self, url: str, tmp: Path, workers: int = 1, env: dict[str, str] | None = None) -> None:
        self.url = url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # The tests' receivers listen on 127.0.0.1, which a default installation refuses to send webhooks to.
        env = {"ALLOT_WEBHOOK_ALLOW_PRIVATE": "127.0.0.0/8", **os.environ, "ALLOT_DATABASE_URL": url,
               "ALLOT_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, **(env or {})}
        allot = Path(sys.executable).parent / "allot"
        self.log = open(tmp / f"server-{self.port}.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(allot), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)],
            cwd=tmp, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._wait_healthy(tmp)

    def _wait_healthy(self, tmp: Path) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((tmp / f"server-{self.port}.log").read_text()[-3000:])
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become healthy in 60 s")

    def client(self, key: str | None = ADMIN_KEY, **kw: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30, **kw)  # type: ignore[arg-type]

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A running server on each kind of database."""
    if request.param == "postgres":
        need_postgres()
        reset_postgres().dispose()
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path / 'allot.db'}"
    srv = Server(url, tmp_path)
    yield srv
    srv.stop()


__all__ = ["ADMIN_KEY", "PG_URL", "Server", "metadata", "need_postgres", "reset_postgres", "sqlite_db"]
