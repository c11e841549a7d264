"""The push runs in `allot worker` processes too: with `allot serve --no-relay` and two workers,
sales reach the shop and no SKU's count is pushed twice for one change."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_KEY, free_port
from tests.e2e.trust import DATABASES, database_url
from tests.e2e.world import channel, ok, sku, unique
from tests.shop_standins import ShopifyStandIn

TOKEN = "shpat_workers-token-0b7d"


def start(args: list[str], url: str, tmp: Path, name: str) -> subprocess.Popen[bytes]:
    # The shop stand-in listens on 127.0.0.1, which a default installation refuses to send to.
    env = {"ALLOT_WEBHOOK_ALLOW_PRIVATE": "127.0.0.0/8", **os.environ, "ALLOT_DATABASE_URL": url,
           "ALLOT_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY}
    with open(tmp / f"{name}.log", "w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([str(Path(sys.executable).parent / "allot"), *args], cwd=tmp, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def until(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("kind", DATABASES)
def test_worker_processes_push_and_never_twice_for_one_change(kind: str, tmp_path: Path) -> None:
    url = database_url(kind, tmp_path)
    port = free_port()
    serve = start(["serve", "--host", "127.0.0.1", "--port", str(port), "--no-relay"], url, tmp_path, "serve")
    workers: list[subprocess.Popen[bytes]] = []
    shop = ShopifyStandIn(TOKEN)
    base = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            try:
                return httpx.get(base + "/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        until(healthy, 60)
        workers = [start(["worker", "--no-sweep"], url, tmp_path, f"worker-{n}") for n in range(2)]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30) as api:
            ch, names = channel(api), [sku(api, on_hand=10) for _ in range(5)]
            for n in names:
                shop.add(n, 0)
            ok(api.put(f"/v1/channels/{ch}/storefront", json={
                "platform": "shopify", "secret": "s", "shop": "w.myshopify.com", "admin_token": TOKEN,
                "location_id": "1", "api_base": shop.base}), 201)
            until(lambda: all(shop.count(n) == 10 for n in names))
            for n in names:
                ok(api.post("/v1/orders", json={"ref": unique("O"), "channel": ch, "lines": [{"sku": n, "qty": 3}]}),
                   201)
            until(lambda: all(shop.count(n) == 7 for n in names))
        time.sleep(1.5)  # time for any second push to arrive
        for n in names:
            assert [b[n] for _, b in shop.mutations if n in b] == [10, 7]
    finally:
        for proc in [*workers, serve]:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*workers, serve]:
            proc.wait(timeout=20)
        shop.close()
