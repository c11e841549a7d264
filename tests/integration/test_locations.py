"""Locations (BRIEF §9, issue #13) on SQLite and PostgreSQL: stock per location, transfers, channels
that ship from some locations only, shipments from a location, reconcile per location, bad input."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from allot.domain.errors import AllotError, Conflict, InsufficientStock, Invalid, NotReady
from allot.services import catalog, locations, orders, purchasing, reports, selling, stock, transfers
from allot.services.reconcile import reconcile
from allot.store.db import Database
from allot.store.tables import stock_levels, stock_moves
from allot.store.tables import transfers as transfer_rows

SKU = "LOC-MUG"


def shop(db: Database, now: datetime) -> None:
    """`main` with 30 mugs, a `3pl` with 2 handling days, a web channel that ships from anywhere and a
    marketplace that may ship only from the 3pl."""
    with db.write() as conn:
        locations.put(conn, "3pl", "Third party", 2, now)
        catalog.put_sku(conn, SKU, {"mode": "backorder", "handling_days": 1}, now)
        catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": False, "padding_days": 0}, now)
        catalog.put_channel(conn, "market", {"allow_backorder": True, "allow_preorder": False, "padding_days": 0,
                                             "locations": ["3pl"], "split": "allow"}, now)
        stock.adjust(conn, SKU, 30, "opening stock", now)


def test_a_3pl_only_channel_waits_for_the_transfer_and_never_takes_mains_units(db: Database, now: datetime) -> None:
    """Acceptance 2: 20 units sent to the 3pl, arriving in 5 days, sell to the marketplace with a
    promise of day 5 + SKU handling (1) + the 3pl's handling (2); main's stock is never touched."""
    shop(db, now)
    day5 = now.date() + timedelta(days=5)
    with db.write() as conn:
        moved = transfers.create(conn, "T-1", "main", "3pl", day5, [{"sku": SKU, "qty": 20}], now)
        assert moved["status"] == "open" and moved["lines"][0]["remaining"] == 20
        selling.place_order(conn, "M-1", "market", 0, None, [{"sku": SKU, "qty": 20}], now)
        with pytest.raises(AllotError):  # nothing more at the 3pl, main's 10 are not the market's
            selling.place_order(conn, "M-2", "market", 0, None, [{"sku": SKU, "qty": 1}], now)
        selling.place_order(conn, "W-1", "web", 0, None, [{"sku": SKU, "qty": 10}], now)
    with db.read() as conn:
        line = orders.get(conn, "M-1")["lines"][0]
        assert line["promise_date"] == day5 + timedelta(days=1 + 2)
        assert line["allocation"] == [{"source": "transfer", "transfer_ref": "T-1", "qty": 20, "po_ref": None,
                                       "po_line": None, "date": day5.isoformat(), "location": "3pl"}]
        web = orders.get(conn, "W-1")["lines"][0]
        assert web["state"] == "ready" and {a["location"] for a in web["allocation"]} == {"main"}
        answer = reports.availability(conn, SKU, "market", now)
        assert answer["available"] == 0
        by = {loc["location"]: loc for loc in answer["locations"]}
        assert by["main"]["on_hand"] == 10 and by["main"]["committed"] == 10
        assert by["3pl"] == {"location": "3pl", "on_hand": 0, "incoming": 20, "committed": 20, "reserved": 0,
                             "available": 0}
        assert reconcile(conn, now) == []

    with db.write() as conn:
        transfers.receive(conn, "T-1", None, False, now)
    with db.read() as conn:
        line = orders.get(conn, "M-1")["lines"][0]
        assert line["state"] == "ready" and line["allocation"][0]["location"] == "3pl"
        assert transfers.get(conn, "T-1")["status"] == "closed"
        assert reconcile(conn, now) == []


def test_a_shipment_leaves_from_the_location_of_the_ready_units(db: Database, now: datetime) -> None:
    shop(db, now)
    with db.write() as conn:
        stock.adjust(conn, SKU, 5, "3pl stock", now, "3pl")
        selling.place_order(conn, "M-1", "market", 0, None, [{"sku": SKU, "qty": 3}], now)
        with pytest.raises(NotReady) as not_there:
            orders.ship(conn, "M-1", [{"line": 1, "qty": 3, "location": "main"}], now)
        assert not_there.value.extra["field"] == "lines.0.location"
        orders.ship(conn, "M-1", [{"line": 1, "qty": 3}], now)
    with db.read() as conn:
        moves = conn.execute(select(stock_moves.c.location, stock_moves.c.delta)
                             .where(stock_moves.c.reason == "shipment")).all()
        assert [tuple(m) for m in moves] == [("3pl", -3)]
        assert conn.execute(select(stock_levels.c.on_hand).where(stock_levels.c.location == "3pl")).scalar() == 2
        assert reconcile(conn, now) == []


def test_bad_input_names_the_field_and_writes_nothing(db: Database, now: datetime) -> None:
    shop(db, now)
    day = now.date() + timedelta(days=3)

    def refused(error: type[AllotError], field: str | None, op: Any) -> None:
        with db.read() as conn:
            before = conn.execute(select(func.count()).select_from(stock_moves)).scalar()
        with pytest.raises(error) as caught, db.write() as conn:
            op(conn)
        if field is not None:
            assert caught.value.extra.get("field") == field
        with db.read() as conn:
            assert conn.execute(select(func.count()).select_from(stock_moves)).scalar() == before
            assert conn.execute(select(func.count()).select_from(transfer_rows)).scalar() == 0

    refused(Invalid, "location", lambda c: stock.adjust(c, SKU, 5, "x", now, "moon"))
    refused(Invalid, "from", lambda c: transfers.create(c, "T", "moon", "3pl", day, [{"sku": SKU, "qty": 1}], now))
    refused(Invalid, "to", lambda c: transfers.create(c, "T", "main", "main", day, [{"sku": SKU, "qty": 1}], now))
    refused(InsufficientStock, "lines.1.qty", lambda c: transfers.create(
        c, "T", "main", "3pl", day, [{"sku": SKU, "qty": 20}, {"sku": SKU, "qty": 11}], now))
    refused(Invalid, "location", lambda c: purchasing.create(c, "PO-X", None, [{"sku": SKU, "qty": 1,
                                                                                "expected_date": day}], now, "moon"))
    refused(Invalid, "locations.0", lambda c: catalog.put_channel(
        c, "web", {"allow_backorder": True, "allow_preorder": False, "padding_days": 0, "locations": ["moon"]}, now))
    with db.write() as conn:
        stock.adjust(conn, SKU, 4, "3pl stock", now, "3pl")
    with pytest.raises(InsufficientStock), db.write() as conn:
        stock.adjust(conn, SKU, -5, "too many", now, "3pl")
    with pytest.raises(Conflict) as holding, db.write() as conn:
        locations.remove(conn, "3pl")
    assert "holds 4 units" in str(holding.value)
    with db.read() as conn:
        assert [loc["location"] for loc in locations.list_all(conn)] == ["main", "3pl"]


def test_reconcile_reports_a_mismatch_planted_in_one_location(db: Database, now: datetime, tmp_path: Path) -> None:
    """Acceptance 4, through `allot reconcile` itself."""
    shop(db, now)
    with db.write() as conn:
        stock.adjust(conn, SKU, 6, "3pl stock", now, "3pl")
        assert reconcile(conn, now) == []
        conn.execute(update(stock_levels).where(stock_levels.c.location == "3pl").values(on_hand=9))
    with db.read() as conn:
        found = reconcile(conn, now)
    assert found[0] == f"{SKU}: on hand at 3pl is 9, its ledger says 6"
    assert not any("at main" in f for f in found)
    url = db.engine.url.render_as_string(hide_password=False)
    run = subprocess.run([str(Path(sys.executable).parent / "allot"), "reconcile"], capture_output=True, text=True,
                         env={**os.environ, "ALLOT_DATABASE_URL": url}, cwd=tmp_path, timeout=120, check=False)
    assert run.returncode == 1
    assert "on hand at 3pl is 9, its ledger says 6" in run.stdout


def test_a_default_priority_sale_at_several_locations_stays_on_the_fast_path(
        db: Database, now: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    """No queue is read for a tail sale (the fast path), and what it stored is what a full re-plan
    gives (reconcile is clean); a line kept whole by `split: avoid` sends later sales to the full path."""
    shop(db, now)
    with db.write() as conn:
        stock.adjust(conn, SKU, 4, "3pl stock", now, "3pl")
        catalog.put_channel(conn, "whole", {"allow_backorder": False, "allow_preorder": False, "padding_days": 0,
                                            "split": "avoid"}, now)
    from allot.services.book import Book
    read_queue = Book.load_queue

    def no_queue(self: Book) -> Any:
        raise AssertionError("a tail sale read the queue")

    monkeypatch.setattr(Book, "load_queue", no_queue)
    with db.write() as conn:
        selling.place_order(conn, "W-1", "web", 0, None, [{"sku": SKU, "qty": 29}], now)  # main's 29 of 30
        selling.place_hold(conn, SKU, 2, "market", 600, now)  # 2 of the 3pl's 4
        # first come would take main's last unit and one at the 3pl: kept whole, both at the 3pl
        selling.place_order(conn, "K-1", "whole", 0, None, [{"sku": SKU, "qty": 2}], now)
    monkeypatch.setattr(Book, "load_queue", read_queue)
    with db.read() as conn:
        line = orders.get(conn, "K-1")["lines"][0]
        assert [(a["location"], a["qty"]) for a in line["allocation"]] == [("3pl", 2)]
        assert reconcile(conn, now) == []
    calls: list[int] = []

    def counted(self: Book) -> Any:
        calls.append(1)
        return read_queue(self)

    monkeypatch.setattr(Book, "load_queue", counted)
    with db.write() as conn:
        selling.place_hold(conn, SKU, 1, "web", 600, now)
    assert calls, "a line kept whole makes the next sale re-plan"
    with db.read() as conn:
        assert reconcile(conn, now) == []
