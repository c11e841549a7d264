"""Writes and reads of many rows at once. A re-plan can move 100,000 lines.

Big writes skip SQLAlchemy's per-row parameter processing: values are converted once per
distinct value (dates, the event time, JSON text) and handed to the driver as plain tuples. On
PostgreSQL they go through COPY (into the events table, or into a temporary table that one
UPDATE joins) instead of one round trip per row; SQLite is in-process, so the driver's
executemany is already cheap there.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Select, Table, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from allot.store.db import WRITES
from allot.store.tables import events

COPY_FROM = 200  # below this many rows, plain statements are as fast

# COPY's text format: these characters must be escaped inside a field; NULL is \N.
_COPY_SPECIAL = re.compile(r"[\\\n\r\t]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def copy_field(value: Any) -> str:
    """One value as a field of COPY's text format (dates and datetimes in ISO form, which PostgreSQL reads)."""
    if value is None:
        return "\\N"
    text = value if isinstance(value, str) else value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(text) else text


def _copy(conn: Connection, sql: str, lines: Iterable[str]) -> None:
    """COPY text-format lines in through the driver, on the same connection and so in the same transaction.

    Writing the text ourselves, in large chunks, costs a fraction of the driver's per-row
    `write_row` when every row is one line of a slip.
    """
    raw = conn.connection.driver_connection
    if conn.info.get(WRITES) is not None:  # the driver's COPY bypasses the statement listener
        conn.info[WRITES] += 1
    with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) == 5000:
                copy.write("".join(chunk))
                chunk.clear()
        if chunk:
            copy.write("".join(chunk))


