"""CSV files at the edge: bytes in, checked rows out; rows in, CSV text out. No database here.

A file is UTF-8 text with a header row; columns are named like the API's fields. It is read
line by line (never whole): bytes that are not UTF-8, a bad header and every bad cell are
collected as `Problem`s (line, column, reason) rather than stopping at the first.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

IMPORTS = ("skus", "channels", "stock", "purchase-orders", "orders", "sales-history")
EXPORTS = (*IMPORTS, "order-lines", "events")

COLUMNS: dict[str, tuple[str, ...]] = {
    "skus": ("sku", "name", "mode", "release_date", "handling_days", "incoming_buffer", "safety_stock",
             "backorder_limit", "backorder_lead_days", "allocation_policy", "quotas"),
    "channels": ("channel", "allow_backorder", "allow_preorder", "padding_days", "consent_after_days",
                 "consent_window_days", "consent_default"),
    "stock": ("sku", "on_hand", "reason"),
    "purchase-orders": ("ref", "supplier", "status", "line", "sku", "qty", "received", "closed", "expected_date"),
    "orders": ("ref", "channel", "priority", "customer", "created_at", "line", "sku", "qty", "qty_shipped",
               "qty_cancelled", "queued_at", "state", "promise_date", "first_promise_date"),
    "sales-history": ("sku", "channel", "date", "qty"),
    "order-lines": ("ref", "line", "sku", "channel", "customer", "qty", "qty_shipped", "qty_cancelled", "open_qty",
                    "state", "promise_date", "first_promise_date", "consent_status", "allocation"),
    "events": ("position", "type", "occurred_at", "sku", "order_ref", "line", "version", "data"),
}
REQUIRED: dict[str, frozenset[str]] = {
    "skus": frozenset({"sku", "mode"}),
    "channels": frozenset({"channel", "allow_backorder", "allow_preorder"}),
    "stock": frozenset({"sku", "on_hand"}),
    "purchase-orders": frozenset({"ref", "sku", "qty", "expected_date"}),
    "orders": frozenset({"ref", "channel", "sku", "qty"}),
    "sales-history": frozenset({"sku", "channel", "date", "qty"}),
}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")  # as the API's names (api/schemas.py)
STATES = ("ready", "awaiting_release", "awaiting_stock", "backordered", "shipped", "cancelled")
TRUE, FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}
MAX_QTY = 1_000_000


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file: its line (1 is the header), the column (None: the whole line), why."""

    line: int
    column: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


class BadRow(Exception):
    def __init__(self, bad: list[tuple[str | None, str]]) -> None:
        super().__init__(bad)
        self.bad = bad


class Reader:
    """The rows of one CSV file as {column: text}, with the line each starts on."""

    def __init__(self, stream: BinaryIO, kind: str) -> None:
        self.stream = stream
        self.kind = kind
        self.problems: list[Problem] = []
        self.header_ok = False

    def _lines(self) -> Iterator[str]:
        for n, raw in enumerate(self.stream, start=1):
            if n == 1 and raw.startswith(codecs.BOM_UTF8):  # spreadsheets often write one
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as e:
                self.problems.append(Problem(n, None, f"bytes that are not UTF-8 (at byte {e.start + 1} of the line)"))
                yield raw.decode("utf-8", "replace")

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        reader = csv.reader(self._lines())
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            self.problems.append(Problem(1, None, "the file is empty: expected a header row"))
            return
        except csv.Error as e:
            self.problems.append(Problem(1, None, f"not CSV: {e}"))
            return
        if not self._check_header(header):
            return
        self.header_ok = True
        last = reader.line_num
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                self.problems.append(Problem(last + 1, None, f"not CSV: {e}"))
                return
            line, last = last + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue  # a blank row, as spreadsheets leave at the end
            if len(fields) != len(header):
                self.problems.append(Problem(line, None, f"{len(fields)} fields, but the header has {len(header)}"))
                continue
            yield line, {h: f.strip() for h, f in zip(header, fields, strict=True)}

    def _check_header(self, header: list[str]) -> bool:
        known, before = COLUMNS[self.kind], len(self.problems)
        for name in header:
            if name not in known:
                self.problems.append(Problem(1, name, f"unknown column; {self.kind} files have: {', '.join(known)}"))
            elif header.count(name) > 1:
                self.problems.append(Problem(1, name, "the column appears twice"))
        for name in sorted(REQUIRED[self.kind] - set(header)):
            self.problems.append(Problem(1, name, "required column is missing"))
        return len(self.problems) == before


