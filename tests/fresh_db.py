"""Fresh migrated databases for tests, cheaply: migrate once per test process, then reuse.

Running every migration for each test cost ~0.1 s on SQLite and ~0.35 s on PostgreSQL (drop the
schema, run Alembic), some 4-5 minutes of the suite. The state a test starts from is the same:

- SQLite: the first call migrates a template file; later calls copy it (a file copy, ~10 ms).
- PostgreSQL: the first reset migrates from scratch (DROP SCHEMA, Alembic) and records the
  schema's fingerprint (tables, columns, types, indexes, constraints, triggers, version) and the
  rows and sequence positions the migrations left. A later reset whose schema still has that
  fingerprint only empties the tables and puts those rows back; a schema a test changed (a
  migration test, a downgrade) or anything unexpected falls back to the full reset.
  Emptying means TRUNCATE of the tables a test wrote to (~20 ms each), never the whole schema.

`ALLOT_TEST_FRESH_MIGRATE=1` migrates from scratch every time, as before.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, make_url, text

from allot.demo import load
from allot.store.db import Database
from allot.store.migrate import upgrade
from allot.store.tables import metadata

ALWAYS_MIGRATE = os.environ.get("ALLOT_TEST_FRESH_MIGRATE", "") == "1"

_sqlite_template: list[Path] = []


def sqlite_db(path: Path) -> Database:
    """A migrated, empty SQLite database at `path`."""
    if ALWAYS_MIGRATE:
        db = Database(f"sqlite:///{path}")
        upgrade(db)
        return db
    if not _sqlite_template:
        folder = Path(tempfile.mkdtemp(prefix="allot-test-template-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / "template.db"
        made = Database(f"sqlite:///{template}")
        upgrade(made)
        with made.engine.connect() as conn:  # everything into the main file, so copying it is enough
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        made.dispose()
        _sqlite_template.append(template)
    template = _sqlite_template[0]
    shutil.copyfile(template, path)
    for suffix in ("-wal", "-shm"):  # normally absent after the checkpoint; copied if not
        side = template.with_name(template.name + suffix)
        if side.exists() and side.stat().st_size:
            shutil.copyfile(side, path.with_name(path.name + suffix))
    return Database(f"sqlite:///{path}")


# One string describing the public schema: any DDL a test runs changes it.
FINGERPRINT = text("""
SELECT md5(
  coalesce((SELECT string_agg(c.relname::text || ':' || c.relkind::text || ':' || coalesce(a.attname::text, '')
                              || ':' || coalesce(format_type(a.atttypid, a.atttypmod), '')
                              || ':' || coalesce(a.attnotnull::text, ''), ',' ORDER BY c.relname, a.attnum)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = 'public'), '')
  || '|' || coalesce((SELECT string_agg(t.tgname::text || ':' || t.tgenabled::text, ',' ORDER BY t.tgname)
                      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                      JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = 'public' AND NOT t.tgisinternal), '')
  || '|' || coalesce((SELECT string_agg(co.conname::text, ',' ORDER BY co.conname) FROM pg_constraint co
                      JOIN pg_namespace n ON n.oid = co.connamespace WHERE n.nspname = 'public'), '')
  || '|' || coalesce((SELECT string_agg(p.proname::text, ',' ORDER BY p.proname) FROM pg_proc p
                      JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'), ''))
""")
TABLES = text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
SEQUENCES = text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")


@dataclass
class _Migrated:
    """What a freshly migrated PostgreSQL schema looks like, to put it back without migrating."""
    fingerprint: str
    tables: list[str]
    rows: dict[str, list[dict[str, Any]]]  # rows the migrations wrote (alembic_version at least)
    sequences: dict[str, int | None]  # last_value, None when never used


_pg_migrated: dict[str, _Migrated] = {}


def reset_postgres(url: str) -> Database:
    """An empty, migrated schema in the database at `url`."""
    db = Database(url, pool_size=5)
    known = None if ALWAYS_MIGRATE else _pg_migrated.get(url)
    if known is not None:
        try:
            with db.engine.begin() as conn:
                if _restore(conn, known):
                    return db
        except Exception:  # noqa: BLE001, S110 - any surprise: the full reset below decides
            pass
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(db)
    if not ALWAYS_MIGRATE:
        with db.engine.begin() as conn:
            _pg_migrated[url] = _snapshot(conn)
    return db


def _snapshot(conn: Connection) -> _Migrated:
    tables = list(conn.execute(TABLES).scalars())
    rows = {t: [dict(r._mapping) for r in conn.execute(text(f'SELECT * FROM "{t}"'))] for t in tables}
    return _Migrated(str(conn.execute(FINGERPRINT).scalar_one()), tables, {t: r for t, r in rows.items() if r},
                     {str(row[0]): row[1] for row in conn.execute(SEQUENCES)})


def _restore(conn: Connection, known: _Migrated) -> bool:
    """Put the migrated state back in one transaction; False (nothing changed) if the schema differs."""
    if conn.execute(FINGERPRINT).scalar_one() != known.fingerprint:
        return False
    # Only tables whose files have pages are emptied: TRUNCATE costs ~20 ms a table, and a test
    # touches a few. TRUNCATE rather than DELETE: the table is new again, so rows come back in insert
    # order as after a migration (a DELETE leaves space a later insert may fill out of order).
    sizes = " UNION ALL ".join(f"SELECT '{t}', pg_relation_size('\"{t}\"')" for t in known.tables)
    used = {str(name) for name, size in conn.execute(text(sizes)) if size} | set(known.rows)
    # Replica role: no triggers (the audit log's append-only guard); needs a superuser, else this
    # raises and the full reset runs.
    conn.execute(text("SET LOCAL session_replication_role = replica"))
    if used:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in sorted(used)) + " CASCADE"))
    for table, rows in known.rows.items():
        if table in metadata.tables:  # typed columns (JSON, dates) go back as they came out
            conn.execute(insert(metadata.tables[table]), rows)
        else:  # alembic_version
            columns = list(rows[0])
            names = ", ".join(f'"{c}"' for c in columns)
            conn.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(f":{c}" for c in columns)})'),
                         rows)
    for name, last in known.sequences.items():
        if last is None:
            conn.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))
        else:
            conn.execute(text("SELECT setval(:name, :last, true)"), {"name": f'"{name}"', "last": last})
    return True


_demos: dict[tuple[str, datetime], Path | _Migrated] = {}


def load_demo(db: Database, now: datetime) -> None:
    """`allot.demo.load(db, now)` on a database fresh from `sqlite_db`/`reset_postgres`, loaded for
    real the first time (per kind and `now`) and copied after that: the demo takes 1-4 s to load,
    and a dozen dashboard tests start from it. Tests of the demo itself call `load`."""
    key = ("sqlite" if db.is_sqlite else db.url, now)
    known = None if ALWAYS_MIGRATE else _demos.get(key)
    if db.is_sqlite:
        path = Path(make_url(db.url).database or "")
        if isinstance(known, Path):
            db.dispose()
            for suffix in ("-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            shutil.copyfile(known, path)
            return
        load(db, now)
        if not ALWAYS_MIGRATE:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            copy = Path(tempfile.mkdtemp(prefix="allot-test-demo-")) / "demo.db"
            atexit.register(shutil.rmtree, copy.parent, True)
            shutil.copyfile(path, copy)
            _demos[key] = copy
        return
    if isinstance(known, _Migrated):
        with db.engine.begin() as conn:
            if _restore(conn, known):
                return
    load(db, now)
    if not ALWAYS_MIGRATE:
        with db.engine.begin() as conn:
            _demos[key] = _snapshot(conn)
