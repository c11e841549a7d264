"""Answers declared for clients (issue 12): problem answers by status, and the answers that had no
model (why a line ships when it does, CSV imports), beside schemas.py (the v1 bodies) to keep each small."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from allot.api.schemas import Problem


class ProblemError(BaseModel):
    """One thing wrong: a field (`field`, `message`), or a file's row (`line`, `column`, `reason`)."""

    model_config = ConfigDict(extra="allow")
    field: str | None = None
    message: str | None = None
    line: int | None = None
    column: str | None = None
    reason: str | None = None


class InvalidProblem(Problem):
    """422: bad input; `field` names it (a body path such as `lines.0.qty`, a parameter, or a header)."""

    field: str
    errors: list[ProblemError] | None = None


class ConflictProblem(Problem):
    """409: refused in the state things are in; a refused sale says in `available` what the channel could get."""

    available: int | None = None


class QueuePlace(BaseModel):
    position: int
    length: int
    lines_ahead: int
    holds_ahead: int
    units_ahead: int


class CoveringBucket(BaseModel):
    source: Literal["stock", "po", "made_to_order"]
    po_ref: str | None
    po_line: int | None
    qty: int
    date: date | None
    bucket_capacity: int | None


class PromiseStep(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: int
    type: str
    occurred_at: datetime
    from_: str | None = Field(alias="from")
    to: str | None
    state: str | None
    state_from: str | None
    reason: str | None
    cause: str | None
    qty: int | None


class ExplainOut(BaseModel):
    """Why a line ships when it does: its place in the queue, the supply covering it, every promise it got."""

    ref: str
    line: int
    sku: str
    channel: str
    priority: int
    qty: int
    open_qty: int
    state: str
    promise_date: date | None
    first_promise_date: date | None
    queue: QueuePlace | None
    covered_by: list[CoveringBucket]
    uncovered: int
    history: list[PromiseStep]
    handling_days: int
    padding_days: int
    release_date: date | None
    mode: str
    why: list[str]


class ImportOut(BaseModel):
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    changes: list[str]
    dry_run: bool
    rows_total: int


class ImportJobOut(BaseModel):
    id: str
    kind: str
    dry_run: bool
    status: Literal["running", "done", "rejected", "failed"]
    rows_total: int | None
    rows_done: int
    errors: list[ProblemError] | None
    result: ImportOut | None
    created_at: datetime
    finished_at: datetime | None
