"""The history the KPIs and the forecast read (docs/kpis.md), written in the transaction of each change.

Each function is called at the one place its change happens: a line's first promise given by a
re-plan (`Book._persist`), units shipped or cancelled (`lines.close_units`), a receipt and a moved
expected date (`purchasing`), `available` crossing zero and `uncovered` leaving or reaching zero
(`availability_out.announce`). The sale path writes nothing here: a line sold with a promise
carries its first promise in the row it inserts.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, update

from allot.services.common import today
from allot.store.tables import cancellations, order_lines, receipts, shipments, sku_spans

SOLD_OUT = "sold_out"
OVERSOLD = "oversold"
ANY_CHANNEL = "*"


def first_promised(conn: Connection, line_ids: Sequence[Any]) -> None:
    """Lines a re-plan just promised after having none: the first promise they ever got is this one."""
    if not line_ids:
        return
    ol = order_lines.c
    conn.execute(update(order_lines).where(ol.id.in_(list(line_ids)), ol.first_promise_date.is_(None))
                 .values(first_promise_date=ol.promise_date))


def closed(conn: Connection, row: Any, on: date, *, shipped: int, cancelled: int) -> None:
    """Units of an order line left the queue: a shipment measured against its promises, or a
    cancellation noting whether the promise had slipped by then."""
    if shipped:
        placed = today(row.queued_at)
        first, latest = row.first_promise_date, row.promise_date
        conn.execute(insert(shipments).values(
            order_line_id=row.id, sku_id=row.sku_id, channel=row.channel, qty=shipped, shipped_on=on,
            first_promise_date=first, promise_date=latest, days_to_ship=max(0, (on - placed).days),
            promised_qty=shipped if first else 0, kept_qty=shipped if first and on <= first else 0,
            kept_latest_qty=shipped if latest and on <= latest else 0))
    if cancelled:
        conn.execute(insert(cancellations).values(
            order_line_id=row.id, sku_id=row.sku_id, channel=row.channel, qty=cancelled, cancelled_on=on,
            slipped=slipped(row.first_promise_date, row.promise_date)))


def slipped(first: date | None, latest: date | None) -> bool:
    """A promise slipped when the line now has a later one, or none at all after having one."""
    if first is None:
        return False
    return latest is None or latest > first


def received(conn: Connection, line: Any, supplier: str | None, qty: int, on: date) -> None:
    """A receipt on a PO line, measured against the date the line was first expected."""
    first = line.first_expected_date or line.expected_date
    conn.execute(insert(receipts).values(
        po_line_id=line.id, sku_id=line.sku_id, supplier=supplier, qty=qty, received_on=on,
        first_expected_date=first, days_late=max(0, (on - first).days)))


def expected_moved(line: Any, new: date) -> dict[str, Any]:
    """Values that keep a PO line's first expected date when its expected date moves."""
    if new == line.expected_date or line.first_expected_date is not None:
        return {}
    return {"first_expected_date": line.expected_date}


@dataclass(frozen=True, slots=True)
class Flip:
    """A SKU × channel that became unsellable (or sellable again), or oversold (or no longer)."""

    sku_id: Any
    channel: str
    kind: str
    begins: bool
    units: int = 0


def flips(sku_id: Any, channel: str, available_was: int, available: int) -> Iterable[Flip]:
    """A channel's `available` crossing zero: a sold-out span begins or ends."""
    if (available_was >= 1) != (available >= 1):
        yield Flip(sku_id, channel, SOLD_OUT, begins=available < 1)


def oversold_flips(sku_id: Any, uncovered_was: int, uncovered: int) -> Iterable[Flip]:
    if (uncovered_was > 0) != (uncovered > 0):
        yield Flip(sku_id, ANY_CHANNEL, OVERSOLD, begins=uncovered > 0, units=uncovered)


def spans(conn: Connection, now: datetime, found: Sequence[Flip]) -> None:
    """Open and close the spans the flips describe (rare: only when a number crosses zero)."""
    s = sku_spans.c
    begun = [{"sku_id": f.sku_id, "channel": f.channel, "kind": f.kind, "started_at": now, "units": f.units}
             for f in found if f.begins]
    for f in found:
        if not f.begins:
            conn.execute(update(sku_spans).where(and_(s.sku_id == f.sku_id, s.channel == f.channel,
                                                      s.kind == f.kind, s.ended_at.is_(None)))
                         .values(ended_at=now))
    if begun:
        conn.execute(insert(sku_spans), begun)
