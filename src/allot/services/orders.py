"""Orders after they are placed: look up, cancel, ship, answer a delay."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from allot.domain import events as kinds
from allot.domain.consent import NEEDS_CONSENT
from allot.domain.errors import ConsentNotRequested, Invalid, NotFound, NotReady
from allot.domain.model import MAIN, STOCK_KEY, Source
from allot.services import locations
from allot.services.book import Book, save_all, takes_from_json
from allot.services.common import Event, iso, today
from allot.services.lines import close_units, open_qty
from allot.services.stock import move
from allot.store.tables import order_lines, orders, skus


def get(conn: Connection, ref: str) -> dict[str, Any]:
    order = _order(conn, ref)
    rows = conn.execute(
        select(order_lines, skus.c.sku, skus.c.summary).join(skus, skus.c.id == order_lines.c.sku_id)
        .where(order_lines.c.order_id == order.id).order_by(order_lines.c.line)
    ).all()
    return {
        "ref": order.ref, "channel": order.channel, "priority": order.priority, "customer": order.customer,
        "email": order.email, "created_at": order.created_at, "lines": [_line_view(r) for r in rows],
        "ignored_lines": order.ignored_lines,
    }


def channel_of(conn: Connection, ref: str) -> str:
    """The channel an order was placed on."""
    channel: str = _order(conn, ref).channel
    return channel


def _line_view(r: Any) -> dict[str, Any]:
    buckets = {b["key"]: b for b in r.summary["buckets"]}
    several = len(r.summary.get("places") or ()) > 1
    return {
        "line": r.line, "sku": r.sku, "qty": r.qty, "qty_shipped": r.qty_shipped, "qty_cancelled": r.qty_cancelled,
        "state": r.state, "promise_date": r.promise_date, "first_promise_date": r.first_promise_date,
        "hold_id": r.hold_id, "consent_status": r.consent_status, "consent_deadline": r.consent_deadline,
        "allocation": [_located(_allocation(buckets.get(t.bucket), t.bucket, t.qty), several)
                       for t in takes_from_json(r.allocation)],
    }


def _located(entry: dict[str, Any], several: bool) -> dict[str, Any]:
    """With only `main` an allocation entry is what it was before locations: no `location`."""
    if not several:
        entry.pop("location", None)
    return entry


def _allocation(bucket: dict[str, Any] | None, key: str, qty: int) -> dict[str, Any]:
    # One shape for every source (po_ref and po_line null off a PO), whether the answer is a write's or a read's.
    location = bucket.get("location", MAIN) if bucket else MAIN
    if bucket is None or key == STOCK_KEY or bucket["source"] == "stock":
        return {"source": "stock", "qty": qty, "date": None if bucket is None else bucket["date"],
                "po_ref": None, "po_line": None, "location": location}
    if bucket["source"] == "po":
        return {"source": "po", "qty": qty, "date": bucket["date"], "po_ref": bucket["po_ref"],
                "po_line": bucket["po_line"], "location": location}
    if bucket["source"] == "transfer":
        return {"source": "transfer", "qty": qty, "date": bucket["date"], "po_ref": None, "po_line": None,
                "transfer_ref": bucket["po_ref"], "location": location}
    return {"source": "made_to_order", "qty": qty, "date": bucket["date"], "po_ref": None, "po_line": None,
            "location": location}


def cancel(conn: Connection, ref: str, lines: list[dict[str, Any]] | None, now: datetime) -> dict[str, Any]:
    """Cancel open units, whole order or per line; freed units go to the next in the queue."""
    _, rows, books = _locked(conn, ref, now)
    wanted = lines if lines is not None else [{"line": n} for n, r in rows.items() if open_qty(r) > 0]
    asked: dict[int, int] = {}
    for i, item in enumerate(wanted):  # check every line before changing any
        row = _row(rows, item["line"], i)
        asked[row.line] = asked.get(row.line, 0) + (item.get("qty") or open_qty(row))
        if not 0 < asked[row.line] <= open_qty(row):
            raise Invalid(f"lines.{i}.qty", f"line {row.line} has {open_qty(row)} open units")
    for n, qty in asked.items():
        book = books[rows[n].sku]
        close_units(conn, rows[n], today(now), cancelled=qty)
        book.events.append(Event("order_line.cancelled", book.sku, {"qty": qty}, ref, n))
    for book in books.values():
        book.replan({"op": "order.cancelled", "order_ref": ref})
    save_all(books.values())
    return get(conn, ref)


def ship(conn: Connection, ref: str, lines: list[dict[str, Any]], now: datetime,
         *, by_shop: bool = False) -> dict[str, Any]:
    """Ship units that are ready: allocated from on hand, and released for a preorder SKU.

    A shop's own fulfilment (`by_shop`) is a fact: its open units are shipped whatever the plan said;
    if Allot knew fewer units on hand, the difference is first booked as found stock."""
    _, rows, books = _locked(conn, ref, now)
    asked: dict[int, int] = {}
    picks: list[tuple[int, str, int]] = []  # (line, location, units)
    taken: dict[tuple[int, str], int] = {}
    for i, item in enumerate(lines):  # check every line before changing any
        row = _row(rows, item["line"], i)
        asked[row.line] = asked.get(row.line, 0) + item["qty"]
        ready = open_qty(row) if by_shop else _shippable(row, books[row.sku])
        if asked[row.line] > ready:
            raise NotReady(f"line {row.line} has {ready} units ready to ship", line=row.line, ready=ready)
        if item.get("location") is not None:
            locations.require(conn, item["location"], field=f"lines.{i}.location")
        picks += _where_from(row, books[row.sku], item["qty"], item.get("location"), taken, by_shop, i)
    for n, qty in asked.items():
        book = books[rows[n].sku]
        if by_shop and book.on_hand < qty:
            move(conn, book, qty - book.on_hand, "found at shop fulfilment", f"{ref}/{n}")
        for _, location, units in (p for p in picks if p[0] == n):
            move(conn, book, -units, "shipment", f"{ref}/{n}", location)
        close_units(conn, rows[n], today(now), shipped=qty)
        book.events.append(Event("order_line.shipped", book.sku, {"qty": qty}, ref, n))
    for book in books.values():
        book.replan({"op": "order.shipped", "order_ref": ref})
    save_all(books.values())
    return get(conn, ref)


def answer_consent(conn: Connection, ref: str, n: int, accept: bool, now: datetime) -> dict[str, Any]:
    """The customer's answer to a delay: accept keeps the line in its queue place; reject cancels it
    and its units go to the next in the queue. A request past its deadline already took its default."""
    _, rows, books = _locked(conn, ref, now)  # opening the books applies any default that is due
    if n not in rows:
        raise NotFound(f"order {ref!r} has no line {n}", ref=ref, line=n)
    row = rows[n]
    if row.consent_status != NEEDS_CONSENT or not row.open:
        raise ConsentNotRequested(f"line {n} of order {ref!r} has no open consent request",
                                  consent_status=row.consent_status)
    book = books[row.sku]
    answered = {"consent_deadline": None, "consent_status": "accepted" if accept else "rejected"}
    if accept:
        conn.execute(update(order_lines).where(order_lines.c.id == row.id)
                     .values(**answered, agreed_promise_date=row.promise_date))
        book.events.append(Event(kinds.ORDER_LINE_CONSENT_ACCEPTED, book.sku,
                                 {"promise_date": iso(row.promise_date), "state": row.state}, ref, n))
    else:
        book.events += [Event(kinds.ORDER_LINE_CONSENT_REJECTED, book.sku, {}, ref, n),
                        Event(kinds.ORDER_LINE_CANCELLED, book.sku,
                              {"qty": open_qty(row), "reason": "consent_rejected"}, ref, n)]
        close_units(conn, row, today(now), cancelled=open_qty(row))
        conn.execute(update(order_lines).where(order_lines.c.id == row.id).values(**answered))
        book.replan({"op": "consent.rejected", "order_ref": ref, "line": n})
    save_all(books.values())
    return get(conn, ref)


def consent_overdue(conn: Connection, ref: str, now: datetime) -> list[str]:
    """SKUs of this order with a consent deadline passed but not yet applied (read-time enforcement)."""
    ol = order_lines.c
    return sorted(set(conn.execute(
        select(skus.c.sku).join(order_lines, ol.sku_id == skus.c.id).join(orders, orders.c.id == ol.order_id)
        .where(orders.c.ref == ref, ol.open.is_(True), ol.consent_status == NEEDS_CONSENT, ol.consent_deadline <= now)
    ).scalars()))


def _shippable(row: Any, book: Book) -> int:
    if not row.open or not book.rule.released(book.today):
        return 0
    return sum(_ready_at(row, book).values())


def _ready_at(row: Any, book: Book) -> dict[str, int]:
    """The line's units allocated from on hand, per location, in allocation order."""
    units: dict[str, int] = {}
    for t in takes_from_json(row.allocation):
        bucket = book.supply.by_key.get(t.bucket)
        if t.bucket == STOCK_KEY or (bucket is not None and bucket.source is Source.STOCK):
            loc = bucket.location if bucket is not None else MAIN
            units[loc] = units.get(loc, 0) + t.qty
    return units


