"""Tidies in the background: expires holds, releases preorders whose day has come, applies the
default of consent requests nobody answered in time, and offers units to the waitlist when a drop
window it waits for opens.

Expiry is already enforced at read and write time; the sweeper only makes sure the plan, the
events and the counters catch up even when nobody touches the SKU.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from allot.domain.consent import NEEDS_CONSENT
from allot.services.book import Book
from allot.services.book_drops import database_clock
from allot.services.common import today
from allot.store.db import Database
from allot.store.tables import holds, order_lines, skus

log = logging.getLogger("allot.sweeper")


def due_skus(db: Database, now: datetime) -> list[str]:
    """SKUs with an expired hold still marked active, a preorder line whose release date came, a
    consent request past its deadline, or a window opening that customers on the waitlist wait for.

    An opening has come by the database's clock, the one every window is decided by (book_drops),
    not by `now`: a sweeper whose clock lags would leave those waiting without their offers while
    the window already sells, and one whose clock runs ahead would re-plan for an opening to come."""
    with db.read() as conn:
        opened = select(skus.c.sku).where(skus.c.wake_at <= database_clock(conn))
        expired = select(skus.c.sku).join(holds, holds.c.sku_id == skus.c.id).where(
            holds.c.status == "active", holds.c.expires_at <= now)
        released = select(skus.c.sku).join(order_lines, order_lines.c.sku_id == skus.c.id).where(
            order_lines.c.open.is_(True), order_lines.c.state == "awaiting_release", skus.c.release_date <= today(now))
        consent = select(skus.c.sku).join(order_lines, order_lines.c.sku_id == skus.c.id).where(
            order_lines.c.open.is_(True), order_lines.c.consent_status == NEEDS_CONSENT,
            order_lines.c.consent_deadline <= now)
        return sorted(set(conn.execute(expired.union(released, consent, opened)).scalars()))


def sweep(db: Database, now: datetime) -> int:
    names = due_skus(db, now)
    for name in names:  # one SKU per transaction: never hold many locks for the tidy-up
        with db.write() as conn:
            book = Book.open(conn, [name], now)[name]
            book.replan({"op": "sweep"})
            book.save()
    return len(names)


class Sweeper(threading.Thread):
    def __init__(self, db: Database, clock: Callable[[], datetime], every: float, stop: threading.Event) -> None:
        super().__init__(name="allot-sweeper", daemon=True)
        self.db, self.clock, self.every, self.stop = db, clock, every, stop

    def run(self) -> None:
        while not self.stop.wait(self.every):
            try:
                sweep(self.db, self.clock())
            except Exception:  # keep sweeping; the next round retries
                log.exception("sweep failed")
