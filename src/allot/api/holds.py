"""Ops' view of holds: list them by SKU, key or status, and release a SKU's or a key's holds at once."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from allot.api import schemas as s
from allot.api.deps import Ops, write
from allot.api.problems import MAX_ID, problem_responses
from allot.services import holds

router = APIRouter(prefix="/v1", tags=["holds"], responses=problem_responses())


class HoldItem(s.HoldOut):
    key_id: int | None = Field(description="the API key that placed it (null: placed without one)")
    created_at: datetime


class HoldPage(BaseModel):
    items: list[HoldItem]
    next: str | None = Field(description="pass as `after` for the next page; null on the last page")


class ReleaseIn(s.Body):
    sku: s.Name | None = None
    key_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None


class Released(BaseModel):
    released: int
    holds: list[str]


@router.get("/holds", response_model=HoldPage)
def list_holds(
    ctx: Ops,
    sku: Annotated[str | None, Query(max_length=100, pattern=s.NAME_PATTERN)] = None,
    key_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Literal["active", "expired", "released", "confirmed"] | None = None,
    after: Annotated[str | None, Query(pattern=s.HOLD_ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Holds in id order after a cursor, filtered by SKU, the key that placed them and status."""
    with ctx.db.read() as conn:
        return holds.page(conn, ctx.now, sku, key_id, status, after, limit)


@router.post("/holds/release", response_model=Released)
def release_holds(body: ReleaseIn, ctx: Ops) -> Response:
    """Release every live hold of a SKU, of a key, or of a key on a SKU; their units go back at once."""
    return write(ctx, body, lambda conn: holds.release(conn, ctx.now, body.sku, body.key_id))
