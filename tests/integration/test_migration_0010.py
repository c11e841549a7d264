"""Migration 0010 puts everything that exists into the location `main`."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import select, text

from allot.services import locations, reports, stock
from allot.services.reconcile import reconcile
from allot.store.db import Database
from allot.store.migrate import alembic_config, upgrade
from allot.store.tables import purchase_orders, stock_levels, stock_moves


def test_existing_stock_and_purchase_orders_land_in_main(tmp_path: Path, now: datetime) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    with db.engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0009")
    with db.engine.begin() as conn:  # rows as 0009 knew them: no location anywhere
        conn.execute(text("INSERT INTO skus (id, sku, mode, handling_days, incoming_buffer, safety_stock, "
                          "allocation_policy, on_hand, summary, next_seq, created_at, updated_at) VALUES "
                          "(1, 'OLD', 'backorder', 1, 0, 0, 'fifo', 7, :summary, 1, :now, :now)"),
                     {"summary": json.dumps({"buckets": [], "free": {}, "uncovered": 0, "committed": 0,
                                             "reserved": 0, "incoming": 0, "by_channel": {}, "next_expiry": None}),
                      "now": now})
        conn.execute(text("INSERT INTO stock_moves (sku_id, delta, reason, created_at) VALUES (1, 7, 'in', :now)"),
                     {"now": now})
        conn.execute(text("INSERT INTO purchase_orders (id, ref, status, created_at) VALUES (1, 'PO-OLD', 'open', :now)"),
                     {"now": now})
        conn.execute(text("INSERT INTO po_lines (po_id, line, sku_id, qty, received, closed, expected_date) "
                          "VALUES (1, 1, 1, 5, 0, 0, :day)"), {"day": now.date() + timedelta(days=9)})
    upgrade(db)
    with db.read() as conn:
        assert [loc["location"] for loc in locations.list_all(conn)] == ["main"]
        assert conn.execute(select(stock_moves.c.location)).scalars().all() == ["main"]
        assert conn.execute(select(purchase_orders.c.location)).scalar_one() == "main"
        assert conn.execute(select(stock_levels)).all() == []  # main is the rest of the total
    with db.write() as conn:
        stock.count(conn, "OLD", 7, "count", now)  # nothing to book: main already holds the 7
        stock.adjust(conn, "OLD", 1, "found", now)  # a re-plan under the new code
    with db.read() as conn:
        answer = reports.availability(conn, "OLD", None, now)
        assert (answer["on_hand"], answer["incoming"], answer["available"]) == (8, 5, 13)
        assert answer["locations"] == [{"location": "main", "on_hand": 8, "incoming": 5, "committed": 0,
                                        "reserved": 0, "available": 13}]
        assert reconcile(conn, now) == []
    db.dispose()
