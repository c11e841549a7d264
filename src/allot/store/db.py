"""The one place that builds engines and transactions.

SQLite: WAL with synchronous=FULL (an acknowledged order survives a power cut), writers
serialised by BEGIN IMMEDIATE plus an in-process lock so threads queue instead of
busy-polling. PostgreSQL: READ COMMITTED; writers serialise per SKU with SELECT … FOR UPDATE.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url


def normalise_url(url: str) -> str:
    """Accept the libpq-style URLs people paste; always talk to PostgreSQL through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


CONNECT_TIMEOUT = 10  # seconds to reach PostgreSQL before a request fails rather than hangs


# conn.info key: statements other than SELECT run since counting began (see `writes`).
WRITES = "allot_writes"


def count_writes(conn: Connection) -> None:
    conn.info[WRITES] = 0


def writes(conn: Connection) -> int:
    """How many statements that may change rows ran on `conn` since `count_writes`: a batch
    (services/batching.py) needs no savepoint for a request that fails before its first."""
    return int(conn.info[WRITES])


# conn.info keys: state that lives as long as one write transaction, and what runs just before it
# commits (see `Database.write`); both are dropped when it ends, committed or not.
TX_LOCAL = "allot_tx_local"
BEFORE_COMMIT = "allot_before_commit"


def local(conn: Connection, key: str, make: Callable[[], Any] | None = None) -> Any:
    """Per-transaction state under `key` (made by `make` the first time; None without it)."""
    state: dict[str, Any] = conn.info.setdefault(TX_LOCAL, {})
    if key not in state and make is not None:
        state[key] = make()
    return state.get(key)


def before_commit(conn: Connection, hook: Callable[[Connection], None]) -> None:
    """Run `hook` once, in the transaction, right before `Database.write` commits it."""
    hooks: list[Callable[[Connection], None]] = conn.info.setdefault(BEFORE_COMMIT, [])
    if hook not in hooks:
        hooks.append(hook)


def _committing(conn: Connection) -> None:
    for hook in conn.info.get(BEFORE_COMMIT, ()):
        hook(conn)


def _forget(conn: Connection) -> None:
    conn.info.pop(TX_LOCAL, None)
    conn.info.pop(BEFORE_COMMIT, None)


def _count_writes(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
    n = conn.info.get(WRITES)
    if n is not None and not statement.startswith("SELECT"):
        conn.info[WRITES] = n + 1


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, connect_timeout: int = CONNECT_TIMEOUT) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        self._write_lock = threading.Lock()
        self.engine = self._sqlite_engine() if self.is_sqlite else self._postgres_engine(pool_size, connect_timeout)
        event.listen(self.engine, "before_cursor_execute", _count_writes)

    def _sqlite_engine(self) -> Engine:
        # hide_parameters: a failing statement's error (and so the log) never shows the values it carried,
        # such as a key's digest.
        engine = create_engine(self.url, connect_args={"check_same_thread": False, "timeout": 30},
                               hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("allot_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    def _postgres_engine(self, pool_size: int, connect_timeout: int) -> Engine:
        return create_engine(self.url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True,
                             pool_timeout=30, hide_parameters=True, connect_args={"connect_timeout": connect_timeout})

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: commits when the block ends, rolls back on any exception."""
        with self._serialised(), self.engine.connect() as conn:
            conn = conn.execution_options(allot_write=True)
            try:
                with conn.begin():
                    yield conn
                    _committing(conn)
            finally:
                _forget(conn)  # conn.info outlives the checkout: nothing may leak into the next transaction

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def read_one(self) -> Iterator[Connection]:
        """For a read that is a single statement: on PostgreSQL without BEGIN and COMMIT, two
        round trips fewer (the statement is its own snapshot)."""
        if self.is_sqlite:
            with self.read() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def _serialised(self) -> Iterator[None]:
        if not self.is_sqlite:
            yield
            return
        with self._write_lock:
            yield

    def dispose(self) -> None:
        self.engine.dispose()