class Cells:
    """One row's cells, converted; every bad cell is noted, then `done` raises them all at once."""

    def __init__(self, raw: dict[str, str]) -> None:
        self.raw = raw
        self.bad: list[tuple[str | None, str]] = []

    def _get(self, col: str, required: bool) -> str | None:
        value = self.raw.get(col, "")
        if value == "":
            if required:
                self.bad.append((col, "required"))
            return None
        return value

    def name(self, col: str, required: bool = True) -> str | None:
        value = self._get(col, required)
        if value is not None and (len(value) > 100 or not NAME.match(value)):
            self.bad.append((col, "letters, digits and . _ : - only (up to 100), starting with a letter or digit"))
            return None
        return value

    def text(self, col: str, default: str | None = None, limit: int = 200) -> str | None:
        value = self._get(col, False)
        if value is not None and (len(value) > limit or "\x00" in value):
            self.bad.append((col, f"at most {limit} characters, no NUL"))
        return default if value is None else value

    def int(self, col: str, low: int = 0, high: int = MAX_QTY, *, required: bool = False,
            default: int | None = None) -> int | None:
        value = self._get(col, required)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            self.bad.append((col, f"not a whole number: {value[:40]!r}"))
            return default
        if number < 0:
            self.bad.append((col, f"must not be negative: {number}"))
        elif not low <= number <= high:
            self.bad.append((col, f"must be from {low} to {high}"))
        return number

    def day(self, col: str, required: bool = False) -> date | None:
        value = self._get(col, required)
        if value is None:
            return None
        try:
            day = date.fromisoformat(value)
        except ValueError:
            self.bad.append((col, f"not a date (YYYY-MM-DD): {value[:40]!r}"))
            return None
        if not date(2000, 1, 1) <= day <= date(2999, 12, 31):
            self.bad.append((col, "must be from 2000-01-01 to 2999-12-31"))
        return day

    def moment(self, col: str) -> datetime | None:
        value = self._get(col, False)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.bad.append((col, f"not a date and time (ISO 8601): {value[:40]!r}"))
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # Allot keeps UTC

    def flag(self, col: str, required: bool = False, default: bool | None = None) -> bool | None:
        value = self._get(col, required)
        if value is None:
            return default
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        self.bad.append((col, f"true or false, not {value[:40]!r}"))
        return default

    def choice(self, col: str, options: Iterable[str], default: str | None = None, required: bool = False) -> str | None:
        value = self._get(col, required)
        if value is not None and value not in options:
            self.bad.append((col, f"one of {', '.join(options)}"))
            return None
        return default if value is None else value

    def fraction(self, col: str) -> Decimal:
        value = self._get(col, False)
        try:
            number = Decimal(value or "0")
        except InvalidOperation:
            self.bad.append((col, f"not a number: {(value or '')[:40]!r}"))
            return Decimal(0)
        if not (number.is_finite() and 0 <= number < 1):
            self.bad.append((col, "must be at least 0 and below 1"))
        return number

    def done(self, values: dict[str, Any]) -> dict[str, Any]:
        if self.bad:
            raise BadRow(self.bad)
        return values


def parse_row(kind: str, raw: dict[str, str]) -> dict[str, Any]:
    """One row as the values the services take; raises BadRow naming every bad cell."""
    return PARSERS[kind](Cells(raw))


def _sku(c: Cells) -> dict[str, Any]:
    values = {"sku": c.name("sku"), "name": c.text("name"), "mode": c.choice("mode", ("stock", "backorder", "preorder"),
              required=True), "release_date": c.day("release_date"), "handling_days": c.int("handling_days", 0, 3650,
              default=0), "incoming_buffer": c.fraction("incoming_buffer"),
              "safety_stock": c.int("safety_stock", default=0), "backorder_limit": c.int("backorder_limit"),
              "backorder_lead_days": c.int("backorder_lead_days", 0, 3650),
              "allocation_policy": c.choice("allocation_policy", ("fifo", "fair_share"), "fifo"),
              "quotas": _quotas(c)}
    if values["mode"] == "preorder" and values["release_date"] is None and "release_date" not in dict(c.bad):
        c.bad.append(("release_date", "a preorder SKU needs a release_date"))
    return c.done(values)


