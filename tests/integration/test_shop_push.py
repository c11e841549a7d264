"""The push worker against the shop stand-ins: first sync, coalescing, missing SKUs, back-off,
stale items, WooCommerce, and several workers never pushing one row at once."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from allot.services import push_status, storefronts
from allot.store.db import Database
from allot.store.tables import events, shop_pushes
from allot.workers.shop_push import PushOptions, ShopPusher
from tests.factories import channel, receive, sku
from tests.shop_standins import ShopifyStandIn, WooStandIn

TOKEN = "shpat_integration_secret_token"
OPTIONS = PushOptions(timeout=2.0, backoff=1.0, backoff_max=60.0, missing_recheck=600.0)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(now: datetime) -> Clock:
    return Clock(now)


@pytest.fixture
def shop() -> Iterator[ShopifyStandIn]:
    stand_in = ShopifyStandIn(TOKEN)
    yield stand_in
    stand_in.close()


@pytest.fixture
def pusher(db: Database, clock: Clock) -> Iterator[ShopPusher]:
    worker = ShopPusher(db, clock, OPTIONS)
    yield worker
    worker.close()


def world(db: Database, now: datetime, stocked: dict[str, int]) -> None:
    with db.write() as conn:
        channel(conn, "web", now, allow_backorder=False, allow_preorder=False)
        for name, qty in stocked.items():
            sku(conn, name, now, mode="stock")
            if qty:
                receive(conn, name, qty, now)


def connect_shopify(db: Database, now: datetime, base: str) -> None:
    with db.write() as conn:
        storefronts.connect(conn, "web", "shopify", "whsec", {"shop": "s.myshopify.com", "admin_token": TOKEN,
                                                              "location_id": "1", "api_base": base}, now)


def changed(db: Database, now: datetime, name: str, times: int = 1) -> None:
    """What a sale on `web` leaves behind: availability.changed events for the SKU."""
    with db.write() as conn:
        conn.execute(insert(events), [{"type": "availability.changed", "occurred_at": now, "sku": name,
                                       "data": {"channel": "web", "available": 0, "next_promise_date": None},
                                       "version": 1} for _ in range(times)])


def sell_out(db: Database, now: datetime, name: str, qty: int) -> None:
    with db.write() as conn:
        receive(conn, name, -qty, now)


def run(pusher: ShopPusher, clock: Clock, rounds: int = 3, step: float = 0.0) -> None:
    for _ in range(rounds):
        pusher.round()
        clock.advance(step)


def state(db: Database, name: str) -> Any:
    with db.read() as conn:
        return conn.execute(select(shop_pushes).where(shop_pushes.c.sku == name)).one()


def status(db: Database) -> dict[str, Any]:
    with db.read() as conn:
        return push_status.status(conn, "web")


def test_a_newly_connected_shop_gets_every_sku_and_missing_ones_are_listed(
        db: Database, clock: Clock, shop: ShopifyStandIn, pusher: ShopPusher) -> None:
    world(db, clock(), {"LAMP": 5, "MUG": 0, "GHOST": 2})
    shop.add("LAMP", 99)
    shop.add("MUG", 99)
    connect_shopify(db, clock(), shop.base)
    run(pusher, clock)
    assert (shop.count("LAMP"), shop.count("MUG")) == (5, 0)
    seen = status(db)
    assert seen["missing_skus"] == ["GHOST"] and seen["last_error"] is None and seen["last_push_at"] == clock()
    assert len(shop.mutations) == 1  # both SKUs in one inventorySetQuantities


def test_many_changes_of_one_sku_are_one_push_of_the_latest_figure(
        db: Database, clock: Clock, shop: ShopifyStandIn, pusher: ShopPusher) -> None:
    world(db, clock(), {"LAMP": 50})
    shop.add("LAMP", 0)
    connect_shopify(db, clock(), shop.base)
    run(pusher, clock)
    before = len(shop.mutations)
    for _ in range(40):
        sell_out(db, clock(), "LAMP", 1)
        changed(db, clock(), "LAMP")
    run(pusher, clock)
    assert len(shop.mutations) == before + 1 and shop.count("LAMP") == 10


def test_a_sku_the_shop_lacks_is_not_looked_up_again_until_the_recheck(
        db: Database, clock: Clock, shop: ShopifyStandIn, pusher: ShopPusher) -> None:
    world(db, clock(), {"GHOST": 3})
    connect_shopify(db, clock(), shop.base)
    run(pusher, clock)
    asked = shop.requests
    changed(db, clock(), "GHOST", times=5)
    run(pusher, clock, rounds=10, step=30)
    assert shop.requests == asked and status(db)["missing_skus"] == ["GHOST"]
    shop.add("GHOST", 0)  # the merchant adds it to the shop
    clock.advance(OPTIONS.missing_recheck)
    run(pusher, clock)
    assert shop.count("GHOST") == 3 and status(db)["missing_skus"] == []


def test_a_failing_shop_is_retried_with_back_off_and_shows_its_last_error(
        db: Database, clock: Clock, shop: ShopifyStandIn, pusher: ShopPusher) -> None:
    world(db, clock(), {"LAMP": 4})
    shop.add("LAMP", 0)
    shop.down_for(60)
    connect_shopify(db, clock(), shop.base)
    run(pusher, clock, rounds=3)
    row = state(db, "LAMP")
    assert row.attempts == 1 and row.next_attempt_at > clock() and "503" in row.last_error
    assert "503" in status(db)["last_error"] and status(db)["failing"] == 1
    shop.down_until = 0
    run(pusher, clock, rounds=5, step=OPTIONS.backoff_max)
    assert shop.count("LAMP") == 4 and state(db, "LAMP").attempts == 0 and status(db)["pending"] == 0


def test_a_wrong_token_never_appears_in_the_error(
        db: Database, clock: Clock, shop: ShopifyStandIn, pusher: ShopPusher) -> None:
    world(db, clock(), {"LAMP": 4})
    shop.token = "another-token"
    connect_shopify(db, clock(), shop.base)
    run(pusher, clock)
    assert "401" in status(db)["last_error"] and TOKEN not in str(status(db))


def test_an_item_deleted_in_the_shop_is_looked_up_again_then_listed_missing(
        db: Database, clock: Clock, shop: ShopifyStandIn, pusher: ShopPusher) -> None:
    world(db, clock(), {"LAMP": 4})
    shop.add("LAMP", 0)
    connect_shopify(db, clock(), shop.base)
    run(pusher, clock)
    del shop.items["LAMP"]
    changed(db, clock(), "LAMP")
    run(pusher, clock, rounds=4, step=OPTIONS.backoff_max)
    assert status(db)["missing_skus"] == ["LAMP"]


def test_woocommerce_products_and_variations_get_stock_quantity(db: Database, clock: Clock,
                                                               pusher: ShopPusher) -> None:
    woo = WooStandIn("ck_live", "cs_live")
    try:
        world(db, clock(), {"TEE": 3, "TEE-M": 7})
        woo.add("TEE", stock=None)
        parent = woo.add("HOODIE", kind="variable")
        woo.add("TEE-M", stock=1, parent=parent)
        with db.write() as conn:
            storefronts.connect(conn, "web", "woocommerce", "whsec", {
                "url": "https://shop.example", "consumer_key": "ck_live", "consumer_secret": "cs_live",
                "api_base": woo.base}, clock())
        run(pusher, clock)
        assert (woo.stock("TEE"), woo.stock("TEE-M")) == (3, 7)
    finally:
        woo.close()


@pytest.mark.postgres
def test_several_workers_never_push_one_row_at_once(db: Database, clock: Clock, shop: ShopifyStandIn) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time anyway")
    names = {f"S{n:03}": n for n in range(60)}
    world(db, clock(), names)
    for name in names:
        shop.add(name, -1)
    shop.latency = 0.02
    connect_shopify(db, clock(), shop.base)
    workers = [ShopPusher(db, clock, PushOptions(batch=10)) for _ in range(4)]
    threads = [threading.Thread(target=run, args=(w, clock, 12)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pushed = [sku_name for _, batch in shop.mutations for sku_name in batch]
    assert sorted(pushed) == sorted(names) and all(shop.count(n) == q for n, q in names.items())
    for w in workers:
        w.close()
