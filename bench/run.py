"""Allot benchmarks: the drop (hot SKU), spread SKUs, baselines, re-plan, steady reads, and the
server CPU each request costs, checked against the targets of the current issue (bench/targets.py).

    .venv/bin/python bench/run.py [--runs 3] [--seconds 5] [--quick | --targets] [--base DIR]

Needs `wrk` (Debian package) and PostgreSQL at ALLOT_BENCH_PG_URL
(default postgresql://postgres@127.0.0.1:5432/allot_bench, created if missing). Traffic goes
only to 127.0.0.1; every load is bounded in time. Prints a table of medians over the runs and
writes every figure to bench/results/latest.json.

`--base DIR` (a checkout of an older commit, or its src/) measures that tree too, in the same run:
every bench that starts a server or imports allot runs once per tree, the two interleaved (and in
turn first), so the machine's drift falls on both alike; the table shows "before → after".
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
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
import targets
from baselines import raw_postgres, raw_sqlite
from cpu_cost import measured
from harness import (
    PG_URL,
    call,
    check_tree,
    ensure_pg_database,
    reserved,
    reset_pg,
    server,
    setup_skus,
    source,
    wrk,
)

HERE = Path(__file__).parent
console = Console(width=180)  # a readable table in CI logs and pipes too
Rows = list[dict[str, Any]]
PING = {"ALLOT_MODE": "get", "ALLOT_PATH": "/v1/ping"}


def hot_and_spread(db_kind: str, db_url: str, workers: int, clients: list[int], seconds: float,
                   spread: int, src: str | None) -> Rows:
    rows: Rows = []
    if db_kind == "postgres":
        reset_pg(db_url)
    with server(db_url, workers, src) as base:
        hot = setup_skus(base, "HOT", 0, 1_000_000)
        names = setup_skus(base, "S", spread, 100_000)
        for c in clients:
            wrk(base, c, 1, **PING)  # warm-up, not measured: every client's connection opened
            noop = measured(base, db_kind, c, seconds, **PING)
            for bench, env, skus in (("hot", {"ALLOT_SKU_PREFIX": "HOT"}, hot),
                                     (f"spread{spread}", {"ALLOT_SKU_PREFIX": "S", "ALLOT_SKU_COUNT": str(spread)},
                                      names)):
                wrk(base, c, 1, **env)  # warm-up, not measured: pool connections, prepared statements
                before = reserved(base, skus)
                r = measured(base, db_kind, c, seconds, **env)
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
            # Server CPU per answered request (bench/cpu_cost.py), against the no-op's in the same server.
            "cpu_us": r["cpu_us"], "noop_cpu_us": noop["cpu_us"], "cpu_vs_noop": r["cpu_us"] / noop["cpu_us"],
            "pg_cpu_us": r["pg_cpu_us"],
            "failed": r["failed"] + r["socket_errors"],
            "accepted": r["accepted"], "server_reserved": held,
            # A timed run cuts off requests in flight: the server may hold up to one more per
            # client than the clients saw accepted, never fewer and never more than that.
            "oversell_ok": r["accepted"] <= held <= r["accepted"] + clients and r["failed"] == 0}


def steady_reads(db_kind: str, db_url: str, seconds: float, src: str | None) -> dict[str, Any]:
    """Availability at a steady ~500 req/s: 50 connections, each pausing 100 ms after every answer
    (so the rate falls short of 500 by the latency's share of 100 ms; the table shows the real rate)."""
    if db_kind == "postgres":
        reset_pg(db_url)
    with server(db_url, 1, src) as base:
        setup_skus(base, "READ-", 0, 1000)
        steady = {"ALLOT_MODE": "get", "ALLOT_PATH": "/v1/availability/READ-?channel=web", "ALLOT_DELAY_MS": "100"}
        wrk(base, 50, 2, **steady)  # warm-up, not measured: the first requests open pool connections
        r = wrk(base, 50, seconds, **steady)
    return {"bench": "availability@500/s", "db": db_kind, "rps": r["rps"], "p50_ms": r["p50_ms"],
            "p99_ms": r["p99_ms"], "failed": r["failed"] + r["socket_errors"]}


def replan(db_kind: str, url: str, lines: int, src: str | None) -> dict[str, Any]:
    """The PO slip (bench/replan.py) in a process of its own running `src`'s allot."""
    if db_kind == "postgres":
        reset_pg(url)
    return dict(call(src, "replan", "replan_slip", url, lines))


def raw_databases(tmp: Path, clients: int, seconds: float, _src: str | None) -> Rows:
    """The databases' own limit (bench/baselines.py): no allot in it, the same for every tree."""
    return [raw_sqlite(tmp / f"raw-{time.monotonic_ns()}.db", clients, seconds), raw_postgres(PG_URL, clients, seconds)]


# A step of one run: (what it is, runs once per tree?, what it measures given a tree's src/).
Step = tuple[str, bool, Callable[[str | None], Rows]]


def steps(args: argparse.Namespace, tmp: Path) -> list[Step]:
    """The benches of one run, in order. `--quick` and `--targets` keep the configurations the
    targets name (64 clients; SQLite with 1 process, PostgreSQL with 2); the full matrix adds
    16 clients and 1 and 4 processes, the raw databases, the re-plan and the steady reads."""
    narrow = args.quick or args.targets
    clients = [64] if narrow else [16, 64]
    spread = 100 if args.quick else 1000
    lines = 10_000 if args.quick else 100_000

    def db(name: str) -> str:  # a fresh SQLite file for every server
        return f"sqlite:///{tmp / f'{name}-{time.monotonic_ns()}.db'}"

    out: list[Step] = [("holds, SQLite, 1 process", True,
                        lambda src: hot_and_spread("sqlite", db("bench"), 1, clients, args.seconds, spread, src))]
    out += [(f"holds, PostgreSQL, {w} process{'es' if w > 1 else ''}", True,
             partial(hot_and_spread, "postgres", PG_URL, w, clients, args.seconds, spread))
            for w in ([2] if narrow else [1, 2, 4])]
    if args.targets:
        return out
    out += [(f"raw databases, {c} clients", False, partial(raw_databases, tmp, c, args.seconds)) for c in clients]
    out.append(("PO slip", True,
                lambda src: [replan("sqlite", db("replan"), lines, src), replan("postgres", PG_URL, lines, src)]))
    out.append(("steady reads", True, lambda src: [steady_reads("sqlite", db("reads"), args.seconds, src),
                                                   steady_reads("postgres", PG_URL, args.seconds, src)]))
    return out


def one_run(plan: list[Step], trees: dict[str, str | None], turn: int) -> dict[str, Rows]:
    """Every step for every tree, interleaved; the tree that goes first alternates between runs."""
    order = list(trees) if turn % 2 == 0 else list(reversed(trees))
    rows: dict[str, Rows] = {name: [] for name in trees}
    for label, per_tree, step in plan:
        if not per_tree:  # the raw databases: no allot in them, one figure serves both trees
            shared = _timed(label, step, None)
            for name in trees:
                rows[name] += [dict(r) for r in shared]
            continue
        for name in order:
            rows[name] += _timed(f"{label}, {name}" if len(trees) > 1 else label, step, trees[name])
    for tree_rows in rows.values():
        raw = {(r["db"], r["clients"]): r["tps"] for r in tree_rows if "tps" in r}
        for r in tree_rows:  # the database's own limit at the same concurrency
            if "vs_noop" in r and (r["db"], r["clients"]) in raw:
                r["vs_raw_db"] = r["accepted_per_s"] / raw[(r["db"], r["clients"])]
    return rows


def _timed(label: str, step: Callable[[str | None], Rows], src: str | None) -> Rows:
    started = time.monotonic()
    rows = step(src)
    console.print(f"  {label}: {time.monotonic() - started:,.0f} s")
    return rows


def medians(runs: list[Rows]) -> Rows:
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


COLUMNS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("accepted/s | tps | s", lambda r: _figure(r.get("accepted_per_s", r.get("tps", r.get("seconds", r.get("rps")))))),
    ("p50 ms", lambda r: _num(r.get("p50_ms"), ".1f")),
    ("p99 ms", lambda r: _num(r.get("p99_ms"), ".1f")),
    ("vs no-op", lambda r: _num(r.get("vs_noop"), ".0%")),
    ("CPU µs/req", lambda r: _num(r.get("cpu_us"), ",.0f")),
    ("no-op µs", lambda r: _num(r.get("noop_cpu_us"), ",.0f")),
    ("CPU × no-op", lambda r: _num(r.get("cpu_vs_noop"), ".2f")),
    ("vs raw DB", lambda r: _num(r.get("vs_raw_db"), ".0%")),
    ("check", lambda r: "" if r.get("oversell_ok") is None else "ok" if r["oversell_ok"] else "FAIL"),
]


