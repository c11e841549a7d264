"""Concurrency is proven, not argued: many clients at once, exact counts at the end.

PostgreSQL runs three `allot serve` processes on one database (BRIEF §6: several API processes
share one PostgreSQL with no oversell); SQLite runs one. 64 client threads, each with its own
HTTP connection, start together behind a barrier. Every thread stops after its quota of
requests or DEADLINE seconds, and every request after TIMEOUT, so a deadlock shows up as a
failure, never as a hung suite (the servers and the rush: cluster.py).
"""
from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from allot.store.db import Database
from tests.conftest import ADMIN_KEY, Server
from tests.e2e.cluster import (
    THREADS,
    TIMEOUT,
    Cluster,
    Sale,
    assert_answered,
    assert_rows_agree,
    cluster_fixture,
    every_thread,
    rush,
    stock_only,
)
from tests.e2e.world import numbers, ok, order_body, same_resource, sku, unique

cluster = cluster_fixture("rush", postgres_processes=3)


def test_a_hundred_units_sell_exactly_once_to_64_clients_placing_holds_and_orders(
        cluster: Cluster, servers: list[Server], admin: httpx.Client) -> None:
    counter = stock_only(admin)
    s = sku(admin, mode="stock", on_hand=100)

    def sale(i: int, n: int) -> Sale:
        if (i + n) % 2:
            return Sale("order", order_body(counter, (s, 1)))
        return Sale("hold", {"sku": s, "qty": 1, "channel": counter})

    answers = rush(servers, THREADS, 2, sale)  # 128 one-unit sales for 100 units
    statuses = assert_answered(answers, {201, 409}, servers)
    assert statuses[201] == 100, dict(statuses)
    refusals = [a.body for a in answers if a.status == 409]
    assert all((b["code"], b["available"]) == ("insufficient_availability", 0) for b in refusals), \
        refusals[:3]
    orders = [a for a in answers if a.sale.kind == "order"]
    holds = [a for a in answers if a.sale.kind == "hold" and a.status == 201]
    placed = sum(a.status == 201 for a in orders)
    for srv in servers:
        with srv.client() as c:
            assert numbers(c, s, counter) == (100, 0, placed, len(holds), 0)
    assert len({h.body["id"] for h in holds}) == len(holds)
    for a in orders:
        got = admin.get(f"/v1/orders/{a.sale.body['ref']}")
        if a.status == 201:
            assert [ln["state"] for ln in ok(got, 200)["lines"]] == ["ready"]
        else:
            assert got.status_code == 404, got.text
    assert_rows_agree(cluster)


def test_orders_for_two_skus_in_opposite_orders_never_deadlock_and_sell_all_or_nothing(
        cluster: Cluster, servers: list[Server], admin: httpx.Client) -> None:
    counter = stock_only(admin)
    plenty, scarce = sku(admin, mode="stock", on_hand=100), sku(admin, mode="stock", on_hand=60)

    def sale(i: int, n: int) -> Sale:
        lines = [(plenty, 1), (scarce, 1)] if i % 2 else [(scarce, 1), (plenty, 1)]
        return Sale("order", order_body(counter, *lines))

    answers = rush(servers, THREADS, 2, sale)
    statuses = assert_answered(answers, {201, 409}, servers)
    assert statuses[201] == 60, dict(statuses)
    for a in answers:
        if a.status == 409:  # refused on the scarce SKU's line, wherever it was in the order
            scarce_line = 1 + [ln["sku"] for ln in a.sale.body["lines"]].index(scarce)
            assert (a.body["code"], a.body["sku"], a.body["line"], a.body["available"]) == \
                ("insufficient_availability", scarce, scarce_line, 0), a.body
    for srv in servers:
        with srv.client() as c:
            assert numbers(c, plenty, counter) == (100, 0, 60, 0, 40)
            assert numbers(c, scarce, counter) == (60, 0, 60, 0, 0)
    for a in answers:
        got = admin.get(f"/v1/orders/{a.sale.body['ref']}")
        assert got.status_code == (200 if a.status == 201 else 404), got.text
    assert_rows_agree(cluster)


