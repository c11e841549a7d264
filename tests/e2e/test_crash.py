"""Crash safety: storefront clients place holds and orders while `allot serve` is SIGKILLed and restarted.

Clients behave as good ones do: every write carries an Idempotency-Key and an X-Request-Id, and a
write whose answer was lost (connection refused or cut) is retried with the same key until it gets
a definite answer. Afterwards every write that got a 2xx exists, the counters equal exactly what
the accepted writes add up to, nothing is oversold, each accepted write has its audit row, and
`allot reconcile` is clean.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, free_port
from tests.e2e.trust import DATABASES, allot, database_url, new_key, ok

RUN_SECONDS = 25.0
CLIENTS = 4
SKUS = {"CRASH-A": 200, "CRASH-B": 250}  # on hand; CRASH-A also has a PO of 200
DEFINITE = {200, 201, 404, 409, 410}


class Serve:
    """`allot serve` on a fixed port, so clients keep their URL across kills and restarts."""

    def __init__(self, url: str, tmp: Path, workers: int) -> None:
        self.url, self.tmp, self.workers = url, tmp, workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        env = {**os.environ, "ALLOT_DATABASE_URL": self.url, "ALLOT_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY}
        allot_exe = Path(sys.executable).parent / "allot"
        with open(self.tmp / "server.log", "ab") as log:
            self.proc = subprocess.Popen(
                [str(allot_exe), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(self.workers)],
                cwd=self.tmp, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.tmp / "server.log").read_text()[-3000:]
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("the server did not come back within 60 s")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Write:
    """One logical write, however many times it had to be sent."""

    method: str
    path: str
    body: dict[str, Any] | None
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: int = 0
    answer: Any = None
    attempts: int = 0
    lost: int = 0  # attempts whose answer never came (killed mid-request or server down)


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    writes: list[Write] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def add(self, write: Write) -> None:
        with self.lock:
            self.writes.append(write)


def send(client: httpx.Client, w: Write, stop_at: float) -> None:
    """Send until the answer is definite (retrying lost answers with the same keys), or give up at stop_at."""
    while time.monotonic() < stop_at:
        w.attempts += 1
        try:
            resp = client.request(w.method, w.path, json=w.body,
                                  headers={"Idempotency-Key": w.key, "X-Request-Id": f"crash-{w.key}"})
        except httpx.TransportError:
            w.lost += 1
            time.sleep(0.05)
            continue
        w.status, w.answer = resp.status_code, resp.json() if resp.content else None
        if w.status not in DEFINITE:
            raise AssertionError(f"{w.method} {w.path}: {w.status} {resp.text}")
        return


class Shopper(threading.Thread):
    """A storefront checkout loop: holds, orders (some confirming its holds), releases."""

    def __init__(self, base: str, secret: str, tally: Tally, seed: int, until: float) -> None:
        super().__init__(daemon=True)
        self.base, self.secret, self.tally, self.until = base, secret, tally, until
        self.rnd = random.Random(seed)
        self.holds: list[dict[str, Any]] = []
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.secret}"},
                              timeout=10) as client:
                while time.monotonic() < self.until:
                    w = self.next_write()
                    self.tally.add(w)
                    send(client, w, self.until + 120)  # a lost answer is always settled, even after the run
                    if w.status == 201 and w.path == "/v1/holds":
                        self.holds.append(w.answer)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread, which re-raises it
            self.failure = e

    def next_write(self) -> Write:
        roll = self.rnd.random()
        if roll < 0.15 and self.holds:
            hold = self.holds.pop(self.rnd.randrange(len(self.holds)))
            return Write("DELETE", f"/v1/holds/{hold['id']}", None)
        if roll < 0.35 and self.holds:
            hold = self.holds.pop(self.rnd.randrange(len(self.holds)))
            lines = [{"sku": hold["sku"], "qty": self.rnd.randint(1, hold["qty"]), "hold_id": hold["id"]}]
            return Write("POST", "/v1/orders", self.order(lines))
        if roll < 0.6:
            body = {"sku": self.rnd.choice(list(SKUS)), "qty": self.rnd.randint(1, 3), "channel": "web",
                    "ttl_seconds": 3600}
            return Write("POST", "/v1/holds", body)
        lines = [{"sku": sku, "qty": self.rnd.randint(1, 3)} for sku in SKUS if self.rnd.random() < 0.7]
        return Write("POST", "/v1/orders", self.order(lines or [{"sku": "CRASH-B", "qty": 1}]))

    def order(self, lines: list[dict[str, Any]]) -> dict[str, Any]:
        priority = 5 if self.rnd.random() < 0.1 else 0
        return {"ref": f"C-{uuid.uuid4().hex[:12]}", "channel": "web", "priority": priority, "lines": lines}


@pytest.fixture(params=DATABASES)
def crashing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Serve]:
    srv = Serve(database_url(request.param, tmp_path), tmp_path, workers=2 if request.param == "postgres" else 1)
    srv.start()
    yield srv
    srv.stop()


def set_up(srv: Serve) -> str:
    with httpx.Client(base_url=srv.base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30) as admin:
        ok(admin.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True}), 201)
        for sku, on_hand in SKUS.items():
            ok(admin.put(f"/v1/skus/{sku}", json={"mode": "backorder"}), 201)
            ok(admin.post("/v1/stock/adjustments", json={"sku": sku, "delta": on_hand, "reason": "opening"}), 201)
        expected = (datetime.now(UTC).date() + timedelta(days=14)).isoformat()
        ok(admin.post("/v1/purchase-orders", json={"ref": "CRASH-PO", "lines": [
            {"sku": "CRASH-A", "qty": 200, "expected_date": expected}]}), 201)
        # An ops key: one order in ten carries a priority (the full re-plan path), which only ops may set.
        secret: str = new_key(admin, "ops")["secret"]
    return secret


def keep_killing(srv: Serve, until: float, rnd: random.Random) -> None:
    while True:
        time.sleep(rnd.uniform(1.0, 3.0))
        if time.monotonic() >= until:
            return
        srv.kill()
        time.sleep(rnd.uniform(0.0, 0.5))
        srv.start()


def test_no_acknowledged_write_is_lost_and_nothing_is_oversold_across_sigkills(crashing: Serve) -> None:
    secret = set_up(crashing)
    tally = Tally()
    until = time.monotonic() + RUN_SECONDS
    shoppers = [Shopper(crashing.base, secret, tally, seed, until) for seed in range(CLIENTS)]
    for s in shoppers:
        s.start()
    keep_killing(crashing, until, random.Random(99))
    for s in shoppers:
        s.join(timeout=180)
        assert not s.is_alive(), "a client never got a definite answer"
        if s.failure:
            raise s.failure
    with httpx.Client(base_url=crashing.base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30) as admin:
        check_every_acknowledged_write_exists(admin, tally.writes)
        check_counters_add_up(admin, tally.writes)
        check_every_acknowledged_write_is_audited(admin, tally.writes)
    done = allot(crashing.url, "reconcile", cwd=crashing.tmp)
    assert done.returncode == 0, done.stdout + done.stderr
    report(crashing, tally.writes)


def accepted(writes: list[Write]) -> list[Write]:
    return [w for w in writes if w.status in (200, 201)]


def check_every_acknowledged_write_exists(admin: httpx.Client, writes: list[Write]) -> None:
    for w in accepted(writes):
        if w.path == "/v1/orders":
            got = ok(admin.get(f"/v1/orders/{w.body['ref']}"), 200)  # type: ignore[index]
            assert [(ln["sku"], ln["qty"]) for ln in got["lines"]] == [
                (ln["sku"], ln["qty"]) for ln in w.body["lines"]]  # type: ignore[index]
        else:
            hold_id = w.answer["id"]
            assert ok(admin.get(f"/v1/holds/{hold_id}"), 200)["status"] == expected_hold_status(writes, hold_id)


def expected_hold_status(writes: list[Write], hold_id: str) -> str:
    for w in accepted(writes):
        if w.method == "DELETE" and w.path.endswith(hold_id):
            return "released"
        if w.path == "/v1/orders" and any(ln.get("hold_id") == hold_id for ln in w.body["lines"]):  # type: ignore[index]
            return "confirmed"
    return "active"


def check_counters_add_up(admin: httpx.Client, writes: list[Write]) -> None:
    """committed and reserved are exactly what the acknowledged writes add up to; nobody is oversold."""
    committed: Counter[str] = Counter()
    reserved: Counter[str] = Counter()
    for w in accepted(writes):
        if w.path == "/v1/orders":
            for ln in w.body["lines"]:  # type: ignore[index]
                committed[ln["sku"]] += ln["qty"]
        elif w.path == "/v1/holds" and expected_hold_status(writes, w.answer["id"]) == "active":
            reserved[w.answer["sku"]] += w.answer["qty"]
    for sku in SKUS:
        seen = ok(admin.get(f"/v1/availability/{sku}", params={"channel": "web"}), 200)
        assert (seen["committed"], seen["reserved"]) == (committed[sku], reserved[sku]), sku
        assert not seen["oversold"] and seen["available"] >= 0, seen
        assert seen["committed"] + seen["reserved"] <= seen["on_hand"] + seen["incoming"], seen


def check_every_acknowledged_write_is_audited(admin: httpx.Client, writes: list[Write]) -> None:
    request_ids: list[str] = []
    after = 0
    while True:
        page = ok(admin.get("/v1/audit", params={"after": after, "limit": 1000}), 200)
        if not page["entries"]:
            break
        request_ids += [e["request_id"] for e in page["entries"]]
        after = page["next"]
    counts = Counter(request_ids)
    for w in accepted(writes):
        assert counts[f"crash-{w.key}"] == 1, f"{w.method} {w.path} has {counts[f'crash-{w.key}']} audit rows"


def report(srv: Serve, writes: list[Write]) -> None:
    by_status = Counter(w.status for w in writes)
    lost = [w for w in writes if w.lost]
    print(f"\n{srv.url.split(':')[0]}: {srv.kills} kills, {len(writes)} writes {dict(by_status)}, "
          f"{sum(w.attempts for w in writes)} requests; {len(lost)} answers lost and settled by retry "
          f"({sum(1 for w in lost if w.status in (200, 201))} accepted)")
    assert srv.kills >= 3, "the server was not killed often enough to mean anything"
    assert by_status[201] > 50 and by_status[409] > 0, "too few sales, or supply never ran out"
