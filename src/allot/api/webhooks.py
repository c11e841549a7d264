"""Webhook endpoints: subscribe, list, stop; see every delivery and send dead letters again."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from allot.api import schemas as s
from allot.api.deps import Admin, write
from allot.api.problems import MAX_ID, problem_responses
from allot.services import webhooks

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=problem_responses())
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("", response_model=s.WebhookOut, status_code=201)
def create(body: s.WebhookIn, ctx: Admin) -> Response:
    webhooks.check_destination(body.url, ctx.request.app.state.destinations)  # before the transaction: DNS
    return write(ctx, body, lambda conn: webhooks.create(conn, body.url, body.events, body.secret,
                                                         body.max_attempts, ctx.now), 201)


@router.get("", response_model=s.WebhookList)
def list_all(ctx: Admin) -> Any:
    with ctx.db.read() as conn:
        return {"webhooks": webhooks.list_all(conn)}


@router.get("/{webhook_id}", response_model=s.WebhookOut)
def get(webhook_id: Id, ctx: Admin) -> Any:
    with ctx.db.read() as conn:
        return webhooks.get(conn, webhook_id)


@router.delete("/{webhook_id}", status_code=204)
def delete(webhook_id: Id, ctx: Admin) -> Response:
    return write(ctx, None, lambda conn: webhooks.delete(conn, webhook_id, ctx.now), 204)


@router.get("/{webhook_id}/deliveries", response_model=s.DeliveryPage)
def deliveries(
    webhook_id: Id,
    ctx: Admin,
    status: Literal["pending", "sending", "delivered", "dead"] | None = None,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    with ctx.db.read() as conn:
        return webhooks.deliveries(conn, webhook_id, status, after, limit)


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver", response_model=s.DeliveryOut)
def redeliver(webhook_id: Id, delivery_id: Id, ctx: Admin) -> Response:
    return write(ctx, None, lambda conn: webhooks.redeliver(conn, webhook_id, delivery_id, ctx.now))


@router.post("/{webhook_id}/redeliver", response_model=s.RequeuedOut)
def redeliver_dead(webhook_id: Id, ctx: Admin) -> Response:
    """Send every dead letter of this webhook again."""
    return write(ctx, None, lambda conn: webhooks.redeliver_dead(conn, webhook_id, ctx.now))
