"""CSV files: export the demo, import it into an empty database, and the plan is the same; a bad file
writes nothing and names every bad row; a dry run writes nothing."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from allot.connectors.csv_files import IMPORTS, write
from allot.demo import load
from allot.services import audit, catalog, exports, imports, reports, stock
from allot.services.reconcile import reconcile
from allot.store.db import Database
from allot.store.tables import audit_log, events, order_lines, orders, sales_history, skus
from tests.conftest import sqlite_db

ORDER = ("channels", "skus", "stock", "purchase-orders", "orders", "sales-history")
CHANGE = audit.Change("test", "CLI", "allot import", "import", 0, {})


def export(db: Database, kind: str) -> bytes:
    return "".join(write(kind, exports.rows(db, kind))).encode()


def run(db: Database, kind: str, data: bytes, now: datetime, dry_run: bool = False) -> dict[str, Any]:
    return imports.run(db, kind, lambda: io.BytesIO(data), now, dry_run=dry_run, actor=audit.CLI, change=CHANGE)


def counts(db: Database) -> dict[str, int]:
    with db.read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (skus, orders, order_lines, events, audit_log, sales_history)}


def picture(db: Database, now: datetime) -> tuple[dict[Any, Any], list[Any]]:
    """Availability of every SKU × channel, and every order line's state and promise."""
    with db.read() as conn:
        names = catalog.sku_names(conn)
        channel_names = ["web", "wholesale", "amazon", None]
        available = {(s, c): reports.availability(conn, s, c, now) for s in names for c in channel_names}
        lines = conn.execute(select(orders.c.ref, order_lines.c.line, order_lines.c.state, order_lines.c.promise_date,
                                    order_lines.c.qty_shipped, order_lines.c.qty_cancelled)
                             .join(order_lines, order_lines.c.order_id == orders.c.id)
                             .order_by(orders.c.ref, order_lines.c.line)).all()
    return available, [tuple(r) for r in lines]


@pytest.fixture
def demo(db: Database, now: datetime) -> Database:
    load(db, now)
    return db


def test_the_demo_exported_and_imported_into_an_empty_database_plans_the_same(
        demo: Database, now: datetime, tmp_path: Path) -> None:
    files = {kind: export(demo, kind) for kind in ORDER}
    fresh = sqlite_db(tmp_path / "fresh.db")
    for kind in ORDER:
        run(fresh, kind, files[kind], now)
    before, after = picture(demo, now), picture(fresh, now)
    assert len(after[1]) == 463
    assert after[0] == before[0]
    assert after[1] == before[1]
    with fresh.read() as conn:
        assert reconcile(conn, now) == []
    assert export(fresh, "order-lines") == export(demo, "order-lines")
    fresh.dispose()


def test_importing_the_same_files_again_changes_nothing(demo: Database, now: datetime) -> None:
    files = {kind: export(demo, kind) for kind in ORDER}
    before = counts(demo)
    for kind in ORDER:
        result = run(demo, kind, files[kind], now)
        assert result["created"] == result["updated"] == 0, (kind, result)
    after = counts(demo)
    assert {k: v for k, v in after.items() if k != "audit_log"} == {k: v for k, v in before.items()
                                                                     if k != "audit_log"}
    assert after["audit_log"] == before["audit_log"] + len(ORDER)  # every import is audited


BAD_ORDERS = (
    "ref,channel,sku,qty,promise_date\n"
    "A-1,web,AURORA-LAMP,1,\n"
    "A-2,web,AURORA-LAMP,-3,\n"           # line 3: negative quantity
    "A-3,web,NO-SUCH-SKU,1,\n"            # line 4: unknown SKU
    "A-4,web,TERRA-MUG,1,2026-13-40\n"    # line 5: bad date
    "A-5,web,TERRA-MUG,2,\n"
)


def test_a_file_with_three_bad_rows_lists_all_three_and_writes_nothing(demo: Database, now: datetime) -> None:
    before = counts(demo)
    with pytest.raises(imports.BadFile) as bad:
        run(demo, "orders", BAD_ORDERS.encode(), now)
    found = [(p.line, p.column) for p in bad.value.problems]
    assert found == [(3, "qty"), (4, "sku"), (5, "promise_date")]
    assert "negative" in bad.value.problems[0].reason
    assert counts(demo) == before


