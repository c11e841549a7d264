"""An import's first pass: every row checked against the file and against what Allot holds.

Nothing is written here. The pass collects every problem (line, column, reason) and what the
second pass needs: the SKUs to lock and how many rows there are.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from allot.connectors.csv_files import BadRow, Problem, parse_row
from allot.store.bulk import ids_by_ref
from allot.store.tables import channels, order_lines, orders, po_lines, purchase_orders, skus

CHUNK = 1000  # rows checked (and later written) together: bounded memory, few round trips


@dataclass(slots=True)
class Checked:
    """What the first pass found: the rows' count, their problems, and the SKUs they touch."""

    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    skus: set[str] = field(default_factory=set)
    held_refs: set[str] = field(default_factory=set)  # orders or POs in the file that Allot already holds


class LineNumbers:
    """A PO's or an order's line numbers: as given, else the next after the highest seen for that ref."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def number(self, ref: str, given: int | None) -> int:
        n = given if given is not None else self._last.get(ref, 0) + 1
        self._last[ref] = max(n, self._last.get(ref, 0))
        return n


def chunks(rows: Iterable[tuple[int, dict[str, Any]]], size: int = CHUNK) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    batch: list[tuple[int, dict[str, Any]]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def parsed(kind: str, raw_rows: Iterable[tuple[int, dict[str, str]]], found: Checked) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows converted to values; a bad row is noted (every bad cell) and left out."""
    for line, raw in raw_rows:
        found.rows += 1
        try:
            yield line, parse_row(kind, raw)
        except BadRow as bad:
            found.problems += [Problem(line, column, reason) for column, reason in bad.bad]


def check(conn: Connection, kind: str, raw_rows: Iterable[tuple[int, dict[str, str]]]) -> Checked:
    """Every row of a file checked: cells, references to SKUs and channels, duplicates, existing refs."""
    found = Checked()
    checker = Checker(conn, kind, found)
    for batch in chunks(parsed(kind, raw_rows, found)):
        checker.batch(batch)
    found.problems.sort(key=lambda p: p.line)
    return found


class Checker:
    def __init__(self, conn: Connection, kind: str, found: Checked) -> None:
        self.conn, self.kind, self.found = conn, kind, found
        self.sku_names = set(conn.execute(select(skus.c.sku)).scalars())
        self.channel_names = set(conn.execute(select(channels.c.name)).scalars())
        self.seen: set[Any] = set()
        self.heads: dict[str, tuple[Any, ...]] = {}  # a ref's order- or PO-level values, from its first row
        self.numbers = LineNumbers()

    def bad(self, line: int, column: str | None, reason: str) -> None:
        self.found.problems.append(Problem(line, column, reason))

    def batch(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        if self.kind in ("orders", "purchase-orders"):
            self._refs(rows)
            return
        for line, row in rows:
            self._row(line, row)

    def _row(self, line: int, row: dict[str, Any]) -> None:
        kind = self.kind
        if kind == "skus":
            self._once(line, "sku", row["sku"])
            for channel in row["quotas"]:
                self._channel(line, "quotas", channel)
        elif kind == "channels":
            self._once(line, "channel", row["channel"])
        elif kind == "stock":
            self._sku(line, row["sku"])
            self._once(line, "sku", row["sku"])
        else:  # sales-history
            self._sku(line, row["sku"])
            self._channel(line, "channel", row["channel"])
            self._once(line, "date", (row["sku"], row["channel"], row["date"]),
                       f"{row['sku']} on {row['channel']} for {row['date']} appears twice")

    def _once(self, line: int, column: str, key: Any, reason: str | None = None) -> None:
        if key in self.seen:
            self.bad(line, column, reason or f"{key} appears twice in the file")
        self.seen.add(key)

    def _sku(self, line: int, name: str) -> None:
        if name not in self.sku_names:
            self.bad(line, "sku", f"unknown SKU {name!r}; import it in a skus file first")
        else:
            self.found.skus.add(name)

    def _channel(self, line: int, column: str, name: str) -> None:
        if name not in self.channel_names:
            self.bad(line, column, f"unknown channel {name!r}; import it in a channels file first")

    def _refs(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        """Lines of orders or POs: one row per line; a ref's rows agree; a ref Allot has is only repeated."""
        is_order = self.kind == "orders"
        stored = _stored_lines(self.conn, is_order, {row["ref"] for _, row in rows})
        for line, row in rows:
            ref = row["ref"]
            n = self.numbers.number(ref, row["line"])
            self._once(line, "line", (ref, n), f"{ref} line {n} appears twice")
            self._sku(line, row["sku"])
            head = (row["channel"], row["priority"], row["customer"]) if is_order else (row["supplier"], row["status"])
            if is_order:
                self._channel(line, "channel", row["channel"])
            if self.heads.setdefault(ref, head) != head:
                names = "channel, priority and customer" if is_order else "supplier and status"
                self.bad(line, "ref", f"{ref}: every row of one ref must have the same {names}")
            if ref in stored:
                self.found.held_refs.add(ref)
                self._same_as_stored(line, row, n, stored[ref])

    def _same_as_stored(self, line: int, row: dict[str, Any], n: int, lines: dict[int, tuple[Any, ...]]) -> None:
        mine = (row["sku"], row["qty"], row["channel"] if self.kind == "orders" else row["expected_date"])
        if lines.get(n) != mine:
            what = "order" if self.kind == "orders" else "purchase order"
            self.bad(line, "ref", f"{what} {row['ref']} already exists and its line {n} differs; "
                                  "a ref that exists is only skipped when it is identical")


def _stored_lines(conn: Connection, is_order: bool, refs: set[str]) -> dict[str, dict[int, tuple[Any, ...]]]:
    """The lines Allot already holds for these refs: {ref: {line: (sku, qty, channel or expected_date)}}."""
    head, body = (orders, order_lines) if is_order else (purchase_orders, po_lines)
    held = ids_by_ref(conn, head, sorted(refs))  # usually none: one cheap query per chunk
    if not held:
        return {}
    last = body.c.channel if is_order else body.c.expected_date
    stmt = (select(head.c.ref, body.c.line, skus.c.sku, body.c.qty, last)
            .join(body, body.c[f"{'order' if is_order else 'po'}_id"] == head.c.id)
            .join(skus, skus.c.id == body.c.sku_id).where(head.c.id.in_([i for _, i in held])))
    out: dict[str, dict[int, tuple[Any, ...]]] = {}
    for ref, n, sku, qty, last in conn.execute(stmt):
        out.setdefault(ref, {})[n] = (sku, qty, last)
    return out
