"""The v1 HTTP contract (BRIEF §5). Handlers only translate: the services hold the rules.

Every write goes through `deps.write`, which runs it in one transaction with its audit row.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.concurrency import run_in_threadpool

from allot.api import schemas as s
from allot.api.answers import ExplainOut
from allot.api.deps import (
    Admin,
    Ops,
    Reader,
    SaleReader,
    Seller,
    check_availability_channel,
    check_channels,
    check_hold,
    check_order,
    check_priority,
    check_query,
    hold_limits,
    sell,
    write,
)
from allot.api.problems import MAX_ID, problem_responses
from allot.domain.errors import Invalid
from allot.services import (
    audit,
    catalog,
    explain,
    keys,
    orders,
    outbox,
    payments,
    purchasing,
    reports,
    selling,
    shortages,
    stock,
)
from allot.services.book import Book, save_all

router = APIRouter(prefix="/v1", responses=problem_responses())
PathName = Annotated[str, Path(min_length=1, max_length=100, pattern=s.NAME_PATTERN)]
HoldId = Annotated[str, Path(pattern=s.HOLD_ID_PATTERN)]
ChannelQuery = Annotated[str | None, Query(min_length=1, max_length=100, pattern=s.NAME_PATTERN)]
Cursor = Annotated[int, Query(ge=0, le=MAX_ID)]
PageSize = Annotated[int, Query(ge=1, le=1000)]
LineNo = Annotated[int, Path(ge=1, le=1_000_000)]


def _status(result: dict[str, Any]) -> int:
    return 201 if result.pop("created", False) else 200


# The storefront's hot path first: routes are matched in the order they are declared.

@router.get("/availability/{sku}", response_model=s.AvailabilityOut, tags=["selling"])
async def availability(sku: PathName, ctx: SaleReader, channel: ChannelQuery = None) -> Any:
    check_availability_channel(ctx, channel)
    # The usual answer is one short read, run right here: under load, handing it to a worker
    # thread costs more than the read (GIL contention; docs/performance.md). Re-planning first, which
    # writes, goes to a thread.
    answer = reports.fresh_availability(ctx.db, sku, channel, ctx.now)
    if answer is None:
        answer = await run_in_threadpool(reports.current_availability, ctx.db, sku, channel, ctx.now)
    return answer


@router.post("/holds", response_model=s.HoldOut, status_code=201, tags=["selling"],
             responses={409: {"description": "refused: `available` says what the channel could get"},
                        **problem_responses(429)})  # drops: a key's rate_per_second
async def place_hold(body: s.HoldIn, ctx: Seller) -> Response:
    check_channels(ctx, [body.channel])
    key_id, limits = ctx.principal.key_id, hold_limits(ctx)
    return await sell(ctx, body, lambda conn: selling.place_hold(
        conn, body.sku, body.qty, body.channel, body.ttl_seconds, ctx.now, key_id, limits, body.customer),
        [body.sku], customers=[body.customer] if body.customer else ())


@router.get("/holds/{hold_id}", response_model=s.HoldOut, tags=["selling"])
def get_hold(hold_id: HoldId, ctx: SaleReader) -> Any:
    with ctx.db.read() as conn:
        check_hold(ctx, conn, hold_id)
        return selling.get_hold(conn, hold_id, ctx.now)


@router.delete("/holds/{hold_id}", response_model=s.HoldOut, tags=["selling"])
def release_hold(hold_id: HoldId, ctx: Seller) -> Response:
    def op(conn: Any) -> dict[str, Any]:
        check_hold(ctx, conn, hold_id)
        return selling.release_hold(conn, hold_id, ctx.now)

    return write(ctx, None, op)


@router.post("/orders", response_model=s.OrderOut, status_code=201, tags=["selling"],
             responses={409: {"description": "refused: `available` says what the channel could get"},
                        **problem_responses(410, 429)})  # 429 (drops): a key's rate_per_second
async def place_order(body: s.OrderIn, ctx: Seller) -> Response:
    check_channels(ctx, [body.channel])
    check_priority(ctx, body.priority)
    lines = [ln.model_dump() for ln in body.lines]

    def op(conn: Any) -> dict[str, Any]:
        for line in body.lines:
            if line.hold_id:
                check_hold(ctx, conn, line.hold_id)
        selling.place_order(conn, body.ref, body.channel, body.priority, body.customer, lines, ctx.now,
                            selling.Extras(email=body.email))
        payments.record_terms(conn, body.ref, body.payment.model_dump() if body.payment else None, lines, ctx.now)
        return orders.get(conn, body.ref)

    return await sell(ctx, body, op, sorted({ln.sku for ln in body.lines}),
                      customers=[body.customer] if body.customer else ())


@router.get("/ping", tags=["meta"])
async def ping(ctx: Reader) -> dict[str, bool]:
    """Authenticated no-op: the framework's ceiling, a benchmark baseline."""
    return {"ok": True}


@router.put("/skus/{sku}", response_model=s.SkuOut, tags=["catalog"],
            responses={201: {"model": s.SkuOut, "description": "created"}})