def test_bad_headers_duplicate_refs_unknown_channels_and_non_numbers_are_each_named(
        demo: Database, now: datetime) -> None:
    cases = {
        b"ref,channel,sku,quantity\nA-1,web,TERRA-MUG,1\n": [(1, "quantity"), (1, "qty")],
        b"ref,channel,sku,qty,line\nA-1,web,TERRA-MUG,1,1\nA-1,web,TERRA-MUG,1,1\n": [(3, "line")],
        b"ref,channel,sku,qty\nA-1,shop,TERRA-MUG,1\nA-2,web,TERRA-MUG,two\n": [(2, "channel"), (3, "qty")],
        b"ref,channel,sku,qty\nW-1001,web,TERRA-MUG,5\n": [(2, "ref")],  # exists, and differs
    }
    for data, expected in cases.items():
        with pytest.raises(imports.BadFile) as bad:
            run(demo, "orders", data, now)
        assert [(p.line, p.column) for p in bad.value.problems] == expected, data


def test_bytes_that_are_not_utf8_are_a_bad_row_and_nothing_is_written(demo: Database, now: datetime) -> None:
    data = b"sku,channel,date,qty\nTERRA-MUG,web,2026-01-02,4\n" + b"TERRA-MUG,web,2026-01-03,\xff\xfe\n"
    with pytest.raises(imports.BadFile) as bad:
        run(demo, "sales-history", data, now)
    assert bad.value.problems[0].line == 3 and "UTF-8" in bad.value.problems[0].reason
    assert counts(demo)["sales_history"] == 0


def test_a_dry_run_reports_what_would_change_and_writes_nothing(demo: Database, now: datetime) -> None:
    before = counts(demo)
    data = b"ref,channel,sku,qty\nNEW-1,web,TERRA-MUG,2\nNEW-2,amazon,CANVAS-TOTE,500\n"
    result = run(demo, "orders", data, now, dry_run=True)
    assert result["dry_run"] and result["created"] == 2
    assert counts(demo) == before


def test_imported_orders_are_facts_never_refused_and_backordered_when_short(demo: Database, now: datetime) -> None:
    run(demo, "orders", b"ref,channel,sku,qty\nBIG-1,amazon,CANVAS-TOTE,500\n", now)
    with demo.read() as conn:
        state = conn.execute(select(order_lines.c.state).join(orders, orders.c.id == order_lines.c.order_id)
                             .where(orders.c.ref == "BIG-1")).scalar_one()
        oversold = conn.execute(select(func.count()).select_from(events)
                                .where(events.c.type == "sku.oversold", events.c.sku == "CANVAS-TOTE")).scalar_one()
        assert reconcile(conn, now) == []
    assert state == "backordered" and oversold == 1


def test_a_stock_count_sets_on_hand_to_the_counted_figure(demo: Database, now: datetime) -> None:
    run(demo, "stock", b"sku,on_hand\nTERRA-MUG,7\n", now)
    with demo.read() as conn:
        assert catalog.get_sku(conn, "TERRA-MUG")["on_hand"] == 7


@pytest.mark.parametrize("kind", IMPORTS)
def test_each_kind_round_trips_through_an_empty_database(
        kind: str, demo: Database, now: datetime, tmp_path: Path) -> None:
    run(demo, "sales-history", b"sku,channel,date,qty\nTERRA-MUG,web,2025-11-01,3\nTERRA-MUG,amazon,2025-11-01,0\n",
        now)
    with demo.write() as conn:
        stock.adjust(conn, "CANVAS-TOTE", 1, "found", now + timedelta(minutes=50))
    fresh = sqlite_db(tmp_path / "fresh.db")
    for before in ORDER[:ORDER.index(kind)]:
        run(fresh, before, export(demo, before), now)
    run(fresh, kind, export(demo, kind), now)
    assert export(fresh, kind) == export(demo, kind)
    fresh.dispose()
