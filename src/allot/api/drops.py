"""The waitlist (BRIEF §11). Handlers only translate: services/waitlist.py holds the rules."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from allot.api import schemas as s
from allot.api.deps import Reader, Seller, check_channels, write
from allot.api.problems import problem_responses
from allot.services import waitlist

router = APIRouter(prefix="/v1", responses=problem_responses())
PathName = Annotated[str, Path(min_length=1, max_length=100, pattern=s.NAME_PATTERN)]
EntryId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class WaitlistIn(s.Body):
    sku: s.Name
    channel: s.Name
    customer: s.Note = Field(min_length=1)
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")] | None = None
    qty: s.Qty


class WaitlistOut(BaseModel):
    id: int
    sku: str
    channel: str
    customer: str
    email: str | None
    qty: int
    status: str = Field(description="waiting, offered, claimed (the offer's hold became an order), lapsed, left")
    position: int | None = Field(description="place among those waiting on the channel (1: next); null once offered")
    hold_id: str | None
    offer_expires_at: datetime | None
    created_at: datetime


class WaitlistPage(BaseModel):
    sku: str
    items: list[WaitlistOut]


@router.post("/waitlist", response_model=WaitlistOut, status_code=201, tags=["waitlist"],
             responses={409: {"description": "`available`: the channel can sell the units now (buy instead)"}})
def join(body: WaitlistIn, ctx: Seller) -> Response:
    check_channels(ctx, [body.channel])
    key_id = ctx.principal.key_id
    return write(ctx, body, lambda conn: waitlist.join(conn, body.sku, body.channel, body.customer, body.email,
                                                       body.qty, ctx.now, key_id), 201)


@router.delete("/waitlist/{entry_id}", response_model=WaitlistOut, tags=["waitlist"])
def leave(entry_id: EntryId, ctx: Seller) -> Response:
    def op(conn: Any) -> dict[str, Any]:
        _, channel = waitlist.owner(conn, entry_id)
        check_channels(ctx, [channel])
        return waitlist.leave(conn, entry_id, ctx.now)

    return write(ctx, None, op)


@router.get("/skus/{sku}/waitlist", response_model=WaitlistPage, tags=["waitlist"])
def listing(sku: PathName, ctx: Reader) -> Any:
    with ctx.db.read() as conn:
        return waitlist.listing(conn, sku, ctx.now)