def test_batched_single_sku_sales_mixed_with_two_sku_orders_stay_exact(
        cluster: Cluster, servers: list[Server], admin: httpx.Client) -> None:
    """Single-SKU sales share a transaction per SKU (group commit); two-SKU orders lock both.

    A never runs out, B does: every refusal must be on B's line, and a failing request in a
    batch (an unknown hold: 404) must undo only itself.
    """
    counter = stock_only(admin)
    a, b = sku(admin, mode="stock", on_hand=100), sku(admin, mode="stock", on_hand=60)

    def sale(i: int, n: int) -> Sale:
        role = i % 4
        if role == 0:
            return Sale("order", order_body(counter, (a, 1), (b, 1)))
        if role == 1:
            return Sale("order", order_body(counter, (b, 1), (a, 1)))
        if role == 2 and n == 0:
            return Sale("hold", {"sku": a, "qty": 1, "channel": counter})
        if role == 2:
            return Sale("order", order_body(counter, (a, 1)) | {"lines": [{"sku": a, "qty": 1,
                                                                           "hold_id": "hold_nosuchhold"}]})
        return Sale("order", order_body(counter, (b, 1)))

    answers = rush(servers, THREADS, 2, sale)
    statuses = assert_answered(answers, {201, 404, 409}, servers)
    assert statuses[404] == THREADS // 4 and statuses[201] == 60 + THREADS // 4, dict(statuses)
    for ans in answers:
        skus = [ln["sku"] for ln in ans.sale.body.get("lines", [])]
        if ans.status == 409:
            assert (ans.body["code"], ans.body["sku"], ans.body["line"], ans.body["available"]) == \
                ("insufficient_availability", b, 1 + skus.index(b), 0), ans.body
        if ans.status == 404:
            assert ans.body["code"] == "not_found" and ans.body["hold_id"] == "hold_nosuchhold", ans.body
    pairs = sum(ans.status == 201 and len(ans.sale.body.get("lines", [])) == 2 for ans in answers)
    for srv in servers:
        with srv.client() as c:
            assert numbers(c, a, counter) == (100, 0, pairs, THREADS // 4, 100 - pairs - THREADS // 4)
            assert numbers(c, b, counter) == (60, 0, 60, 0, 0)
    assert_rows_agree(cluster)


@pytest.mark.parametrize(("path", "table"), [("/v1/orders", "orders"),
                                             ("/v1/purchase-orders", "purchase_orders")])
def test_a_retry_whose_first_attempt_commits_while_it_runs_replays_the_first_answer(
        request: pytest.FixtureRequest, cluster: Cluster, admin: httpx.Client, path: str, table: str) -> None:
    """The same write and Idempotency-Key sent to two processes; the first commits mid-flight.

    Table locks taken from the test pin the interleaving: the retry reads the key table before
    the first attempt commits, and the ref's table after it. It must still get the first answer.
    """
    if not cluster.url.startswith("postgres"):
        pytest.skip("needs two server processes sharing PostgreSQL (SQLite serialises writers)")
    counter = stock_only(admin)
    s = sku(admin, mode="stock", on_hand=5)
    body = order_body(counter, (s, 1)) if table == "orders" else \
        {"ref": unique("PO"), "lines": [{"sku": s, "qty": 3, "expected_date": "2031-01-01"}]}
    headers = {"Idempotency-Key": unique("idem"), "Authorization": f"Bearer {ADMIN_KEY}"}
    db = Database(cluster.url, pool_size=3)

    def send(srv: Server) -> httpx.Response:
        return httpx.post(f"{srv.base}{path}", json=body, headers=headers, timeout=TIMEOUT)

    def fence() -> None:  # queue for the ref's table, so later readers of it queue behind
        with db.engine.connect() as conn, conn.begin():
            conn.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")

    try:
        with ThreadPoolExecutor(max_workers=3) as pool, db.engine.connect() as gate:
            gate.begin()
            gate.exec_driver_sql("LOCK TABLE idempotency_keys IN SHARE MODE")  # the first attempt stops
            try:                                                               # before it remembers
                first = pool.submit(send, cluster.servers[0])
                wait_for_lock_waiter(db, "idempotency_keys", "RowExclusiveLock")
                fenced = pool.submit(fence)
                wait_for_lock_waiter(db, table, "AccessExclusiveLock")
                retry = pool.submit(send, cluster.servers[1])
                wait_for_lock_waiter(db, table, "AccessShareLock")  # it recalled nothing; reads refs next
            finally:
                gate.rollback()
            one, two = first.result(TIMEOUT), retry.result(TIMEOUT)
            fenced.result(TIMEOUT)
    finally:
        db.dispose()
    assert one.status_code == 201, one.text
    assert two.status_code == 201, two.text
    assert same_resource(two.json()) == same_resource(one.json())


def wait_for_lock_waiter(db: Database, table: str, mode: str, seconds: float = 5, count: int = 1) -> bool:
    """Until `count` sessions wait for `mode` on `table`; False if they did not within `seconds`.

    Another server design may never wait there; it must then simply give the right answers.
    """
    query = text("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                 "WHERE NOT l.granted AND c.relname = :table AND l.mode = :mode")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with db.read() as conn:
            if (conn.execute(query, {"table": table, "mode": mode}).scalar() or 0) >= count:
                return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("kind", ["order", "hold"])
def test_one_idempotency_key_sent_by_16_clients_at_once_sells_once(
        request: pytest.FixtureRequest, cluster: Cluster, servers: list[Server], admin: httpx.Client,
        kind: str) -> None:
    counter = stock_only(admin)
    s = sku(admin, mode="stock", on_hand=10)
    body = order_body(counter, (s, 3)) if kind == "order" else {"sku": s, "qty": 3, "channel": counter}
    the_sale = Sale(kind, body, {"Idempotency-Key": unique("idem")})

    answers = rush(servers, 16, 1, every_thread(the_sale))
    assert_answered(answers, {201}, servers)
    first = same_resource(answers[0].body)
    assert all(same_resource(a.body) == first for a in answers), [a.body for a in answers][:3]
    expected = (10, 0, 3, 0, 7) if kind == "order" else (10, 0, 0, 3, 7)
    assert numbers(admin, s, counter) == expected


def test_one_order_ref_sent_by_16_clients_at_once_is_placed_once(
        servers: list[Server], admin: httpx.Client) -> None:
    counter = stock_only(admin)
    s = sku(admin, mode="stock", on_hand=10)
    ref = unique("O")

    answers = rush(servers, 16, 1, lambda i, n: Sale("order", order_body(counter, (s, 1 + i % 2), ref=ref)))
    statuses = assert_answered(answers, {201, 409}, servers)
    assert statuses[201] == 1, dict(statuses)
    assert all(a.body["code"] == "conflict" for a in answers if a.status == 409)
    winner = next(a for a in answers if a.status == 201)
    assert numbers(admin, s, counter)[2] == winner.sale.body["lines"][0]["qty"]


def test_a_hold_confirmed_by_16_clients_at_once_becomes_exactly_one_order(
        servers: list[Server], admin: httpx.Client) -> None:
    counter = stock_only(admin)
    s = sku(admin, mode="stock", on_hand=10)
    held = ok(admin.post("/v1/holds", json={"sku": s, "qty": 2, "channel": counter}), 201)

    def confirm(i: int, n: int) -> Sale:
        body = order_body(counter, (s, 2))
        body["lines"][0]["hold_id"] = held["id"]
        return Sale("order", body)

    answers = rush(servers, 16, 1, confirm)
    statuses = assert_answered(answers, {201, 410}, servers)
    assert statuses[201] == 1, dict(statuses)
    assert all(a.body["code"] == "hold_expired" for a in answers if a.status == 410)
    assert numbers(admin, s, counter) == (10, 0, 2, 0, 8)


def test_stock_adjustments_from_32_clients_add_up_exactly(
        cluster: Cluster, servers: list[Server], admin: httpx.Client) -> None:
    s = sku(admin, mode="stock")
    deltas = (3, -1)  # each thread receives three, then removes one

    def adjust(i: int, n: int) -> Sale:
        return Sale("adjustment", {"sku": s, "delta": deltas[n], "reason": "rush"})

    answers = rush(servers, THREADS // 2, len(deltas), adjust)
    assert_answered(answers, {201}, servers)
    assert numbers(admin, s) == (THREADS, 0, 0, 0, THREADS)
    assert_rows_agree(cluster)


@pytest.mark.parametrize(("resource", "table"), [("sku", "skus"), ("channel", "channels"),
                                               ("quota", "sku_channels")])
def test_the_same_put_sent_to_every_process_at_once_creates_once_and_never_conflicts(
        request: pytest.FixtureRequest, cluster: Cluster, admin: httpx.Client, resource: str,
        table: str) -> None:
    """PUT is idempotent: however many identical PUTs race, one creates (201) and the rest update (200).

    On PostgreSQL a lock taken from the test holds back every insert into the table until each
    request has looked for the resource, so the race is lost every time, not now and then.
    """
    postgres = cluster.url.startswith("postgres")
    counter = stock_only(admin)
    probe, s, ch = sku(admin, mode="stock"), unique("S"), unique("ch")
    if resource == "quota":
        ok(admin.put(f"/v1/skus/{s}", json={"mode": "stock"}), 201)
    puts: dict[str, tuple[str, dict[str, Any]]] = {
        "sku": (f"/v1/skus/{s}", {"mode": "stock"}),
        "channel": (f"/v1/channels/{ch}", {"allow_backorder": False, "allow_preorder": False}),
        "quota": (f"/v1/skus/{s}/channels/{counter}", {"quota": 5}),
    }
    path, body = puts[resource]
    copies = 2 * len(cluster.servers)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}

    def put(i: int) -> httpx.Response:
        srv = cluster.servers[i % len(cluster.servers)]
        return httpx.put(f"{srv.base}{path}", json=body, headers=headers, timeout=TIMEOUT)

    db = Database(cluster.url, pool_size=2)
    try:
        with ThreadPoolExecutor(max_workers=copies) as pool, db.engine.connect() as gate:
            gate.begin()
            if postgres:
                gate.exec_driver_sql(f"LOCK TABLE {table} IN SHARE MODE")  # reads pass, inserts wait
            try:
                sent = [pool.submit(put, i) for i in range(copies)]
                if postgres:
                    wait_for_lock_waiter(db, table, "RowExclusiveLock", count=copies)
            finally:
                gate.rollback()
            answers = [f.result(TIMEOUT) for f in sent]
    finally:
        db.dispose()
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {200, 201}, [a.text for a in answers if a.status_code not in (200, 201)][:2]
    assert statuses[201] == 1, dict(statuses)
    if resource == "sku":
        assert ok(admin.get(f"/v1/skus/{s}"), 200)["mode"] == "stock"
    elif resource == "channel":
        assert ok(admin.get(f"/v1/availability/{probe}?channel={ch}"), 200)["available"] == 0
    else:
        assert ok(admin.get(f"/v1/availability/{s}?channel={counter}"), 200)["quota_left"] == 5
