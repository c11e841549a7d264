"""Availability pushed to the shop: how fast a sale reaches the shop, and a whole-shop push.

    .venv/bin/python bench/shop_push.py [--runs 3] [--seconds 10] [--rate 200] [--skus 10000]

1. sale → shop: `allot serve` with one channel connected to the Shopify stand-in
   (tests/shop_standins.py, on 127.0.0.1); `--rate` sales/s of one unit each on ONE SKU for
   `--seconds`. A sale has reached the shop when the stand-in's count is at or below
   (stock − sales answered so far) — every answered sale is committed, so this never
   flatters. Reports p50/p99 of that delay over every sale, and pushes per sale.
2. full push: `allot shop push` of `--skus` SKUs against the stand-in answering in 50 ms and
   throttling like a Shopify standard plan (leaky bucket 2,000 points, 100 points/s restore,
   queries cost 2 + 1 per item asked, mutations 10), first with nothing remembered (every item
   looked up), then again with the items remembered.
Medians of `--runs`. PostgreSQL at ALLOT_BENCH_PG_URL (default …/allot_bench) and SQLite.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from harness import KEY, PG_URL, client, ensure_pg_database, reset_pg, server
from tests.shop_standins import ShopifyStandIn

from allot.services import catalog, stock, storefronts
from allot.store.db import Database
from allot.store.migrate import upgrade
from allot.store.tables import shop_push_channels, shop_pushes

TOKEN = "bench-shopify-token"
STOCK = 1_000_000


def connect(api: httpx.Client, shop: ShopifyStandIn) -> None:
    api.put("/v1/channels/web/storefront", json={
        "platform": "shopify", "secret": "s", "shop": "bench.myshopify.com", "admin_token": TOKEN,
        "location_id": "1", "api_base": shop.base}).raise_for_status()


async def sell(base: str, rate: float, seconds: float) -> list[float]:
    """`rate` one-unit orders per second on schedule; the monotonic time each was answered."""
    answered: list[float] = []
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=30,
                                 limits=limits) as c:
        async def one(n: int) -> None:
            body = {"ref": f"B-{time.time_ns()}-{n}", "channel": "web", "lines": [{"sku": "HOT", "qty": 1}]}
            for attempt in range(3):  # a kept-alive connection the server just closed: send again, same key
                try:
                    r = await c.post("/v1/orders", json=body, headers={"Idempotency-Key": body["ref"]})
                    break
                except httpx.TransportError:
                    if attempt == 2:
                        raise
            r.raise_for_status()
            answered.append(time.monotonic())

        start, tasks = time.monotonic(), []
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return sorted(answered)


def sale_to_shop(db_url: str, rate: float, seconds: float) -> dict[str, Any]:
    shop = ShopifyStandIn(TOKEN)
    shop.add("HOT", 0)
    try:
        with server(db_url, 1) as base, client(base) as api:
            api.put("/v1/channels/web", json={"allow_backorder": False, "allow_preorder": False}).raise_for_status()
            api.put("/v1/skus/HOT", json={"mode": "stock"}).raise_for_status()
            api.post("/v1/stock/adjustments", json={"sku": "HOT", "delta": STOCK, "reason": "bench"}).raise_for_status()
            connect(api, shop)
            deadline = time.monotonic() + 30
            while shop.count("HOT") != STOCK:
                assert time.monotonic() < deadline, "first push did not arrive"
                time.sleep(0.05)
            pushes_before = len(shop.mutations)
            answered = asyncio.run(sell(base, rate, seconds))
            final = STOCK - len(answered)
            deadline = time.monotonic() + 60
            while shop.count("HOT") != final:
                assert time.monotonic() < deadline, "the shop never caught up"
                time.sleep(0.05)
            achieved = len(answered) / (answered[-1] - answered[0])
    finally:
        shop.close()
    pushes = shop.mutations[pushes_before:]
    times, counts = [t for t, _ in pushes], [b["HOT"] for _, b in pushes]
    delays = []
    for k, t in enumerate(answered, start=1):  # the k-th answered sale needs a push of <= STOCK - k
        i = bisect.bisect_left(times, t)
        while counts[i] > STOCK - k:
            i += 1
        delays.append(times[i] - t)
    delays.sort()
    return {"sales": len(answered), "sales_per_s": achieved, "pushes": len(pushes),
            "p50": statistics.median(delays), "p99": delays[int(0.99 * (len(delays) - 1))], "max": delays[-1]}


def build_catalogue(db_url: str, count: int) -> Database:
    db = Database(db_url)
    upgrade(db)
    now = datetime.now(UTC)
    with db.write() as conn:
        catalog.put_channel(conn, "web", {"allow_backorder": False, "allow_preorder": False, "padding_days": 0}, now)
        for n in range(count):
            catalog.put_sku(conn, f"SKU-{n:05}", {"mode": "stock"}, now)
            stock.adjust(conn, f"SKU-{n:05}", 1 + n % 50, "bench", now)
    return db


def full_push(db_url: str, count: int, runs: int) -> dict[str, list[float]]:
    db = build_catalogue(db_url, count)
    shop = ShopifyStandIn(TOKEN, latency=0.05, bucket=2000.0, restore=100.0)
    for n in range(count):
        shop.add(f"SKU-{n:05}", 0)
    with db.write() as conn:
        storefronts.connect(conn, "web", "shopify", "s", {"shop": "bench.myshopify.com", "admin_token": TOKEN,
                                                          "location_id": "1", "api_base": shop.base}, datetime.now(UTC))
    env = {**os.environ, "ALLOT_DATABASE_URL": db_url, "COLUMNS": "120"}
    allot = Path(sys.executable).parent / "allot"
    took: dict[str, list[float]] = {"cold": [], "remembered": []}
    try:
        for _ in range(runs):
            for kind in ("cold", "remembered"):
                if kind == "cold":  # forget every item found before
                    with db.write() as conn:
                        conn.execute(shop_pushes.delete())
                        conn.execute(shop_push_channels.delete())
                    shop.bucket.level = shop.bucket.size
                start = time.monotonic()
                done = subprocess.run([str(allot), "shop", "push", "web"], env=env, capture_output=True, text=True,
                                      timeout=600, check=False)
                took[kind].append(time.monotonic() - start)
                assert done.returncode == 0 and f"pushed {count} SKUs" in done.stdout, done.stdout + done.stderr
        assert all(shop.count(f"SKU-{n:05}") == 1 + n % 50 for n in range(count))
    finally:
        shop.close()
        db.dispose()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--only", choices=["latency", "full"], default=None)
    args = parser.parse_args()
    ensure_pg_database(PG_URL)
    if args.only in (None, "latency"):
        for kind in ("sqlite", "postgres"):
            results = []
            for _ in range(args.runs):
                tmp = Path(tempfile.mkdtemp(prefix="allot-push-"))
                url = f"sqlite:///{tmp / 'allot.db'}" if kind == "sqlite" else PG_URL
                if kind == "postgres":
                    reset_pg(PG_URL)
                results.append(sale_to_shop(url, args.rate, args.seconds))
            med = {k: statistics.median(r[k] for r in results) for k in results[0]}
            print(f"sale→shop {kind}: {med['sales']:.0f} sales at {med['sales_per_s']:.0f}/s, "
                  f"{med['pushes']:.0f} pushes, p50 {med['p50'] * 1000:.0f} ms, p99 {med['p99'] * 1000:.0f} ms, "
                  f"max {med['max'] * 1000:.0f} ms (medians of {args.runs}; runs: "
                  + "; ".join(f"p99 {r['p99'] * 1000:.0f} ms, {r['pushes']} pushes" for r in results) + ")")
    if args.only in (None, "full"):
        tmp = Path(tempfile.mkdtemp(prefix="allot-push-"))
        took = full_push(f"sqlite:///{tmp / 'allot.db'}", args.skus, args.runs)
        for kind, times in took.items():
            print(f"allot shop push, {args.skus} SKUs, {kind}: median {statistics.median(times):.1f} s "
                  f"(runs: {', '.join(f'{t:.1f}' for t in times)})")


if __name__ == "__main__":
    main()