def show(after: Rows, before: Rows | None) -> None:
    title = "Allot benchmarks (medians" + (", before → after)" if before else ")")
    table = Table("bench", "db", "proc", "clients", *(name for name, _ in COLUMNS), title=title)
    for i, r in enumerate(after):
        cells = [cell(r) for _, cell in COLUMNS]
        if before:
            cells = [f"{cell(before[i])} → {a}" if a else "" for a, (_, cell) in zip(cells, COLUMNS, strict=True)]
        table.add_row(r["bench"], r["db"], str(r.get("workers", "")), str(r.get("clients", "")), *cells)
    console.print(table)


def show_targets(checks: list[dict[str, Any]], with_base: bool) -> None:
    table = Table("target", *(["before"] if with_base else []), "after", title=targets.TITLE)
    for t in checks:
        table.add_row(t["target"], *([_verdict(t["before"])] if with_base else []), _verdict(t["after"]))
    console.print(table)


def _verdict(figure: dict[str, Any] | None) -> str:
    if figure is None:
        return "not measured"
    return f"{figure['shown']}  {'met' if figure['met'] else 'NOT MET'}"


def _figure(v: Any) -> str:
    if not isinstance(v, int | float) or not v:
        return ""
    return f"{v:,.2f}" if isinstance(v, float) and v < 100 else f"{v:,.0f}"


