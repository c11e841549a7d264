"""Group commit: concurrent sales share one transaction, each still with its own answer.

A process has a few lanes; every SKU belongs to one lane (a sale of several SKUs to the lane of
the first), so the sales of a hot SKU queue in one place, in arrival order. Each lane has one
thread that takes whatever is waiting as the next batch: one transaction that locks every SKU
of the batch up front in key order (so batches of other lanes, processes or hosts cannot
deadlock with it), runs each request in arrival order, writes new holds, audit rows and each
SKU's plan summary with one statement per table, and commits once. A request that fails
undoes only itself (see `_attempt`: without a savepoint of its own) and the others still get
their own answers. No request is answered before its batch has committed.

A busy lane makes its batches bigger instead of its queue longer: while one batch commits,
the next one gathers. Idle lanes cost a sleeping thread.
"""
from __future__ import annotations

import asyncio
import threading
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from allot.services.book import BATCH, IN_USE, SCOPES, Book, flush_all, remembered
from allot.store import deferred
from allot.store.db import WRITES, Database, count_writes, writes

Op = Callable[[Connection], Any]


@dataclass(eq=False, slots=True)
class Job:
    skus: tuple[str, ...]
    op: Op
    now: datetime
    # A thread waits on a concurrent future; a coroutine on an asyncio one, settled on its loop.
    future: Future[Any] | asyncio.Future[Any] = field(default_factory=Future)
    loop: asyncio.AbstractEventLoop | None = None
    customers: tuple[str, ...] = ()  # drops: whose units of a limited SKU the batch counts up front


class Lane:
    def __init__(self, batcher: Batcher, name: str) -> None:
        self.batcher = batcher
        self.waiting: deque[Job] = deque()
        self.wake = threading.Condition()
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def put(self, job: Job) -> None:
        with self.wake:  # under the lock: a job let in here is one the loop will still take
            if self.batcher.closed:
                job.future.set_exception(RuntimeError("the server is shutting down"))
                return
            self.waiting.append(job)
            self.wake.notify()

    def _loop(self) -> None:
        while True:
            with self.wake:
                while not self.waiting and not self.batcher.closed:
                    self.wake.wait()
                if not self.waiting:
                    return
                size = min(len(self.waiting), self.batcher.max_batch)
                batch = [self.waiting.popleft() for _ in range(size)]
            try:
                self.batcher.execute(batch)
            except BaseException as e:  # never leave a request waiting on a lane that has stopped
                _settle([(job, False, e) for job in batch if not job.future.done()])
                if not isinstance(e, Exception):
                    raise


