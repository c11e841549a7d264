"""Versioned schema migrations (Alembic), run from code so `allot serve` can upgrade on start."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from allot.store.db import Database

HERE = Path(__file__).parent


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database) -> None:
    with db.engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
