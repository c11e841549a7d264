"""Exports: every kind of CSV file as rows read in chunks from one snapshot, so memory stays flat.

The rows carry what an import needs to rebuild the same plan: an order line its queue place
(`queued_at`, `priority`), what was shipped and cancelled, and its state and promise as last told.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Select, select

from allot.connectors.csv_files import EXPORTS
from allot.domain.errors import NotFound
from allot.services.book import takes_from_json
from allot.store.db import Database
from allot.store.tables import (
    channels,
    events,
    order_lines,
    orders,
    po_lines,
    purchase_orders,
    sales_history,
    sku_channels,
    skus,
)

FETCH = 2000  # rows per round trip of a streamed read


def require_kind(kind: str) -> None:
    if kind not in EXPORTS:
        raise NotFound(f"no export of {kind!r}; kinds: {', '.join(EXPORTS)}", kind=kind)


def rows(db: Database, kind: str) -> Iterator[dict[str, Any]]:
    """The rows of one export, streamed from one read transaction."""
    require_kind(kind)
    with db.read() as conn:
        yield from READERS[kind](conn)


def _stream(conn: Connection, stmt: Select[Any]) -> Iterator[Any]:
    # A server-side cursor on PostgreSQL, fetched FETCH rows at a time: 100,000 lines never sit in memory.
    yield from conn.execution_options(stream_results=True, yield_per=FETCH).execute(stmt)


def _skus(conn: Connection) -> Iterator[dict[str, Any]]:
    quotas: dict[Any, list[str]] = {}
    for sku_id, channel, quota in conn.execute(select(sku_channels.c.sku_id, sku_channels.c.channel,
                                                      sku_channels.c.quota).order_by(sku_channels.c.channel)):
        if quota is not None:
            quotas.setdefault(sku_id, []).append(f"{channel}={quota}")
    for r in _stream(conn, select(skus).order_by(skus.c.id)):
        yield {"sku": r.sku, "name": r.name, "mode": r.mode, "release_date": r.release_date,
               "handling_days": r.handling_days, "incoming_buffer": r.incoming_buffer.normalize(),
               "safety_stock": r.safety_stock, "backorder_limit": r.backorder_limit,
               "backorder_lead_days": r.backorder_lead_days, "allocation_policy": r.allocation_policy,
               "quotas": "; ".join(quotas.get(r.id, []))}


def _channels(conn: Connection) -> Iterator[dict[str, Any]]:
    for r in conn.execute(select(channels).order_by(channels.c.id)):
        yield {"channel": r.name, **{k: getattr(r, k) for k in (
            "allow_backorder", "allow_preorder", "padding_days", "consent_after_days", "consent_window_days",
            "consent_default")}}


def _stock(conn: Connection) -> Iterator[dict[str, Any]]:
    for r in _stream(conn, select(skus.c.sku, skus.c.on_hand).order_by(skus.c.id)):
        yield {"sku": r.sku, "on_hand": r.on_hand, "reason": "count"}


def _purchase_orders(conn: Connection) -> Iterator[dict[str, Any]]:
    po, ln = purchase_orders.c, po_lines.c
    stmt = (select(po.ref, po.supplier, po.status, ln.line, skus.c.sku, ln.qty, ln.received, ln.closed,
                   ln.expected_date)
            .join(po_lines, ln.po_id == po.id).join(skus, skus.c.id == ln.sku_id).order_by(po.id, ln.line))
    for r in _stream(conn, stmt):
        yield r._asdict()


ORDER_COLUMNS = (orders.c.ref, orders.c.channel, orders.c.priority, orders.c.customer, orders.c.created_at,
                 order_lines.c.line, skus.c.sku, order_lines.c.qty, order_lines.c.qty_shipped,
                 order_lines.c.qty_cancelled, order_lines.c.queued_at, order_lines.c.state,
                 order_lines.c.promise_date, order_lines.c.first_promise_date)


def _orders(conn: Connection) -> Iterator[dict[str, Any]]:
    stmt = (select(*ORDER_COLUMNS).join(order_lines, order_lines.c.order_id == orders.c.id)
            .join(skus, skus.c.id == order_lines.c.sku_id).order_by(orders.c.id, order_lines.c.line))
    for r in _stream(conn, stmt):
        yield r._asdict()


def _order_lines(conn: Connection) -> Iterator[dict[str, Any]]:
    ol = order_lines.c
    stmt = (select(orders.c.ref, ol.line, skus.c.sku, ol.channel, orders.c.customer, ol.qty, ol.qty_shipped,
                   ol.qty_cancelled, ol.state, ol.promise_date, ol.first_promise_date, ol.consent_status,
                   ol.allocation, skus.c.id.label("sku_id"))
            .join(order_lines, ol.order_id == orders.c.id).join(skus, skus.c.id == ol.sku_id)
            .order_by(orders.c.id, ol.line))
    labels: dict[Any, dict[str, str]] = {}
    for r in _stream(conn, stmt):
        if r.sku_id not in labels:
            labels[r.sku_id] = _bucket_labels(conn, r.sku_id)
        row = r._asdict()
        row["open_qty"] = r.qty - r.qty_shipped - r.qty_cancelled
        row["allocation"] = "; ".join(f"{t.qty} from {labels[r.sku_id].get(t.bucket, t.bucket)}"
                                      for t in takes_from_json(r.allocation))
        yield row


def _bucket_labels(conn: Connection, sku_id: Any) -> dict[str, str]:
    """Words for a SKU's buckets: `stock`, `PO-1001/1 (2026-12-10)`, `made to order (…)`."""
    summary = conn.execute(select(skus.c.summary).where(skus.c.id == sku_id)).scalar_one()
    out = {}
    for b in summary.get("buckets", []):
        if b["source"] == "po":
            out[b["key"]] = f"{b['po_ref']}/{b['po_line']} ({b['date']})"
        else:
            out[b["key"]] = "stock" if b["source"] == "stock" else f"made to order ({b['date']})"
    return out


def _history(conn: Connection) -> Iterator[dict[str, Any]]:
    h = sales_history.c
    stmt = (select(skus.c.sku, h.channel, h.date, h.qty).join(skus, skus.c.id == h.sku_id)
            .order_by(skus.c.sku, h.channel, h.date))
    for r in _stream(conn, stmt):
        yield r._asdict()


def _events(conn: Connection) -> Iterator[dict[str, Any]]:
    e = events.c
    stmt = select(e.position, e.type, e.occurred_at, e.sku, e.order_ref, e.line, e.version, e.data).order_by(e.id)
    for r in _stream(conn, stmt):
        row = r._asdict()
        row["data"] = json.dumps(r.data, separators=(",", ":"))
        yield row


READERS = {"skus": _skus, "channels": _channels, "stock": _stock, "purchase-orders": _purchase_orders,
           "orders": _orders, "order-lines": _order_lines, "sales-history": _history, "events": _events}
