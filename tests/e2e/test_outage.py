"""A PostgreSQL restart under order load, on a private cluster this test can stop (never the shared one).

Every answer while the database is away is a 503 problem+json with Retry-After (never a 500), no
acknowledged order is lost or doubled, and the same server takes orders again once PostgreSQL is back.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import httpx
import pytest
from sqlalchemy import text

from allot.store.db import Database
from tests.conftest import IN_CI, Server, free_port

pytestmark = pytest.mark.postgres


class PrivatePostgres:
    """A throw-away cluster in a temp dir, run as the `postgres` user, on a free port of 127.0.0.1."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="allot-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def _as_postgres(self, tool: str, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", str(self.bin / tool), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, f"{tool}: {done.stdout}{done.stderr}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D", str(self.data),
                        "-m", "immediate", "stop"], capture_output=True, check=False, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    bin_dir = _postgres_bin()
    why = ("no PostgreSQL binaries under /usr/lib/postgresql" if bin_dir is None
           else "needs root to run PostgreSQL as the postgres user" if os.geteuid() != 0 else None)
    if why:
        if IN_CI:
            pytest.fail(why)
        pytest.skip(why)
    assert bin_dir is not None
    cluster = PrivatePostgres(bin_dir)
    yield cluster
    cluster.destroy()


@dataclass(frozen=True)
class Answer:
    ref: str
    key: str
    status: int
    media_type: str
    retry_after: str | None
    body: str


class Storefront:
    """Threads placing one-line orders, each with its own idempotency key, recording every answer."""

    def __init__(self, base: str, key: str, threads: int = 4) -> None:
        self.base, self.key = base, key
        self.answers: list[Answer] = []
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Self:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30,
                          headers={"Authorization": f"Bearer {self.key}"}) as client:
            while not self._stop.is_set():
                ref = f"O-{uuid.uuid4().hex[:12]}"
                answer = place(client, ref, f"k-{ref}")
                with self._lock:
                    if answer is None:
                        self.failures.append(ref)
                    else:
                        self.answers.append(answer)
                time.sleep(0.02)

    def since(self, n: int) -> list[Answer]:
        with self._lock:
            return self.answers[n:]


def place(client: httpx.Client, ref: str, key: str) -> Answer | None:
    try:
        r = client.post("/v1/orders", headers={"Idempotency-Key": key},
                        json={"ref": ref, "channel": "web", "lines": [{"sku": "TEE", "qty": 1}]})
    except httpx.HTTPError as e:
        return Answer(ref, key, 0, "", None, repr(e))
    return Answer(ref, key, r.status_code, r.headers.get("content-type", ""), r.headers.get("retry-after"), r.text)


def wait_until(check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def test_a_postgres_restart_under_order_load_answers_503_and_loses_or_doubles_nothing(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    started = time.monotonic()
    srv = Server(private_postgres.url, tmp_path)
    try:
        with srv.client() as api:
            web = {"allow_backorder": True, "allow_preorder": True}
            assert api.put("/v1/channels/web", json=web).status_code in (200, 201)
            assert api.put("/v1/skus/TEE", json={"mode": "backorder"}).status_code in (200, 201)
            stock = {"sku": "TEE", "delta": 100_000, "reason": "receipt"}
            assert api.post("/v1/stock/adjustments", json=stock).status_code in (200, 201)
            with Storefront(srv.base, api.headers["Authorization"].split()[1]) as shop:
                wait_until(lambda: sum(a.status == 201 for a in shop.since(0)) >= 20 or shop.since(0)[:1]
                           and shop.since(0)[0].status != 201, 20)
                assert shop.since(0)[0].status == 201, shop.since(0)[0]
                private_postgres.stop()
                down_from = len(shop.since(0))
                time.sleep(1.5)
                others = [api.get("/v1/availability/TEE", params={"channel": "web"}),  # a read on the event loop
                          api.put("/v1/skus/TEE", json={"mode": "backorder"}),  # a write in a worker thread
                          api.get("/v1/audit"), api.get("/healthz")]
                time.sleep(1.5)
                during = shop.since(down_from)
                private_postgres.start()
                back_from = len(shop.since(0))
                wait_until(lambda: sum(a.status == 201 for a in shop.since(back_from)) >= 20, 20)
            answers = shop.answers
            retried = [place(api, a.ref, a.key) for a in answers if a.status != 201]
    finally:
        srv.stop()

    assert during, "no request was answered while PostgreSQL was down"
    bad = [a for a in answers if a.status not in (201, 503)]
    assert not bad, f"{len(bad)} answers neither 201 nor 503, e.g. {bad[:3]}"
    unavailable = [a for a in answers if a.status == 503]
    assert unavailable and all(a.status == 503 for a in during)
    assert all(a.media_type.startswith("application/problem+json") and a.retry_after for a in unavailable)
    assert [(r.status_code, r.headers["content-type"], bool(r.headers.get("retry-after"))) for r in others] == [
        (503, "application/problem+json", True)] * len(others)
    assert all(r is not None and r.status == 201 for r in retried), [r for r in retried if r and r.status != 201]

    acknowledged = [a.ref for a in answers if a.status == 201] + [a.ref for a in answers if a.status != 201]
    db = Database(private_postgres.url, pool_size=1)
    with db.read() as conn:
        counts = dict(conn.execute(text("SELECT ref, count(*) FROM orders GROUP BY ref")).all())
        units = conn.execute(text("SELECT coalesce(sum(qty), 0) FROM order_lines")).scalar_one()
    db.dispose()
    assert {ref: counts.get(ref, 0) for ref in acknowledged} == dict.fromkeys(acknowledged, 1)
    assert len(counts) == len(acknowledged) and units == len(acknowledged)
    assert time.monotonic() - started < 60
