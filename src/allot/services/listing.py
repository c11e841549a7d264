"""Lists that page by cursor: SKUs, orders, purchase orders and the stock ledger.

Every list is keyset-paged on the row id (`id > after ORDER BY id LIMIT n + 1`), never OFFSET:
rows inserted while someone pages land after the ids already handed out or at the end, so a
reader sees every row that existed when it started exactly once. `next` is the last id of the
page, or None when nothing follows. Each page reads its rows, then their lines, in one query each.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Select, and_, exists, select

from allot.services.catalog import sku_view
from allot.services.orders import _line_view
from allot.store.tables import order_lines, orders, po_lines, purchase_orders, skus, stock_moves


@dataclass(frozen=True, slots=True)
class Page:
    after: int
    limit: int


def _paged(conn: Connection, stmt: Select[Any], id_col: Any, page: Page) -> tuple[list[Any], int | None]:
    rows = list(conn.execute(stmt.where(id_col > page.after).order_by(id_col).limit(page.limit + 1)).all())
    more = len(rows) > page.limit
    rows = rows[:page.limit]
    return rows, (rows[-1].id if more else None)


def sku_page(conn: Connection, page: Page) -> dict[str, Any]:
    """Every SKU with its settings and on hand, in the order they were created."""
    rows, nxt = _paged(conn, select(skus), skus.c.id, page)
    return {"items": [sku_view(r) for r in rows], "next": nxt}


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Orders on these channels (None: any), of this customer, with one line matching every line filter."""

    channels: Sequence[str] | None = None
    customer: str | None = None
    state: str | None = None
    sku: str | None = None
    promise_before: date | None = None


def order_page(conn: Connection, page: Page, f: OrderFilter) -> dict[str, Any]:
    """Orders oldest first, each as GET /v1/orders/{ref} shows it."""
    stmt = select(orders)
    if f.channels is not None:
        stmt = stmt.where(orders.c.channel.in_(list(f.channels)))
    if f.customer is not None:
        stmt = stmt.where(orders.c.customer == f.customer)
    line_filters = _line_filters(f)
    if line_filters:
        stmt = stmt.where(exists().where(order_lines.c.order_id == orders.c.id, *line_filters))
    rows, nxt = _paged(conn, stmt, orders.c.id, page)
    lines = _lines_of(conn, [r.id for r in rows])
    items = [{"ref": r.ref, "channel": r.channel, "priority": r.priority, "customer": r.customer,
              "email": r.email, "ignored_lines": r.ignored_lines, "created_at": r.created_at,
              "lines": lines.get(r.id, [])} for r in rows]
    return {"items": items, "next": nxt}


def _line_filters(f: OrderFilter) -> list[Any]:
    ol = order_lines.c
    found: list[Any] = []
    if f.state is not None:
        found.append(ol.state == f.state)
    if f.sku is not None:
        found.append(ol.sku_id == select(skus.c.id).where(skus.c.sku == f.sku).scalar_subquery())
    if f.promise_before is not None:
        found.append(and_(ol.promise_date.is_not(None), ol.promise_date < f.promise_before))
    return found


def _lines_of(conn: Connection, order_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not order_ids:
        return {}
    rows = conn.execute(
        select(order_lines, skus.c.sku, skus.c.summary).join(skus, skus.c.id == order_lines.c.sku_id)
        .where(order_lines.c.order_id.in_(order_ids)).order_by(order_lines.c.order_id, order_lines.c.line)
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        found.setdefault(r.order_id, []).append(_line_view(r))
    return found


def po_page(conn: Connection, page: Page, status: str | None, supplier: str | None,
            sku: str | None) -> dict[str, Any]:
    """Purchase orders oldest first, each as GET /v1/purchase-orders/{ref} shows it."""
    stmt = select(purchase_orders)
    if status is not None:
        stmt = stmt.where(purchase_orders.c.status == status)
    if supplier is not None:
        stmt = stmt.where(purchase_orders.c.supplier == supplier)
    if sku is not None:
        sku_id = select(skus.c.id).where(skus.c.sku == sku).scalar_subquery()
        stmt = stmt.where(exists().where(po_lines.c.po_id == purchase_orders.c.id, po_lines.c.sku_id == sku_id))
    rows, nxt = _paged(conn, stmt, purchase_orders.c.id, page)
    lines = _po_lines_of(conn, [r.id for r in rows])
    items = [{"ref": r.ref, "supplier": r.supplier, "status": r.status, "created_at": r.created_at,
              "lines": lines.get(r.id, [])} for r in rows]
    return {"items": items, "next": nxt}


def _po_lines_of(conn: Connection, po_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not po_ids:
        return {}
    rows = conn.execute(
        select(po_lines, skus.c.sku).join(skus, skus.c.id == po_lines.c.sku_id)
        .where(po_lines.c.po_id.in_(po_ids)).order_by(po_lines.c.po_id, po_lines.c.line)
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        found.setdefault(r.po_id, []).append({
            "line": r.line, "sku": r.sku, "qty": r.qty, "received": r.received, "closed": r.closed,
            "remaining": 0 if r.closed else max(0, r.qty - r.received), "expected_date": r.expected_date})
    return found


def move_page(conn: Connection, page: Page, sku: str | None, reason: str | None) -> dict[str, Any]:
    """The stock ledger, oldest first: every change to on hand with its reason."""
    stmt = select(stock_moves.c.id, stock_moves.c.delta, stock_moves.c.reason, stock_moves.c.ref,
                  stock_moves.c.created_at, skus.c.sku).join(skus, skus.c.id == stock_moves.c.sku_id)
    if sku is not None:
        stmt = stmt.where(skus.c.sku == sku)
    if reason is not None:
        stmt = stmt.where(stock_moves.c.reason == reason)
    rows, nxt = _paged(conn, stmt, stock_moves.c.id, page)
    items = [{"id": r.id, "sku": r.sku, "delta": r.delta, "reason": r.reason, "ref": r.ref,
              "created_at": r.created_at} for r in rows]
    return {"items": items, "next": nxt}
