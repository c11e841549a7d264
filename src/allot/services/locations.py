"""Locations: where stock is, with their own handling days. `main` exists from the start."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from allot.domain.errors import Conflict, Invalid, NotFound
from allot.domain.model import MAIN
from allot.store.bulk import insert_new
from allot.store.tables import channels, locations, purchase_orders, stock_levels, transfers


def put(conn: Connection, code: str, name: str | None, handling_days: int | None, now: datetime) -> dict[str, Any]:
    """Create or change a location. A change of handling days shows in promises from the next re-plan."""
    values: dict[str, Any] = {"name": name}
    if handling_days is not None:
        values["handling_days"] = handling_days
    created = insert_new(conn, locations, {"code": code, "handling_days": 0, "created_at": now, **values}, ["code"])
    if not created:
        conn.execute(update(locations).where(locations.c.code == code).values(**values))
    return {**get(conn, code), "created": created}


def get(conn: Connection, code: str) -> dict[str, Any]:
    row = conn.execute(select(locations).where(locations.c.code == code)).first()
    if row is None:
        raise NotFound(f"unknown location {code!r}", location=code)
    return _view(row)


def list_all(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(locations).order_by(locations.c.id)).all()
    return [_view(r) for r in sorted(rows, key=lambda r: r.code != MAIN)]


def codes(conn: Connection) -> list[str]:
    return [loc["location"] for loc in list_all(conn)]


def require(conn: Connection, code: str, *, field: str) -> str:
    """The location, or bad input naming the field."""
    if conn.execute(select(locations.c.id).where(locations.c.code == code)).first() is None:
        raise Invalid(field, f"unknown location {code!r}; create it with PUT /v1/locations/{code}")
    return code


def remove(conn: Connection, code: str) -> None:
    """Delete a location that holds nothing and that nothing points at."""
    get(conn, code)
    if code == MAIN:
        raise Conflict("location 'main' cannot be deleted", location=code)
    held = conn.execute(select(func.coalesce(func.sum(stock_levels.c.on_hand), 0))
                        .where(stock_levels.c.location == code)).scalar_one()
    if held:
        raise Conflict(f"location {code!r} holds {held} units; move or count them out first", location=code,
                       on_hand=held)
    if conn.execute(select(purchase_orders.c.id).where(purchase_orders.c.location == code,
                                                       purchase_orders.c.status == "open")).first():
        raise Conflict(f"location {code!r} has open purchase orders", location=code)
    if conn.execute(select(transfers.c.id).where(transfers.c.status == "open",
                                                 (transfers.c.to_location == code)
                                                 | (transfers.c.from_location == code))).first():
        raise Conflict(f"location {code!r} has open transfers", location=code)
    for row in conn.execute(select(channels.c.name, channels.c.locations)).all():
        if code in (row.locations or ()):
            raise Conflict(f"channel {row.name!r} ships from location {code!r}", location=code, channel=row.name)
    conn.execute(delete(stock_levels).where(stock_levels.c.location == code))
    conn.execute(delete(locations).where(locations.c.code == code))


def _view(row: Any) -> dict[str, Any]:
    return {"location": row.code, "name": row.name, "handling_days": row.handling_days}
