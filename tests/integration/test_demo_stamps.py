"""The demo tells its story in the past (issue 12): no order, event or row is stamped after the moment
it was loaded, also when grown for benchmarks."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from allot.demo import already_loaded, load, load_volume
from allot.services.common import as_utc
from allot.store.db import Database
from allot.store.tables import metadata

# Moments that are meant to lie ahead (a deadline, a retry), not stamps of what happened.
AHEAD = {"expires_at", "next_attempt_at", "consent_deadline", "deadline"}


def latest_stamps(db: Database) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    with db.read() as conn:
        for table in metadata.sorted_tables:
            for column in table.columns:
                if column.name.endswith("_at") and column.name not in AHEAD:
                    latest = conn.execute(select(func.max(column))).scalar()
                    if latest is not None:
                        found[f"{table.name}.{column.name}"] = as_utc(latest)
    return found


def test_nothing_the_demo_loads_is_stamped_in_the_future(db: Database, now: datetime) -> None:
    assert not already_loaded(db)
    migrated = latest_stamps(db)  # rows the migrations seed (the `main` location) are stamped when they ran
    load(db, now)
    load_volume(db, now, 1_000)

    stamps = latest_stamps(db)
    assert {"orders.created_at", "events.occurred_at", "order_lines.queued_at"} <= set(stamps)
    assert {name: at for name, at in stamps.items() if at > now and at != migrated.get(name)} == {}
    assert already_loaded(db)