def put_sku(sku: PathName, body: s.SkuIn, ctx: Ops) -> Response:
    return write(ctx, body, lambda conn: catalog.put_sku(conn, sku, body.model_dump(), ctx.now), _status)


@router.get("/skus/{sku}", response_model=s.SkuOut, tags=["catalog"])
def get_sku(sku: PathName, ctx: Reader) -> Any:
    with ctx.db.read() as conn:
        return catalog.get_sku(conn, sku)


@router.get("/skus/{sku}/backordered", response_model=s.BackorderedOut, tags=["short shipments"])
def backordered(sku: PathName, ctx: Reader) -> Any:
    reports.tidy(ctx.db, sku, ctx.now)
    with ctx.db.read() as conn:
        return shortages.backordered(conn, sku, ctx.now)


@router.post("/skus/{sku}/backordered/cancel", response_model=s.BackorderedOut, tags=["short shipments"])
def cancel_backordered(sku: PathName, body: s.BackorderCancelIn, ctx: Ops) -> Response:
    lines = [ln.model_dump() for ln in body.lines] if body.lines else None
    return write(ctx, body, lambda conn: shortages.cancel(conn, sku, body.reason, lines, body.whole_line, ctx.now))


@router.post("/skus/{sku}/backordered/keep", response_model=s.BackorderedOut, tags=["short shipments"])
def keep_backordered(sku: PathName, body: s.BackorderKeepIn, ctx: Ops) -> Response:
    lines = [ln.model_dump() for ln in body.lines] if body.lines else None
    return write(ctx, body, lambda conn: shortages.keep(conn, sku, body.reason, lines, ctx.now))


@router.put("/channels/{channel}", response_model=s.ChannelOut, tags=["catalog"],
            responses={201: {"model": s.ChannelOut, "description": "created"}})
def put_channel(channel: PathName, body: s.ChannelIn, ctx: Ops) -> Response:
    return write(ctx, body, lambda conn: catalog.put_channel(conn, channel, body.model_dump(), ctx.now), _status)


@router.put("/skus/{sku}/channels/{channel}", response_model=s.QuotaOut, tags=["catalog"],
            responses={201: {"model": s.QuotaOut, "description": "created"}})
def put_quota(sku: PathName, channel: PathName, body: s.QuotaIn, ctx: Ops) -> Response:
    return write(ctx, body, lambda conn: catalog.put_quota(conn, sku, channel, body.quota, ctx.now,
                                                           body.opens_at, body.closes_at), _status)


@router.post("/stock/adjustments", response_model=s.StockOut, status_code=201, tags=["stock"])
def adjust_stock(body: s.AdjustmentIn, ctx: Ops) -> Response:
    return write(ctx, body, lambda conn: stock.adjust(conn, body.sku, body.delta, body.reason, ctx.now,
                                                                  body.location), 201)


@router.post("/stock/counts", response_model=s.StockOut, status_code=201, tags=["stock"])
def count_stock(body: s.CountIn, ctx: Ops) -> Response:
    return write(ctx, body, lambda conn: stock.count(conn, body.sku, body.on_hand, body.reason, ctx.now,
                                                                 body.location), 201)


@router.post("/purchase-orders", response_model=s.PoOut, status_code=201, tags=["purchasing"])
def create_po(body: s.PoIn, ctx: Ops) -> Response:
    lines = [ln.model_dump() for ln in body.lines]
    return write(ctx, body, lambda conn: purchasing.create(conn, body.ref, body.supplier, lines, ctx.now,
                                                                        body.location), 201)


@router.get("/purchase-orders/{ref}", response_model=s.PoOut, tags=["purchasing"])
def get_po(ref: PathName, ctx: Reader) -> Any:
    with ctx.db.read() as conn:
        return purchasing.get(conn, ref)


@router.patch("/purchase-orders/{ref}/lines/{n}", response_model=s.PoOut, tags=["purchasing"])
def patch_po_line(ref: PathName, n: LineNo, body: s.PoLinePatch, ctx: Ops) -> Response:
    return write(ctx, body, lambda conn: purchasing.update_line(conn, ref, n, body.expected_date, body.qty, ctx.now))


@router.post("/purchase-orders/{ref}/receipts", response_model=s.PoOut, status_code=201, tags=["purchasing"])
def receive_po(ref: PathName, body: s.ReceiptIn, ctx: Ops) -> Response:
    lines = [ln.model_dump() for ln in body.lines]
    return write(ctx, body, lambda conn: purchasing.receive(conn, ref, lines, body.close_short, ctx.now), 201)


@router.post("/purchase-orders/{ref}/cancel", response_model=s.PoOut, tags=["purchasing"])
def cancel_po(ref: PathName, ctx: Ops) -> Response:
    return write(ctx, None, lambda conn: purchasing.cancel(conn, ref, ctx.now))


@router.get("/orders/{ref}", response_model=s.OrderOut, tags=["orders"])
def get_order(ref: PathName, ctx: SaleReader) -> Any:
    with ctx.db.read() as conn:
        check_order(ctx, conn, ref)
        overdue = orders.consent_overdue(conn, ref, ctx.now)
    if overdue:  # a consent deadline passed: apply its default now, at read time
        with ctx.db.write() as conn:
            save_all(Book.open(conn, overdue, ctx.now).values())
    with ctx.db.read() as conn:
        return orders.get(conn, ref)


