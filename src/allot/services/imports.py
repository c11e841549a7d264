"""Importing a CSV file: check every row, then write all of it in one transaction, or nothing.

`run` reads the file twice, row by row (never whole): the first pass checks (services/import_checks),
the second writes (services/import_apply). A file with any bad row writes nothing and says what is
wrong with every row. A dry run writes everything, reports it, and rolls it back. A real import
is audited in its own transaction.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, BinaryIO

from allot.connectors.csv_files import IMPORTS, Problem, Reader
from allot.domain.errors import Invalid, NotFound
from allot.services import audit
from allot.services.import_apply import Outcome, Progress, apply
from allot.services.import_checks import Checked, check, parsed
from allot.store.db import Database

Opener = Callable[[], AbstractContextManager[BinaryIO]]
LISTED = 1000  # problems listed in an answer; `problems` counts them all


class BadFile(Invalid):
    """A file with bad rows: nothing was written; every problem is listed (line, column, reason)."""

    code = "invalid_file"

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__("file", f"{len(problems)} problem(s), nothing written; first: line {first.line}"
                                 f"{', column ' + first.column if first.column else ''}: {first.reason}")
        self.problems = problems
        self.extra["problems"] = len(problems)
        self.extra["errors"] = [p.as_dict() for p in problems[:LISTED]]


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back once it has reported what it did."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__("dry run")
        self.outcome = outcome


def require_kind(kind: str) -> None:
    if kind not in IMPORTS:
        raise NotFound(f"no import of {kind!r}; kinds: {', '.join(IMPORTS)}", kind=kind)


def count_rows(db: Database, kind: str, opener: Opener) -> Checked:
    """The first pass: raises BadFile unless every row is good; returns the rows' count, the SKUs they
    touch and the refs Allot already holds."""
    require_kind(kind)
    with opener() as stream:
        reader = Reader(stream, kind)
        with db.read() as conn:
            found = check(conn, kind, reader.rows())
    problems = sorted(reader.problems + found.problems, key=lambda p: p.line)
    if problems:
        raise BadFile(problems)
    return found


def run(db: Database, kind: str, opener: Opener, now: datetime, *, dry_run: bool, actor: audit.Actor,
        change: audit.Change, progress: Progress = lambda _: None,
        checked: Checked | None = None) -> dict[str, Any]:
    """Import one file all or nothing: every row is checked before any is written."""
    checked = checked or count_rows(db, kind, opener)
    try:
        with opener() as stream, db.write() as conn:
            reader = Reader(stream, kind)
            outcome = apply(conn, kind, parsed(kind, reader.rows(), Checked()), checked, now, progress)
            result = {**outcome.as_dict(), "dry_run": dry_run}
            if dry_run:
                raise _DryRun(outcome)
            audit.record(conn, now, actor, audit.Change(
                change.request_id, change.method, change.path, change.action, change.status,
                {**change.summary, "result": {k: v for k, v in result.items() if k != "changes"}}))
    except _DryRun as done:
        result = {**done.outcome.as_dict(), "dry_run": True}
    return {**result, "rows_total": checked.rows}

