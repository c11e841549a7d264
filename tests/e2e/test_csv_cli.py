"""`allot import` and `allot export` as a merchant runs them: a real process, a real file."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from allot.demo import load
from tests.conftest import sqlite_db

ALLOT = str(Path(sys.executable).parent / "allot")


def allot(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ALLOT_DATABASE_URL": f"sqlite:///{tmp / 'allot.db'}", "COLUMNS": "200"}
    return subprocess.run([ALLOT, *args], env=env, cwd=tmp, capture_output=True, text=True, timeout=120, check=False)


def test_the_command_line_lists_every_bad_row_dry_runs_and_imports(tmp_path: Path) -> None:
    db = sqlite_db(tmp_path / "allot.db")
    load(db, datetime.now(UTC))
    db.dispose()
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,on_hand\nTERRA-MUG,x\nNOPE,3\nCANVAS-TOTE,-2\n")
    refused = allot(tmp_path, "import", "stock", str(bad))
    assert refused.returncode == 1
    assert "3 problem(s): nothing was written" in refused.stderr
    for line, column in (("2", "on_hand"), ("3", "sku"), ("4", "on_hand")):
        assert any(row.split()[:2] == [line, column] for row in
                   (r.strip("│ ").replace("│", " ") for r in refused.stderr.splitlines())), refused.stderr

    good = tmp_path / "good.csv"
    good.write_text("sku,on_hand\nTERRA-MUG,99\n")
    dry = allot(tmp_path, "import", "stock", str(good), "--dry-run")
    assert dry.returncode == 0 and "dry run: nothing written" in dry.stderr
    assert "TERRA-MUG,20,count" in allot(tmp_path, "export", "stock").stdout

    done = allot(tmp_path, "import", "stock", str(good))
    assert done.returncode == 0 and "1 updated" in done.stderr
    assert "TERRA-MUG,99,count" in allot(tmp_path, "export", "stock").stdout
