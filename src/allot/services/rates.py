"""A key's `rate_per_second` (BRIEF §11): one counter per key and second, in the database.

Every process and host of an installation shares the database, so they share the counters: a key
gets at most `rate_per_second` holds and orders accepted for counting in any one clock second,
whichever process or host answers. Fixed windows, so a burst across a second's edge may see up to
twice the rate within one sliding second; windows follow each host's clock (NTP keeps them within
milliseconds). A refused request counts too: a client hammering past its rate stays refused.
"""
from __future__ import annotations

import math
import time

from sqlalchemy import Connection, delete
from sqlalchemy.dialects import postgresql, sqlite

from allot.store.db import Database
from allot.store.tables import rate_windows

KEEP_SECONDS = 5  # windows older than this are deleted by the first request of a new one


def take(db: Database, key_id: int, limit: int, now: float | None = None) -> float:
    """Count one request of the key; 0 if within its rate, else the seconds until the next window."""
    now = time.time() if now is None else now
    second = math.floor(now)
    with db.write() as conn:
        n = _count(conn, key_id, second)
        if n == 1:
            conn.execute(delete(rate_windows).where(rate_windows.c.key_id == key_id,
                                                    rate_windows.c.second < second - KEEP_SECONDS))
    return 0.0 if n <= limit else second + 1 - now


def _count(conn: Connection, key_id: int, second: int) -> int:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(rate_windows).values(key_id=key_id, second=second, n=1)
    stmt = stmt.on_conflict_do_update(index_elements=["key_id", "second"], set_={"n": rate_windows.c.n + 1})
    n: int = conn.execute(stmt.returning(rate_windows.c.n)).scalar_one()
    return n
