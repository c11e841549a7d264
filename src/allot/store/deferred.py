"""Rows written in bulk by a batch (services/batching.py): new holds and audit rows.

Inside a batch such rows wait in a list and go to the database in one statement per table (one
round trip) when the batch is done; a request that is undone takes its rows back out (`mark`
and `undo_to`). Whoever reads a table these rows go to must `flush` first (Book.replan,
Book.load_queue and the hold lookups in services/selling.py read holds). Outside a batch a row
is written at once.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Insert

KEY = "allot_deferred_rows"


def insert(conn: Connection, stmt: Insert, row: dict[str, Any]) -> None:
    waiting: list[tuple[Insert, dict[str, Any]]] | None = conn.info.get(KEY)
    if waiting is None:
        conn.execute(stmt, [row])  # a list: no RETURNING of the new id, which nobody reads
    else:
        waiting.append((stmt, row))


def begin(conn: Connection) -> None:
    conn.info[KEY] = []


def mark(conn: Connection) -> int | None:
    waiting = conn.info.get(KEY)
    return None if waiting is None else len(waiting)


def undo_to(conn: Connection, at: int | None) -> None:
    waiting = conn.info.get(KEY)
    if waiting is not None and at is not None:
        del waiting[at:]


def flush(conn: Connection) -> None:
    """Write the waiting rows, one executemany per statement, in the order they came."""
    waiting: list[tuple[Insert, dict[str, Any]]] | None = conn.info.get(KEY)
    if not waiting:
        return
    by_stmt: dict[Insert, list[dict[str, Any]]] = {}
    for stmt, row in waiting:
        by_stmt.setdefault(stmt, []).append(row)
    waiting.clear()
    for stmt, rows in by_stmt.items():
        conn.execute(stmt, rows)


def discard(conn: Connection) -> None:
    conn.info.pop(KEY, None)
