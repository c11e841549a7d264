"""CPU per request: what the server (and PostgreSQL) spent per answered request, by endpoint.

    .venv/bin/python bench/cpu_cost.py sqlite|postgres [workers] [ping,hot,spread,avail,shop] [clients]

`shop` is `hot` sold with a storefront key (whose holds are capped: docs/security.md); run it with
ALLOT_STOREFRONT_HOLD_TTL_MAX=3600 and a large ALLOT_STOREFRONT_HELD_UNITS_MAX so no sale is refused.

Throughput on a shared 2-core machine swings with whatever else runs; the CPU time a server
process spends per request moves far less (±10% here), so this is the figure to compare before
and after a change. Starts a server like bench/run.py, drives each endpoint with wrk for 4 s,
and divides the CPU time of the server's processes (and of PostgreSQL's backends) by the
requests answered. `make bench` (bench/run.py) measures ping, hot and spread the same way
(`measured` below) next to its throughput figures.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import harness

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
    """Processes whose command line matches the regular expression, like `pgrep -f` (read from /proc
    here: a minimal machine may lack procps)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if re.search(pattern, line):
            found.append(int(entry.name))
    return found


def server_pids(base: str) -> list[int]:
    """The processes of the server at `base` and its worker processes, only these: other servers
    may run on a shared machine."""
    port = base.rsplit(":", 1)[1]
    server = pids_matching(f"--port {port}( |$)")
    return server + [p for p in pids_matching("multiprocessing.spawn") if parent(p) in server]


def measured(base: str, db_kind: str, clients: int, seconds: float, **load: str) -> dict[str, Any]:
    """wrk's figures for one load, with the CPU time per answered request of the server's processes
    (`cpu_us`) and of PostgreSQL's (`pg_cpu_us`: every backend, other users' too on a shared server)."""
    server = server_pids(base)
    postgres = pids_matching("postgres:") if db_kind == "postgres" else []
    s0, p0 = cpu_seconds(server), cpu_seconds(postgres)
    r = harness.wrk(base, clients, seconds, **load)
    s1, p1 = cpu_seconds(server), cpu_seconds(postgres)
    n = max(1, r["requests"])
    return r | {"cpu_us": (s1 - s0) / n * 1e6, "pg_cpu_us": (p1 - p0) / n * 1e6}


def storefront_key(base: str) -> str:
    with harness.client(base) as c:
        made = c.post("/v1/keys", json={"name": "bench-shop", "role": "storefront", "channels": ["web"]})
        made.raise_for_status()
        return str(made.json()["secret"])


def main() -> None:
    db = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    loads = sys.argv[3].split(",") if len(sys.argv) > 3 else list(LOADS)
    clients = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    if db == "postgres":
        harness.ensure_pg_database(harness.PG_URL)
        harness.reset_pg(harness.PG_URL)
        url = harness.PG_URL
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='allot-cpu-')}/cpu.db"
    with harness.server(url, workers) as base:
        harness.setup_skus(base, "HOT", 0, 1_000_000)
        harness.setup_skus(base, "S", 1000, 100_000)
        if "shop" in loads:
            LOADS["shop"] = {"ALLOT_SKU_PREFIX": "HOT", "ALLOT_KEY": storefront_key(base)}
        for load in loads:
            harness.wrk(base, clients, 1, **LOADS[load])  # warm-up
            r = measured(base, db, clients, 4, **LOADS[load])
            print(f"{db:8s} procs={workers} {load:6s} req/s={r['rps']:6.0f} p50={r['p50_ms']:6.1f} ms "
                  f"p99={r['p99_ms']:6.1f} ms  server CPU/request={r['cpu_us']:5.0f} µs  "
                  f"PostgreSQL CPU/request={r['pg_cpu_us']:4.0f} µs", flush=True)


if __name__ == "__main__":
    main()
