"""Group commit for a hot SKU: one transaction per batch, still one answer per request."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event, func, select
from sqlalchemy.exc import DBAPIError

from allot.domain.errors import SaleRefused
from allot.services import catalog, selling, stock
from allot.services.batching import Batcher
from allot.services.book import atomic
from allot.services.reconcile import reconcile
from allot.store.db import Database
from allot.store.tables import holds


def a_hot_sku(db: Database, now: datetime, on_hand: int) -> None:
    with db.write() as conn:
        catalog.put_channel(conn, "web", {"allow_backorder": False, "allow_preorder": False, "padding_days": 0}, now)
        catalog.put_sku(conn, "HOT", {"mode": "stock"}, now)
        stock.adjust(conn, "HOT", on_hand, "receipt", now)


def hold_one(now: datetime) -> Callable[[Connection], Any]:
    return lambda conn: selling.place_hold(conn, "HOT", 1, "web", 600, now)


def run_as_one_batch(batcher: Batcher, ops: list[Callable[[Connection], Any]], now: datetime,
                     skus: list[str] | None = None) -> list[Any]:
    """The first op runs (and waits) while the others queue up behind it in order; they then
    form the next batch together."""
    gate, started = threading.Event(), threading.Event()
    answers: list[Any] = [None] * len(ops)

    def gated(conn: Connection) -> Any:
        started.set()
        gate.wait(10)
        return ops[0](conn)

    skus = skus or ["HOT"] * len(ops)

    def submit(i: int, op: Callable[[Connection], Any]) -> None:
        try:
            answers[i] = batcher.run(skus[i], op, now)
        except Exception as e:  # noqa: BLE001 - each request's own refusal or failure is its answer
            answers[i] = e

    threads = [threading.Thread(target=submit, args=(0, gated))]
    threads[0].start()
    assert started.wait(10), "the first batch did not start"
    for i, op in enumerate(ops[1:], start=1):
        threads.append(threading.Thread(target=submit, args=(i, op)))
        threads[-1].start()
        deadline = time.monotonic() + 5
        while batcher.pending(skus[0]) < i and time.monotonic() < deadline:
            time.sleep(0.001)
    gate.set()
    for t in threads:
        t.join(10)
    return answers


def test_a_batch_answers_each_request_in_arrival_order(db: Database, now: datetime) -> None:
    a_hot_sku(db, now, on_hand=5)
    batcher = Batcher(db)

    answers = run_as_one_batch(batcher, [hold_one(now + timedelta(seconds=i)) for i in range(8)], now)

    assert [isinstance(a, dict) for a in answers] == [True] * 5 + [False] * 3
    assert all(isinstance(a, SaleRefused) and a.available == 0 for a in answers[5:])
    with db.read() as conn:
        seqs = dict(conn.execute(select(holds.c.id, holds.c.seq)).all())
    assert [seqs[a["id"]] for a in answers[:5]] == sorted(seqs.values())


def test_a_failing_request_undoes_only_itself(db: Database, now: datetime) -> None:
    a_hot_sku(db, now, on_hand=5)
    batcher = Batcher(db)

    def half_written(conn: Connection) -> Any:
        selling.place_hold(conn, "HOT", 2, "web", 600, now)
        raise RuntimeError("the request broke after writing")

    ops = [hold_one(now), half_written, hold_one(now), hold_one(now)]
    answers = run_as_one_batch(batcher, ops, now)

    assert isinstance(answers[1], RuntimeError)
    assert all(isinstance(a, dict) for a in answers[:1] + answers[2:])
    with db.read() as conn:
        assert conn.execute(select(func.sum(holds.c.qty))).scalar() == 3
        assert reconcile(conn, now) == []


@pytest.mark.parametrize("threads", [16])
def test_concurrent_batches_never_oversell(db: Database, now: datetime, threads: int) -> None:
    a_hot_sku(db, now, on_hand=50)
    batcher = Batcher(db)
    accepted: list[int] = []

    def shopper() -> None:
        for _ in range(6):
            try:
                batcher.run("HOT", hold_one(now), now)
                accepted.append(1)
            except SaleRefused:
                pass

    pool = [threading.Thread(target=shopper) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)

    assert len(accepted) == 50
    with db.read() as conn:
        assert conn.execute(select(func.sum(holds.c.qty))).scalar() == 50
        assert reconcile(conn, now) == []


def test_a_refusal_caught_inside_a_batch_leaves_no_trace_in_the_plan(db: Database, now: datetime) -> None:
    """An answered refusal (as an idempotent request stores it) must not keep its units in memory."""
    a_hot_sku(db, now, on_hand=5)
    batcher = Batcher(db)

    def refused_order(conn: Connection) -> Any:
        try:
            with atomic(conn):
                selling.place_order(conn, "O-1", "web", 0, None, [{"sku": "HOT", "qty": 2}, {"sku": "HOT", "qty": 9}],
                                    now)
        except SaleRefused as e:
            return e

    answers = run_as_one_batch(batcher, [hold_one(now), hold_one(now), refused_order,
                                         lambda conn: selling.place_hold(conn, "HOT", 3, "web", 600, now), hold_one(now)],
                               now)

    assert isinstance(answers[1], dict) and isinstance(answers[2], SaleRefused)
    assert isinstance(answers[3], dict) and isinstance(answers[4], SaleRefused)
    with db.read() as conn:
        assert reconcile(conn, now) == []


def test_one_batch_sells_several_skus_in_one_commit(db: Database, now: datetime) -> None:
    """A spread of SKUs shares a batch too: one transaction, each SKU's queue still in order."""
    a_hot_sku(db, now, on_hand=3)
    with db.write() as conn:
        catalog.put_sku(conn, "COLD", {"mode": "stock"}, now)
        stock.adjust(conn, "COLD", 1, "receipt", now)
    batcher = Batcher(db, lanes=1)
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _conn: commits.append(1))

    def hold(sku: str) -> Callable[[Connection], Any]:
        return lambda conn: selling.place_hold(conn, sku, 1, "web", 600, now)

    ops = [hold("HOT"), hold("COLD"), hold("HOT"), hold("COLD"), hold("HOT"), hold("HOT")]
    skus = ["HOT", "COLD", "HOT", "COLD", "HOT", "HOT"]
    answers = run_as_one_batch(batcher, ops, now, skus)

    assert len(commits) == 2  # the gated first request alone, then everyone else together
    assert [isinstance(a, dict) for a in answers] == [True, True, True, False, True, False]
    with db.read() as conn:
        assert reconcile(conn, now) == []


