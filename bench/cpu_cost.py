"""CPU per request: what the server (and PostgreSQL) spent per answered request, by endpoint.

    .venv/bin/python bench/cpu_cost.py sqlite|postgres [workers] [ping,hot,spread,avail,shop] [clients]

`shop` is `hot` sold with a storefront key (whose holds are capped: docs/security.md); run it with
ALLOT_STOREFRONT_HOLD_TTL_MAX=3600 and a large ALLOT_STOREFRONT_HELD_UNITS_MAX so no sale is refused.

Throughput on a shared 2-core machine swings with whatever else runs; the CPU time a server
process spends per request moves far less (±10% here), so this is the figure to compare before
and after a change. Starts a server like bench/run.py, drives each endpoint with wrk for 4 s,
and divides the CPU time of the server's processes (and of PostgreSQL's backends) by the
requests answered.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import run

LOADS = {
    "ping": {"ALLOT_MODE": "get", "ALLOT_PATH": "/v1/ping"},
    "hot": {"ALLOT_SKU_PREFIX": "HOT"},
    "spread": {"ALLOT_SKU_PREFIX": "S", "ALLOT_SKU_COUNT": "1000"},
    "avail": {"ALLOT_MODE": "get", "ALLOT_PATH": "/v1/availability/HOT?channel=web"},
}


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, IndexError, ValueError):
        return -1


def pids_matching(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", "--", pattern], capture_output=True, text=True, check=False)
    return [int(p) for p in found.stdout.split()]


def storefront_key(base: str) -> str:
    with run.client(base) as c:
        made = c.post("/v1/keys", json={"name": "bench-shop", "role": "storefront", "channels": ["web"]})
        made.raise_for_status()
        return str(made.json()["secret"])


def main() -> None:
    db = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    loads = sys.argv[3].split(",") if len(sys.argv) > 3 else list(LOADS)
    clients = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    if db == "postgres":
        run.ensure_pg_database(run.PG_URL)
        run.reset_pg(run.PG_URL)
        url = run.PG_URL
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='allot-cpu-')}/cpu.db"
    with run.server(url, workers) as base:
        port = base.rsplit(":", 1)[1]
        run.setup_skus(base, "HOT", 0, 1_000_000)
        run.setup_skus(base, "S", 1000, 100_000)
        if "shop" in loads:
            LOADS["shop"] = {"ALLOT_SKU_PREFIX": "HOT", "ALLOT_KEY": storefront_key(base)}
        server = pids_matching(f"--port {port}")
        # the worker processes of *this* server only: other servers may run on a shared machine
        server += [p for p in pids_matching("multiprocessing.spawn") if parent(p) in server]
        postgres = pids_matching("postgres:") if db == "postgres" else []
        for load in loads:
            run.wrk(base, clients, 1, **LOADS[load])  # warm-up
            s0, p0 = cpu_seconds(server), cpu_seconds(postgres)
            r = run.wrk(base, clients, 4, **LOADS[load])
            s1, p1 = cpu_seconds(server), cpu_seconds(postgres)
            n = r["requests"]
            print(f"{db:8s} procs={workers} {load:6s} req/s={r['rps']:6.0f} p50={r['p50_ms']:6.1f} ms "
                  f"p99={r['p99_ms']:6.1f} ms  server CPU/request={(s1 - s0) / n * 1e6:5.0f} µs  "
                  f"PostgreSQL CPU/request={(p1 - p0) / n * 1e6:4.0f} µs", flush=True)


if __name__ == "__main__":
    main()
