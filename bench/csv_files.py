"""CSV files at volume: import 100,000 order lines with `allot import`, export them with `allot export`.

Each measurement is a fresh `allot` process (the CLI a merchant runs), timed from outside, its
peak RSS read from the kernel's accounting of that child (os.wait4). The catalog (channels,
30 SKUs with stock and a PO each) is imported first, untimed; the orders file (one or two
lines an order, a customer, a queue time) is then imported into it, and every line exported.

    .venv/bin/python bench/csv_files.py [--lines 100000] [--runs 3] [--pg postgresql://…/db]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from allot.store.db import Database

ALLOT = str(Path(sys.executable).parent / "allot")
SKUS = 30


def write_catalog(folder: Path, today: str) -> None:
    (folder / "channels.csv").write_text("channel,allow_backorder,allow_preorder\nweb,true,true\nshop,true,false\n")
    rows = "".join(f"B-{i:03d},backorder,Bench item {i}\n" for i in range(SKUS))
    (folder / "skus.csv").write_text("sku,mode,name\n" + rows)
    (folder / "stock.csv").write_text("sku,on_hand\n" + "".join(f"B-{i:03d},{500 + i}\n" for i in range(SKUS)))
    (folder / "purchase-orders.csv").write_text("ref,supplier,sku,qty,expected_date\n" + "".join(
        f"PO-B{i:03d},Bench Supply,B-{i:03d},2000,{today}\n" for i in range(SKUS)))


def write_orders(path: Path, lines: int) -> None:
    """Orders of one or two lines; queue times one millisecond apart, as an old system would have them."""
    rng = random.Random(5)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w") as out:
        out.write("ref,channel,priority,customer,created_at,line,sku,qty,queued_at\n")
        written, n = 0, 0
        while written < lines:
            n += 1
            at = (start + timedelta(milliseconds=n)).isoformat()
            channel = "web" if rng.random() < 0.8 else "shop"
            for line in range(1, min(rng.choice((1, 1, 1, 2)), lines - written) + 1):
                out.write(f"OLD-{n},{channel},0,customer{n % 5000}@example.com,{at},{line},"
                          f"B-{rng.randrange(SKUS):03d},{rng.choice((1, 1, 2))},{at}\n")
                written += 1


def measured(args: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (user + system) of one `allot` process."""
    started = time.perf_counter()
    child = subprocess.Popen([ALLOT, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"allot {' '.join(args)} failed: {child.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
    child.stderr.close()  # type: ignore[union-attr]
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def fresh(url: str, folder: Path) -> None:
    if url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        db = Database(url)
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.dispose()


def bench(url: str, folder: Path, runs: int, lines: int) -> dict[str, list[float]]:
    env = {**os.environ, "ALLOT_DATABASE_URL": url}
    figures: dict[str, list[float]] = {"import_s": [], "import_cpu": [], "import_mb": [], "export_s": [],
                                       "export_mb": [], "small_export_mb": []}
    for _ in range(runs):
        fresh(url, folder)
        for kind in ("channels", "skus", "stock", "purchase-orders"):
            measured(["import", kind, str(folder / f"{kind}.csv")], env)
        seconds, mb, cpu = measured(["import", "orders", str(folder / "orders.csv")], env)
        figures["import_s"].append(seconds)
        figures["import_cpu"].append(cpu)
        figures["import_mb"].append(mb)
        seconds, mb, _ = measured(["export", "order-lines", str(folder / "out.csv")], env)
        exported = sum(1 for _ in (folder / "out.csv").open()) - 1
        assert exported == lines, f"exported {exported} lines, expected {lines}"
        figures["export_s"].append(seconds)
        figures["export_mb"].append(mb)
        figures["small_export_mb"].append(measured(["export", "channels", str(folder / "small.csv")], env)[1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", default=os.environ.get("ALLOT_BENCH_PG_URL"))
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_catalog(folder, (datetime.now(UTC).date() + timedelta(days=20)).isoformat())
        write_orders(folder / "orders.csv", opts.lines)
        targets = {"sqlite": f"sqlite:///{folder / 'bench.db'}", "postgres": opts.pg}
        print(f"{opts.lines:,} order lines ({(folder / 'orders.csv').stat().st_size / 1e6:.1f} MB of CSV), "
              f"medians of {opts.runs}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"{'database':<10} {'import s':>9} {'import cpu s':>13} {'import MB':>10} {'export s':>9} "
              f"{'export MB':>10} {'tiny export MB':>15}")
        for name, url in targets.items():
            if url is None or (opts.only and opts.only != name):
                continue
            f = {k: statistics.median(v) for k, v in bench(url, folder, opts.runs, opts.lines).items()}
            print(f"{name:<10} {f['import_s']:>9.1f} {f['import_cpu']:>13.1f} {f['import_mb']:>10.0f} {f['export_s']:>9.1f} "
                  f"{f['export_mb']:>10.0f} {f['small_export_mb']:>15.0f}", flush=True)


if __name__ == "__main__":
    main()
