"""Insight speed (issue #14): KPIs over 1,000,000 order lines and 2,000,000 events, the reorder list
over 10,000 SKUs, on SQLite and PostgreSQL; medians of 3 (docs/performance.md).

    .venv/bin/python bench/insight.py --db sqlite:///bench-insight.db
    .venv/bin/python bench/insight.py --db postgresql://postgres@127.0.0.1:5432/<db>   # schema reset!

The data is two years of a shop, written with bulk inserts (COPY on PostgreSQL): 10,000 SKUs,
500,000 orders of two lines, 2,000,000 events, a shipment per shipped line, cancellations,
receipts, sold-out spans and four weeks of imported sales history per SKU.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from allot.services import forecasts, kpis
from allot.services.forecasts import Ask
from allot.store.db import Database
from allot.store.migrate import upgrade

TODAY = datetime.now(UTC).date()
DAYS = 730
CHANNELS = ("web", "amazon", "wholesale")
SUPPLIERS = tuple(f"Supplier {i}" for i in range(20))


def load(db: Database, skus: int, orders: int, n_events: int, rng: random.Random) -> None:
    start = TODAY - timedelta(days=DAYS)
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        raw: Any = conn.connection.driver_connection
        pg = db.engine.dialect.name == "postgresql"

        def put(table: str, cols: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
            if pg:
                with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    buf = io.StringIO()
                    for i, row in enumerate(rows):
                        buf.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
                        if i % 50_000 == 49_999:
                            copy.write(buf.getvalue())
                            buf = io.StringIO()
                    copy.write(buf.getvalue())
            else:
                marks = ", ".join("?" for _ in cols)
                cur = raw.cursor()
                cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
                                ([_lite(v) for v in row] for row in rows))

        for c in CHANNELS:
            put("channels", ("name", "allow_backorder", "allow_preorder", "padding_days", "consent_window_days",
                             "consent_default"), [(c, True, True, 0, 7, "keep")])
        summary = json.dumps({"buckets": [], "free": {}, "uncovered": 0, "committed": 0, "reserved": 0,
                              "incoming": 0, "by_channel": {}, "next_expiry": None})
        put("skus", ("id", "sku", "mode", "handling_days", "incoming_buffer", "safety_stock", "allocation_policy",
                     "on_hand", "summary", "next_seq", "created_at", "updated_at"),
            ((i + 1, f"SKU-{i:05d}", "backorder", 1, 0, 0, "fifo", rng.randint(0, 400),
              summary.replace('"uncovered": 0', f'"uncovered": {rng.choice([0] * 30 + [3])}'), 1,
              start.isoformat(), now.isoformat()) for i in range(skus)))
        put("orders", ("id", "ref", "channel", "priority", "created_at"),
            ((i + 1, f"O-{i}", CHANNELS[i % 3], 0, (start + timedelta(days=i * DAYS // orders)).isoformat())
             for i in range(orders)))
        lines: list[tuple[Any, ...]] = []
        for i in range(orders):
            placed = start + timedelta(days=i * DAYS // orders)
            for n in (1, 2):
                lines.append(_line(rng, len(lines) + 1, i + 1, n, skus, CHANNELS[i % 3], placed))
        put("order_lines", ("id", "order_id", "line", "sku_id", "channel", "priority", "queued_at", "seq", "qty",
                            "qty_shipped", "qty_cancelled", "open", "allocation", "state", "promise_date",
                            "first_promise_date", "consent_status"), (row[:17] for row in lines))
        put("shipments", ("order_line_id", "sku_id", "channel", "qty", "shipped_on", "first_promise_date",
                          "promise_date", "days_to_ship", "promised_qty", "kept_qty", "kept_latest_qty"),
            (_shipment(r) for r in lines if r[17]))
        put("cancellations", ("order_line_id", "sku_id", "channel", "qty", "cancelled_on", "slipped"),
            ((r[0], r[3], r[4], r[10], r[6][:10], r[14] is None) for r in lines if r[10]))
        del lines
        pos = [(i + 1, f"PO-{i}", SUPPLIERS[i % 20], "closed", (start + timedelta(days=i * DAYS // 2000)).isoformat())
               for i in range(2000)]
        put("purchase_orders", ("id", "ref", "supplier", "status", "created_at"), pos)
        po_rows, receipt_rows = [], []
        for i in range(20_000):
            po = pos[i // 10]
            expected = date.fromisoformat(po[4][:10]) + timedelta(days=30)
            late = max(0, int(rng.gauss(2, 4)))
            qty = rng.randint(50, 500)
            got = qty - rng.choice([0, 0, 0, rng.randint(0, 30)])
            po_rows.append((i + 1, po[0], i % 10 + 1, rng.randint(1, skus), qty, got, True, expected.isoformat()))
            if expected + timedelta(days=late) < TODAY:
                receipt_rows.append((i + 1, po_rows[-1][3], po[2], got, (expected + timedelta(days=late)).isoformat(),
                                     expected.isoformat(), late))
        put("po_lines", ("id", "po_id", "line", "sku_id", "qty", "received", "closed", "expected_date"), po_rows)
        put("receipts", ("po_line_id", "sku_id", "supplier", "qty", "received_on", "first_expected_date", "days_late"),
            receipt_rows)
        types = ("order_line.promised", "availability.changed", "order_line.shipped", "order_line.promise_changed")
        put("events", ("type", "occurred_at", "sku", "order_ref", "line", "data", "version", "position"),
            ((types[i % 4], (now - timedelta(seconds=i * 30)).isoformat(), f"SKU-{i % skus:05d}", f"O-{i % orders}",
              1, "{}", 1, i + 1) for i in range(n_events)))
        put("sales_history", ("sku_id", "channel", "date", "qty"),
            ((s + 1, "web", (start - timedelta(days=d)).isoformat(), rng.randint(0, 9))
             for s in range(skus) for d in range(1, 29)))
        put("sku_spans", ("sku_id", "channel", "kind", "started_at", "ended_at", "units"),
            ((rng.randint(1, skus), rng.choice(CHANNELS), "sold_out",
              (now - timedelta(days=rng.randint(2, 150))).isoformat(),
              (now - timedelta(days=rng.randint(0, 1))).isoformat(), 0) for _ in range(5000)))
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def _line(rng: random.Random, ident: int, order_id: int, n: int, skus: int, channel: str,
          placed: date) -> tuple[Any, ...]:
    """One order line (and, past its 17 columns, the day it shipped): old lines shipped, recent ones open."""
    age = (TODAY - placed).days
    first = placed + timedelta(days=rng.randint(1, 10))
    slip = rng.choice([0] * 8 + [rng.randint(1, 20)] * 2)
    qty = rng.randint(1, 3)
    queued = datetime(placed.year, placed.month, placed.day, 12, tzinfo=UTC).isoformat()
    if age > 30 and rng.random() < 0.95:
        shipped = min(TODAY - timedelta(days=1), first + timedelta(days=slip + rng.choice([-1, 0, 0, 1, 3])))
        shipped = max(shipped, placed)
        return (ident, order_id, n, rng.randint(1, skus), channel, 0, queued, ident, qty, qty, 0, False, "[]",
                "shipped", (first + timedelta(days=slip)).isoformat(), first.isoformat(), None, shipped.isoformat())
    if age > 30:
        return (ident, order_id, n, rng.randint(1, skus), channel, 0, queued, ident, qty, 0, qty, False, "[]",
                "cancelled", None, first.isoformat(), rng.choice([None, "accepted", "rejected", "expired"]), None)
    state = rng.choice(["awaiting_stock"] * 8 + ["backordered", "ready"])
    promise = None if state == "backordered" else (first + timedelta(days=slip)).isoformat()
    return (ident, order_id, n, rng.randint(1, skus), channel, 0, queued, ident, qty, 0, 0, True, "[]", state,
            promise, first.isoformat(), None, None)


def _shipment(r: tuple[Any, ...]) -> tuple[Any, ...]:
    shipped, first, latest = r[17], r[15], r[14]
    return (r[0], r[3], r[4], r[8], shipped, first, latest,
            (date.fromisoformat(shipped) - date.fromisoformat(r[6][:10])).days, r[8],
            r[8] if shipped <= first else 0, r[8] if latest and shipped <= latest else 0)


def _lite(value: Any) -> Any:
    return value


def median_of_3(fn: Callable[[], Any]) -> tuple[float, float]:
    """Median wall time and median CPU time of this process (the machine may be shared: the CPU
    time is what the work costs here, whatever else runs; on PostgreSQL the server's is not in it)."""
    walls, cpus = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=500_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    args = parser.parse_args()
    db = Database(args.db)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(db)
    t0 = time.perf_counter()
    load(db, args.skus, args.orders, args.events, random.Random(14))
    print(f"{db.engine.dialect.name}: loaded {args.orders * 2:,} order lines, {args.events:,} events, "
          f"{args.skus:,} SKUs in {time.perf_counter() - t0:.0f} s")

    def kpi(start: date, **f: Any) -> Callable[[], Any]:
        def run() -> Any:
            with db.read() as conn:
                w = kpis.window(conn, TODAY, start, TODAY, f.get("sku"), f.get("channel"), f.get("supplier"))
                return kpis.kpis(conn, w, TODAY)
        return run

    def reorder() -> Any:
        with db.read() as conn:
            return forecasts.reorder(conn, Ask(), TODAY)

    def one() -> Any:
        with db.read() as conn:
            return forecasts.forecast(conn, "SKU-00042", Ask(), TODAY)

    quarter, everything = TODAY - timedelta(days=89), TODAY - timedelta(days=DAYS)
    cases = [("KPIs, last 90 days", kpi(quarter)), ("KPIs, all two years", kpi(everything)),
             ("KPIs, 90 days, one channel", kpi(quarter, channel="web")),
             ("KPIs, two years, one SKU", kpi(everything, sku="SKU-00042")),
             ("KPIs, two years, one supplier", kpi(everything, supplier="Supplier 3")),
             ("reorder list, all SKUs", reorder), ("one SKU's forecast (with its chart)", one)]
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| question | median of 3, wall | CPU of this process |\n|---|---|---|")
    for name, fn in cases:
        wall, cpu = median_of_3(fn)
        print(f"| {name} | {wall * 1000:.0f} ms | {cpu * 1000:.0f} ms |")
    with db.read() as conn:
        listed = len(forecasts.reorder(conn, Ask(), TODAY))
    print(f"reorder list: {listed:,} SKUs need ordering")
    db.dispose()


if __name__ == "__main__":
    main()
