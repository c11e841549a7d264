"""Idempotency keys: the same key with the same request returns the first answer, changing nothing."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from allot.domain.errors import IdempotencyMismatch
from allot.store.tables import idempotency_keys


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def recall(conn: Connection, key_id: int, key: str, fingerprint: str) -> tuple[int, Any] | None:
    """The stored answer for this key, or None; another request under the same key is refused."""
    t = idempotency_keys.c
    row = conn.execute(select(idempotency_keys).where(t.api_key_id == key_id, t.key == key)).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyMismatch("Idempotency-Key", "this key was already used with a different request")
    return row.status_code, json.loads(row.response)


def remember(conn: Connection, key_id: int, key: str, fingerprint: str, status: int, body: str,
             now: datetime) -> None:
    conn.execute(insert(idempotency_keys).values(api_key_id=key_id, key=key, request_hash=fingerprint,
                                                 status_code=status, response=body, created_at=now))
