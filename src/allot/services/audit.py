"""The audit log: who changed what, written in the same transaction as the change it describes.

A write that rolls back leaves no row; one that commits always has one. Rows are only ever
inserted: no service updates or deletes them, and the database refuses to (migration 0002).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from allot.store import deferred
from allot.store.tables import audit_log

INSERT = insert(audit_log)  # built once: the hot path writes one per sale

# Never copied into a summary, wherever they appear in an answer.
SECRET_FIELDS = frozenset({"secret", "secret_hash", "admin_token", "consumer_key", "consumer_secret"})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change: an API key, or the local command line (no key)."""

    key_id: int | None
    key_name: str
    role: str


CLI = Actor(None, "cli", "cli")


@dataclass(frozen=True, slots=True)
class Change:
    request_id: str
    method: str
    path: str
    action: str
    status: int
    summary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Filters:
    key_id: int | None = None
    role: str | None = None
    action: str | None = None
    method: str | None = None
    request_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def record(conn: Connection, now: datetime, actor: Actor, change: Change) -> None:
    """Append one row in the caller's transaction, so it exists exactly when the change does."""
    deferred.insert(conn, INSERT, {
        "occurred_at": now, "request_id": change.request_id, "api_key_id": actor.key_id,
        "key_name": actor.key_name, "role": actor.role, "method": change.method, "path": change.path,
        "action": change.action, "status": change.status, "summary": change.summary})


def summarise(params: dict[str, Any], body: Any, result: Any) -> dict[str, Any]:
    """What changed: the request as understood, and the identifying parts of the answer."""
    return {"params": params, "body": _scrub(body), "result": brief(result)}


def brief(result: Any) -> Any:
    """An answer's scalar fields (and its lines' scalar fields), without secrets or allocations."""
    if not isinstance(result, dict):
        return None
    out: dict[str, Any] = {k: v for k, v in result.items() if _scalar(v) and k not in SECRET_FIELDS}
    if isinstance(result.get("lines"), list):
        out["lines"] = [brief(line) for line in result["lines"]]
    return out


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in SECRET_FIELDS}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def page(conn: Connection, after: int, limit: int, filters: Filters) -> dict[str, Any]:
    """Audit rows in id order after a cursor, narrowed by the filters; `next` continues the page."""
    c = audit_log.c
    stmt = select(audit_log).where(c.id > after).order_by(c.id).limit(limit)
    wanted = {c.api_key_id: filters.key_id, c.role: filters.role, c.action: filters.action,
              c.method: filters.method, c.request_id: filters.request_id}
    for column, value in wanted.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.since is not None:
        stmt = stmt.where(c.occurred_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(c.occurred_at < filters.until)
    rows = conn.execute(stmt).all()
    return {"entries": [_view(r) for r in rows], "next": rows[-1].id if rows else after}


def _view(r: Any) -> dict[str, Any]:
    return {"id": r.id, "occurred_at": r.occurred_at, "request_id": r.request_id, "key_id": r.api_key_id,
            "key_name": r.key_name, "role": r.role, "method": r.method, "path": r.path, "action": r.action,
            "status": r.status, "summary": r.summary}
