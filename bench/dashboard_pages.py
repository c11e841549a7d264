"""Server time of every dashboard page with the demo grown to 10,000 order lines.

Starts a real `allot serve` (from the venv next to this Python) on a fresh database, signs in
through the form, requests each page `--repeat` times and prints the median and worst
`Server-Timing: app;dur=…` the server reports (the time inside the app, without the network),
next to the client's wall time. The target is a median under 300 ms for every page.

    .venv/bin/python bench/dashboard_pages.py                      # SQLite in a temp dir
    .venv/bin/python bench/dashboard_pages.py --database-url postgresql://…/empty_db --reset
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

from allot.demo import load, load_volume
from allot.store.db import Database
from allot.store.migrate import upgrade

KEY = "bench-admin-key-0123456789abcdef"
TARGET_MS = 300.0


def pages() -> dict[str, str]:
    return {
        "SKU list": "/skus", "SKU search": "/skus?q=vol&mode=backorder", "hot SKU (10k queue)": "/skus/AURORA-LAMP",
        "hot SKU, last queue page": "/skus/AURORA-LAMP?page=9999", "PO list": "/purchase-orders",
        "PO detail": "/purchase-orders/PO-9001", "new PO form": "/purchase-orders/new", "orders": "/orders",
        "order lookup by customer": "/orders?q=vol12", "order detail (explain)": "/orders/V-100000",
        "at risk (7 days)": "/at-risk", "at risk (60 days)": "/at-risk?days=60",
        "hot SKU backordered tail": "/skus/AURORA-LAMP/backordered", "SKU settings": "/skus/AURORA-LAMP/settings",
        "channel settings": "/channels/web/settings", "keys": "/keys", "audit log": "/audit",
    }


def prepare(url: str, lines: int, reset: bool) -> None:
    db = Database(url)
    if reset and not db.is_sqlite:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(db)
    now = datetime.now(UTC)
    started = time.perf_counter()
    load(db, now)
    added = load_volume(db, now, lines)
    print(f"loaded the demo + {added} order lines in {time.perf_counter() - started:.1f} s")
    db.dispose()


def serve(url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ALLOT_DATABASE_URL": url, "ALLOT_BOOTSTRAP_ADMIN_KEY": KEY}
    allot = Path(sys.executable).parent / "allot"
    proc = subprocess.Popen([str(allot), "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=workdir, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start")


def sign_in(client: httpx.Client) -> None:
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text)
    assert token
    client.post("/signin", data={"csrf": token.group(1), "api_key": KEY})


def measure(client: httpx.Client, path: str, repeat: int, form: dict[str, str] | None = None
            ) -> tuple[list[float], list[float]]:
    server, wall = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.post(path, data=form) if form is not None else client.get(path)
        wall.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{path} answered {answer.status_code}")
        server.append(float(answer.headers["server-timing"].split("dur=")[1]))
    return server, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: a SQLite file in a temp dir")
    parser.add_argument("--reset", action="store_true", help="PostgreSQL: drop and recreate the public schema first")
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        prepare(url, args.lines, args.reset)
        proc, base = serve(url, Path(tmp))
        try:
            with httpx.Client(base_url=base, follow_redirects=True, timeout=60) as client:
                sign_in(client)
                slow = report(client, args.repeat)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
    print("every page under target" if not slow else f"over {TARGET_MS:.0f} ms: {', '.join(slow)}")
    return 1 if slow else 0


def report(client: httpx.Client, repeat: int) -> list[str]:
    print(f"{'page':38} {'server median':>10} {'server max':>11} {'wall median':>12}   (ms, {repeat} requests)")
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/purchase-orders/PO-9001").text)
    assert token
    slip = (datetime.now(UTC).date() + timedelta(days=52)).isoformat()
    posts = {"preview: slip PO-V002 (a small SKU)": ("/purchase-orders/PO-V002/lines/1/preview",
                                                     {"csrf": token.group(1), "expected_date": slip}),
             "preview: slip PO-9001 (~4k lines move)": ("/purchase-orders/PO-9001/lines/1/preview",
                                                        {"csrf": token.group(1), "expected_date": slip})}
    slow = []
    for name, (path, form) in [*((n, (p, None)) for n, p in pages().items()), *posts.items()]:
        server, wall = measure(client, path, 1, form)  # warm up
        server, wall = measure(client, path, repeat, form)
        median = statistics.median(server)
        print(f"{name:38} {median:10.1f} {max(server):11.1f} {statistics.median(wall):12.1f}")
        if median > TARGET_MS and form is None:
            slow.append(name)
    print("(a preview runs the real re-plan of the SKU and rolls it back: it costs what the change itself costs)")
    return slow


if __name__ == "__main__":
    raise SystemExit(main())
