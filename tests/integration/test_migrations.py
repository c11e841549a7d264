"""The migrations build exactly the schema the code declares."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from allot.store.db import Database
from allot.store.tables import metadata


def test_migrations_match_the_declared_schema(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
