"""Allot benchmarks: the drop (hot SKU), spread SKUs, baselines, re-plan, steady reads.

    .venv/bin/python bench/run.py [--runs 3] [--seconds 5] [--quick]

Needs `wrk` (Debian package) and PostgreSQL at ALLOT_BENCH_PG_URL
(default postgresql://postgres@127.0.0.1:5432/allot_bench, created if missing). Traffic goes
only to 127.0.0.1; every load is bounded in time. Prints a table of medians over the runs and
writes every figure to bench/results/latest.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
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
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from baselines import raw_postgres, raw_sqlite
from replan import replan_slip

HERE = Path(__file__).parent
KEY = "bench-admin-key-0123456789abcdef"
PG_URL = os.environ.get("ALLOT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/allot_bench")
console = Console(width=160)  # a readable table in CI logs and pipes too


def ensure_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def reset_pg(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(db_url: str, workers: int) -> Iterator[str]:
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="allot-bench-"))
    # Benches talk only to 127.0.0.1 (webhook receivers, shop stand-ins): allow it as a destination.
    env = {"ALLOT_WEBHOOK_ALLOW_PRIVATE": "127.0.0.0/8", **os.environ, "ALLOT_DATABASE_URL": db_url,
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
    result = json.loads(line[5:])
    secs = result["duration_us"] / 1e6
    result |= {"rps": result["requests"] / secs, "accepted_per_s": result["accepted"] / secs,
               "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000}
    return result


def reserved(base: str, names: list[str]) -> int:
    """Units the server holds for these SKUs, once requests still in flight have landed (wrk stops
    waiting for answers when its time is up, but the server still completes those requests)."""
    with client(base) as c:
        def now() -> int:
            return sum(c.get(f"/v1/availability/{n}").json()["reserved"] for n in names)

        seen, time_up = now(), time.monotonic() + 10
        while time.monotonic() < time_up:
            time.sleep(0.3)
            again = now()
            if again == seen:
                return seen
            seen = again
        return seen


def hot_and_spread(db_kind: str, db_url: str, workers: int, clients: list[int], seconds: float,
                   spread: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if db_kind == "postgres":
        reset_pg(db_url)
    with server(db_url, workers) as base:
        hot = setup_skus(base, "HOT", 0, 1_000_000)
        names = setup_skus(base, "S", spread, 100_000)
        for c in clients:
            noop = wrk(base, c, seconds, ALLOT_MODE="get", ALLOT_PATH="/v1/ping")
            for bench, env, skus in (("hot", {"ALLOT_SKU_PREFIX": "HOT"}, hot),
                                     (f"spread{spread}", {"ALLOT_SKU_PREFIX": "S", "ALLOT_SKU_COUNT": str(spread)},
                                      names)):
                wrk(base, c, 1, **env)  # warm-up, not measured: pool connections, prepared statements
                before = reserved(base, skus)
                r = wrk(base, c, seconds, **env)
                rows.append(_row(bench, db_kind, workers, c, r, noop, reserved(base, skus) - before))
        rows.append(sell_out(base, db_kind, workers, max(clients)))
    return rows


def sell_out(base: str, db_kind: str, workers: int, clients: int, stock: int = 1000) -> dict[str, Any]:
    """The oversell check: shoppers hammer one SKU until long after it sold out; exactly the
    stock is accepted (every 201 the clients saw, and every unit the server reserved)."""
    names = setup_skus(base, "DROP", 0, stock)
    r = wrk(base, clients, 8, ALLOT_SKU_PREFIX="DROP")
    held = reserved(base, names)
    return {"bench": f"sell-out {stock}", "db": db_kind, "workers": workers, "clients": clients,
            "accepted": r["accepted"], "refused": r["refused"], "server_reserved": held, "failed": r["failed"],
            "oversell_ok": r["accepted"] == held == stock and r["refused"] > 0 and r["failed"] == 0}


def _row(bench: str, db_kind: str, workers: int, clients: int, r: dict[str, Any], noop: dict[str, Any],
         held: int) -> dict[str, Any]:
    return {"bench": bench, "db": db_kind, "workers": workers, "clients": clients,
            "accepted_per_s": r["accepted_per_s"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
            "noop_rps": noop["rps"], "vs_noop": r["accepted_per_s"] / noop["rps"],
            "failed": r["failed"] + r["socket_errors"],
            "accepted": r["accepted"], "server_reserved": held,
            # A timed run cuts off requests in flight: the server may hold up to one more per
            # client than the clients saw accepted, never fewer and never more than that.
            "oversell_ok": r["accepted"] <= held <= r["accepted"] + clients and r["failed"] == 0}


def steady_reads(db_kind: str, db_url: str, seconds: float) -> dict[str, Any]:
    """Availability at a steady ~500 req/s: 50 connections, each pausing 100 ms after every answer
    (so the rate falls short of 500 by the latency's share of 100 ms; the table shows the real rate)."""
    if db_kind == "postgres":
        reset_pg(db_url)
    with server(db_url, 1) as base:
        setup_skus(base, "READ-", 0, 1000)
        steady = {"ALLOT_MODE": "get", "ALLOT_PATH": "/v1/availability/READ-?channel=web", "ALLOT_DELAY_MS": "100"}
        wrk(base, 50, 2, **steady)  # warm-up, not measured: the first requests open pool connections
        r = wrk(base, 50, seconds, **steady)
    return {"bench": "availability@500/s", "db": db_kind, "rps": r["rps"], "p50_ms": r["p50_ms"],
            "p99_ms": r["p99_ms"], "failed": r["failed"] + r["socket_errors"]}


def one_run(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    clients = [16] if args.quick else [16, 64]
    spread = 100 if args.quick else 1000
    rows: list[dict[str, Any]] = []
    sqlite_url = f"sqlite:///{tmp / f'bench-{time.monotonic_ns()}.db'}"
    rows += hot_and_spread("sqlite", sqlite_url, 1, clients, args.seconds, spread)
    for workers in ([1] if args.quick else [1, 2, 4]):
        rows += hot_and_spread("postgres", PG_URL, workers, clients, args.seconds, spread)
    for c in clients:
        rows.append(raw_sqlite(tmp / f"raw-{time.monotonic_ns()}.db", c, args.seconds))
        rows.append(raw_postgres(PG_URL, c, args.seconds))
    lines = 10_000 if args.quick else 100_000
    rows.append(replan_slip(f"sqlite:///{tmp / f'replan-{time.monotonic_ns()}.db'}", lines))
    reset_pg(PG_URL)
    rows.append(replan_slip(PG_URL, lines))
    rows.append(steady_reads("sqlite", f"sqlite:///{tmp / f'reads-{time.monotonic_ns()}.db'}", args.seconds))
    rows.append(steady_reads("postgres", PG_URL, args.seconds))
    raw = {(r["db"], r["clients"]): r["tps"] for r in rows if "tps" in r}
    for r in rows:  # the database's own limit at the same concurrency
        if "vs_noop" in r and (r["db"], r["clients"]) in raw:
            r["vs_raw_db"] = r["accepted_per_s"] / raw[(r["db"], r["clients"])]
    return rows


def medians(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Row by row, the median of every number over the runs; a check passes only if it always did."""
    out = []
    for rows in zip(*runs, strict=True):
        merged = dict(rows[0])
        for k, v in rows[0].items():
            if isinstance(v, bool):
                merged[k] = all(r[k] for r in rows)
            elif isinstance(v, int | float):
                merged[k] = statistics.median(r[k] for r in rows)
        out.append(merged)
    return out


def show(rows: list[dict[str, Any]]) -> None:
    table = Table("bench", "db", "proc", "clients", "accepted/s | tps | s", "p50 ms", "p99 ms", "vs no-op",
                  "vs raw DB", "check", title="Allot benchmarks (medians)")
    for r in rows:
        figure = r.get("accepted_per_s", r.get("tps", r.get("seconds", r.get("rps"))))
        check = r.get("oversell_ok")
        table.add_row(
            r["bench"], r["db"], str(r.get("workers", "")), str(r.get("clients", "")),
            f"{figure:,.2f}" if isinstance(figure, float) and figure < 100 else f"{figure:,.0f}" if figure else "",
            _ms(r.get("p50_ms")), _ms(r.get("p99_ms")),
            f"{r['vs_noop']:.0%}" if "vs_noop" in r else "",
            f"{r['vs_raw_db']:.0%}" if "vs_raw_db" in r else "",
            "" if check is None else ("ok" if check else "FAIL"),
        )
    console.print(table)


def _ms(v: Any) -> str:
    return "" if v is None else f"{v:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--quick", action="store_true", help="a smaller matrix, for a smoke run")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        console.print("wrk is not installed: apt-get install -y wrk")
        return 2
    ensure_pg_database(PG_URL)
    runs = []
    with tempfile.TemporaryDirectory(prefix="allot-bench-") as tmp:
        for i in range(args.runs):
            console.print(f"run {i + 1} of {args.runs}…")
            runs.append(one_run(args, Path(tmp)))
    rows = medians(runs)
    show(rows)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    (results / "latest.json").write_text(json.dumps({"machine": machine, "runs": runs, "medians": rows},
                                                    indent=2, default=str))
    console.print(f"figures written to {results / 'latest.json'}")
    return 0 if all(r.get("oversell_ok", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
