"""The webhook relay against a real receiver on 127.0.0.1: signed, retried, dead-lettered,
re-deliverable, at least once, in order per order line, and never twice from several workers."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from allot.domain.destinations import Destinations
from allot.services import purchasing, webhooks
from allot.store.db import Database
from allot.store.tables import webhook_deliveries
from allot.workers.relay import Relay, RelayOptions
from tests.factories import channel, order, po, sku
from tests.receiver import OK, Receiver, always, fail_first

SECRET = "whsec_test_0123456789abcdef"
# The receivers listen on 127.0.0.1, which only an installation that allows it may send to.
OPTIONS = RelayOptions(timeout=2.0, backoff=1.0, backoff_max=60.0, concurrency=16,
                       destinations=Destinations.from_setting("127.0.0.0/8"))


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
def relay(db: Database, clock: Clock) -> Iterator[Relay]:
    worker = Relay(db, clock, OPTIONS)
    yield worker
    worker.close()


def receiver(clock: Clock, answer: Any = OK, **kw: Any) -> Receiver:
    return Receiver(SECRET, answer, clock=lambda: clock().timestamp(), **kw)


def step(relay: Relay) -> None:
    """One round, and every delivery it started settled (a round does not wait for them)."""
    relay.round()
    relay.wait()


def run(relay: Relay, clock: Clock, rounds: int = 30) -> None:
    """Let the relay work, moving time past every back-off between rounds."""
    for _ in range(rounds):
        step(relay)
        clock.advance(OPTIONS.backoff_max)


def subscribe(db: Database, clock: Clock, url: str, events: list[str] | None = None,
              max_attempts: int | None = None) -> int:
    with db.write() as conn:
        made = webhooks.create(conn, url, events, SECRET, max_attempts, clock())
    webhook_id: int = made["id"]
    return webhook_id


def three_lines_on_one_po(db: Database, now: datetime) -> None:
    """PO-1 brings 30 TEE in ten days; three customers ordered 10 each."""
    with db.write() as conn:
        channel(conn, "web", now)
        sku(conn, "TEE", now)
        po(conn, "PO-1", now, ("TEE", 30, now.date() + timedelta(days=10)))
        for ref in ("W-1", "W-2", "W-3"):
            order(conn, ref, now, ("TEE", 10))


def slip(db: Database, now: datetime, days: int, ref: str = "PO-1") -> None:
    with db.write() as conn:
        purchasing.update_line(conn, ref, 1, now.date() + timedelta(days=days), None, now)


def statuses(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(webhook_deliveries.c.status).order_by(webhook_deliveries.c.id)).scalars())


def test_a_14_day_po_slip_sends_one_signed_promise_changed_per_line(
    db: Database, now: datetime, clock: Clock, relay: Relay
) -> None:
    three_lines_on_one_po(db, now)
    hook = receiver(clock)
    subscribe(db, clock, hook.url, ["order_line.promise_changed"])

    slip(db, now, days=24)
    run(relay, clock, rounds=3)

    got = sorted(hook.acknowledged, key=lambda e: e["order_ref"])  # in order per line, not across lines
    assert [(e["order_ref"], e["line"], e["type"]) for e in got] == [
        ("W-1", 1, "order_line.promise_changed"), ("W-2", 1, "order_line.promise_changed"),
        ("W-3", 1, "order_line.promise_changed")]
    assert all(e["data"]["from"] == (now.date() + timedelta(days=10)).isoformat() for e in got)
    assert all(e["data"]["to"] == (now.date() + timedelta(days=24)).isoformat() for e in got)
    assert all(e["data"]["cause"]["op"] == "po_line.updated" and e["data"]["cause"]["po_ref"] == "PO-1" for e in got)
    assert all(r.verified for r in hook.received)
    assert sorted(r.headers["Allot-Event-Id"] for r in hook.received) == sorted(str(e["id"]) for e in got)
    hook.close()


def test_a_receiver_that_fails_three_times_gets_every_event_once_acknowledged_in_order(
    db: Database, now: datetime, clock: Clock, relay: Relay
) -> None:
    three_lines_on_one_po(db, now)
    hook = receiver(clock, fail_first(3))
    subscribe(db, clock, hook.url, ["order_line.*"], max_attempts=5)

    slip(db, now, days=24)  # each line: promise_changed
    slip(db, now, days=12)  # each line: promise_changed back
    run(relay, clock)

    got = hook.acknowledged
    assert len(hook.received) == 6 + 3
    assert sorted(e["id"] for e in got) == sorted({e["id"] for e in got})  # each acknowledged once
    for ref in ("W-1", "W-2", "W-3"):
        mine = [e for e in got if e["order_ref"] == ref]
        assert [e["data"]["to"] for e in mine] == [(now.date() + timedelta(days=d)).isoformat() for d in (24, 12)]
        assert [e["id"] for e in mine] == sorted(e["id"] for e in mine)
    assert statuses(db) == ["delivered"] * 6
    hook.close()


def test_a_receiver_that_always_fails_is_dead_lettered_and_can_be_redelivered(
    db: Database, now: datetime, clock: Clock, relay: Relay
) -> None:
    three_lines_on_one_po(db, now)
    hook = receiver(clock, always(503))
    webhook_id = subscribe(db, clock, hook.url, ["order_line.promise_changed"], max_attempts=3)
    slip(db, now, days=24)

    run(relay, clock)
    assert len(hook.received) == 3 * 3
    assert statuses(db) == ["dead"] * 3
    with db.read() as conn:
        dead = webhooks.deliveries(conn, webhook_id, "dead", 0, 10)["deliveries"]
    assert [(d["attempts"], d["last_status"], d["last_error"]) for d in dead] == [(3, 503, "HTTP 503")] * 3

    hook.answer = always(204)
    with db.write() as conn:
        webhooks.redeliver(conn, webhook_id, dead[0]["id"], clock())
    run(relay, clock, rounds=2)
    assert [e["order_ref"] for e in hook.acknowledged] == ["W-1"]
    with db.write() as conn:
        assert webhooks.redeliver_dead(conn, webhook_id, clock())["requeued"] == 2
    run(relay, clock, rounds=2)
    assert sorted(e["order_ref"] for e in hook.acknowledged) == ["W-1", "W-2", "W-3"]
    assert statuses(db) == ["delivered"] * 3
    hook.close()


def test_back_off_grows_and_nothing_is_retried_before_its_time(
    db: Database, now: datetime, clock: Clock, relay: Relay
) -> None:
    three_lines_on_one_po(db, now)
    hook = receiver(clock, always(500))
    subscribe(db, clock, hook.url, ["order_line.promise_changed"], max_attempts=10)
    slip(db, now, days=24)

    step(relay)
    assert len(hook.received) == 3
    for _ in range(5):
        step(relay)  # no time passes: nothing is due
    assert len(hook.received) == 3
    with db.read() as conn:
        waits = [(r - now).total_seconds() for r in
                 conn.execute(select(webhook_deliveries.c.next_attempt_at)).scalars()]
    assert all(0.5 <= w <= 1.0 for w in waits)  # base 1 s, jitter 50–100 %
    hook.close()


def test_a_delivery_whose_worker_died_is_sent_again_when_its_lease_ends(
    db: Database, now: datetime, clock: Clock, relay: Relay
) -> None:
    three_lines_on_one_po(db, now)
    hook = receiver(clock)
    subscribe(db, clock, hook.url, ["order_line.promise_changed"])
    slip(db, now, days=24)
    relay.publish()
    relay.fan_out()
    with db.write() as conn:  # a worker claims them, then dies before it can send
        from allot.services.deliveries import claim
        assert len(claim(conn, clock(), OPTIONS.lease, 10)) == 3

    step(relay)
    assert hook.received == []
    clock.advance(OPTIONS.lease.total_seconds() + 1)
    step(relay)
    assert sorted(e["order_ref"] for e in hook.acknowledged) == ["W-1", "W-2", "W-3"]
    hook.close()


def test_a_later_event_of_a_line_waits_for_the_earlier_one(
    db: Database, now: datetime, clock: Clock, relay: Relay
) -> None:
    three_lines_on_one_po(db, now)
    hook = receiver(clock)
    webhook_id = subscribe(db, clock, hook.url, ["order_line.promise_changed"])
    slip(db, now, days=24)
    relay.publish()
    relay.fan_out()
    with db.write() as conn:  # W-1's first event is failing and waits for its retry
        conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == 1)
                     .values(next_attempt_at=clock() + timedelta(hours=1)))
    slip(db, now, days=12)

    step(relay)
    step(relay)
    assert sorted(e["order_ref"] for e in hook.acknowledged) == ["W-2", "W-2", "W-3", "W-3"]
    clock.advance(3601)
    step(relay)
    step(relay)
    w1 = [e["data"]["to"] for e in hook.acknowledged if e["order_ref"] == "W-1"]
    assert w1 == [(now.date() + timedelta(days=d)).isoformat() for d in (24, 12)]
    with db.read() as conn:
        assert len(webhooks.deliveries(conn, webhook_id, "delivered", 0, 100)["deliveries"]) == 6
    hook.close()


def test_a_webhook_gets_only_what_it_subscribed_to_and_nothing_after_it_is_deleted(
    db: Database, now: datetime, clock: Clock, relay: Relay
) -> None:
    three_lines_on_one_po(db, now)
    everything, orders_only = receiver(clock), receiver(clock)
    first = subscribe(db, clock, everything.url)
    subscribe(db, clock, orders_only.url, ["purchase_order.updated"])
    slip(db, now, days=24)
    run(relay, clock, rounds=2)

    assert [e["type"] for e in orders_only.acknowledged] == ["purchase_order.updated"]
    assert {e["type"] for e in everything.acknowledged} == {"order_line.promise_changed", "purchase_order.updated"}
    with db.write() as conn:
        webhooks.delete(conn, first, clock())
    slip(db, now, days=12)
    run(relay, clock, rounds=2)
    assert len(everything.acknowledged) == 4
    assert len(orders_only.acknowledged) == 2
    everything.close()
    orders_only.close()


def test_several_workers_never_deliver_an_event_twice(db: Database, now: datetime, clock: Clock) -> None:
    with db.write() as conn:
        channel(conn, "web", now)
        sku(conn, "TEE", now)
        po(conn, "PO-1", now, ("TEE", 500, now.date() + timedelta(days=10)))
    hook = receiver(clock)
    subscribe(db, clock, hook.url, ["order_line.promised"])
    for n in range(60):
        with db.write() as conn:
            order(conn, f"W-{n}", now, ("TEE", 1))
    workers = [Relay(Database(db.url), clock, OPTIONS) for _ in range(4)]
    stop = threading.Event()

    def work(relay: Relay) -> None:
        while not stop.is_set():
            relay.round()

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    got = hook.wait_for(60, timeout=60)
    stop.set()
    for t in threads:
        t.join()
    for w in workers:
        w.close()
        w.db.dispose()

    assert len(hook.received) == 60
    assert sorted(e["order_ref"] for e in got) == sorted(f"W-{n}" for n in range(60))
    hook.close()
