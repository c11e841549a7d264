"""Dashboard sessions kept server-side, so signing out, revoking a key and idling each end one."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from allot.services.common import as_utc
from allot.store.tables import api_keys, dashboard_sessions

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often: no write per page view


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start(conn: Connection, key_id: int, now: datetime) -> str:
    """Open a session for a key that just signed in; returns the id the cookie carries (stored hashed)."""
    sid = secrets.token_urlsafe(32)
    conn.execute(insert(dashboard_sessions).values(id=_digest(sid), key_id=key_id, created_at=now, last_seen_at=now))
    return sid


def find(conn: Connection, sid: str, now: datetime, idle: timedelta) -> Any:
    """The session's key (id, name, role, last_seen_at), or None when it ended, idled out or its key was revoked."""
    s, k = dashboard_sessions.c, api_keys.c
    row = conn.execute(select(k.id, k.name, k.role, s.last_seen_at).join_from(
        dashboard_sessions, api_keys, k.id == s.key_id).where(
        s.id == _digest(sid), s.ended_at.is_(None), k.revoked_at.is_(None))).first()
    if row is None or as_utc(row.last_seen_at) + idle <= now:
        return None
    return row


def stale(last_seen: datetime, now: datetime) -> bool:
    return now - as_utc(last_seen) >= TOUCH_EVERY


def touch(conn: Connection, sid: str, now: datetime) -> None:
    """Keep an active session alive; idle time counts from the last page it asked for."""
    conn.execute(update(dashboard_sessions).where(dashboard_sessions.c.id == _digest(sid)).values(last_seen_at=now))


def end(conn: Connection, sid: str, now: datetime) -> None:
    """Sign out: the cookie no longer works anywhere, even if it was copied."""
    s = dashboard_sessions.c
    conn.execute(update(dashboard_sessions).where(s.id == _digest(sid), s.ended_at.is_(None)).values(ended_at=now))


def end_for_key(conn: Connection, key_id: int, now: datetime) -> int:
    """A revoked key's sessions end with it, in the revoking transaction."""
    s = dashboard_sessions.c
    return conn.execute(update(dashboard_sessions).where(s.key_id == key_id, s.ended_at.is_(None))
                        .values(ended_at=now)).rowcount
