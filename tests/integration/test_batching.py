"""Group commit for a hot SKU: one transaction per batch, still one answer per request."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

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


def run_as_one_batch(batcher: Batcher, ops: list[Callable[[Connection], Any]]) -> list[Any]:
    """The first op runs (and waits) while the others queue up behind it in order; they then
    form the next batch together."""
    gate = threading.Event()
    answers: list[Any] = [None] * len(ops)

    def gated(conn: Connection) -> Any:
        gate.wait(10)
        return ops[0](conn)

    def submit(i: int, op: Callable[[Connection], Any]) -> None:
        try:
            answers[i] = batcher.run("HOT", op)
        except Exception as e:  # each request's own refusal or failure is its answer
            answers[i] = e

    threads = [threading.Thread(target=submit, args=(0, gated))]
    threads[0].start()
    for i, op in enumerate(ops[1:], start=1):
        threads.append(threading.Thread(target=submit, args=(i, op)))
        threads[-1].start()
        deadline = time.monotonic() + 5
        while batcher.pending("HOT") < i and time.monotonic() < deadline:
            time.sleep(0.001)
    gate.set()
    for t in threads:
        t.join(10)
    return answers


def test_a_batch_answers_each_request_in_arrival_order(db: Database, now: datetime) -> None:
    a_hot_sku(db, now, on_hand=5)
    batcher = Batcher(db)

    answers = run_as_one_batch(batcher, [hold_one(now + timedelta(seconds=i)) for i in range(8)])

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
    answers = run_as_one_batch(batcher, ops)

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
                batcher.run("HOT", hold_one(now))
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
                                         lambda conn: selling.place_hold(conn, "HOT", 3, "web", 600, now), hold_one(now)])

    assert isinstance(answers[1], dict) and isinstance(answers[2], SaleRefused)
    assert isinstance(answers[3], dict) and isinstance(answers[4], SaleRefused)
    with db.read() as conn:
        assert reconcile(conn, now) == []
