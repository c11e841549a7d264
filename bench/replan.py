"""Re-plan cost: a 14-day PO slip on a SKU with many open order lines, all re-promised.

Measures the whole operation as a client would wait for it: lock, load, plan, persist every
changed line, record one event per line, commit.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from allot.services import catalog, purchasing
from allot.services.book import Book
from allot.store.db import Database
from allot.store.migrate import upgrade
from allot.store.tables import events, order_lines, orders, po_lines, skus


def replan_slip(url: str, lines: int) -> dict[str, Any]:
    db = Database(url)
    upgrade(db)
    now = datetime.now(UTC)
    due = now.date() + timedelta(days=10)
    with db.write() as conn:
        catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)
        catalog.put_sku(conn, "BIG", {"mode": "backorder", "handling_days": 1}, now)
        purchasing.create(conn, "PO-BIG", None, [{"sku": "BIG", "qty": lines, "expected_date": due}], now)
    _bulk_orders(db, lines, now, due)
    t0 = time.perf_counter()
    with db.write() as conn:
        purchasing.update_line(conn, "PO-BIG", 1, due + timedelta(days=14), None, now)
    seconds = time.perf_counter() - t0
    with db.read() as conn:
        moved = conn.execute(select(func.count()).select_from(events)
                             .where(events.c.type == "order_line.promise_changed")).scalar()
    db.dispose()
    kind = "sqlite" if url.startswith("sqlite") else "postgres"
    return {"bench": f"PO slip, {lines:,} lines", "db": kind, "seconds": seconds, "events": moved,
            "oversell_ok": moved == lines}


def _bulk_orders(db: Database, lines: int, now: datetime, due: Any) -> None:
    """Open order lines written in bulk, each promised on the PO, then planned once (untimed)."""
    with db.write() as conn:
        sku_id = conn.execute(select(skus.c.id).where(skus.c.sku == "BIG")).scalar_one()
        po_line_id = conn.execute(select(po_lines.c.id)).scalar_one()
        conn.execute(insert(orders), [{"ref": f"O-{i}", "channel": "web", "priority": 0, "created_at": now}
                                      for i in range(lines)])
        ids = dict(conn.execute(select(orders.c.ref, orders.c.id)).all())
        conn.execute(insert(order_lines), [
            {"order_id": ids[f"O-{i}"], "line": 1, "sku_id": sku_id, "channel": "web", "priority": 0,
             "queued_at": now + timedelta(microseconds=i), "seq": i + 1, "qty": 1, "qty_shipped": 0,
             "qty_cancelled": 0, "open": True, "allocation": [{"bucket": f"po:{po_line_id}", "qty": 1}],
             "state": "awaiting_stock", "promise_date": due + timedelta(days=1),
             "first_promise_date": due + timedelta(days=1)}
            for i in range(lines)
        ])
        conn.execute(update(skus).where(skus.c.id == sku_id).values(next_seq=lines + 1))
    with db.write() as conn:
        book = Book.open(conn, ["BIG"], now)["BIG"]
        book.replan({"op": "bench.setup"})
        book.save()
