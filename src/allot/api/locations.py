"""Locations and transfers between them (BRIEF §9). Handlers only translate: services hold the rules."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from allot.api import schemas as s
from allot.api.deps import Ops, Reader, write
from allot.api.problems import problem_responses
from allot.services import catalog, locations, transfers
from allot.services.book import Book

router = APIRouter(prefix="/v1", responses=problem_responses())
PathName = Annotated[str, Path(min_length=1, max_length=100, pattern=s.NAME_PATTERN)]


class LocationIn(s.Body):
    name: s.Note | None = None
    handling_days: s.Days | None = Field(default=None, description="days this location adds to every promise "
                                                                     "of units it ships")


class LocationOut(BaseModel):
    location: str
    name: str | None
    handling_days: int


class TransferLineIn(s.Body):
    sku: s.Name
    qty: s.Qty


class TransferIn(s.Body):
    # `from` is a Python keyword: the field is `source`, read and written (audit, idempotency) as `from`.
    model_config = s.Body.model_config | {"populate_by_name": True, "serialize_by_alias": True}

    ref: s.Name
    source: s.Name = Field(alias="from")
    to: s.Name
    expected_date: s.Day
    lines: list[TransferLineIn] = Field(min_length=1, max_length=1000)


class TransferReceiptIn(s.Body):
    lines: list[s.ReceiptLineIn] | None = Field(default=None, min_length=1, max_length=1000,
                                               description="omitted: every unit still on its way")
    close_short: bool = False


class TransferLineOut(BaseModel):
    line: int
    sku: str
    qty: int
    received: int
    closed: bool
    remaining: int


class TransferOut(BaseModel):
    model_config = {"populate_by_name": True, "serialize_by_alias": True}

    ref: str
    source: str = Field(alias="from")
    to: str
    expected_date: date
    status: str
    created_at: datetime
    lines: list[TransferLineOut]


@router.put("/locations/{location}", response_model=LocationOut, tags=["locations"],
            responses={201: {"model": LocationOut, "description": "created"}})
def put_location(location: PathName, body: LocationIn, ctx: Ops) -> Response:
    def op(conn: Any) -> dict[str, Any]:
        before = {loc["location"]: loc for loc in locations.list_all(conn)}.get(location)
        answer = locations.put(conn, location, body.name, body.handling_days, ctx.now)
        if before is not None and before["handling_days"] != answer["handling_days"]:
            for book in Book.open(conn, catalog.sku_names(conn), ctx.now).values():  # promises move
                book.replan({"op": "location.updated", "location": location})
                book.save()
        return answer
    return write(ctx, body, op, lambda result: 201 if result.pop("created", False) else 200)


@router.get("/locations", response_model=list[LocationOut], tags=["locations"])
def list_locations(ctx: Reader) -> Any:
    with ctx.db.read() as conn:
        return locations.list_all(conn)


@router.get("/locations/{location}", response_model=LocationOut, tags=["locations"])
def get_location(location: PathName, ctx: Reader) -> Any:
    with ctx.db.read() as conn:
        return locations.get(conn, location)


@router.delete("/locations/{location}", status_code=204, tags=["locations"])
def delete_location(location: PathName, ctx: Ops) -> Response:
    return write(ctx, None, lambda conn: locations.remove(conn, location), 204)


@router.post("/transfers", response_model=TransferOut, status_code=201, tags=["locations"])
def create_transfer(body: TransferIn, ctx: Ops) -> Response:
    lines = [ln.model_dump() for ln in body.lines]
    return write(ctx, body, lambda conn: transfers.create(conn, body.ref, body.source, body.to, body.expected_date,
                                                         lines, ctx.now), 201)


@router.get("/transfers", response_model=list[TransferOut], tags=["locations"])
def list_transfers(ctx: Reader) -> Any:
    with ctx.db.read() as conn:
        return transfers.list_refs(conn)


@router.get("/transfers/{ref}", response_model=TransferOut, tags=["locations"])
def get_transfer(ref: PathName, ctx: Reader) -> Any:
    with ctx.db.read() as conn:
        return transfers.get(conn, ref)


@router.post("/transfers/{ref}/receipts", response_model=TransferOut, status_code=201, tags=["locations"])
def receive_transfer(ref: PathName, body: TransferReceiptIn, ctx: Ops) -> Response:
    lines = [ln.model_dump() for ln in body.lines] if body.lines is not None else None
    return write(ctx, body, lambda conn: transfers.receive(conn, ref, lines, body.close_short, ctx.now), 201)