def _quotas(c: Cells) -> dict[str, int | None]:
    """`channel=units` pairs separated by `;` (e.g. `wholesale=60; amazon=10`)."""
    text = c.text("quotas", limit=2000)
    quotas: dict[str, int | None] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        channel, _, units = (s.strip() for s in part.partition("="))
        if not NAME.match(channel) or not units.isdigit() or int(units) > MAX_QTY:
            c.bad.append(("quotas", f"channel=units pairs separated by ';', not {part[:40]!r}"))
            continue
        quotas[channel] = int(units)
    return quotas


def _channel(c: Cells) -> dict[str, Any]:
    return c.done({"channel": c.name("channel"), "allow_backorder": c.flag("allow_backorder", True),
                   "allow_preorder": c.flag("allow_preorder", True), "padding_days": c.int("padding_days", 0, 3650, default=0),
                   "consent_after_days": c.int("consent_after_days", 0, 3650),
                   "consent_window_days": c.int("consent_window_days", 0, 365, default=7),
                   "consent_default": c.choice("consent_default", ("cancel", "keep"), "keep")})


def _stock(c: Cells) -> dict[str, Any]:
    return c.done({"sku": c.name("sku"), "on_hand": c.int("on_hand", 0, 10_000_000, required=True),
                   "reason": c.text("reason", "count") or "count"})


def _po(c: Cells) -> dict[str, Any]:
    values: dict[str, Any] = {"ref": c.name("ref"), "supplier": c.text("supplier"),
              "status": c.choice("status", ("open", "closed", "cancelled"), "open"), "line": c.int("line", 1),
              "sku": c.name("sku"), "qty": c.int("qty", 1, required=True), "received": c.int("received", default=0),
              "closed": c.flag("closed"), "expected_date": c.day("expected_date", required=True)}
    if values["closed"] is None:
        values["closed"] = values["status"] != "open" or (values["received"] or 0) >= (values["qty"] or 1)
    return c.done(values)


def _order(c: Cells) -> dict[str, Any]:
    values: dict[str, Any] = {"ref": c.name("ref"), "channel": c.name("channel"), "priority": c.int("priority", 0, 1000, default=0),
              "customer": c.text("customer"), "created_at": c.moment("created_at"), "line": c.int("line", 1),
              "sku": c.name("sku"), "qty": c.int("qty", 1, required=True),
              "qty_shipped": c.int("qty_shipped", default=0), "qty_cancelled": c.int("qty_cancelled", default=0),
              "queued_at": c.moment("queued_at"), "state": c.choice("state", STATES),
              "promise_date": c.day("promise_date"), "first_promise_date": c.day("first_promise_date")}
    if not c.bad and values["qty_shipped"] + values["qty_cancelled"] > values["qty"]:
        c.bad.append(("qty_shipped", "qty_shipped + qty_cancelled is more than qty"))
    return c.done(values)


def _history(c: Cells) -> dict[str, Any]:
    return c.done({"sku": c.name("sku"), "channel": c.name("channel"), "date": c.day("date", required=True),
                   "qty": c.int("qty", required=True)})


PARSERS = {"skus": _sku, "channels": _channel, "stock": _stock, "purchase-orders": _po, "orders": _order,
           "sales-history": _history}


# -- writing ---------------------------------------------------------------------------------

def cell(value: Any) -> Any:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), default=str)
    return value


def write(kind: str, rows: Iterable[dict[str, Any]], chunk: int = 1000) -> Iterator[str]:
    """The CSV text of a file of this kind, header first, in pieces of `chunk` rows (flat memory)."""
    columns = COLUMNS[kind]
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(columns)
    for n, row in enumerate(rows, start=1):
        out.writerow([cell(row.get(c)) for c in columns])
        if n % chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
