"""Rows written in bulk by a batch (services/batching.py): new holds and audit rows.

Inside a batch such rows wait in a list and go to the database in one statement per table (one
round trip) when the batch is done; a request that is undone takes its rows back out (`mark`
and `undo_to`). Whoever reads a table these rows go to must `flush` first (Book.replan,
Book.load_queue and the hold lookups in services/selling.py read holds), and so must a savepoint
before it begins (`book.atomic`): rows queued earlier must not be rolled back with it. Outside a
batch a row is written at once.

A flush writes earlier requests' rows too; only the current request's own rows count as its
writes (`store/db.py`), so a request that then fails without writing anything else is still
undone in memory, not by re-running the batch.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Insert

from allot.store.db import WRITES

KEY = "allot_deferred_rows"
OWN = "allot_deferred_own_from"  # where the current request's rows start in the waiting list


def insert(conn: Connection, stmt: Insert, row: dict[str, Any]) -> None:
    waiting: list[tuple[Insert, dict[str, Any]]] | None = conn.info.get(KEY)
    if waiting is None:
        conn.execute(stmt, [row])  # a list: no RETURNING of the new id, which nobody reads
    else:
        waiting.append((stmt, row))


def begin(conn: Connection) -> None:
    conn.info[KEY] = []


def start_request(conn: Connection) -> None:
    conn.info[OWN] = len(conn.info[KEY])


def mark(conn: Connection) -> int | None:
    waiting = conn.info.get(KEY)
    return None if waiting is None else len(waiting)


def undo_to(conn: Connection, at: int | None) -> None:
    if conn.invalidated:  # the connection died: the whole transaction is gone, and conn.info would raise
        return
    waiting = conn.info.get(KEY)
    if waiting is not None and at is not None:
        del waiting[at:]
        conn.info[OWN] = min(conn.info.get(OWN, 0), at)


def flush(conn: Connection) -> None:
    """Write the waiting rows, one executemany per statement, in the order they came."""
    waiting: list[tuple[Insert, dict[str, Any]]] | None = conn.info.get(KEY)
    if not waiting:
        return
    own = len(waiting) > conn.info.get(OWN, 0)
    counted = conn.info.get(WRITES)
    by_stmt: dict[Insert, list[dict[str, Any]]] = {}
    for stmt, row in waiting:
        by_stmt.setdefault(stmt, []).append(row)
    waiting.clear()
    conn.info[OWN] = 0
    for stmt, rows in by_stmt.items():
        conn.execute(stmt, rows)
    if counted is not None:
        conn.info[WRITES] = counted + own


def discard(conn: Connection) -> None:
    conn.info.pop(KEY, None)
    conn.info.pop(OWN, None)
