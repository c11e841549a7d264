"""`allot import KIND FILE` and `allot export KIND [FILE]`: CSV files from the terminal, with a progress bar."""
from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from allot import startup
from allot.connectors.csv_files import EXPORTS, IMPORTS, write
from allot.domain.errors import AllotError
from allot.services import audit, exports, imports
from allot.store.db import Database
from allot.store.migrate import upgrade

console = Console(stderr=True)  # stdout may be the exported file


def register(app: typer.Typer) -> None:
    """Add `import` and `export` to the `allot` command."""
    app.command("import")(import_file)
    app.command("export")(export_file)


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True)


def import_file(
    kind: Annotated[str, typer.Argument(help=f"one of: {', '.join(IMPORTS)}")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would change; write nothing")] = False,
) -> None:
    """Import a CSV file all or nothing: if any row is bad, nothing is written and every bad row is listed."""
    db = Database(startup.settings().database_url)
    upgrade(db)
    now = datetime.now(UTC)
    change = audit.Change(f"cli-{uuid.uuid4().hex}", "CLI", f"allot import {kind}", f"import_{kind}", 0,
                          {"kind": kind, "file": file.name, "dry_run": dry_run})
    try:
        with _progress() as bar:
            checking = bar.add_task(f"checking {file.name}", total=None)
            checked = imports.count_rows(db, kind, lambda: file.open("rb"))
            bar.remove_task(checking)
            task = bar.add_task("dry run" if dry_run else "importing", total=checked.rows)
            result = imports.run(db, kind, lambda: file.open("rb"), now, dry_run=dry_run, actor=audit.CLI,
                                 change=change, progress=lambda n: bar.update(task, completed=n), checked=checked)
    except imports.BadFile as bad:
        _show_problems(bad)
        raise typer.Exit(1) from None
    except AllotError as e:
        console.print(f"[red]refused[/red] {e.detail}")
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    _show_result(result)


def _show_problems(bad: imports.BadFile) -> None:
    table = Table("line", "column", "reason", title=f"{len(bad.problems)} problem(s): nothing was written")
    for p in bad.problems[:imports.LISTED]:
        table.add_row(str(p.line), p.column or "", p.reason)
    console.print(table)
    if len(bad.problems) > imports.LISTED:
        console.print(f"… and {len(bad.problems) - imports.LISTED} more")


def _show_result(result: dict[str, Any]) -> None:
    would = "would be " if result["dry_run"] else ""
    for text in result["changes"]:
        console.print(f"  {text}")
    console.print(f"{result['rows']} rows of {result['kind']}: {result['created']} {would}created, "
                  f"{result['updated']} {would}updated, {result['unchanged']} unchanged"
                  + (" (dry run: nothing written)" if result["dry_run"] else ""))


def export_file(
    kind: Annotated[str, typer.Argument(help=f"one of: {', '.join(EXPORTS)}")],
    file: Annotated[Optional[Path], typer.Argument(dir_okay=False, help="default: standard output")] = None,  # noqa: UP045
) -> None:
    """Export a CSV file (UTF-8, header row), streamed: a large file never sits in memory."""
    db = Database(startup.settings().database_url)
    try:
        exports.require_kind(kind)
    except AllotError as e:
        console.print(f"[red]refused[/red] {e.detail}")
        raise typer.Exit(2) from None
    counted = _Counter(exports.rows(db, kind))
    out: BinaryIO = file.open("wb") if file else sys.stdout.buffer
    try:
        with _progress() as bar:
            task = bar.add_task(f"exporting {kind}", total=None)
            for piece in write(kind, counted):
                out.write(piece.encode("utf-8"))
                bar.update(task, completed=counted.n)
    finally:
        if file:
            out.close()
        else:
            out.flush()
        db.dispose()
    console.print(f"{counted.n} rows of {kind}" + (f" written to {file}" if file else ""))


class _Counter:
    def __init__(self, rows: Any) -> None:
        self.rows, self.n = rows, 0

    def __iter__(self) -> Any:
        for row in self.rows:
            self.n += 1
            yield row
