"""The test databases' shortcut (tests/fresh_db.py) gives what a migration from scratch gives."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from allot.store.db import Database
from allot.store.tables import api_keys, skus
from tests import factories as f
from tests.conftest import need_postgres, reset_postgres, sqlite_db


def _used(db: Database, now: datetime) -> None:
    with db.write() as conn:
        f.sku(conn, "FRESH-1", now)
        f.sku(conn, "FRESH-2", now)


def _first_id(db: Database, now: datetime) -> int:
    with db.write() as conn:
        f.sku(conn, "FRESH-3", now)
        return int(conn.execute(select(skus.c.id).where(skus.c.sku == "FRESH-3")).scalar_one())


def test_a_sqlite_copy_starts_empty_at_head_whatever_the_last_test_did(tmp_path: Path, now: datetime) -> None:
    used = sqlite_db(tmp_path / "used.db")
    _used(used, now)
    used.dispose()
    fresh = sqlite_db(tmp_path / "fresh.db")
    with fresh.read() as conn:
        assert conn.execute(select(func.count()).select_from(skus)).scalar_one() == 0
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert _first_id(fresh, now) == 1
    fresh.dispose()


@pytest.mark.postgres
def test_a_postgres_reset_empties_the_tables_and_restarts_the_ids(now: datetime) -> None:
    need_postgres()
    db = reset_postgres()
    _used(db, now)
    db.dispose()
    db = reset_postgres()
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(skus)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(api_keys)).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    assert _first_id(db, now) == 1
    db.dispose()


@pytest.mark.postgres
def test_a_postgres_schema_a_test_changed_is_migrated_again(now: datetime) -> None:
    need_postgres()
    db = reset_postgres()
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE skus DROP COLUMN name"))
        conn.execute(text("CREATE TABLE stray (id int)"))
    db.dispose()
    db = reset_postgres()
    with db.read() as conn:
        columns = set(conn.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'skus'")).scalars())
        stray = conn.execute(text("SELECT to_regclass('public.stray')")).scalar_one()
    assert "name" in columns and stray is None
    assert _first_id(db, now) == 1
    db.dispose()
