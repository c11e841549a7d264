"""Locations, before and after (issue #13): hot-SKU holds and the 100,000-line PO slip, on a
checkout of the base commit and on this tree, in the same run, interleaved, medians of 3.

    .venv/bin/python bench/locations.py --base /tmp/loc-base [--runs 3] [--holds 1500] [--lines 100000]
        [--pg postgresql://postgres@127.0.0.1:5432/<db>]

Each measurement runs in its own process with PYTHONPATH pointing at one source tree, so both
trees share the venv and the machine. `main` only: both trees. 5 locations: this tree only (the
base has no locations), against the base's `main` figure. Holds are placed in process through
the service (lock, fast-path sale, save, commit: one transaction per hold), which is what the
HTTP hot path runs per request minus the HTTP and batching layers.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from harness import call, reset_pg, source

PLACES = ("main", "east", "west", "north", "south")


def _reset(url: str, tmp: Path, tag: str) -> str:
    if url.startswith("postgresql"):
        reset_pg(url)
        return url
    return f"sqlite:///{tmp / f'{tag}-{time.monotonic_ns()}.db'}"


def _located(db: Any, now: datetime, sku: str, per_place: int) -> None:
    """Five locations, `per_place` units of `sku` at each (this tree only)."""
    from allot.services import locations, stock
    with db.write() as conn:
        for place in PLACES[1:]:
            locations.put(conn, place, None, 1, now)
        for place in PLACES:
            stock.adjust(conn, sku, per_place, "bench", now, place)


def holds(url: str, count: int, several: bool, cpu: bool = False) -> float:
    """Holds per second on one SKU, one transaction each (`cpu`: this process's CPU ms per hold, which
    leaves out the wait for the disk and the database server, the noisiest part on a shared machine)."""
    from allot.services import catalog, selling, stock
    from allot.store.db import Database
    from allot.store.migrate import upgrade
    db = Database(url)
    upgrade(db)
    now = datetime.now(UTC)
    with db.write() as conn:
        catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)
        catalog.put_sku(conn, "HOT", {"mode": "stock", "handling_days": 1}, now)
        if not several:
            stock.adjust(conn, "HOT", count + 10, "bench", now)
    if several:
        _located(db, now, "HOT", count // len(PLACES) + 10)
    for _ in range(50):  # warm-up, not measured
        with db.write() as conn:
            selling.place_hold(conn, "HOT", 1, "web", 3600, now)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(count - 50):
        with db.write() as conn:
            selling.place_hold(conn, "HOT", 1, "web", 3600, now)
    rate = (count - 50) / (time.perf_counter() - t0)
    per_hold_ms = (time.process_time() - c0) * 1000 / (count - 50)
    db.dispose()
    return per_hold_ms if cpu else rate


def slip(url: str, lines: int, several: bool) -> float:
    """Seconds for the 14-day slip of a PO line that 100,000 open lines wait for (bench/replan.py)."""
    sys.path.insert(0, str(HERE))
    import replan

    from allot.services import catalog, purchasing
    from allot.store.db import Database
    from allot.store.migrate import upgrade
    if not several:
        return float(replan.replan_slip(url, lines)["seconds"])
    db = Database(url)
    upgrade(db)
    now = datetime.now(UTC)
    due = now.date() + timedelta(days=10)
    with db.write() as conn:
        catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)
        catalog.put_sku(conn, "BIG", {"mode": "backorder", "handling_days": 1}, now)
        purchasing.create(conn, "PO-BIG", None, [{"sku": "BIG", "qty": lines, "expected_date": due}], now)
    replan._bulk_orders(db, lines, now, due)
    from allot.services import locations
    with db.write() as conn:  # four more locations, each with a PO due the same day: 5 incoming buckets
        for i, place in enumerate(PLACES[1:], start=2):
            locations.put(conn, place, None, 1, now)
            purchasing.create(conn, f"PO-{i}", None, [{"sku": "BIG", "qty": 10, "expected_date": due}], now, place)
    t0 = time.perf_counter()
    with db.write() as conn:
        purchasing.update_line(conn, "PO-BIG", 1, due + timedelta(days=14), None, now)
    seconds = time.perf_counter() - t0
    db.dispose()
    return seconds


def _one(src: str, what: str, db: str, several: bool, args: argparse.Namespace, tmp: Path) -> float:
    url = _reset(args.pg if db == "postgres" else "sqlite", tmp, what)
    size = args.holds if what == "holds" else args.lines
    return float(call(src, "locations", what, url, size, several, *([True] if what == "holds" and args.cpu else [])))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="a checkout of the base commit, or its src/")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--holds", type=int, default=1500)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--pg", default=None, help="a PostgreSQL database this bench may wipe")
    parser.add_argument("--only", default=None, help="holds or slip")
    parser.add_argument("--cpu", action="store_true", help="holds: CPU ms per hold instead of holds/s")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    here, base_src = str(HERE.parent / "src"), source(args.base)
    dbs = ([] if args.no_sqlite else ["sqlite"]) + (["postgres"] if args.pg else [])
    cases = [(what, db, tree, several) for what in ("holds", "slip") if args.only in (None, what) for db in dbs
             for tree, several in (("base", False), ("new", False), ("new", True))]
    figures: dict[tuple[str, str, str, bool], list[float]] = {c: [] for c in cases}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for case in cases:  # interleaved: the machine's noise falls on both trees alike
                what, db, tree, several = case
                value = _one(base_src if tree == "base" else here, what, db, several, args, Path(tmp))
                figures[case].append(value)
                print(f"run {run + 1}: {what} {db} {tree}{' 5 locations' if several else ''}: {value:.3f}",
                      flush=True)
    print("\n| bench | db | base (main) | this tree, main | change | this tree, 5 locations | change |")
    print("|---|---|---|---|---|---|---|")
    for what in ("holds", "slip"):
        for db in dbs:
            if (what, db, "base", False) not in figures:
                continue
            base, new, five = (statistics.median(figures[(what, db, t, s)])
                               for t, s in (("base", False), ("new", False), ("new", True)))
            rate = what == "holds" and not args.cpu
            unit = "holds/s" if rate else "CPU ms/hold" if what == "holds" else "s"
            # A rate falls when slower, a duration rises: both changes say "+" for slower.
            def change(x: float, base: float = base, rate: bool = rate) -> str:
                return f"{(base / x - 1) * 100 if rate else (x / base - 1) * 100:+.1f}% time"
            print(f"| {what} | {db} | {base:,.2f} {unit} | {new:,.2f} | {change(new)} | {five:,.2f} | {change(five)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
