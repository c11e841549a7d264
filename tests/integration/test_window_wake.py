"""A drop window's opening offers units to those waiting by itself: the sweeper finds the SKU
(`skus.wake_at`, migration 0015) with no request touching it."""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from allot.services import catalog, selling, waitlist
from allot.store.db import Database
from allot.store.tables import events, holds, skus
from allot.workers.sweeper import sweep
from tests.factories import channel, receive, sku


def a_window_with_ann_waiting(db: Database, now: datetime, opens_in: float = 1.5) -> datetime:
    """TEE has a unit on hand; `web` opens shortly (by the real clock: the database's) and ann waits."""
    opens = datetime.now(UTC) + timedelta(seconds=opens_in)
    with db.write() as conn:
        channel(conn, "web", now)
        sku(conn, "TEE", now, offer_ttl_seconds=60)
        receive(conn, "TEE", 1, now)
        catalog.put_quota(conn, "TEE", "web", None, now, opens_at=opens)
        waitlist.join(conn, "TEE", "web", "ann", "ann@example.com", 1, now)
    return opens


def offers(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [dict(d) for d in conn.execute(select(events.c.data).where(events.c.type == "waitlist.offered")
                                               .order_by(events.c.id)).scalars()]


def wake_at(db: Database) -> datetime | None:
    with db.read() as conn:
        found: datetime | None = conn.execute(select(skus.c.wake_at).where(skus.c.sku == "TEE")).scalar_one()
        return found


def wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.05)


def test_one_sweep_after_the_opening_offers_the_units_with_no_request(db: Database, now: datetime) -> None:
    opens = a_window_with_ann_waiting(db, now)
    assert wake_at(db) == opens
    assert sweep(db, datetime.now(UTC)) == 0  # before the opening: nothing to do, nothing offered
    assert offers(db) == []
    wait_until(opens)
    assert sweep(db, datetime.now(UTC)) == 1
    made = offers(db)
    assert [(o["customer"], o["channel"], o["qty"]) for o in made] == [("ann", "web", 1)]
    with db.read() as conn:
        hold = conn.execute(select(holds.c.customer, holds.c.qty, holds.c.status, holds.c.created_at)
                            .where(holds.c.id == made[0]["hold_id"])).one()
    assert (hold.customer, hold.qty, hold.status) == ("ann", 1, "active")
    assert hold.created_at >= opens  # offered at the opening, never before it
    assert wake_at(db) is None  # nobody waits for an opening any more
    assert sweep(db, datetime.now(UTC)) == 0


def test_the_sweep_decides_the_opening_by_the_database_clock_not_its_own(db: Database, now: datetime) -> None:
    opens = a_window_with_ann_waiting(db, now)
    assert sweep(db, opens + timedelta(hours=1)) == 0  # a sweeper clock running ahead offers nothing early
    assert offers(db) == []
    wait_until(opens)
    assert now < opens  # the sweeper's clock lags the opening by days, the database's has passed it
    sweep(db, now)
    assert [o["customer"] for o in offers(db)] == ["ann"]


def test_a_window_moved_earlier_wakes_the_sweeper_at_its_new_opening(db: Database, now: datetime) -> None:
    a_window_with_ann_waiting(db, now, opens_in=3600)
    sooner = datetime.now(UTC) + timedelta(seconds=1.5)
    with db.write() as conn:
        catalog.put_quota(conn, "TEE", "web", None, now, opens_at=sooner)
    assert wake_at(db) == sooner
    wait_until(sooner)
    assert sweep(db, datetime.now(UTC)) == 1
    assert [o["customer"] for o in offers(db)] == ["ann"]


def test_a_window_taken_away_offers_to_those_waiting_for_it_at_once(db: Database, now: datetime) -> None:
    a_window_with_ann_waiting(db, now, opens_in=3600)
    with db.write() as conn:
        catalog.put_quota(conn, "TEE", "web", None, now)
    assert [o["customer"] for o in offers(db)] == ["ann"]
    assert wake_at(db) is None


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    yield seen
    event.remove(db.engine, "before_cursor_execute", note)


def test_a_sale_or_a_replan_that_keeps_the_wake_up_time_writes_nothing_more(
        db: Database, now: datetime, statements: list[str]) -> None:
    def sku_writes() -> list[str]:
        return [s for s in statements if s.startswith("UPDATE skus")]

    with db.write() as conn:
        channel(conn, "web", now)
        sku(conn, "MUG", now)
        receive(conn, "MUG", 5, now)
    statements.clear()
    with db.write() as conn:
        selling.place_hold(conn, "MUG", 1, "web", 60, now)
    assert sku_writes() and not [s for s in sku_writes() if "wake_at" in s]  # the summary, and nothing more
    a_window_with_ann_waiting(db, now, opens_in=3600)
    assert [s for s in sku_writes() if "wake_at" in s]  # ann's wait for the opening set it
    statements.clear()
    with db.write() as conn:  # a receipt re-plans; ann still waits for the same opening
        receive(conn, "TEE", 1, now)
    assert sku_writes() and not [s for s in sku_writes() if "wake_at" in s]


def test_setting_the_quota_alone_keeps_the_window_and_offers_nothing_early(db: Database, now: datetime) -> None:
    """The dashboard's quota form and a CSV import set a quota, not a window: the drop stays shut."""
    opens = a_window_with_ann_waiting(db, now, opens_in=3600)
    with db.write() as conn:
        answer = catalog.put_quota(conn, "TEE", "web", 5, now, keep_window=True)
    assert answer["opens_at"] == opens
    assert offers(db) == []
    assert wake_at(db) == opens
