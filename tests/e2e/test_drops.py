"""Drops (BRIEF §11) against real servers: per-customer limits, channel windows and key rates.

PostgreSQL runs two `allot serve` processes on one database, SQLite one; many client threads at
once, exact counts at the end (the setup test_concurrency.py shares: cluster.py).
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select

from allot.store.tables import holds, rate_windows, skus
from tests.conftest import ADMIN_KEY, Server
from tests.e2e.cluster import (
    Cluster,
    Sale,
    assert_answered,
    assert_rows_agree,
    cluster_fixture,
    rush,
    stock_only,
)
from tests.e2e.world import numbers, ok, order_body, problem, sku, unique

cluster = cluster_fixture("drops", postgres_processes=2)


def limited(admin: httpx.Client, limit: int, on_hand: int = 100) -> str:
    return sku(admin, mode="stock", on_hand=on_hand, per_customer_limit=limit)


# ── Per-customer limits ──

def test_fifty_simultaneous_attempts_by_one_customer_on_a_limit_of_two_get_exactly_two_units(
        cluster: Cluster, servers: list[Server], admin: httpx.Client) -> None:
    counter = stock_only(admin)
    s = limited(admin, 2)

    def sale(i: int, n: int) -> Sale:
        if i % 2:
            return Sale("order", order_body(counter, (s, 1), customer="alice"))
        return Sale("hold", {"sku": s, "qty": 1, "channel": counter, "customer": "alice"})

    answers = rush(servers, 50, 1, sale)
    statuses = assert_answered(answers, {201, 409}, servers)
    assert statuses[201] == 2, dict(statuses)
    assert {a.body["code"] for a in answers if a.status == 409} == {"customer_limit"}
    _, _, committed, reserved, available = numbers(admin, s, counter)
    assert committed + reserved == 2 and available == 98
    # another customer is not held back by alice
    ok(admin.post("/v1/holds", json={"sku": s, "qty": 2, "channel": counter, "customer": "bob"}), 201)
    assert_rows_agree(cluster)


def test_a_limit_counts_holds_and_lines_and_a_cancelled_line_gives_its_units_back(admin: httpx.Client) -> None:
    counter = stock_only(admin)
    s = limited(admin, 3)
    body = problem(admin.post("/v1/holds", json={"sku": s, "qty": 1, "channel": counter}), 422, "invalid", "customer")
    assert "per customer" in body["detail"]
    problem(admin.post("/v1/orders", json=order_body(counter, (s, 1))), 422, "invalid", "customer")
    hold = ok(admin.post("/v1/holds", json={"sku": s, "qty": 1, "channel": counter, "customer": "c1"}), 201)
    assert hold["customer"] == "c1"
    first = ok(admin.post("/v1/orders", json=order_body(counter, (s, 2), customer="c1")), 201)
    refused = problem(admin.post("/v1/holds", json={"sku": s, "qty": 1, "channel": counter, "customer": "c1"}),
                      409, "customer_limit")
    assert (refused["limit"], refused["allowed"], refused["customer"]) == (3, 0, "c1")
    # confirming the hold swaps its unit for a line's: still within the limit
    ok(admin.post("/v1/orders", json={"ref": unique("O"), "channel": counter, "customer": "c1",
                                      "lines": [{"sku": s, "qty": 1, "hold_id": hold["id"]}]}), 201)
    ok(admin.post(f"/v1/orders/{first['ref']}/cancel", json={}), 200)
    second = ok(admin.post("/v1/orders", json=order_body(counter, (s, 2), customer="c1")), 201)
    problem(admin.post("/v1/orders", json=order_body(counter, (s, 1), customer="c1")), 409, "customer_limit")
    # shipped units still count
    ok(admin.post(f"/v1/orders/{second['ref']}/shipments", json={"lines": [{"line": 1, "qty": 2}]}), 201)
    problem(admin.post("/v1/holds", json={"sku": s, "qty": 1, "channel": counter, "customer": "c1"}),
            409, "customer_limit")
    # an order of two lines of the same SKU counts both
    problem(admin.post("/v1/orders", json={"ref": unique("O"), "channel": counter, "customer": "c2",
                                           "lines": [{"sku": s, "qty": 2}, {"sku": s, "qty": 2}]}), 409, "customer_limit")
    assert ok(admin.get(f"/v1/skus/{s}"), 200)["per_customer_limit"] == 3


# ── Drop windows ──

def _window(admin: httpx.Client, s: str, channel: str, opens: datetime | None, closes: datetime | None) -> Any:
    body = {"quota": None, "opens_at": opens.isoformat() if opens else None,
            "closes_at": closes.isoformat() if closes else None}
    resp = admin.put(f"/v1/skus/{s}/channels/{channel}", json=body)
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


def test_a_window_opening_in_three_seconds_sells_nothing_before_it_opens_to_64_clients(
        cluster: Cluster, servers: list[Server], admin: httpx.Client) -> None:
    counter = stock_only(admin)
    s = sku(admin, mode="stock", on_hand=10_000)
    window: dict[str, datetime] = {}

    def announce() -> None:  # once every client is ready: the window opens 3 s from now
        window["opens"] = datetime.now(UTC) + timedelta(seconds=3)
        _window(admin, s, counter, window["opens"], None)

    barrier = threading.Barrier(64, action=announce, timeout=60)

    def client(i: int) -> list[tuple[float, float, int, dict[str, Any]]]:
        out = []
        srv = servers[i % len(servers)]
        with httpx.Client(base_url=srv.base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=20) as c:
            barrier.wait()
            stop = window["opens"].timestamp() + 1.0
            while time.time() < stop:
                sent = time.time()
                resp = c.post("/v1/holds", json={"sku": s, "qty": 1, "channel": counter})
                out.append((sent, time.time(), resp.status_code, resp.json()))
                time.sleep(0.1)
        return out

    with ThreadPoolExecutor(max_workers=64) as pool:
        answers = [a for f in [pool.submit(client, i) for i in range(64)] for a in f.result()]
    opens = window["opens"]
    at = opens.timestamp()
    seen = ok(admin.get(f"/v1/availability/{s}", params={"channel": counter}), 200)
    assert datetime.fromisoformat(seen["opens_at"]) == opens and seen["closes_at"] is None
    statuses = Counter(status for _, _, status, _ in answers)
    assert set(statuses) <= {201, 409}, statuses
    refused = [(sent, body) for sent, _, status, body in answers if status == 409]
    assert all(body["code"] == "not_open" for _, body in refused), refused[:3]
    assert all(datetime.fromisoformat(body["opens_at"]) == opens for _, body in refused)
    assert all(sent < at + 1 for sent, _ in refused), "refused a second after the window opened"
    sold = [(done, body) for _, done, status, body in answers if status == 201]
    assert sold and all(done >= at for done, _ in sold), "a sale answered before the window opened"
    assert any(sent < at - 1 for sent, _ in refused), "the clients did not start before the opening"
    engine = create_engine(cluster.url)
    try:
        with engine.connect() as conn:
            first = conn.execute(select(func.min(holds.c.created_at)).join(skus, skus.c.id == holds.c.sku_id)
                                 .where(skus.c.sku == s)).scalar_one()
    finally:
        engine.dispose()
    first = first if first.tzinfo else first.replace(tzinfo=UTC)
    assert first >= opens, f"a sale stamped {first}, before {opens}"


def test_a_closed_window_refuses_holds_and_orders_and_bad_windows_are_refused(admin: httpx.Client) -> None:
    counter = stock_only(admin)
    s = sku(admin, mode="stock", on_hand=10)
    now = datetime.now(UTC)
    _window(admin, s, counter, now - timedelta(hours=2), now - timedelta(hours=1))
    body = problem(admin.post("/v1/orders", json=order_body(counter, (s, 1))), 409, "not_open")
    assert body["closes_at"] is not None and "closed" in body["detail"]
    problem(admin.put(f"/v1/skus/{s}/channels/{counter}", json={
        "opens_at": now.isoformat(), "closes_at": (now - timedelta(seconds=1)).isoformat()}), 422, "invalid", "closes_at")
    problem(admin.put(f"/v1/skus/{s}/channels/{counter}", json={"opens_at": "2030-01-01T00:00:00"}),
            422, "invalid", "opens_at")
    _window(admin, s, counter, now - timedelta(hours=1), None)  # open now: early access is an earlier opens_at
    ok(admin.post("/v1/holds", json={"sku": s, "qty": 1, "channel": counter}), 201)


def test_those_waiting_for_a_window_are_offered_by_the_servers_sweeper_with_no_request(admin: httpx.Client) -> None:
    counter = stock_only(admin)
    s = sku(admin, mode="stock", on_hand=1, offer_ttl_seconds=60)
    opens = datetime.now(UTC) + timedelta(seconds=2)
    _window(admin, s, counter, opens, None)
    ok(admin.post("/v1/waitlist", json={"sku": s, "channel": counter, "customer": "ann", "qty": 1}), 201)
    # the list is read without touching the SKU's book: only the sweeper (every 2 s) can make the offer
    deadline = time.time() + 2 + 2 * 2 + 3
    while time.time() < deadline:
        entry = ok(admin.get(f"/v1/skus/{s}/waitlist"), 200)["items"][0]
        if entry["status"] != "waiting":
            break
        time.sleep(0.2)
    assert entry["status"] == "offered", entry
    offered_at = datetime.fromisoformat(entry["offer_expires_at"]) - timedelta(seconds=60)
    assert opens <= offered_at < opens + timedelta(seconds=2 * 2 + 1), (opens, offered_at)


# ── Rates per key ──

def test_a_key_with_a_rate_of_fifty_gets_429_beyond_it_across_the_processes(
        servers: list[Server], admin: httpx.Client) -> None:
    counter = stock_only(admin)
    s = sku(admin, mode="stock", on_hand=100_000)
    key = ok(admin.post("/v1/keys", json={"name": unique("k"), "role": "ops", "rate_per_second": 50}), 201)
    assert key["rate_per_second"] == 50
    stop = time.time() + 2.0

    def client(i: int) -> list[tuple[float, int, str | None]]:
        out = []
        with servers[i % len(servers)].client(key["secret"]) as c:
            while time.time() < stop:
                resp = c.post("/v1/holds", json={"sku": s, "qty": 1, "channel": counter, "ttl_seconds": 60})
                out.append((time.time(), resp.status_code, resp.headers.get("retry-after")))
        return out

    started = time.time()
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = [a for f in [pool.submit(client, i) for i in range(16)] for a in f.result()]
    statuses = Counter(status for _, status, _ in answers)
    assert set(statuses) <= {201, 429}, statuses
    assert statuses[429] > 0, f"never limited: {statuses}"
    assert all(after in ("1",) for _, status, after in answers if status == 429)
    seconds = int(max(t for t, _, _ in answers)) - int(started) + 1
    assert statuses[201] <= 50 * seconds, (statuses, seconds)
    per_second = Counter(int(t) for t, status, _ in answers if status == 201)
    # counted in one second, an answer may land in the next: at most one in flight per client thread
    assert max(per_second.values()) <= 50 + 16, per_second


def test_a_retried_sale_gets_its_stored_answer_not_a_429_and_spends_no_rate(
        cluster: Cluster, servers: list[Server], admin: httpx.Client) -> None:
    counter = stock_only(admin)
    s = sku(admin, mode="stock", on_hand=100)
    key = ok(admin.post("/v1/keys", json={"name": unique("k"), "role": "ops", "rate_per_second": 1}), 201)
    body = {"sku": s, "qty": 1, "channel": counter, "ttl_seconds": 60}
    with servers[0].client(key["secret"]) as c:
        first = ok(c.post("/v1/holds", json=body, headers={"Idempotency-Key": "drop-retry-1"}), 201)
        for i in range(4):  # well inside a second or two: a rate of 1 would refuse most of these
            again = c.post("/v1/holds", json=body, headers={"Idempotency-Key": "drop-retry-1"})
            assert again.status_code == 201, (i, again.status_code, again.text)
            assert again.headers.get("idempotent-replayed") == "true" and again.json()["id"] == first["id"]
    engine = create_engine(cluster.url)
    try:
        with engine.connect() as conn:
            spent = conn.execute(select(func.sum(rate_windows.c.n)).where(rate_windows.c.key_id == key["id"])).scalar()
    finally:
        engine.dispose()
    assert spent == 1  # only the first request was counted
