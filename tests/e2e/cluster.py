"""Several `allot serve` processes on one database, and many clients at once against them: the
shared setup of the concurrency and drops tests (test_concurrency.py, test_drops.py).

Every client thread stops after its quota of requests or DEADLINE seconds, and every request
after TIMEOUT, so a deadlock shows up as a failure, never as a hung suite.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, Server
from tests.e2e.trust import database_url
from tests.e2e.world import channel

THREADS = 64
DEADLINE = 30.0  # seconds a thread keeps sending
TIMEOUT = 20.0  # seconds one request may take


@dataclass(frozen=True, slots=True)
class Sale:
    """One request a thread will send; its body identifies it (ref, SKU) when the answers are checked."""

    kind: str  # hold, order, adjustment, put
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    path: str = ""

    @property
    def target(self) -> tuple[str, str]:
        """(method, path) of the request."""
        default = {"hold": "/v1/holds", "order": "/v1/orders", "adjustment": "/v1/stock/adjustments"}
        return ("PUT" if self.kind == "put" else "POST"), self.path or default[self.kind]


@dataclass(frozen=True, slots=True)
class Answer:
    sale: Sale
    status: int  # 0: no HTTP answer (timeout, connection error)
    body: dict[str, Any]
    error: str = ""


@dataclass(frozen=True, slots=True)
class Cluster:
    """Server processes sharing one database."""

    servers: list[Server]
    url: str
    tmp: Path


def cluster_fixture(name: str, postgres_processes: int) -> Any:
    """A module's `cluster` fixture: `postgres_processes` server processes on one fresh PostgreSQL
    database, or one on a SQLite file (`name` names its folder). Each test module picks its own
    count and assigns the result to `cluster`; `servers` and `admin` (conftest.py) follow it."""

    @pytest.fixture(scope="module", params=[pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
    def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
        tmp = tmp_path_factory.mktemp(f"{name}-{request.param}")
        url = database_url(request.param, tmp)
        started: list[Server] = []
        try:
            for _ in range(postgres_processes if request.param == "postgres" else 1):
                started.append(Server(url, tmp))
            yield Cluster(started, url, tmp)
        finally:
            for srv in started:
                srv.stop()

    return cluster


Plan = Callable[[int, int], Sale]  # (thread, n) -> the n-th request that thread sends


def rush(servers: list[Server], threads: int, per_thread: int, plan: Plan) -> list[Answer]:
    """Send plan(thread, n) for n < per_thread from each thread at once, spread over the servers."""
    barrier = threading.Barrier(threads, timeout=30)

    def worker(i: int) -> list[Answer]:
        answers: list[Answer] = []
        srv = servers[i % len(servers)]
        with httpx.Client(base_url=srv.base, headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                          timeout=TIMEOUT) as client:
            barrier.wait()
            stop = time.monotonic() + DEADLINE
            for n in range(per_thread):
                if time.monotonic() > stop:
                    break
                sale = plan(i, n)
                try:
                    method, path = sale.target
                    resp = client.request(method, path, json=sale.body, headers=sale.headers)
                    answers.append(Answer(sale, resp.status_code, resp.json() if resp.content else {}))
                except httpx.HTTPError as e:
                    answers.append(Answer(sale, 0, {}, f"{type(e).__name__}: {e}"))
        return answers

    pool = ThreadPoolExecutor(max_workers=threads)
    futures = [pool.submit(worker, i) for i in range(threads)]
    _, late = wait(futures, timeout=DEADLINE + TIMEOUT + 30)
    pool.shutdown(wait=not late, cancel_futures=True)
    assert not late, f"{len(late)} client threads still running after {DEADLINE + TIMEOUT + 30} s"
    return [a for f in futures for a in f.result()]


def every_thread(sale: Sale) -> Plan:
    """A plan in which every thread sends the very same request."""
    return lambda i, n: sale


def server_logs(servers: list[Server]) -> str:
    return "\n".join(f"--- {s.log.name}\n{Path(s.log.name).read_text()[-3000:]}" for s in servers)


def assert_answered(answers: list[Answer], expected: set[int], servers: list[Server]) -> Counter[int]:
    """Every request got one of the expected answers: no 5xx, no timeout, no dropped connection."""
    statuses = Counter(a.status for a in answers)
    odd = [a for a in answers if a.status not in expected]
    assert not odd, (f"answers {dict(statuses)}; first unexpected: {odd[0].status} {odd[0].error} "
                     f"{str(odd[0].body)[:500]}\n{server_logs(servers)}")
    return statuses


def assert_rows_agree(cluster: Cluster) -> None:
    """`allot reconcile` recomputes counters and plans from the rows: nothing may disagree."""
    allot = Path(sys.executable).parent / "allot"
    done = subprocess.run([str(allot), "reconcile"], check=False, cwd=cluster.tmp, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "ALLOT_DATABASE_URL": cluster.url})
    assert done.returncode == 0, done.stdout + done.stderr


def stock_only(admin: httpx.Client) -> str:
    """A channel that allows neither backorders nor preorders: it sells on-hand units only."""
    return channel(admin, "counter", backorder=False, preorder=False)
