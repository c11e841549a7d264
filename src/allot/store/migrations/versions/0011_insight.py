"""insight: promise and receipt history for KPIs and forecasts

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 05:30:00
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('po_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_expected_date', sa.Date(), nullable=True))
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index('ix_order_lines_first_promise',
                              ['first_promise_date', 'promise_date', 'state', 'channel', 'sku_id'], unique=False)
        batch_op.create_index('ix_order_lines_queued_at', ['queued_at', 'sku_id', 'channel', 'qty'], unique=False)
        batch_op.drop_index('ix_order_lines_consent')
        batch_op.create_index('ix_order_lines_consent', ['consent_status', 'sku_id', 'consent_deadline', 'queued_at',
                                                         'channel'], unique=False)
    id_type = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    op.create_table('shipments',
    sa.Column('id', id_type, nullable=False),
    sa.Column('order_line_id', sa.BigInteger(), nullable=False),
    sa.Column('sku_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('shipped_on', sa.Date(), nullable=False),
    sa.Column('first_promise_date', sa.Date(), nullable=True),
    sa.Column('promise_date', sa.Date(), nullable=True),
    sa.Column('days_to_ship', sa.Integer(), nullable=False),
    sa.Column('promised_qty', sa.Integer(), nullable=False),
    sa.Column('kept_qty', sa.Integer(), nullable=False),
    sa.Column('kept_latest_qty', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_shipments_sku_id_skus')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments'))
    )
    op.create_index('ix_shipments_shipped_on', 'shipments', ['shipped_on', 'days_to_ship', 'sku_id', 'channel', 'qty',
                                                             'promised_qty', 'kept_qty', 'kept_latest_qty'], unique=False)
    op.create_table('cancellations',
    sa.Column('id', id_type, nullable=False),
    sa.Column('order_line_id', sa.BigInteger(), nullable=False),
    sa.Column('sku_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('cancelled_on', sa.Date(), nullable=False),
    sa.Column('slipped', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_cancellations_sku_id_skus')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cancellations'))
    )
    op.create_index('ix_cancellations_cancelled_on', 'cancellations',
                    ['cancelled_on', 'sku_id', 'channel', 'slipped', 'order_line_id'], unique=False)
    op.create_table('receipts',
    sa.Column('id', id_type, nullable=False),
    sa.Column('po_line_id', sa.BigInteger(), nullable=False),
    sa.Column('sku_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('supplier', sa.String(length=200), nullable=True),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('first_expected_date', sa.Date(), nullable=False),
    sa.Column('days_late', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_receipts_sku_id_skus')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts'))
    )
    op.create_index('ix_receipts_received_on', 'receipts', ['received_on', 'sku_id'], unique=False)
    op.create_table('sku_spans',
    sa.Column('id', id_type, nullable=False),
    sa.Column('sku_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_sku_spans_sku_id_skus')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sku_spans'))
    )
    op.create_index('ix_sku_spans_sku_kind', 'sku_spans', ['sku_id', 'kind', 'started_at'], unique=False)
    op.create_index('ix_sku_spans_open', 'sku_spans', ['kind', 'ended_at'], unique=False)
    _backfill(op.get_bind())


def downgrade() -> None:
    for table, index in (('sku_spans', 'ix_sku_spans_open'), ('sku_spans', 'ix_sku_spans_sku_kind'),
                         ('receipts', 'ix_receipts_received_on'), ('cancellations', 'ix_cancellations_cancelled_on'),
                         ('shipments', 'ix_shipments_shipped_on')):
        op.drop_index(index, table_name=table)
    for table in ('sku_spans', 'receipts', 'cancellations', 'shipments'):
        op.drop_table(table)
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_order_lines_queued_at')
        batch_op.drop_index('ix_order_lines_consent')
        batch_op.create_index('ix_order_lines_consent', ['consent_status', 'sku_id', 'consent_deadline'], unique=False)
        batch_op.drop_index('ix_order_lines_first_promise')
    with op.batch_alter_table('po_lines', schema=None) as batch_op:
        batch_op.drop_column('first_expected_date')


# ── Backfill: what the existing rows tell (docs/kpis.md, "History before migration 0011") ──

def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)[:19]).date() if len(str(value)) > 10 else date.fromisoformat(str(value))


def _backfill(conn: sa.Connection) -> None:
    # A line promised only by a re-plan never had its first promise noted: the promise it has is the best known.
    conn.execute(sa.text("UPDATE order_lines SET first_promise_date = promise_date "
                         "WHERE first_promise_date IS NULL AND promise_date IS NOT NULL"))
    lines = _lines_by_ref(conn)
    _backfill_shipments(conn, lines)
    _backfill_cancellations(conn, lines)
    _backfill_receipts(conn)


def _lines_by_ref(conn: sa.Connection) -> dict[tuple[str, int], Any]:
    rows = conn.execute(sa.text(
        "SELECT ol.id, o.ref, ol.line, ol.sku_id, ol.channel, ol.queued_at, ol.first_promise_date, ol.promise_date "
        "FROM order_lines ol JOIN orders o ON o.id = ol.order_id "
        "WHERE ol.qty_shipped > 0 OR ol.qty_cancelled > 0"))
    return {(r.ref, r.line): r for r in rows}


def _split(ref: str) -> tuple[str, int] | None:
    head, _, n = (ref or "").rpartition("/")
    return (head, int(n)) if head and n.isdigit() else None


def _backfill_shipments(conn: sa.Connection, lines: dict[tuple[str, int], Any]) -> None:
    rows = []
    for m in conn.execute(sa.text("SELECT ref, delta, created_at FROM stock_moves WHERE reason = 'shipment'")):
        key = _split(m.ref)
        line = lines.get(key) if key else None
        if line is None:
            continue
        on = _day(m.created_at)
        first = _day(line.first_promise_date) if line.first_promise_date else None
        latest = _day(line.promise_date) if line.promise_date else None
        qty = -m.delta
        rows.append({"l": line.id, "s": line.sku_id, "c": line.channel, "q": qty, "on": on, "f": first, "p": latest,
                     "d": max(0, (on - _day(line.queued_at)).days), "pq": qty if first else 0,
                     "k": qty if first and on <= first else 0, "kl": qty if latest and on <= latest else 0})
    if rows:
        conn.execute(sa.text("INSERT INTO shipments (order_line_id, sku_id, channel, qty, shipped_on, first_promise_date,"
                             " promise_date, days_to_ship, promised_qty, kept_qty, kept_latest_qty)"
                             " VALUES (:l, :s, :c, :q, :on, :f, :p, :d, :pq, :k, :kl)"), rows)


def _backfill_cancellations(conn: sa.Connection, lines: dict[tuple[str, int], Any]) -> None:
    """From the events: a cancellation slipped when an earlier event of its line moved its promise later
    or took it away."""
    slipped: set[tuple[str, int]] = set()
    rows = []
    found = conn.execute(sa.text(
        "SELECT type, order_ref, line, data, occurred_at FROM events WHERE type IN "
        "('order_line.cancelled', 'order_line.promise_changed', 'order_line.backordered') ORDER BY id"))
    for e in found:
        key = (e.order_ref, e.line)
        data = e.data if isinstance(e.data, dict) else json.loads(e.data)
        if e.type != "order_line.cancelled":
            if data.get("reason") in ("later", "uncovered") and data.get("from"):
                slipped.add(key)
            continue
        line = lines.get(key)
        if line is not None:
            rows.append({"l": line.id, "s": line.sku_id, "c": line.channel, "q": int(data.get("qty") or 0),
                         "on": _day(e.occurred_at), "x": key in slipped})
    if rows:
        conn.execute(sa.text("INSERT INTO cancellations (order_line_id, sku_id, channel, qty, cancelled_on, slipped)"
                             " VALUES (:l, :s, :c, :q, :on, :x)"), rows)


def _backfill_receipts(conn: sa.Connection) -> None:
    po_lines = {(r.ref, r.line): r for r in conn.execute(sa.text(
        "SELECT pl.id, po.ref, po.supplier, pl.line, pl.sku_id, pl.expected_date "
        "FROM po_lines pl JOIN purchase_orders po ON po.id = pl.po_id WHERE pl.received > 0"))}
    rows = []
    for m in conn.execute(sa.text("SELECT ref, delta, created_at FROM stock_moves WHERE reason = 'po_receipt'")):
        key = _split(m.ref)
        line = po_lines.get(key) if key else None
        if line is None:
            continue
        on, first = _day(m.created_at), _day(line.expected_date)
        rows.append({"l": line.id, "s": line.sku_id, "sup": line.supplier, "q": m.delta, "on": on, "f": first,
                     "d": max(0, (on - first).days)})
    if rows:
        conn.execute(sa.text("INSERT INTO receipts (po_line_id, sku_id, supplier, qty, received_on,"
                             " first_expected_date, days_late) VALUES (:l, :s, :sup, :q, :on, :f, :d)"), rows)