def _once(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert`, run once per distinct value: big writes repeat a few dates, times and payloads."""
    seen: dict[Any, Any] = {}

    def converted(value: Any) -> Any:
        if value not in seen:
            seen[value] = convert(value)
        return seen[value]

    return converted


def _same(value: Any) -> Any:
    return value


def _converter(conn: Connection, column: Column[Any]) -> Callable[[Any], Any]:
    """The column type's own conversion of a value for this driver (what SQLAlchemy would store), run once
    per distinct value."""
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    if process is None:
        return lambda value: value
    return _once(lambda value: None if value is None else process(value))


PlacementRow = tuple[Any, str, str, Any]  # (id, allocation as JSON text, state, promise_date)


def update_placements(conn: Connection, table: Table, rows: Sequence[PlacementRow]) -> None:
    """Set allocation (already JSON text), state and promise_date of many rows."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        day = _converter(conn, table.c.promise_date)
        conn.exec_driver_sql(
            f"UPDATE {table.name} SET allocation = ?, state = ?, promise_date = ? WHERE id = ?",
            [(allocation, state, day(promise), row_id) for row_id, allocation, state, promise in rows],
        )
        return
    if len(rows) < COPY_FROM:
        conn.exec_driver_sql(
            f"UPDATE {table.name} SET allocation = %s, state = %s, promise_date = %s WHERE id = %s",
            [(allocation, state, promise, row_id) for row_id, allocation, state, promise in rows],
        )
        return
    conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS moved_placements "
                         "(id text, allocation json, state text, promise_date date) ON COMMIT DELETE ROWS")
    conn.exec_driver_sql("TRUNCATE moved_placements")
    field = _once(copy_field)
    _copy(conn, "COPY moved_placements (id, allocation, state, promise_date) FROM STDIN",
          (f"{copy_field(str(row_id))}\t{field(allocation)}\t{field(state)}\t{field(promise)}\n"
           for row_id, allocation, state, promise in rows))
    key = "v.id::bigint" if table.name == "order_lines" else "v.id"
    conn.exec_driver_sql(
        f"UPDATE {table.name} AS t SET allocation = v.allocation, state = v.state, "
        f"promise_date = v.promise_date FROM moved_placements AS v WHERE t.id = {key}"
    )


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append events in the given order (ids follow it)."""
    if len(rows) < COPY_FROM:
        conn.execute(insert(events), rows)
        return
    # Events of one re-plan share their data dicts when they say the same thing: encode each once.
    encoded: dict[int, str] = {}

    def data(value: dict[str, Any]) -> str:
        key = id(value)  # stable: `rows` keeps every dict alive until we return
        if key not in encoded:
            encoded[key] = json.dumps(value)
        return encoded[key]

    if conn.dialect.name != "postgresql":
        moment = _converter(conn, events.c.occurred_at)
        conn.exec_driver_sql(
            "INSERT INTO events (type, version, occurred_at, sku, order_ref, line, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(r["type"], r.get("version", 1), moment(r["occurred_at"]), r["sku"], r["order_ref"], r["line"],
              data(r["data"])) for r in rows],
        )
        return
    field = _once(copy_field)  # for the values a slip's events repeat: type, time, SKU, payload
    _copy(conn, "COPY events (type, version, occurred_at, sku, order_ref, line, data) FROM STDIN",
          (f"{field(r['type'])}\t{field(r.get('version', 1))}\t{field(r['occurred_at'])}\t{field(r['sku'])}\t"
           f"{copy_field(r['order_ref'])}\t{copy_field(r['line'])}\t{field(data(r['data']))}\n" for r in rows))


_COMPILED: dict[tuple[Select[Any], str], tuple[str, tuple[str, ...] | None]] = {}


def fetch_rows(conn: Connection, stmt: Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run a select, built once at import, on the driver's own cursor: plain tuples, no per-value
    result processing.

    Values come back as the driver gives them: on SQLite, dates and times are ISO text. `params`
    (named by the statement's bindparams) go to the driver unconverted, which suits ids and strings.
    The SQL is compiled once per statement and dialect, as SQLAlchemy's own cache would.
    """
    key = (stmt, conn.dialect.name)
    if key not in _COMPILED:
        compiled = stmt.compile(dialect=conn.dialect)
        _COMPILED[key] = (str(compiled), tuple(compiled.positiontup) if compiled.positiontup is not None else None)
    sql, positions = _COMPILED[key]
    raw = conn.connection.driver_connection
    cur = raw.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql, params if positions is None else tuple(params[name] for name in positions))
        return list(cur.fetchall())
    finally:
        cur.close()


def insert_new(conn: Connection, table: Table, values: dict[str, Any], keys: list[str]) -> bool:
    """Insert unless a row with these keys exists; True when this call created it.

    Racing identical PUTs then agree (one creates, the others update) instead of failing.
    """
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
    return conn.execute(stmt.returning(table.c[keys[0]])).first() is not None


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                as_is: frozenset[str] = frozenset()) -> None:
    """Insert many rows given as tuples in `columns` order (an import's order lines).

    PostgreSQL: COPY. SQLite: the driver's executemany, each distinct value converted once.
    Columns in `as_is` are passed through unconverted (JSON already encoded as text).
    """
    if not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        fields = [copy_field if c in as_is else _once(copy_field) for c in columns]
        _copy(conn, f"COPY {table.name} ({names}) FROM STDIN",
              ("\t".join(f(v) for f, v in zip(fields, row, strict=True)) + "\n" for row in rows))
        return
    convert = [_same if c in as_is else _converter(conn, table.c[c]) for c in columns]
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' for _ in columns)})",
                         [tuple(f(v) for f, v in zip(convert, row, strict=True)) for row in rows])


def ids_by_ref(conn: Connection, table: Table, refs: Sequence[str]) -> list[tuple[str, Any]]:
    """(ref, id) of the rows with these refs. On PostgreSQL one array parameter (`= ANY`), not an
    IN list of thousands of parameters that the driver would parse and send one by one."""
    if not refs:
        return []
    if conn.dialect.name == "postgresql":
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT ref, id FROM {table.name} WHERE ref = ANY(%s)",
                                                       (list(refs),))]
    marks = ", ".join("?" for _ in refs)
    return [tuple(r) for r in conn.exec_driver_sql(f"SELECT ref, id FROM {table.name} WHERE ref IN ({marks})",
                                                   tuple(refs))]


def insert_heads(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[Any]:
    """Insert rows whose first column is `ref`; returns (ref, id) of each.

    PostgreSQL: one INSERT … SELECT FROM unnest(one array per column) … RETURNING. Looking the
    ids up afterwards would not do: within the import's transaction the table grows from nothing,
    its statistics still say empty, and every lookup becomes a scan of everything inserted so far.
    """
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        insert_rows(conn, table, columns, rows)
        return ids_by_ref(conn, table, [row[0] for row in rows])
    casts = ", ".join(f"%s::{table.c[c].type.compile(dialect=conn.dialect)}[]" for c in columns)
    arrays = tuple(list(values) for values in zip(*rows, strict=True))
    if conn.info.get(WRITES) is not None:
        conn.info[WRITES] += 1
    return [tuple(r) for r in conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({casts}) RETURNING ref, id", arrays)]

