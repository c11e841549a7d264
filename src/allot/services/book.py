"""One SKU's book inside a write transaction: its supply, its queue, its plan.

Every change to a SKU goes through a `Book`: lock the SKU row, change supply or demand, then
either `sell` (the fast path appends to the tail of the queue and touches no other line) or
`replan` (the full plan, persisting only the lines that moved and one event per line whose
state or promise date changed). `save` writes the plan summary the fast path reads.

The parts live in their own modules, layered in this order: loading (book_rows), saving
(book_save), re-planning (book_replan), selling (book_sell). This module opens and locks books,
keeps a batch's books consistent across savepoints (`atomic`), and re-exports the public names.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from allot.domain.errors import Invalid, NotFound
from allot.services import availability_out
from allot.services.book_drops import Drops, load_customers
from allot.services.book_replan import line_change_event
from allot.services.book_rows import (
    BATCH,
    EMPTY_SUMMARY,
    IN_USE,
    OPEN_LINES,
    SCOPES,
    Entry,
    Places,
    bucket_to_json,
    load_channels,
    load_places,
    sku_rule,
    takes_from_json,
    takes_to_json,
)
from allot.services.book_save import SAVE_SKU, flush_all, save_all
from allot.store import deferred
from allot.store.db import WRITES
from allot.store.tables import sku_channels, skus

__all__ = [
    "BATCH", "EMPTY_SUMMARY", "IN_USE", "OPEN_LINES", "SAVE_SKU", "SCOPES", "Book", "Entry", "Places",
    "atomic", "bucket_to_json", "flush_all", "line_change_event", "load_channels", "load_places", "remembered", "save_all",
    "sku_rule", "takes_from_json", "takes_to_json",
]


class Book(Drops):
    @classmethod
    def open(
        cls, conn: Connection, names: Iterable[str], now: datetime, fields: dict[str, str] | None = None
    ) -> dict[str, Book]:
        """Lock the SKUs in one fixed order (by key), so multi-SKU writes cannot deadlock.

        `fields` names the input each SKU came from: an unknown one is then bad input (422)
        rather than a missing resource (404).
        """
        wanted = sorted(set(names))
        shared: dict[str, Book] | None = conn.info.get(BATCH)
        if shared is None:
            books = cls._lock(conn, wanted, now, fields)
        else:
            books = cls._from_batch(conn, shared, wanted, now, fields)
        for book in books.values():
            book.tidy()
        return books

    @classmethod
    def lock_all(cls, conn: Connection, names: list[str], now: datetime, customers: Iterable[str] = ()) -> None:
        """A batch's first step: lock every SKU it will touch, in key order, for its whole transaction.

        Unknown names are skipped; the request that asked for one gets its own error when it opens it.
        """
        books = cls._locked(conn, names, now)
        if not books:
            return
        by_id = {book.id: book for book in books.values()}
        channel_names = list(next(iter(books.values())).supply.channels)
        for book in books.values():
            book._quotas = dict.fromkeys(channel_names)  # no row: no quota
            book._windows = dict.fromkeys(channel_names, (None, None))  # drops: no row, no window
        c = sku_channels.c
        quotas = select(c.sku_id, c.channel, c.quota, c.opens_at, c.closes_at)
        for sku_id, channel, quota, opens_at, closes_at in conn.execute(quotas.where(c.sku_id.in_(list(by_id)))):
            by_id[sku_id]._quotas[channel] = quota
            by_id[sku_id].know_window(channel, opens_at, closes_at)
        for book in books.values():
            book.tidy()  # before any request, so that a request that fails has written nothing
        load_customers(conn, books.values(), customers, now)  # drops: one query for the batch's limited SKUs
        conn.info[BATCH].update(books)

    @classmethod
    def _from_batch(cls, conn: Connection, shared: dict[str, Book], wanted: list[str], now: datetime,
                    fields: dict[str, str] | None) -> dict[str, Book]:
        """The batch's books for these names, noted as used by the current request so that a
        savepoint of that request can undo what it does to them (see `atomic`)."""
        missing = [n for n in wanted if n not in shared]
        for scope in conn.info.get(SCOPES, ()):
            for n in wanted:
                if n not in scope:
                    scope[n] = None if n in missing else shared[n].snapshot()
        if missing:
            shared.update(cls._lock(conn, missing, now, fields))
        conn.info.setdefault(IN_USE, set()).update(wanted)
        return {n: shared[n].advance(now) for n in wanted}

    @classmethod
    def _lock(cls, conn: Connection, wanted: list[str], now: datetime, fields: dict[str, str] | None) -> dict[str, Book]:
        books = cls._locked(conn, wanted, now)
        missing = [n for n in wanted if n not in books]
        if missing and fields:
            raise Invalid(fields[missing[0]], f"unknown SKU {missing[0]!r}; create it with PUT /v1/skus/{{sku}}")
        if missing:
            raise NotFound(f"unknown SKU {missing[0]!r}", sku=missing[0])
        return {n: books[n] for n in wanted}

    @classmethod
    def _locked(cls, conn: Connection, names: list[str], now: datetime) -> dict[str, Book]:
        """Books for the SKUs of these names that exist, their rows locked in key order."""
        stmt = select(skus).where(skus.c.sku.in_(names)).order_by(skus.c.sku).with_for_update()
        rows = conn.execute(stmt).all()
        if not rows:
            return {}
        rules = load_channels(conn)
        # The locations come from the plan summary, like the buckets they go with: a sale needs no
        # query for them, and a re-plan reads them afresh (Replanning._replan).
        books = {r.sku: cls(conn, r, rules, now) for r in rows}
        availability_out.watch(conn, books)  # before any tidy-up: it may move the numbers too
        return books


@contextmanager
def atomic(conn: Connection) -> Iterator[None]:
    """A savepoint that, when it rolls back, also undoes what the work did to a batch's books.

    Every place that catches a failure and carries on in the same transaction must use this,
    not a bare savepoint: the books of a batch outlive one request, and a summary that kept a
    rolled-back sale's units would sell them twice.
    """
    if conn.info.get(BATCH) is None:
        with conn.begin_nested():
            yield
        return
    deferred.flush(conn)  # rows queued before the savepoint must outlive its rollback
    counted = conn.info.get(WRITES)
    with remembered(conn):
        try:
            with conn.begin_nested():
                yield
        except BaseException:
            # (a connection that died refuses conn.info until the rollback: the batch is lost anyway)
            if counted is not None and not conn.invalidated:
                conn.info[WRITES] = counted  # the savepoint undid them: as if never written
            raise


@contextmanager
def remembered(conn: Connection) -> Iterator[None]:
    """The in-memory half of `atomic`: if the work fails, the batch's books and deferred rows are
    as they were before it. Only the books the current request touches are copied: those it
    already holds now, the rest when it opens them (`Book._from_batch`)."""
    books: dict[str, Book] = conn.info[BATCH]
    held = conn.info.get(IN_USE, ())
    scope: dict[str, tuple[Any, ...] | None] = {n: books[n].snapshot() for n in held if n in books}
    scopes: list[dict[str, tuple[Any, ...] | None]] = conn.info.setdefault(SCOPES, [])
    scopes.append(scope)
    rows = deferred.mark(conn)
    try:
        yield
    except BaseException:
        for name, saved in scope.items():
            if saved is None:
                books.pop(name, None)  # locked by the undone work: the lock may be gone with the savepoint
            elif name in books:
                books[name].restore(saved)
        deferred.undo_to(conn, rows)
        raise
    finally:
        scopes.pop()