class Batcher:
    def __init__(self, db: Database, lanes: int = 1, max_batch: int = 256) -> None:
        self.db = db
        self.max_batch = max_batch
        self.closed = False
        self._count = lanes
        self._lanes: list[Lane] = []
        self._start = threading.Lock()

    async def sell(self, skus: Sequence[str], op: Op, now: datetime, customers: Sequence[str] = ()) -> Any:
        """Run `op` in the next batch of its lane and return its own result (or raise its own error)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._lane(skus[0]).put(Job(tuple(skus), op, now, future, loop, tuple(customers)))
        return await future

    def run(self, skus: str | Sequence[str], op: Op, now: datetime) -> Any:
        """`sell` for a thread: blocks until the batch has committed."""
        job = Job((skus,) if isinstance(skus, str) else tuple(skus), op, now)
        self._lane(job.skus[0]).put(job)
        assert isinstance(job.future, Future)
        return job.future.result()

    def pending(self, sku: str) -> int:
        """Requests waiting in `sku`'s lane for the next batch (not the one running)."""
        return len(self._lane(sku).waiting)

    def close(self) -> None:
        """Finish what is queued, then stop the lane threads."""
        for lane in self._lanes:
            with lane.wake:
                self.closed = True
                lane.wake.notify()
        self.closed = True
        for lane in self._lanes:
            lane.thread.join(timeout=30)

    def _lane(self, sku: str) -> Lane:
        if not self._lanes:  # started on first use: a process that never sells runs no lane thread
            with self._start:
                if not self._lanes:
                    self._lanes = [Lane(self, f"allot-batch-{i}") for i in range(self._count)]
        # crc32, not hash(): the same SKU lands in the same lane however often the process restarts.
        return self._lanes[zlib.crc32(sku.encode()) % len(self._lanes)]

    def execute(self, batch: list[Job]) -> None:
        """Run a batch and settle every job, only after the commit."""
        failed: dict[int, Exception] = {}  # jobs that broke after writing: out of the next attempt
        while True:
            todo = [i for i in range(len(batch)) if i not in failed]
            if not todo:
                outcomes = []
                break
            try:
                outcomes = self._attempt([batch[i] for i in todo])
            except _Redo as redo:
                failed[todo[redo.index]] = redo.error
                continue
            except Exception as e:  # noqa: BLE001 - the commit failed: nobody in this batch may be told it succeeded
                outcomes = [(False, e)] * len(todo)
            break
        settled = [(batch[i], ok, value) for i, (ok, value) in zip(todo, outcomes, strict=True)]
        settled += [(batch[i], False, error) for i, error in failed.items()]
        _settle(settled)

    def _attempt(self, jobs: list[Job]) -> list[tuple[bool, Any]]:
        """One transaction for the jobs, in order. A job that fails before writing anything is
        answered with its error and costs the others nothing (its books are restored in memory);
        one that fails after writing ends the attempt (`_Redo`) so the rest run again without it.
        So a job needs no savepoint of its own, which would cost two statements per sale.
        """
        outcomes: list[tuple[bool, Any]] = []
        with self.db.write() as conn:
            books: dict[str, Book] = {}
            conn.info[BATCH] = books
            deferred.begin(conn)
            count_writes(conn)
            try:
                Book.lock_all(conn, sorted({s for job in jobs for s in job.skus}), min(j.now for j in jobs),
                              {c for job in jobs for c in job.customers})
                driver_error = conn.dialect.loaded_dbapi.Error
                for k, job in enumerate(jobs):
                    conn.info[IN_USE] = set()
                    deferred.start_request(conn)
                    before = writes(conn)
                    try:
                        with remembered(conn):
                            outcomes.append((True, job.op(conn)))
                    except Exception as e:
                        # A database error may have broken the transaction (PostgreSQL refuses every
                        # statement after one): as unsafe to go on from as a half-done write.
                        if isinstance(e, DBAPIError | driver_error) or conn.invalidated or writes(conn) != before:
                            raise _Redo(k, e) from e
                        outcomes.append((False, e))
                deferred.flush(conn)
                flush_all(books.values())
            finally:
                # A connection that died is refused (PendingRollbackError) until the rollback, which would
                # mask the real error; its info is cleared when the pool reconnects it anyway.
                if not conn.invalidated:
                    for key in (BATCH, IN_USE, SCOPES, WRITES):
                        conn.info.pop(key, None)
                    deferred.discard(conn)
        return outcomes


class _Redo(Exception):
    """Job `index` of an attempt failed after writing: roll the attempt back and run it again without it."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(index)
        self.index, self.error = index, error


def _settle(settled: list[tuple[Job, bool, Any]]) -> None:
    """Hand each job its answer: one call per event loop for the whole batch, not one per job."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Job, bool, Any]]] = {}
    for job, ok, value in settled:
        if job.loop is None:
            _answer(job, ok, value)
        else:
            by_loop.setdefault(job.loop, []).append((job, ok, value))
    for loop, answers in by_loop.items():
        try:
            loop.call_soon_threadsafe(_answer_all, answers)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            pass


def _answer_all(answers: list[tuple[Job, bool, Any]]) -> None:
    for job, ok, value in answers:
        try:
            _answer(job, ok, value)
        except Exception as e:  # noqa: BLE001 - e.g. asyncio refuses StopIteration; the others still get theirs
            job.future.set_exception(RuntimeError(f"the answer could not be delivered: {e!r}"))


def _answer(job: Job, ok: bool, value: Any) -> None:
    if job.future.done():  # an abandoned request (its client went away); the sale stands
        return
    if ok:
        job.future.set_result(value)
    else:
        job.future.set_exception(value)
