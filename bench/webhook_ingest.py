"""Webhook ingest: signed Shopify `orders/create` deliveries at a steady rate against `allot serve`.

Starts a real `allot serve` (from the venv next to this Python, 127.0.0.1 only) on an emptied
PostgreSQL database, connects a channel to a pretend Shopify shop, then posts `--rate` deliveries a
second for `--seconds` seconds, each on its schedule whatever the answers before it (open loop, so
a slow answer cannot hide the ones queued behind it). Each order is the fixture of
tests/fixtures/shopify_orders_create.json with two managed lines (of 20 SKUs), a line without a SKU
and one with a SKU Allot does not manage. Prints p50/p99/max answer time and checks that every
order is present after. Target (issue 10): p99 < 200 ms at 50 deliveries/s for 30 s.

    .venv/bin/python bench/webhook_ingest.py --database-url postgresql://postgres@127.0.0.1:5432/<empty db>
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from allot.store.db import Database
from allot.store.migrate import upgrade
from allot.store.tables import order_lines, orders

KEY = "bench-admin-key-0123456789abcdef"
SECRET = "bench-shopify-signing-secret"
CHANNEL = "shop"
SKUS = [f"INGEST-{i:02d}" for i in range(20)]
TARGET_P99_MS = 200.0
FIXTURE = Path(__file__).parent.parent / "tests" / "fixtures" / "shopify_orders_create.json"


def reset(url: str) -> None:
    db = Database(url)
    if db.is_sqlite:
        raise SystemExit("this bench is for PostgreSQL: pass --database-url postgresql://…")
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(db)
    db.dispose()


def serve(url: str, workdir: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ALLOT_DATABASE_URL": url, "ALLOT_BOOTSTRAP_ADMIN_KEY": KEY}
    allot = Path(sys.executable).parent / "allot"
    proc = subprocess.Popen([str(allot), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                            cwd=workdir, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start")


def set_up(base: str) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as api:
        for resp in [api.put(f"/v1/channels/{CHANNEL}", json={"allow_backorder": True, "allow_preorder": True}),
                     api.put(f"/v1/channels/{CHANNEL}/storefront", json={"platform": "shopify", "secret": SECRET})]:
            resp.raise_for_status()
        for name in SKUS:
            api.put(f"/v1/skus/{name}", json={"mode": "backorder"}).raise_for_status()
            api.post("/v1/stock/adjustments", json={"sku": name, "delta": 5000, "reason": "receipt"}).raise_for_status()


def deliveries(count: int, rng: random.Random) -> list[tuple[bytes, dict[str, str]]]:
    """Signed bodies and headers, made before the clock starts."""
    template: dict[str, Any] = json.loads(FIXTURE.read_text())
    made = []
    for n in range(count):
        order = json.loads(json.dumps(template))
        number = 100_000 + n
        order |= {"id": 5_000_000_000 + n, "order_number": number, "name": f"#{number}"}
        for i, item in enumerate(order["line_items"]):
            item["id"] = 10_000_000_000 + n * 10 + i
        a, b = rng.sample(SKUS, 2)
        order["line_items"][0] |= {"sku": a, "quantity": rng.randint(1, 3)}
        order["line_items"][1] |= {"sku": b, "quantity": 1}
        body = json.dumps(order).encode()
        signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
        made.append((body, {"Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
                            "X-Shopify-Hmac-Sha256": signature, "X-Shopify-Webhook-Id": f"bench-{n}",
                            "X-Shopify-Shop-Domain": "bench.myshopify.com"}))
    return made


async def drive(base: str, made: list[tuple[bytes, dict[str, str]]], rate: float) -> tuple[list[float], list[str]]:
    """Each delivery on its own schedule (open loop); returns answer times (s) and failures."""
    times: list[float] = []
    failures: list[str] = []
    url = f"{base}/v1/storefronts/{CHANNEL}/webhooks"
    # Idle connections are dropped before the server's keep-alive timeout (5 s) would close them
    # under a request just sent (which a platform would simply retry).
    limits = httpx.Limits(max_connections=200, keepalive_expiry=2)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def one(body: bytes, headers: dict[str, str]) -> None:
            started = time.perf_counter()
            try:
                resp = await client.post(url, content=body, headers=headers)
            except httpx.HTTPError as e:
                failures.append(f"{type(e).__name__}: {e}")
                return
            times.append(time.perf_counter() - started)
            if resp.status_code != 200 or resp.json().get("outcome") != "applied":
                failures.append(f"{resp.status_code} {resp.text[:200]}")

        start = time.perf_counter()
        tasks = []
        for i, (body, headers) in enumerate(made):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body, headers)))
        await asyncio.gather(*tasks)
    return times, failures


def cpu_seconds(group: int) -> float:
    """CPU time used so far by every process of the server's process group (Linux /proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def present(url: str, count: int) -> tuple[int, int]:
    """Orders of the shop's channel, and their lines, as the database holds them."""
    db = Database(url)
    with db.read() as conn:
        found = conn.execute(select(func.count()).select_from(orders).where(orders.c.channel == CHANNEL)).scalar_one()
        lines = conn.execute(select(func.count()).select_from(order_lines)
                             .where(order_lines.c.channel == CHANNEL)).scalar_one()
    db.dispose()
    return int(found), int(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("ALLOT_BENCH_PG_URL", ""),
                        help="an empty PostgreSQL database: its public schema is dropped and rebuilt")
    parser.add_argument("--rate", type=float, default=50.0, help="deliveries per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1, help="`allot serve --workers`")
    args = parser.parse_args()
    if not args.database_url:
        raise SystemExit("pass --database-url postgresql://… (or set ALLOT_BENCH_PG_URL)")
    count = int(args.rate * args.seconds)
    reset(args.database_url)
    made = deliveries(count, random.Random(7))
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = serve(args.database_url, Path(tmp), args.workers)
        try:
            set_up(base)
            cpu = cpu_seconds(proc.pid)
            started = time.perf_counter()
            times, failures = asyncio.run(drive(base, made, args.rate))
            took = time.perf_counter() - started
            cpu = cpu_seconds(proc.pid) - cpu
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
    found, lines = present(args.database_url, count)
    ms = sorted(t * 1000 for t in times)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan")
    print(f"{count} signed orders/create deliveries at {args.rate:g}/s over {took:.1f} s "
          f"({args.workers} worker{'s' if args.workers > 1 else ''}; server CPU {cpu * 1000 / count:.1f} ms a delivery)")
    print(f"answer time: p50 {statistics.median(ms):.1f} ms  p99 {p99:.1f} ms  max {ms[-1]:.1f} ms")
    print(f"orders present after: {found}/{count} ({lines} lines); failures: {len(failures)}")
    for failure in failures[:5]:
        print("  ", failure)
    ok = found == count and not failures and p99 < TARGET_P99_MS
    print(f"target p99 < {TARGET_P99_MS:.0f} ms with every order present: {'met' if ok else 'NOT met'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
