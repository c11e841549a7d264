"""Saving one SKU's book: its events, then its plan summary and queue counters (once per batch)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import bindparam, update

from allot.services import availability_out
from allot.services.book_rows import BATCH, BookRows
from allot.services.common import record
from allot.store.tables import skus

if TYPE_CHECKING:
    from allot.services.book import Book

# Built once: constructing a statement per call costs more than running it on the hot path.
SAVE_SKU = update(skus).where(skus.c.id == bindparam("_id"))


class Saving(BookRows):
    def save(self) -> None:
        """Record the collected events; write the plan summary and the queue counters.

        Inside a batch the summary is written once, by the batch, when every request is done.
        """
        record(self.conn, self.now, self.events)
        self.events = []
        if self.conn.info.get(BATCH) is None:
            self.flush()

    def flush(self) -> None:
        flush_all([cast("Book", self)])

    def _saved(self) -> dict[str, Any]:
        saved = {"_id": self.id, "summary": self.summary, "on_hand": self.on_hand, "next_seq": self.next_seq,
                 "last_queued_at": self.last_queued_at, "updated_at": self.now}
        wake_at = self.wakes_at()
        if wake_at != self.wake_at:  # rare (a waitlist re-plan): a sale writes what it always wrote
            saved["wake_at"] = wake_at
        return saved

    def wakes_at(self) -> datetime | None:
        """When the sweeper must look at the SKU: the first window opening someone waits for."""
        due = self.summary.get("next_opening")
        return datetime.fromisoformat(due) if due else None


def flush_all(books: Iterable[Book]) -> None:
    """Write the plan summaries that changed, in one statement (a batch may hold many SKUs); those
    whose wake-up time moved too in a second one (one statement sets the same columns in every row)."""
    dirty = [book for book in books if book.dirty]
    if dirty:
        rows = [book._saved() for book in dirty]
        for group in ([r for r in rows if "wake_at" not in r], [r for r in rows if "wake_at" in r]):
            if group:
                dirty[0].conn.execute(SAVE_SKU, group)
        availability_out.seen(dirty)
    for book in dirty:
        book.dirty = False
        book.wake_at = book.wakes_at()



def save_all(books: Iterable[Book]) -> None:
    """`save` for several books: their events in one statement (in book order), their summaries in another."""
    books = list(books)
    if not books:
        return
    conn = books[0].conn
    record(conn, books[0].now, [e for book in books for e in book.events])
    for book in books:
        book.events = []
    if conn.info.get(BATCH) is None:
        flush_all(books)