def _num(v: Any, spec: str) -> str:
    return "" if v is None else format(v, spec)


def commit_of(path: Path) -> str | None:
    done = subprocess.run(["git", "-C", str(path), "describe", "--always", "--dirty"], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5, help="of each measured load (wrk rounds to whole s)")
    parser.add_argument("--quick", action="store_true", help="a smaller matrix, for a smoke run")
    parser.add_argument("--targets", action="store_true", help="only the configurations the targets name")
    parser.add_argument("--base", metavar="DIR", help="also measure this checkout (or its src/), e.g. an older commit")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        console.print("wrk is not installed: apt-get install -y wrk")
        return 2
    trees: dict[str, str | None] = {"after": None}
    if args.base:
        trees = {"before": source(args.base), "after": None}
        check_tree(str(trees["before"]))
    ensure_pg_database(PG_URL)
    runs: dict[str, list[Rows]] = {name: [] for name in trees}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="allot-bench-") as tmp:
        plan = steps(args, Path(tmp))
        for i in range(args.runs):
            console.print(f"run {i + 1} of {args.runs}…")
            for name, rows in one_run(plan, trees, i).items():
                runs[name].append(rows)
    rows = medians(runs["after"])
    base_rows = medians(runs["before"]) if args.base else None
    checks = targets.check(rows, base_rows)
    show(rows, base_rows)
    show_targets(checks, base_rows is not None)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    trees_info = {"after": {"dir": str(HERE.parent), "commit": commit_of(HERE.parent)}}
    if args.base:
        trees_info["before"] = {"dir": str(trees["before"]), "commit": commit_of(Path(str(trees["before"])))}
    out = {"machine": machine, "args": vars(args), "seconds_taken": round(time.monotonic() - started),
           "trees": trees_info, "runs": runs["after"], "medians": rows, "targets": checks}
    if base_rows is not None:
        out |= {"base_runs": runs["before"], "base_medians": base_rows}
    (results / "latest.json").write_text(json.dumps(out, indent=2, default=str))
    console.print(f"figures written to {results / 'latest.json'} ({time.monotonic() - started:,.0f} s)")
    every = rows + (base_rows or [])
    return 0 if all(r.get("oversell_ok", True) for r in every) else 1


if __name__ == "__main__":
    sys.exit(main())
