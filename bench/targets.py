"""The targets `make bench` checks its figures against: issue #17's cheaper sale.

Each target names one row of bench/run.py's table (bench, database, processes, clients), one
figure of it, and the bound. A target whose row was not measured (`--quick` spreads over 100
SKUs, not 1,000) says so instead of passing or failing.
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, NamedTuple

TITLE = "Issue #17 targets (64 clients; server CPU per answered request against GET /v1/ping's)"


class Target(NamedTuple):
    text: str
    row: tuple[str, str, int, int]  # bench, db, processes, clients
    figure: str
    bound: float
    holds: Callable[[float, float], bool]
    spec: str  # how the figure is shown (format spec and unit)
    unit: str = ""


TARGETS = [
    Target("hot-SKU hold CPU ≤ 2× no-op, SQLite, 1 process", ("hot", "sqlite", 1, 64),
           "cpu_vs_noop", 2.0, operator.le, ".2f", "×"),
    Target("spread (1,000 SKUs) hold CPU ≤ 2.5× no-op, SQLite, 1 process", ("spread1000", "sqlite", 1, 64),
           "cpu_vs_noop", 2.5, operator.le, ".2f", "×"),
    Target("hot-SKU hold CPU ≤ 2× no-op, PostgreSQL, 2 processes", ("hot", "postgres", 2, 64),
           "cpu_vs_noop", 2.0, operator.le, ".2f", "×"),
    Target("spread (1,000 SKUs) hold CPU ≤ 2.5× no-op, PostgreSQL, 2 processes", ("spread1000", "postgres", 2, 64),
           "cpu_vs_noop", 2.5, operator.le, ".2f", "×"),
    Target("hot-SKU holds ≥ 2,500 accepted/s, PostgreSQL, 2 processes", ("hot", "postgres", 2, 64),
           "accepted_per_s", 2500, operator.ge, ",.0f", "/s"),
    Target("hot-SKU holds ≥ 40% of the no-op's rate, PostgreSQL, 2 processes", ("hot", "postgres", 2, 64),
           "vs_noop", 0.40, operator.ge, ".1%"),
    Target("hot-SKU holds ≥ 50% of the no-op's rate, SQLite, 1 process", ("hot", "sqlite", 1, 64),
           "vs_noop", 0.50, operator.ge, ".1%"),
]


def check(after: list[dict[str, Any]], before: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Every target with its figure and verdict in each tree (None where its row was not measured)."""
    return [{"target": t.text, "figure": t.figure, "bound": t.bound, "after": _judge(t, after),
             "before": None if before is None else _judge(t, before)} for t in TARGETS]


def _judge(target: Target, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    row = next((r for r in rows if (r["bench"], r["db"], r.get("workers"), r.get("clients")) == target.row), None)
    if row is None:
        return None
    value = float(row[target.figure])
    return {"value": value, "shown": format(value, target.spec) + target.unit, "met": target.holds(value, target.bound)}
