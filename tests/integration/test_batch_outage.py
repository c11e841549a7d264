"""When PostgreSQL drops a batch's connection, the batch reports the real error, not its clean-up's.

Before the fix, the clean-up read `conn.info` of the dead connection and SQLAlchemy raised
`PendingRollbackError: Can't reconnect until invalid transaction is rolled back`, which masked
the OperationalError in the logs and made the request a 500 instead of a 503.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from allot.services.batching import Batcher
from allot.services.book import atomic
from allot.store.db import Database
from tests.conftest import need_postgres, reset_postgres
from tests.factories import sku

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg() -> Iterator[Database]:
    need_postgres()
    db = reset_postgres()
    yield db
    db.dispose()


def its_connection_dies(conn: Connection) -> None:
    conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))


def test_a_batch_whose_connection_dies_raises_the_database_error_not_a_pending_rollback(
    pg: Database, now: datetime
) -> None:
    with pg.write() as conn:
        sku(conn, "TEE", now)
    batcher = Batcher(pg)
    try:
        with pytest.raises(OperationalError) as raised:
            batcher.run("TEE", its_connection_dies, now)
        assert raised.value.connection_invalidated
        assert batcher.run("TEE", lambda conn: conn.execute(text("SELECT 1")).scalar_one(), now) == 1
    finally:
        batcher.close()


def test_a_connection_that_dies_inside_a_requests_savepoint_still_raises_the_database_error(
    pg: Database, now: datetime
) -> None:
    with pg.write() as conn:
        sku(conn, "TEE", now)
    batcher = Batcher(pg)

    def idempotent_request(conn: Connection) -> None:  # as deps.Attempt runs one with an Idempotency-Key
        with atomic(conn):
            its_connection_dies(conn)

    try:
        with pytest.raises(OperationalError):
            batcher.run("TEE", idempotent_request, now)
    finally:
        batcher.close()