@router.get("/orders/{ref}/lines/{n}/explain", response_model=ExplainOut, tags=["orders"])
def explain_line(ref: PathName, n: LineNo, ctx: Reader) -> Any:
    """Why a line ships when it ships: queue position, covering supply, promise history."""
    with ctx.db.read() as conn:
        return explain.explain_line(conn, ref, n, ctx.now)


@router.post("/orders/{ref}/lines/{n}/consent", response_model=s.OrderOut, tags=["orders"],
             responses={409: {"description": "no open consent request on that line"}})
def answer_consent(ref: PathName, n: Annotated[int, Path(ge=1)], body: s.ConsentIn, ctx: Seller) -> Response:
    with ctx.db.read() as conn:
        check_order(ctx, conn, ref)
    return write(ctx, body, lambda conn: orders.answer_consent(conn, ref, n, body.accept, ctx.now))


@router.post("/orders/{ref}/cancel", response_model=s.OrderOut, tags=["orders"])
def cancel_order(ref: PathName, ctx: Ops, body: s.CancelIn | None = None) -> Response:
    lines = [ln.model_dump() for ln in body.lines] if body and body.lines else None
    return write(ctx, body, lambda conn: orders.cancel(conn, ref, lines, ctx.now))


@router.post("/orders/{ref}/shipments", response_model=s.OrderOut, status_code=201, tags=["orders"])
def ship_order(ref: PathName, body: s.ShipmentIn, ctx: Ops) -> Response:
    lines = [ln.model_dump() for ln in body.lines]
    return write(ctx, body, lambda conn: orders.ship(conn, ref, lines, ctx.now), 201)


@router.get("/events", response_model=s.EventPage, tags=["events"])
def events(ctx: Reader, after: Cursor = 0, limit: PageSize = 100,
           sku: Annotated[str | None, Query(max_length=100, pattern=s.NAME_PATTERN)] = None,
           kind: Annotated[str | None, Query(alias="type", max_length=100, pattern=s.EVENT_TYPE_PATTERN,
                                             description="an event type, or a family such as `order_line.*`")] = None,
           order_ref: Annotated[str | None, Query(max_length=100, pattern=s.NAME_PATTERN)] = None) -> Any:
    """Published events in order after a cursor, optionally only of a type (or family), a SKU or an order."""
    check_query(ctx.request, {"after", "limit", "sku", "type", "order_ref"})
    with ctx.db.read() as conn:
        behind = outbox.behind(conn)
    if behind:  # publish what has committed since the relay last ran, so a reader never waits for it
        with ctx.db.write() as conn:
            outbox.sequence(conn)
    with ctx.db.read() as conn:
        return reports.event_page(conn, after, limit, sku, kind, order_ref)


@router.get("/keys", response_model=list[s.KeyOut], tags=["keys"])
def list_keys(ctx: Admin) -> Any:
    with ctx.db.read() as conn:
        return keys.list_keys(conn)


@router.post("/keys", response_model=s.KeyCreated, status_code=201, tags=["keys"])
def create_key(body: s.KeyIn, ctx: Admin) -> Response:
    # Not replayable: the answer holds the secret, which must never be stored.
    limits = {"max_hold_ttl_seconds": body.max_hold_ttl_seconds, "max_held_units": body.max_held_units}
    return write(ctx, body, lambda conn: keys.create(conn, body.name, body.role, body.channels, ctx.now,
                                                     limits=limits, rate_per_second=body.rate_per_second),
                 201, replayable=False)


@router.delete("/keys/{key_id}", status_code=204, tags=["keys"])
def revoke_key(key_id: Annotated[int, Path(ge=1, le=MAX_ID)], ctx: Admin) -> Response:
    answer = write(ctx, None, lambda conn: keys.revoke(conn, key_id, ctx.now, by=ctx.principal.key_id), 204)
    ctx.request.app.state.key_cache.forget(key_id)  # other processes notice within the cache's lifetime
    return answer


@router.get("/audit", response_model=s.AuditPage, tags=["audit"])
def audit_log(
    ctx: Admin,
    after: Cursor = 0,
    limit: PageSize = 100,
    key_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    role: Annotated[s.AuditRole | None, Query()] = None,
    action: Annotated[str | None, Query(max_length=60, pattern=r"^[a-z_]+$")] = None,
    method: Annotated[str | None, Query(pattern=r"^(POST|PUT|PATCH|DELETE)$")] = None,
    request_id: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9._:\-]+$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    """Every change, oldest first, with who made it; nothing in the API can alter an entry."""
    filters = audit.Filters(key_id, role, action, method, request_id, _utc(since, "since"), _utc(until, "until"))
    with ctx.db.read() as conn:
        return audit.page(conn, after, limit, filters)


def _utc(moment: datetime | None, field: str) -> datetime | None:
    if moment is None:
        return None
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:
        raise Invalid(field, "out of range") from None
