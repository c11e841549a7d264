from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from allot.store.tables import metadata

config = context.config


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is None:
        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("alembic: no connection given and no sqlalchemy.url set")
        with create_engine(url).begin() as own:
            _migrate(own)
    else:
        _migrate(conn)


def _migrate(conn: Connection) -> None:
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
