"""Storefront orders in: a shop's delivery, as platform-neutral commands, applied exactly once.

The commands go through the same services as `POST /v1/orders`, cancel and shipments, in one
transaction with the delivery's record (so a redelivery changes nothing) and its audit row. What
the shop did is a fact: an order is never refused for availability, quota or channel rules.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from allot.domain.errors import AllotError
from allot.services import audit, orders, selling
from allot.services.lines import open_qty
from allot.store.bulk import insert_new
from allot.store.tables import order_lines, skus, storefront_deliveries
from allot.store.tables import orders as orders_table

MAX_SKU = 100  # as skus.sku keeps it
REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,99}$")  # an order ref the API can name


@dataclass(frozen=True, slots=True)
class ShopLine:
    external_id: str | None
    sku: str | None
    qty: int
    name: str | None = None


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    number: str  # the shop's order number: the Allot ref is "{channel}-{number}"
    customer: str | None
    email: str | None
    lines: tuple[ShopLine, ...]


@dataclass(frozen=True, slots=True)
class CancelOrder:
    number: str


@dataclass(frozen=True, slots=True)
class Units:
    external_id: str  # the shop's line-item id, kept on Allot's line
    qty: int


@dataclass(frozen=True, slots=True)
class CancelUnits:
    units: tuple[Units, ...]


@dataclass(frozen=True, slots=True)
class ShipUnits:
    units: tuple[Units, ...]


Command = PlaceOrder | CancelOrder | CancelUnits | ShipUnits


@dataclass(frozen=True, slots=True)
class Received:
    """One signed delivery: where it came from and what it is."""

    channel: str
    platform: str
    topic: str
    delivery_id: str  # as the platform sent it
    key: str  # what a redelivery repeats (the delivery id, plus a body digest where ids repeat)
    request_id: str
    path: str


@dataclass(frozen=True, slots=True)
class Outcome:
    outcome: str  # applied, ignored, skipped, rejected, duplicate
    order_ref: str | None = None
    detail: str | None = None


def receive(conn: Connection, got: Received, command: Command | None, now: datetime) -> Outcome:
    """Apply a delivery once: one seen before changes nothing.

    A command Allot cannot carry out raises, and the caller's transaction rolls back whole: the
    caller then records the delivery with `refuse` in a transaction of its own."""
    expected = _expected(got.channel, command)
    if not _first_time(conn, got, now, expected):
        return Outcome("duplicate")
    result = apply(conn, got.channel, command, now)
    _settle(conn, got, result, 200, now, claimed=expected)
    return result


def refuse(conn: Connection, got: Received, error: Exception, status: int, now: datetime) -> Outcome:
    """Record a delivery Allot could not read or carry out; a duplicate if it was recorded before."""
    if not _first_time(conn, got, now):
        return Outcome("duplicate")
    result = Outcome("rejected" if status >= 400 else "skipped", _ref(error), _detail(error))
    _settle(conn, got, result, status, now)
    return result


def apply(conn: Connection, channel: str, command: Command | None, now: datetime) -> Outcome:
    """What the shop did, done in Allot through the services the API uses."""
    if command is None:
        return Outcome("ignored", None, "a topic that changes nothing in Allot")
    if isinstance(command, PlaceOrder):
        return _place(conn, channel, command, now)
    if isinstance(command, CancelOrder):
        return _cancel_order(conn, ref_of(channel, command.number), now)
    if not command.units:
        return Outcome("ignored", None, "no units to cancel" if isinstance(command, CancelUnits) else "no units shipped")
    return _by_line(conn, channel, command.units, now, ship=isinstance(command, ShipUnits))


def ref_of(channel: str, number: str) -> str:
    return f"{channel}-{number}"


def _place(conn: Connection, channel: str, order: PlaceOrder, now: datetime) -> Outcome:
    """A shop's order: the lines Allot manages are placed (never refused), the rest kept as ignored lines."""
    ref = ref_of(channel, order.number)
    if not REF.fullmatch(ref):
        return Outcome("skipped", None, f"order number {order.number!r} does not make an order ref Allot can keep")
    managed = _managed(conn, {ln.sku for ln in order.lines if ln.sku and len(ln.sku) <= MAX_SKU})
    lines = [{"sku": ln.sku, "qty": ln.qty, "external_id": ln.external_id}
             for ln in order.lines if ln.sku in managed and ln.qty > 0]
    ignored = [_ignored(ln, managed) for ln in order.lines if ln.sku not in managed or ln.qty <= 0]
    if not lines:
        return Outcome("skipped", None, "no line of a SKU Allot manages")
    extras = selling.Extras(email=order.email, ignored_lines=ignored or None, facts=True)
    selling.place_order(conn, ref, channel, 0, order.customer, lines, now, extras)
    return Outcome("applied", ref)


def _ignored(line: ShopLine, managed: set[str]) -> dict[str, Any]:
    reason = "no SKU" if not line.sku else "no quantity" if line.qty <= 0 else "SKU not managed by Allot"
    return {"external_id": line.external_id, "sku": line.sku[:200] if line.sku else None,
            "name": line.name[:200] if line.name else None, "qty": line.qty, "reason": reason}


