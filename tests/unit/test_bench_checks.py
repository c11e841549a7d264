"""`make bench`'s verdicts (bench/targets.py) and its reading of `--base` (bench/harness.py)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
import harness
import targets


def hold_row(bench: str, db: str, workers: int, **figures: float) -> dict[str, Any]:
    return {"bench": bench, "db": db, "workers": workers, "clients": 64,
            "cpu_vs_noop": 3.0, "accepted_per_s": 1000.0, "vs_noop": 0.2} | figures


def verdict(checks: list[dict[str, Any]], text: str, tree: str = "after") -> Any:
    return next(c[tree] for c in checks if c["target"] == text)


HOT_SQLITE_CPU = "hot-SKU hold CPU ≤ 2× no-op, SQLite, 1 process"
SPREAD_SQLITE_CPU = "spread (1,000 SKUs) hold CPU ≤ 2.5× no-op, SQLite, 1 process"
PG_RATE = "hot-SKU holds ≥ 2,500 accepted/s, PostgreSQL, 2 processes"


def test_a_cpu_ratio_at_the_bound_meets_it_and_one_above_does_not() -> None:
    at = targets.check([hold_row("hot", "sqlite", 1, cpu_vs_noop=2.0)], None)
    above = targets.check([hold_row("hot", "sqlite", 1, cpu_vs_noop=2.01)], None)
    assert verdict(at, HOT_SQLITE_CPU)["met"] is True
    assert verdict(above, HOT_SQLITE_CPU)["met"] is False
    assert verdict(above, HOT_SQLITE_CPU)["shown"] == "2.01×"


def test_a_rate_target_reads_its_own_configuration_only() -> None:
    rows = [hold_row("hot", "postgres", 1, accepted_per_s=3000.0), hold_row("hot", "postgres", 2, accepted_per_s=2400.0)]
    assert verdict(targets.check(rows, None), PG_RATE)["met"] is False


def test_a_target_whose_row_was_not_measured_says_so() -> None:
    checks = targets.check([hold_row("spread100", "sqlite", 1, cpu_vs_noop=1.0)], None)
    assert verdict(checks, SPREAD_SQLITE_CPU) is None


def test_before_and_after_are_judged_each_on_its_own_rows() -> None:
    checks = targets.check([hold_row("hot", "sqlite", 1, cpu_vs_noop=1.8)], [hold_row("hot", "sqlite", 1)])
    assert verdict(checks, HOT_SQLITE_CPU, "before")["met"] is False
    assert verdict(checks, HOT_SQLITE_CPU, "after")["met"] is True


def test_a_base_is_a_checkout_or_its_src_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "src" / "allot").mkdir(parents=True)
    (tmp_path / "src" / "allot" / "__init__.py").write_text("")
    assert harness.source(str(tmp_path)) == str(tmp_path / "src")
    assert harness.source(str(tmp_path / "src")) == str(tmp_path / "src")
    with pytest.raises(SystemExit):
        harness.source(str(tmp_path / "src" / "allot"))
