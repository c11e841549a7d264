"""Migration 0003 adds the audit log and stops listing part of a supplied (bootstrap) secret."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from alembic import command
from sqlalchemy import insert, select

from allot.store.db import Database
from allot.store.migrate import alembic_config, upgrade
from allot.store.tables import api_keys


def test_upgrading_hides_the_prefix_of_a_supplied_secret_and_keeps_a_generated_one(tmp_path: Path,
                                                                                  now: datetime) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    with db.engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    with db.engine.begin() as conn:
        conn.execute(insert(api_keys), [
            {"name": "bootstrap", "role": "admin", "prefix": "hunter2-pass", "secret_hash": "a" * 64, "created_at": now},
            {"name": "shop", "role": "storefront", "prefix": "allot_Ab3xYz", "secret_hash": "b" * 64,
             "created_at": now},
        ])
    upgrade(db)
    with db.read() as conn:
        prefixes = dict(conn.execute(select(api_keys.c.name, api_keys.c.prefix)).all())
    db.dispose()
    assert prefixes == {"bootstrap": "(supplied)", "shop": "allot_Ab3xYz"}
