"""Writes of many rows at once. A re-plan can move 100,000 lines: on PostgreSQL they go through
COPY (into the events table, or into a temporary table that one UPDATE joins) instead of one
round trip per row; SQLite is in-process, so executemany is already cheap there."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from allot.store.tables import events

COPY_FROM = 200  # below this many rows, plain statements are as fast


def _copy(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """COPY rows in through the driver, on the same connection and so in the same transaction."""
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(row)


def update_placements(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Set allocation, state and promise_date of many rows, given as dicts keyed by `_id`."""
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        conn.execute(
            update(table).where(table.c.id == bindparam("_id")).values(
                allocation=bindparam("allocation"), state=bindparam("state"), promise_date=bindparam("promise_date")),
            rows,
        )
        return
    conn.execute(text("CREATE TEMP TABLE IF NOT EXISTS moved_placements "
                      "(id text, allocation json, state text, promise_date date) ON COMMIT DELETE ROWS"))
    conn.execute(text("TRUNCATE moved_placements"))
    _copy(conn, "COPY moved_placements (id, allocation, state, promise_date) FROM STDIN",
          [(str(r["_id"]), json.dumps(r["allocation"]), r["state"], r["promise_date"]) for r in rows])
    key = "v.id::bigint" if table.name == "order_lines" else "v.id"
    conn.execute(text(
        f"UPDATE {table.name} AS t SET allocation = v.allocation, state = v.state, "  # noqa: S608 - fixed names
        f"promise_date = v.promise_date FROM moved_placements AS v WHERE t.id = {key}"
    ))


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append events in the given order (ids follow it)."""
    if conn.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        conn.execute(insert(events), rows)
        return
    _copy(conn, "COPY events (type, version, occurred_at, sku, order_ref, line, data) FROM STDIN",
          [(r["type"], r.get("version", 1), r["occurred_at"], r["sku"], r["order_ref"], r["line"],
            json.dumps(r["data"])) for r in rows])


def insert_new(conn: Connection, table: Table, values: dict[str, Any], keys: list[str]) -> bool:
    """Insert unless a row with these keys exists; True when this call created it.

    Racing identical PUTs then agree (one creates, the others update) instead of failing.
    """
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
    return conn.execute(stmt.returning(table.c[keys[0]])).first() is not None
