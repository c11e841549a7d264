"""Recompute every counter and every plan from the rows, and say where they disagree."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, func, select

from allot.domain import planner
from allot.domain.model import MAIN, State
from allot.services.book import Book, load_channels, load_places
from allot.store.tables import skus, stock_moves


def reconcile(conn: Connection, now: datetime) -> list[str]:
    """Mismatches between what is stored and what the rows and the planner say; [] when clean."""
    rules, places = load_channels(conn), load_places(conn)
    found: list[str] = []
    for row in conn.execute(select(skus).order_by(skus.c.sku)).all():
        found += _check_sku(conn, Book(conn, row, rules, now, places))
    return found


def _check_sku(conn: Connection, book: Book) -> list[str]:
    sku, s = book.sku, book.summary
    ledger = conn.execute(select(func.coalesce(func.sum(stock_moves.c.delta), 0))
                          .where(stock_moves.c.sku_id == book.id)).scalar_one()
    found = _check_locations(conn, book)
    supply, incoming = book.supply_from_rows()
    entries = book.load_queue()
    after = planner.plan(supply, [e.demand for e in entries], book.today)
    expected = {
        "on_hand": (book.on_hand, ledger),
        "incoming": (s["incoming"], incoming),
        "committed": (s["committed"], sum(e.demand.qty for e in entries if not e.is_hold)),
        "reserved": (s["reserved"], sum(e.demand.qty for e in entries if e.is_hold)),
        "uncovered": (s["uncovered"], after.uncovered),
        "free": (s["free"], after.free),
        "wake_at": (book.wake_at, book.wakes_at()),  # the sweeper's copy of the summary's next opening
    }
    found += [f"{sku}: {name} is {got}, rows say {want}" for name, (got, want) in expected.items() if got != want]
    for e in entries:
        new = after.placements[e.demand.key]
        if e.state is State.READY and new.state is State.READY:
            new = replace(new, promise_date=e.promise_date)
        if (new.takes, new.state, new.promise_date) != (e.takes, e.state, e.promise_date):
            where = f"order {e.order_ref} line {e.line}" if e.order_ref else f"hold {e.row_id}"
            found.append(f"{sku}: {where} is stored as {e.state.value} {e.promise_date}, "
                         f"plan says {new.state.value} {new.promise_date}")
    return found


def _check_locations(conn: Connection, book: Book) -> list[str]:
    """On hand at each location other than `main` against that location's stock ledger. `main` holds
    the rest of the total, so the total's check (skus.on_hand against the whole ledger) covers it."""
    m = stock_moves.c
    ledger = {loc: int(units) for loc, units in conn.execute(
        select(m.location, func.sum(m.delta)).where(m.sku_id == book.id).group_by(m.location))}
    stored = book.levels()
    return [f"{book.sku}: on hand at {loc} is {stored.get(loc, 0)}, its ledger says {ledger.get(loc, 0)}"
            for loc in sorted((set(ledger) | set(stored)) - {MAIN}) if stored.get(loc, 0) != ledger.get(loc, 0)]
