"""Migration 0011 backfills the insight history from what the rows already tell (docs/kpis.md)."""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import insert, select

from allot.store.db import Database
from allot.store.migrate import alembic_config, upgrade
from allot.store.tables import (
    cancellations,
    events,
    order_lines,
    orders,
    po_lines,
    purchase_orders,
    receipts,
    shipments,
    skus,
    stock_moves,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_upgrading_backfills_shipments_receipts_and_cancellations(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    with db.engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010")
    line = {"line": 1, "sku_id": 1, "channel": "web", "priority": 0, "queued_at": T0, "allocation": [], "seq": 1}
    with db.engine.begin() as conn:
        conn.execute(insert(skus).values(id=1, sku="MUG", mode="backorder", summary={}, created_at=T0, updated_at=T0,
                                         handling_days=0, incoming_buffer=0, safety_stock=0, on_hand=0, next_seq=3))
        conn.execute(insert(orders), [{"id": 1, "ref": "O-1", "channel": "web", "priority": 0, "created_at": T0},
                                      {"id": 2, "ref": "O-2", "channel": "web", "priority": 0, "created_at": T0}])
        conn.execute(insert(order_lines), [
            {**line, "id": 1, "order_id": 1, "qty": 2, "qty_shipped": 2, "qty_cancelled": 0, "open": False,
             "state": "shipped", "promise_date": date(2026, 3, 5), "first_promise_date": date(2026, 3, 4)},
            {**line, "id": 2, "order_id": 2, "qty": 1, "qty_shipped": 0, "qty_cancelled": 1, "open": False,
             "state": "cancelled", "promise_date": None, "first_promise_date": date(2026, 3, 4)}])
        conn.execute(insert(purchase_orders).values(id=1, ref="P-1", supplier="Acme", status="closed", created_at=T0))
        conn.execute(insert(po_lines).values(id=1, po_id=1, line=1, sku_id=1, qty=5, received=5, closed=True,
                                             expected_date=date(2026, 3, 3)))
        conn.execute(insert(stock_moves), [
            {"sku_id": 1, "delta": 5, "reason": "po_receipt", "ref": "P-1/1", "created_at": datetime(2026, 3, 6, tzinfo=UTC)},
            {"sku_id": 1, "delta": -2, "reason": "shipment", "ref": "O-1/1", "created_at": datetime(2026, 3, 5, tzinfo=UTC)}])
        conn.execute(insert(events), [
            {"type": "order_line.promise_changed", "occurred_at": T0, "sku": "MUG", "order_ref": "O-2", "line": 1,
             "data": {"from": "2026-03-04", "to": "2026-03-09", "reason": "later"}},
            {"type": "order_line.cancelled", "occurred_at": datetime(2026, 3, 7, tzinfo=UTC), "sku": "MUG",
             "order_ref": "O-2", "line": 1, "data": {"qty": 1}}])
    upgrade(db)
    with db.read() as conn:
        shipped = conn.execute(select(shipments.c.qty, shipments.c.shipped_on, shipments.c.kept_qty,
                                      shipments.c.kept_latest_qty, shipments.c.days_to_ship)).all()
        received = conn.execute(select(receipts.c.supplier, receipts.c.qty, receipts.c.days_late)).all()
        cancelled = conn.execute(select(cancellations.c.qty, cancellations.c.cancelled_on, cancellations.c.slipped)).all()
    db.dispose()
    assert [tuple(r) for r in shipped] == [(2, date(2026, 3, 5), 0, 2, 3)]
    assert [tuple(r) for r in received] == [("Acme", 5, 3)]
    assert [tuple(r) for r in cancelled] == [(1, date(2026, 3, 7), True)]
