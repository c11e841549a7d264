"""Migration 0015 adds `skus.wake_at` and fills it from the summaries of SKUs already waiting for an
opening; its downgrade takes it away again."""
from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import insert, inspect, select

from allot.store.db import Database
from allot.store.migrate import alembic_config
from allot.store.tables import skus

OPENS = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def migrate(db: Database, to: str, down: bool = False) -> None:
    with db.engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, to)


def sku_columns(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("skus")}


def test_upgrading_wakes_the_skus_waiting_for_an_opening_and_downgrading_drops_the_column(db: Database) -> None:
    migrate(db, "0014", down=True)
    assert "wake_at" not in sku_columns(db)
    row = {"mode": "backorder", "handling_days": 0, "incoming_buffer": 0, "safety_stock": 0, "on_hand": 0,
           "next_seq": 1, "created_at": OPENS, "updated_at": OPENS}
    with db.engine.begin() as conn:  # rows as 0014 left them: the opening only in the summary
        conn.execute(insert(skus).values(sku="WAITED", summary={"next_opening": OPENS.isoformat()}, **row))
        conn.execute(insert(skus).values(sku="PLAIN", summary={"next_opening": None}, **row))
        conn.execute(insert(skus).values(sku="OLD", summary={}, **row))
    migrate(db, "head")
    with db.read() as conn:
        woken = {r.sku: r.wake_at for r in conn.execute(select(skus.c.sku, skus.c.wake_at))}
    assert woken == {"WAITED": OPENS, "PLAIN": None, "OLD": None}
