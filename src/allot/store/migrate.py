"""Versioned schema migrations (Alembic), run from code so `allot serve` can upgrade on start."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from allot.store.db import Database

HERE = Path(__file__).parent


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database) -> list[str]:
    """Apply what has not run yet; returns what was applied, oldest first ("0013 the operator's day")."""
    with db.engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        before = MigrationContext.configure(conn).get_current_revision()
        command.upgrade(cfg, "head")
    script = ScriptDirectory.from_config(cfg)
    applied = list(script.iterate_revisions("head", before or "base"))
    return [f"{r.revision} {r.doc}" for r in reversed(applied) if r.revision != before]


def head(db: Database) -> str:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head() or ""
