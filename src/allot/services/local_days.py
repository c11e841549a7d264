"""The merchant's days in SQL: which local date a UTC timestamp column falls on, computed by the database.

SQLite knows no time zones and a per-row zone look-up is slow over a million lines, so the zone's
offsets over the rows' range (`domain.calendar.fixed_offsets`: one, or one more per daylight-saving
change) become a CASE of a few constants: date(t + the offset in force at t). Both databases do the
same arithmetic and group as before; see docs/decisions.md, "The merchant's calendar".
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Date, Integer, Interval, String, case, cast, func, literal

from allot.domain.calendar import fixed_offsets
from allot.services.common import merchant_zone


def local_date(conn: Connection, column: Any, lo: datetime, hi: datetime) -> Any:
    """The merchant's date of a UTC timestamp column, exact for rows with lo <= column < hi: a DATE on
    PostgreSQL, `YYYY-MM-DD` text on SQLite (what `func.date` gives and `julianday` reads)."""
    offsets = fixed_offsets(lo, hi, merchant_zone())
    if conn.dialect.name == "postgresql":
        shifts = [(at, literal(timedelta(seconds=o), Interval())) for at, o in offsets]
        return cast(func.timezone("UTC", column) + _in_force(column, shifts), Date)
    return func.date(column, _in_force(column, [(at, literal(f"{o:+d} seconds", String())) for at, o in offsets]))


def day_number(conn: Connection, column: Any, start: date, lo: datetime, hi: datetime) -> Any:
    """Whole days from `start` to the merchant's date of a UTC timestamp column (rows in [lo, hi))."""
    day = local_date(conn, column, lo, hi)
    if conn.dialect.name == "postgresql":
        return cast(day - literal(start, Date()), Integer)
    return cast(func.julianday(day) - func.julianday(literal(start.isoformat())), Integer)


def _in_force(column: Any, shifts: list[tuple[datetime, Any]]) -> Any:
    """The shift in force at the column's moment: the last whose start is not after it."""
    if len(shifts) == 1:
        return shifts[0][1]
    # Earliest change first: a row before it keeps the range's first offset.
    whens = [(column < shifts[i + 1][0], shifts[i][1]) for i in range(len(shifts) - 1)]
    return case(*whens, else_=shifts[-1][1])
