"""Lists and many-SKU reads (BRIEF §7 "Lists and previews", "Availability out"): translation only.

Each list pages by keyset cursor: `?limit=<n>&after=<next>` answers `{items, next}`, `next` null
on the last page. The paths here do not overlap the single reads' (`/v1/skus/{sku}` …), so the
order the routers are included in does not matter.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from allot.api import schemas as s
from allot.api.deps import Reader, SaleReader, check_availability_channel, check_channels
from allot.api.problems import MAX_ID, problem_responses
from allot.domain.errors import Invalid
from allot.domain.model import State
from allot.services import availability_batch, listing
from allot.services.keys import Role
from allot.services.listing import OrderFilter, Page

router = APIRouter(prefix="/v1", responses=problem_responses())

After = Annotated[int, Query(ge=0, le=MAX_ID, description="the `next` of the previous page (0: from the start)")]
Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
NameQuery = Annotated[str | None, Query(min_length=1, max_length=100, pattern=s.NAME_PATTERN)]
TextQuery = Annotated[str | None, Query(min_length=1, max_length=200, pattern=s.NO_NUL)]
MAX_SKUS = 500
_NAME = re.compile(s.NAME_PATTERN)


class SkuPage(BaseModel):
    items: list[s.SkuOut]
    next: int | None


class OrderPage(BaseModel):
    items: list[s.OrderOut]
    next: int | None


class PoPage(BaseModel):
    items: list[s.PoOut]
    next: int | None


class MoveOut(BaseModel):
    id: int
    sku: str
    delta: int
    reason: str
    ref: str | None
    created_at: datetime


class MovePage(BaseModel):
    items: list[MoveOut]
    next: int | None


class AvailabilityMany(BaseModel):
    items: list[s.AvailabilityOut]
    unknown: list[str]


# 500 names of up to 100 characters make a long URL: past the HTTP server's limit on a request's head
# (64 KiB, percent-encoded; api/serving.py) the server itself answers before the app sees the request:
# 431 problem+json under `allot serve`, a plain-text 400 from another server running the app.
TOO_LONG: dict[int | str, dict[str, Any]] = {400: {"description": "the request line is longer than the server accepts (64 KiB, encoded)",
                  "content": {"text/plain": {}}},
            431: {"description": "the request's head is longer than `allot serve` accepts (64 KiB)",
                  "content": {"application/problem+json": {}}}}


@router.get("/availability", response_model=AvailabilityMany, tags=["selling"], responses=TOO_LONG)
def availability_many(ctx: SaleReader, skus: Annotated[str, Query(min_length=1, max_length=MAX_SKUS * 101)],
                      channel: NameQuery = None) -> Any:
    """Many SKUs' availability at once (up to 500, comma-separated), each as the single read answers
    it; names Allot does not manage are listed under `unknown`."""
    check_availability_channel(ctx, channel)
    return availability_batch.availability_of(ctx.db, _sku_names(skus), channel, ctx.now)


def _sku_names(raw: str) -> list[str]:
    names = [n.strip() for n in raw.split(",")]
    if len(names) > MAX_SKUS:
        raise Invalid("skus", f"at most {MAX_SKUS} SKUs per read")
    bad = next((n for n in names if len(n) > 100 or not _NAME.match(n)), None)
    if bad is not None:
        raise Invalid("skus", f"{bad[:100]!r} is not a SKU name")
    return names


@router.get("/skus", response_model=SkuPage, tags=["catalog"])
def list_skus(ctx: Reader, after: After = 0, limit: Limit = 100) -> Any:
    with ctx.db.read() as conn:
        return listing.sku_page(conn, Page(after, limit))


@router.get("/orders", response_model=OrderPage, tags=["orders"])
def list_orders(
    ctx: SaleReader, after: After = 0, limit: Limit = 100,
    state: Annotated[State | None, Query(description="orders with a line in this state")] = None,
    sku: NameQuery = None, channel: NameQuery = None, customer: TextQuery = None,
    promise_before: Annotated[date | None, Query(description="orders with a line promised before this day")] = None,
) -> Any:
    """Orders oldest first; the line filters (`state`, `sku`, `promise_before`) must hold on one line.
    A storefront key sees only its channels' orders."""
    channels = [channel] if channel is not None else None
    if channel is not None:
        check_channels(ctx, [channel])
    elif ctx.principal.role is Role.STOREFRONT:
        channels = list(ctx.principal.channels or ())
    f = OrderFilter(channels, customer, state.value if state else None, sku, promise_before)
    with ctx.db.read() as conn:
        return listing.order_page(conn, Page(after, limit), f)


@router.get("/purchase-orders", response_model=PoPage, tags=["purchasing"])
def list_pos(ctx: Reader, after: After = 0, limit: Limit = 100,
             status: Annotated[Literal["open", "closed", "cancelled"] | None, Query()] = None,
             supplier: TextQuery = None, sku: NameQuery = None) -> Any:
    with ctx.db.read() as conn:
        return listing.po_page(conn, Page(after, limit), status, supplier, sku)


@router.get("/stock/moves", response_model=MovePage, tags=["stock"])
def list_moves(ctx: Reader, after: After = 0, limit: Limit = 100, sku: NameQuery = None,
               reason: TextQuery = None) -> Any:
    """The stock ledger: every change to on hand (adjustments, counts, receipts, shipments)."""
    with ctx.db.read() as conn:
        return listing.move_page(conn, Page(after, limit), sku, reason)
