"""Helpers for the trust tests (roles, audit, reconcile, fuzzing, crashes): servers, keys, the CLI."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PG_URL, Server, need_postgres, reset_postgres

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def database_url(kind: str, tmp: Path) -> str:
    """An empty, migrated database of the given kind (PostgreSQL is reset: the caller owns it)."""
    if kind == "postgres":
        need_postgres()
        reset_postgres().dispose()
        return PG_URL
    return f"sqlite:///{tmp / 'allot.db'}"


@contextmanager
def serving(kind: str, tmp: Path) -> Iterator[Server]:
    """A server on a fresh database; once its tests are done, `allot reconcile` must find it clean."""
    srv = Server(database_url(kind, tmp), tmp)
    try:
        yield srv
    finally:
        srv.stop()
    done = allot(srv.url, "reconcile", cwd=tmp)
    assert done.returncode == 0, f"reconcile after the tests' data:\n{done.stdout}{done.stderr}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ok(resp: httpx.Response, *statuses: int) -> Any:
    assert resp.status_code in statuses, f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    return resp.json() if resp.content else None


def new_key(admin: httpx.Client, role: str, channels: list[str] | None = None) -> dict[str, Any]:
    body = {"name": unique(role), "role": role, "channels": channels}
    made: dict[str, Any] = ok(admin.post("/v1/keys", json=body), 201)
    return made


def allot(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the `allot` command of this venv against a database, as an operator would."""
    # Stand-ins for shops listen on 127.0.0.1, which a default installation refuses to send to.
    env = {"ALLOT_WEBHOOK_ALLOW_PRIVATE": "127.0.0.0/8", **os.environ, "ALLOT_DATABASE_URL": url,
           "COLUMNS": "200"}
    exe = Path(sys.executable).parent / "allot"
    return subprocess.run([str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


__all__ = ["DATABASES", "Server", "allot", "database_url", "new_key", "ok", "serving", "unique"]
