"""Group commit for a hot SKU: concurrent sales of one SKU share one transaction.

The first request for a SKU becomes the batch's leader; requests that arrive while a batch
runs wait and form the next one, whose leader is the first of them. A batch takes the SKU's
lock once, runs each request in arrival order inside its own savepoint (so a failing request
undoes only itself and the others still get their own answers), writes the plan summary
once and commits once. No request is answered before its batch has committed.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from allot.services.book import BATCH, Book, atomic
from allot.store.db import Database

Op = Callable[[Connection], Any]


@dataclass(eq=False)
class Job:
    op: Op
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    done: bool = False
    result: Any = None
    error: BaseException | None = None

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class Batcher:
    def __init__(self, db: Database, max_batch: int = 256) -> None:
        self.db = db
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: dict[str, list[Job]] = {}
        self._running: set[str] = set()

    def run(self, key: str, op: Op) -> Any:
        """Run `op` in the next batch for `key` and return its own result (or raise its own error)."""
        job = Job(op)
        with self._lock:
            self._waiting.setdefault(key, []).append(job)
            if key not in self._running:
                self._running.add(key)
                job.lead = True
        if not job.lead:
            job.wake.wait()
        if not job.done:  # woken to lead the next batch
            self._lead(key)
        return job.outcome()

    def pending(self, key: str) -> int:
        """Requests for `key` waiting for (or forming) the next batch."""
        with self._lock:
            return len(self._waiting.get(key, []))

    def _lead(self, key: str) -> None:
        with self._lock:
            queue = self._waiting[key]
            batch, self._waiting[key] = queue[: self.max_batch], queue[self.max_batch:]
        try:
            self._execute(batch)
        finally:
            for job in batch:
                job.done = True
                job.wake.set()
            self._hand_over(key)

    def _hand_over(self, key: str) -> None:
        with self._lock:
            queue = self._waiting.get(key)
            if queue:
                queue[0].lead = True
                queue[0].wake.set()
            else:
                self._waiting.pop(key, None)
                self._running.discard(key)

    def _execute(self, batch: list[Job]) -> None:
        try:
            with self.db.write() as conn:
                books: dict[str, Book] = {}
                conn.info[BATCH] = books
                try:
                    for job in batch:
                        _run_one(conn, job)
                    for book in books.values():
                        book.flush()
                finally:
                    conn.info.pop(BATCH, None)
        except Exception as e:  # the commit failed: nobody in this batch may be told it succeeded
            for job in batch:
                if job.error is None:
                    job.result, job.error = None, e


def _run_one(conn: Connection, job: Job) -> None:
    try:
        with atomic(conn):
            job.result = job.op(conn)
    except Exception as e:
        job.error = e