def _cancel_order(conn: Connection, ref: str, now: datetime) -> Outcome:
    if not _exists(conn, ref):
        return Outcome("skipped", None, f"order {ref!r} is not in Allot")
    view = orders.get(conn, ref)
    if not any(ln["qty"] - ln["qty_shipped"] - ln["qty_cancelled"] > 0 for ln in view["lines"]):
        return Outcome("skipped", ref, "nothing left open to cancel")
    orders.cancel(conn, ref, None, now)
    return Outcome("applied", ref)


def _by_line(conn: Connection, channel: str, units: tuple[Units, ...], now: datetime, *, ship: bool) -> Outcome:
    """Cancel or ship the shop's line items, found by their ids; never more than a line has open."""
    found = _lines_of(conn, channel, [u.external_id for u in units])
    wanted: dict[str, dict[int, int]] = {}
    for u in units:
        if u.external_id in found:
            ref, line, left = found[u.external_id]
            per_order = wanted.setdefault(ref, {})
            per_order[line] = min(left, per_order.get(line, 0) + u.qty)
    if not wanted:
        return Outcome("skipped", None, "no line Allot plans")
    todo = {ref: [{"line": n, "qty": q} for n, q in sorted(lines.items()) if q > 0] for ref, lines in wanted.items()}
    todo = {ref: items for ref, items in todo.items() if items}
    for ref, items in sorted(todo.items()):
        if ship:
            orders.ship(conn, ref, items, now, by_shop=True)
        else:
            orders.cancel(conn, ref, items, now)
    refs = sorted(wanted)
    if not todo:
        return Outcome("skipped", refs[0], "nothing left open on those lines")
    return Outcome("applied", refs[0], None if len(refs) == 1 else f"orders {', '.join(refs)}")


def _lines_of(conn: Connection, channel: str, ids: list[str]) -> dict[str, tuple[str, int, int]]:
    """The channel's order lines with these shop line-item ids: (order ref, line, units open)."""
    ol = order_lines.c
    rows = conn.execute(
        select(ol.external_id, orders_table.c.ref, ol.line, ol.qty, ol.qty_shipped, ol.qty_cancelled)
        .join(orders_table, orders_table.c.id == ol.order_id)
        .where(ol.channel == channel, ol.external_id.in_(ids))
    )
    return {r.external_id: (r.ref, r.line, open_qty(r)) for r in rows}


def _managed(conn: Connection, names: set[str]) -> set[str]:
    if not names:
        return set()
    return set(conn.execute(select(skus.c.sku).where(skus.c.sku.in_(sorted(names)))).scalars())


def _exists(conn: Connection, ref: str) -> bool:
    return conn.execute(select(orders_table.c.id).where(orders_table.c.ref == ref)).first() is not None


def _expected(channel: str, command: Command | None) -> Outcome:
    """What a delivery usually comes to, claimed with it so that the usual case writes its row once."""
    ref = ref_of(channel, command.number) if isinstance(command, PlaceOrder) else ""
    return Outcome("applied", ref) if REF.fullmatch(ref) else Outcome("receiving")


def _first_time(conn: Connection, got: Received, now: datetime, claim: Outcome = Outcome("receiving")) -> bool:
    """Claim the delivery: a concurrent twin waits on the unique key, then finds it taken."""
    return insert_new(conn, storefront_deliveries, {
        "channel": got.channel, "delivery_id": got.key, "topic": got.topic[:100], "received_at": now,
        "outcome": claim.outcome, "order_ref": claim.order_ref}, ["channel", "delivery_id"])


def _settle(conn: Connection, got: Received, result: Outcome, status: int, now: datetime,
            claimed: Outcome | None = None) -> None:
    d = storefront_deliveries.c
    detail = result.detail[:500] if result.detail else None
    if result != claimed:
        conn.execute(update(storefront_deliveries).where(d.channel == got.channel, d.delivery_id == got.key)
                     .values(outcome=result.outcome, detail=detail, order_ref=result.order_ref))
    summary = {"params": {"channel": got.channel},
               "body": {"platform": got.platform, "topic": got.topic, "delivery_id": got.delivery_id},
               "result": {"outcome": result.outcome, "order_ref": result.order_ref, "detail": detail}}
    actor = audit.Actor(None, f"{got.platform}:{got.channel}"[:100], "webhook")
    audit.record(conn, now, actor, audit.Change(got.request_id, "POST", got.path, "storefront_webhook", status,
                                                summary))


def _detail(error: Exception) -> str:
    if isinstance(error, AllotError):
        return error.detail  # e.g. the order exists already: the same order through another delivery
    return "a concurrent delivery made the same change"


def _ref(error: Exception) -> str | None:
    ref = error.extra.get("ref") if isinstance(error, AllotError) else None
    return ref if isinstance(ref, str) else None
