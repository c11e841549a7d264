"""The dashboard's session: a signed cookie naming a session row made when an API key signs in.

The cookie holds a random session id, the key's id, a CSRF token and an expiry, signed with
HMAC-SHA256; it is HttpOnly and SameSite=Lax (and Secure over HTTPS). The signing secret is
ALLOT_SESSION_SECRET, or else one made on first use and kept in the database, so every worker and
host agrees. The row (services/sessions.py) is the truth: every request checks it and the key, so
signing out, revoking the key or idling past the idle timeout ends the session at once.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from allot.services import keys
from allot.services import sessions as rows
from allot.store.db import Database

COOKIE = "allot_session"
MAX_AGE = 12 * 3600  # a signed-in session lasts a working day
ANONYMOUS_AGE = 3600  # the CSRF token of the sign-in form
IDLE = 30 * 60  # a session nobody uses for this long ends (ALLOT_SESSION_IDLE_SECONDS)


class Codec:
    """Signs and checks session payloads; a tampered or expired cookie reads as no session."""

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"allot-session\0" + secret).digest()

    def dumps(self, data: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def loads(self, token: str, now: float) -> dict[str, Any] | None:
        body, _, signature = token.partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("exp"), (int, float)) or data["exp"] < now:
            return None
        return data

    def _sign(self, body: str) -> str:
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")


class Sessions:
    """Makes the codec once per process, from the configured secret or the database's."""

    def __init__(self, db: Database, configured: str | None, idle_seconds: int = IDLE) -> None:
        self._db = db
        self._configured = configured
        self.idle = timedelta(seconds=idle_seconds)
        self._codec: Codec | None = None
        self._lock = threading.Lock()

    def codec(self) -> Codec:
        if self._codec is None:
            with self._lock:
                if self._codec is None:
                    self._codec = Codec((self._configured or self._stored()).encode())
        return self._codec

    def _stored(self) -> str:
        try:
            with self._db.write() as conn:
                return keys.server_secret(conn, "session", datetime.now(UTC))
        except IntegrityError:  # another process made it first: use theirs
            with self._db.read() as conn:
                return keys.server_secret(conn, "session", datetime.now(UTC))

    def new(self, key_id: int | None) -> dict[str, Any]:
        age = MAX_AGE if key_id is not None else ANONYMOUS_AGE
        return {"key": key_id, "csrf": secrets.token_urlsafe(32), "exp": int(time.time()) + age}

    def start(self, key_id: int, now: datetime) -> dict[str, Any]:
        """A signed-in session: its row, and the cookie's payload (with a fresh CSRF token)."""
        with self._db.write() as conn:
            sid = rows.start(conn, key_id, now)
        return {**self.new(key_id), "sid": sid}

    def find(self, data: dict[str, Any] | None, now: datetime) -> Any:
        """The key behind a live session (id, name, role), or None: signed out, idle, revoked or forged."""
        sid = data.get("sid") if data else None
        if not isinstance(sid, str):
            return None
        with self._db.read() as conn:
            row = rows.find(conn, sid, now, self.idle)
        if row is not None and rows.stale(row.last_seen_at, now):
            with self._db.write() as conn:
                rows.touch(conn, sid, now)
        return row

    def end(self, data: dict[str, Any] | None, now: datetime) -> None:
        sid = data.get("sid") if data else None
        if isinstance(sid, str):
            with self._db.write() as conn:
                rows.end(conn, sid, now)

    def read(self, cookie: str | None) -> dict[str, Any] | None:
        return self.codec().loads(cookie, time.time()) if cookie else None

    def write(self, data: dict[str, Any]) -> str:
        return self.codec().dumps(data)
