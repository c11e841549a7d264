"""What the live-server benches share: a PostgreSQL database to wipe, `allot serve` on 127.0.0.1
(from this tree or from another checkout's source), wrk with bench/load.lua, and calls into
another source tree.

A second tree (`--base DIR`: a checkout of an older commit, e.g. `git worktree add /tmp/base
ee748c6`) runs with PYTHONPATH=DIR/src in the same venv: PYTHONPATH comes before the editable
install's path, so `allot` and everything it imports are that tree's, and both trees share the
machine, the venv and the database in one run.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

HERE = Path(__file__).parent
KEY = "bench-admin-key-0123456789abcdef"
PG_URL = os.environ.get("ALLOT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/allot_bench")


def ensure_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def reset_pg(url: str) -> None:
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def source(path: str) -> str:
    """The source directory of a tree given as a checkout or as its `src/` (both are accepted)."""
    root = Path(path).resolve()
    for candidate in (root / "src", root):
        if (candidate / "allot" / "__init__.py").is_file():
            return str(candidate)
    raise SystemExit(f"{path}: neither it nor its src/ holds the allot package")


def tree_env(src: str | None) -> dict[str, str]:
    """The environment of a process that runs `src`'s allot (None: this tree, as installed)."""
    return dict(os.environ) if src is None else {**os.environ, "PYTHONPATH": src}


def check_tree(src: str) -> None:
    """Fail early if a process given `src` would import another tree's allot."""
    found = subprocess.run([sys.executable, "-c", "import allot; print(allot.__file__)"], env=tree_env(src),
                           capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    if not found.startswith(src + os.sep):
        raise SystemExit(f"PYTHONPATH={src} imports allot from {found}, not from that tree")


def call(src: str | None, module: str, function: str, *args: Any, timeout: float = 1800) -> Any:
    """`module.function(*args)` from bench/ in a fresh process running `src`'s allot; its JSON answer."""
    code = (f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import {module} as m; "
            f"print(json.dumps(m.{function}(*json.loads(sys.argv[1])), default=str))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(args)], env=tree_env(src), check=True,
                         capture_output=True, text=True, timeout=timeout)
    return json.loads(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(db_url: str, workers: int, src: str | None = None) -> Iterator[str]:
    """`allot serve` on a free port of 127.0.0.1 (of tree `src`, this one by default), until the block ends."""
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="allot-bench-"))
    # Benches talk only to 127.0.0.1 (webhook receivers, shop stand-ins): allow it as a destination.
    env = {"ALLOT_WEBHOOK_ALLOW_PRIVATE": "127.0.0.0/8", **tree_env(src), "ALLOT_DATABASE_URL": db_url,
           "ALLOT_BOOTSTRAP_ADMIN_KEY": KEY}
    allot = Path(sys.executable).parent / "allot"
    log = open(tmp / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(allot), "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers)], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError((tmp / "server.log").read_text()[-2000:])
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        time.sleep(0.5 * workers)  # let every worker process finish starting
        yield base
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)
        log.close()


def client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)


def setup_skus(base: str, prefix: str, count: int, on_hand: int) -> list[str]:
    """A stock-only channel and `count` SKUs (just `prefix` when count is 0) with stock."""
    names = [prefix] if count == 0 else [f"{prefix}{i}" for i in range(1, count + 1)]
    with client(base) as c:
        c.put("/v1/channels/web", json={"allow_backorder": False, "allow_preorder": False}).raise_for_status()
        for name in names:
            c.put(f"/v1/skus/{name}", json={"mode": "stock"}).raise_for_status()
            c.post("/v1/stock/adjustments", json={"sku": name, "delta": on_hand, "reason": "bench"}).raise_for_status()
    return names


def wrk(base: str, clients: int, seconds: float, **env: str) -> dict[str, Any]:
    full_env = {**os.environ, "ALLOT_KEY": KEY, **env}
    cmd = ["wrk", "-t2", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(HERE / "load.lua"), base]
    done = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=seconds + 60,
                          check=False)  # a failed run is reported below with its output
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no figures: {done.stdout[-500:]} {done.stderr[-500:]}")
    result: dict[str, Any] = json.loads(line[5:])
    secs = result["duration_us"] / 1e6
    result |= {"rps": result["requests"] / secs, "accepted_per_s": result["accepted"] / secs,
               "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000}
    return result


def reserved(base: str, names: list[str]) -> int:
    """Units the server holds for these SKUs, once requests still in flight have landed (wrk stops
    waiting for answers when its time is up, but the server still completes those requests)."""
    with client(base) as c:
        def now() -> int:
            return sum(_reserved(c, names[i:i + 500]) for i in range(0, len(names), 500))

        seen, time_up = now(), time.monotonic() + 10
        while time.monotonic() < time_up:
            time.sleep(0.3)
            again = now()
            if again == seen:
                return seen
            seen = again
        return seen


def _reserved(c: httpx.Client, names: list[str]) -> int:
    """Reserved units of up to 500 SKUs in one many-SKU read, one read per SKU where a tree has none."""
    many = c.get("/v1/availability", params={"skus": ",".join(names)})
    if many.status_code in (404, 405):
        return sum(c.get(f"/v1/availability/{n}").json()["reserved"] for n in names)
    many.raise_for_status()
    return sum(int(item["reserved"]) for item in many.json()["items"])