def _where_from(row: Any, book: Book, qty: int, location: str | None, taken: dict[tuple[int, str], int],
                by_shop: bool, i: int) -> list[tuple[int, str, int]]:
    """Which locations `qty` units of a line ship from: the one named, else where its ready units are.
    `taken` counts what earlier items of the same shipment already took per (line, location)."""
    ready = _ready_at(row, book)
    if by_shop:  # a fact: from where the plan had them, the rest from the named location or main
        ready = {**ready, (location or MAIN): ready.get(location or MAIN, 0) + qty}
    elif location is not None:
        left = ready.get(location, 0) - taken.get((row.line, location), 0)
        if qty > left:
            raise NotReady(f"lines.{i}.location: line {row.line} has {max(0, left)} units ready at {location!r}",
                           field=f"lines.{i}.location", line=row.line, ready=max(0, left), location=location)
        ready = {location: ready[location]}
    picks = []
    for loc, units in ready.items():
        n = min(qty, units - taken.get((row.line, loc), 0))
        if n > 0:
            taken[(row.line, loc)] = taken.get((row.line, loc), 0) + n
            picks.append((row.line, loc, n))
            qty -= n
    return picks


def _row(rows: dict[int, Any], n: int, i: int) -> Any:
    if n not in rows:
        raise Invalid(f"lines.{i}.line", f"no line {n}")
    return rows[n]


def _locked(conn: Connection, ref: str, now: datetime) -> tuple[Any, dict[int, Any], dict[str, Book]]:
    """Lock every SKU of the order, then read its lines: the lock serialises writes to them."""
    order = _order(conn, ref)
    names = {r.sku for r in _rows(conn, order.id)}
    books = Book.open(conn, names, now)
    return order, {r.line: r for r in _rows(conn, order.id)}, books


def _rows(conn: Connection, order_id: int) -> list[Any]:
    return list(conn.execute(
        select(order_lines, skus.c.sku).join(skus, skus.c.id == order_lines.c.sku_id)
        .where(order_lines.c.order_id == order_id)
    ))


def _order(conn: Connection, ref: str) -> Any:
    order = conn.execute(select(orders).where(orders.c.ref == ref)).first()
    if order is None:
        raise NotFound(f"unknown order {ref!r}", ref=ref)
    return order
