"""The audit log is append-only below the API too: the database refuses to change or delete a row."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from allot.services import audit
from allot.store.db import Database
from allot.store.tables import audit_log


def _one_row(db: Database, now: datetime) -> None:
    change = audit.Change("req-1", "POST", "/v1/stock/adjustments", "adjust_stock", 201, {"body": {"delta": 1}})
    with db.write() as conn:
        audit.record(conn, now, audit.Actor(7, "ops key", "ops"), change)


def _rows(db: Database) -> list[tuple[object, ...]]:
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(select(audit_log))]


def test_an_audit_row_cannot_be_updated_or_deleted(db: Database, now: datetime) -> None:
    _one_row(db, now)
    before = _rows(db)
    for statement in (update(audit_log).values(role="admin"), delete(audit_log)):
        with pytest.raises(DBAPIError, match="append-only"), db.write() as conn:
            conn.execute(statement)
    assert _rows(db) == before


def test_an_audit_row_rolls_back_with_the_write_it_describes(db: Database, now: datetime) -> None:
    with pytest.raises(RuntimeError), db.write() as conn:
        audit.record(conn, now, audit.CLI, audit.Change("req-2", "CLI", "allot keys create", "create_key", 0, {}))
        raise RuntimeError("the write failed after its audit row was added")
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar() == 0


def test_postgres_refuses_to_truncate_the_audit_log(db: Database, now: datetime) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has no TRUNCATE; DELETE is refused above")
    _one_row(db, now)
    with pytest.raises(DBAPIError, match="append-only"), db.write() as conn:
        conn.execute(text("TRUNCATE audit_log"))
    assert len(_rows(db)) == 1

