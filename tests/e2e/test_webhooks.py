"""The events issue's acceptance checks against `allot serve` in its own process and a real
receiver on 127.0.0.1: signed promise_changed webhooks for a PO slip, retries and dead letters,
no event lost to a killed server or invented by a rolled-back request, and the order path
unhurt by a slow receiver."""
from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PG_URL, Server, need_postgres, reset_postgres
from tests.receiver import Receiver, always, fail_first

SECRET = "whsec_e2e_0123456789abcdef"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty database, and a relay quick enough to test: 50 ms back-off, 1 s HTTP timeout."""
    for name, value in {"ALLOT_WEBHOOK_BACKOFF": "0.05", "ALLOT_WEBHOOK_BACKOFF_MAX": "0.2",
                        "ALLOT_RELAY_POLL": "0.05", "ALLOT_WEBHOOK_TIMEOUT": "1",
                        "ALLOT_WEBHOOK_ALLOW_PRIVATE": "127.0.0.0/8"}.items():
        monkeypatch.setenv(name, value)
    if request.param == "postgres":
        need_postgres()
        reset_postgres().dispose()
        return PG_URL
    return f"sqlite:///{tmp_path / 'allot.db'}"


Serve = Callable[[], tuple[Server, httpx.Client]]


@pytest.fixture
def serve(database_url: str, tmp_path: Path) -> Iterator[Serve]:
    """Start (and at the end stop) as many servers on the database as the test asks for."""
    started: list[tuple[Server, httpx.Client]] = []

    def start() -> tuple[Server, httpx.Client]:
        srv = Server(database_url, tmp_path)
        started.append((srv, srv.client()))
        return started[-1]

    yield start
    for srv, api in started:
        api.close()
        if srv.proc.poll() is None:
            srv.stop()
        else:
            srv.log.close()


def day(n: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=n)).isoformat()


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201, 204), response.text
    return response.json() if response.content else None


def three_orders_on_one_po(api: httpx.Client) -> None:
    ok(api.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True}))
    ok(api.put("/v1/skus/TEE", json={"mode": "backorder", "handling_days": 1}))
    ok(api.post("/v1/purchase-orders", json={"ref": "PO-1", "lines": [{"sku": "TEE", "qty": 30,
                                                                        "expected_date": day(10)}]}))
    for ref in ("W-1", "W-2", "W-3"):
        ok(api.post("/v1/orders", json={"ref": ref, "channel": "web", "lines": [{"sku": "TEE", "qty": 10}]}))


def subscribe(api: httpx.Client, url: str, events: list[str], **extra: Any) -> int:
    made = ok(api.post("/v1/webhooks", json={"url": url, "events": events, "secret": SECRET, **extra}))
    webhook_id: int = made["id"]
    return webhook_id


def slip(api: httpx.Client, to_day: int) -> None:
    ok(api.patch("/v1/purchase-orders/PO-1/lines/1", json={"expected_date": day(to_day)}))


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def test_a_14_day_po_slip_delivers_exactly_three_signed_promise_changed_webhooks(
    serve: Serve
) -> None:
    _, api = serve()
    hook = Receiver(SECRET)
    three_orders_on_one_po(api)
    subscribe(api, hook.url, ["order_line.promise_changed"])

    slip(api, 24)
    got = hook.wait_for(3)
    time.sleep(0.5)  # room for a fourth, which must not come

    assert len(hook.received) == 3
    assert all(r.verified for r in hook.received)
    assert sorted(e["order_ref"] for e in got) == ["W-1", "W-2", "W-3"]
    assert {(e["type"], e["data"]["from"], e["data"]["to"]) for e in got} == {
        ("order_line.promise_changed", day(11), day(25))}
    assert all(e["data"]["cause"] == {"op": "po_line.updated", "po_ref": "PO-1", "po_line": 1,
                                      "expected_date": {"from": day(10), "to": day(24)},
                                      "qty": {"from": 30, "to": 30}} for e in got)
    hook.close()


def test_retries_reach_a_flaky_receiver_once_in_order_and_dead_letters_can_be_sent_again(
    serve: Serve
) -> None:
    _, api = serve()
    flaky, dead = Receiver(SECRET, fail_first(3)), Receiver(SECRET, always(500))
    three_orders_on_one_po(api)
    subscribe(api, flaky.url, ["order_line.promise_changed"], max_attempts=5)
    dead_id = subscribe(api, dead.url, ["order_line.promise_changed"], max_attempts=3)

    slip(api, 24)
    slip(api, 12)
    got = flaky.wait_for(6)
    assert len(got) == 6 and len({e["id"] for e in got}) == 6
    for ref in ("W-1", "W-2", "W-3"):
        assert [e["data"]["to"] for e in got if e["order_ref"] == ref] == [day(25), day(13)]

    def dead_letters() -> list[dict[str, Any]]:
        page: list[dict[str, Any]] = ok(api.get(f"/v1/webhooks/{dead_id}/deliveries?status=dead"))["deliveries"]
        return page

    eventually(lambda: len(dead_letters()) == 6)
    assert len(dead.received) == 6 * 3 and {d["attempts"] for d in dead_letters()} == {3}
    dead.answer = always(200)
    assert ok(api.post(f"/v1/webhooks/{dead_id}/redeliver"))["requeued"] == 6
    again = dead.wait_for(6)
    for ref in ("W-1", "W-2", "W-3"):
        assert [e["data"]["to"] for e in again if e["order_ref"] == ref] == [day(25), day(13)]
    eventually(lambda: {d["status"] for d in ok(api.get(f"/v1/webhooks/{dead_id}/deliveries"))["deliveries"]}
               == {"delivered"})
    flaky.close()
    dead.close()


def test_killing_the_server_after_commit_loses_no_event_and_a_refused_order_emits_none(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOT_RELAY", "off")  # nothing is delivered before the kill
    first, api = serve()
    hook = Receiver(SECRET)
    three_orders_on_one_po(api)
    subscribe(api, hook.url, ["order_line.*"])
    slip(api, 24)
    refused = api.post("/v1/orders", json={"ref": "W-9", "channel": "web", "lines": [{"sku": "TEE", "qty": 1},
                                                                                      {"sku": "TEE", "qty": 99}]})
    assert refused.status_code == 409
    os.killpg(first.proc.pid, signal.SIGKILL)
    first.proc.wait()
    time.sleep(0.3)
    assert hook.received == []

    monkeypatch.setenv("ALLOT_RELAY", "on")
    serve()
    got = hook.wait_for(3)
    time.sleep(0.5)

    assert sorted(e["order_ref"] for e in got) == ["W-1", "W-2", "W-3"]
    assert all(e["type"] == "order_line.promise_changed" for e in got)
    hook.close()


def test_a_delivery_in_flight_when_the_server_dies_is_sent_again_after_restart(
    serve: Serve
) -> None:
    first, api = serve()
    hook = Receiver(SECRET, delay=0.8)  # answers just inside the 1 s timeout
    three_orders_on_one_po(api)
    subscribe(api, hook.url, ["order_line.promise_changed"])
    slip(api, 24)
    eventually(lambda: hook.arrived > 0, timeout=10)
    os.killpg(first.proc.pid, signal.SIGKILL)  # mid-delivery: nothing was settled
    first.proc.wait()
    time.sleep(1.0)  # the receiver finishes the requests it had
    before = len(hook.received)

    serve()  # the lease (3 × the timeout) ends, and the deliveries go out again
    got = hook.wait_for(3, timeout=30, after=before)

    assert sorted(e["order_ref"] for e in got) == ["W-1", "W-2", "W-3"]
    hook.close()


def test_a_slow_receiver_never_slows_the_order_path(serve: Serve) -> None:
    _, api = serve()
    hook = Receiver(SECRET, delay=0.9)
    ok(api.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True}))
    ok(api.put("/v1/skus/TEE", json={"mode": "backorder"}))
    ok(api.post("/v1/stock/adjustments", json={"sku": "TEE", "delta": 1000, "reason": "receipt"}))
    subscribe(api, hook.url, ["order_line.*"])

    took = []
    for n in range(40):
        started = time.perf_counter()
        ok(api.post("/v1/orders", json={"ref": f"W-{n}", "channel": "web", "lines": [{"sku": "TEE", "qty": 1}]}))
        took.append(time.perf_counter() - started)

    assert len(hook.received) < 40  # the receiver is still far behind ...
    assert statistics.median(took) < 0.25 and max(took) < 1.0  # ... and the orders never waited for it
    hook.close()


def test_allot_worker_delivers_for_a_server_that_does_not(
    serve: Serve, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOT_RELAY", "off")
    _, api = serve()
    hook = Receiver(SECRET)
    three_orders_on_one_po(api)
    subscribe(api, hook.url, ["order_line.promise_changed"])
    slip(api, 24)
    time.sleep(0.5)
    assert hook.received == []

    env = {**os.environ, "ALLOT_DATABASE_URL": database_url}
    allot = Path(sys.executable).parent / "allot"
    with open(tmp_path / "worker.log", "w") as log:
        worker = subprocess.Popen([str(allot), "worker"], cwd=tmp_path, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            got = hook.wait_for(3)
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=20) == 0

    assert sorted(e["order_ref"] for e in got) == ["W-1", "W-2", "W-3"]
    hook.close()