def test_a_database_error_in_a_batch_costs_only_its_own_request(db: Database, now: datetime) -> None:
    """A failed statement breaks a PostgreSQL transaction even if it wrote nothing: the batch runs
    again without that request, so the others still succeed."""
    a_hot_sku(db, now, on_hand=5)
    batcher = Batcher(db)

    def broken(conn: Connection) -> Any:
        return conn.exec_driver_sql("SELECT * FROM no_such_table").all()

    answers = run_as_one_batch(batcher, [hold_one(now), broken, hold_one(now), hold_one(now)], now)

    assert isinstance(answers[1], DBAPIError)
    assert all(isinstance(a, dict) for a in answers[:1] + answers[2:])
    with db.read() as conn:
        assert conn.execute(select(func.sum(holds.c.qty))).scalar() == 3
        assert reconcile(conn, now) == []


def test_a_sale_after_shutdown_is_refused_not_left_waiting(db: Database, now: datetime) -> None:
    a_hot_sku(db, now, on_hand=5)
    batcher = Batcher(db)
    batcher.run("HOT", hold_one(now), now)
    batcher.close()

    with pytest.raises(RuntimeError, match="shutting down"):
        batcher.run("HOT", hold_one(now), now)


def test_a_refusal_caught_after_reading_holds_keeps_the_holds_placed_before_it(db: Database, now: datetime) -> None:
    """A priority order reads the queue, which writes the batch's waiting holds; its refusal rolls
    back its savepoint, and must not take the earlier sales' holds with it."""
    a_hot_sku(db, now, on_hand=5)
    batcher = Batcher(db)

    def refused_priority_order(conn: Connection) -> Any:
        try:
            with atomic(conn):  # as an idempotent request answers a refusal
                selling.place_order(conn, "O-1", "web", 1, None, [{"sku": "HOT", "qty": 9}], now)
        except SaleRefused as e:
            return e

    answers = run_as_one_batch(batcher, [hold_one(now), hold_one(now), refused_priority_order, hold_one(now)], now)

    assert isinstance(answers[2], SaleRefused)
    told = {a["id"] for a in answers if isinstance(a, dict)}
    assert len(told) == 3
    with db.read() as conn:
        assert {r.id for r in conn.execute(select(holds.c.id))} == told
        assert reconcile(conn, now) == []


def test_a_refused_order_does_not_make_the_batch_run_again(db: Database, now: datetime) -> None:
    """A refusal undone by its own savepoint wrote nothing: the others are not run a second time."""
    a_hot_sku(db, now, on_hand=5)
    batcher = Batcher(db)
    runs: list[int] = []

    def counted_hold(conn: Connection) -> Any:
        runs.append(1)
        return selling.place_hold(conn, "HOT", 1, "web", 600, now)

    def refused_order(conn: Connection) -> Any:
        return selling.place_order(conn, "O-1", "web", 0, None, [{"sku": "HOT", "qty": 9}], now)

    answers = run_as_one_batch(batcher, [hold_one(now), counted_hold, refused_order, counted_hold], now)

    assert isinstance(answers[2], SaleRefused)
    assert [isinstance(a, dict) for a in (answers[1], answers[3])] == [True, True]
    assert len(runs) == 2
    with db.read() as conn:
        assert reconcile(conn, now) == []
