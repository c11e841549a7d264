"""The shop's webhooks in (BRIEF §7): no API key; the platform's HMAC over the raw body authenticates.

The body is read as bytes before anything parses it, checked against the channel's secret in
constant time, then translated by the platform's connector and applied once (services/ingest.py).
"""
from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import Headers

from allot.api import problems
from allot.api.middleware import request_id
from allot.api.schemas import NAME_PATTERN
from allot.connectors.registry import CONNECTORS
from allot.connectors.storefront import Connector, signed
from allot.domain.errors import AllotError, Invalid
from allot.services import ingest, storefronts
from allot.store.db import Database

log = logging.getLogger("allot.storefronts")
router = APIRouter(tags=["storefronts"])
MAX_CHANNEL = 100
CHANNEL = re.compile(NAME_PATTERN)
Channel = Annotated[str, Path(min_length=1, max_length=MAX_CHANNEL, pattern=NAME_PATTERN)]


class DeliveryAnswer(BaseModel):
    delivery_id: str | None
    topic: str | None
    outcome: str  # applied, ignored, skipped, duplicate, ping
    order_ref: str | None = None
    detail: str | None = None


PAYLOAD = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "the platform's webhook payload, signed over its raw bytes"}}}},
    "parameters": [{"name": header, "in": "header", "required": False, "schema": {"type": "string"}}
                   for header in ("X-Shopify-Hmac-Sha256", "X-Shopify-Topic", "X-Shopify-Webhook-Id",
                                  "X-WC-Webhook-Signature", "X-WC-Webhook-Topic", "X-WC-Webhook-Delivery-ID")]}


@router.post("/v1/storefronts/{channel}/webhooks", response_model=DeliveryAnswer, openapi_extra=PAYLOAD,
             responses=problems.problem_responses(400, 401, 413, 422))
async def receive(channel: Channel, request: Request) -> Response:
    """A Shopify or WooCommerce webhook for the connected channel; signed, so no API key."""
    body = await request.body()  # the exact bytes the platform signed
    state = request.app.state
    # One short read, on the event loop: a hand-off to a thread costs more (as for availability).
    shop = _shop(state.db, channel)
    connector = CONNECTORS.get(shop.platform) if shop else None
    if shop is None or connector is None:
        return _refuse(channel, "no storefront is connected to this channel")
    if connector.is_ping(request.headers, body):
        return _answer({"delivery_id": None, "topic": None, "outcome": "ping"})
    delivery = connector.read(request.headers)
    if not signed(shop.secret, body, delivery.signature):
        why = "no signature" if not delivery.signature else "the signature does not match"
        return _refuse(channel, f"{why} ({connector.signature_header})")
    got = _received(shop, connector, request.headers, body, request_id(request.scope), request.scope["path"])
    now = state.clock()
    try:
        if not got.topic:
            raise Invalid(connector.topic_header, "missing: the header that names the webhook's topic")
        command = connector.translate(got.topic, body)
    except AllotError as bad:  # signed but unreadable: recorded, so a redelivery changes nothing
        outcome = await run_in_threadpool(_record, state.db, got, bad, problems.status_of(bad), now)
        log.warning("rejected %s delivery %r for channel %r: %s", shop.platform, got.delivery_id, shop.channel,
                    bad.detail)
        return _answer(_view(got, outcome)) if outcome.outcome == "duplicate" else _problem(bad)
    try:
        outcome = await _apply(state, got, command, now)
    except (AllotError, IntegrityError) as failed:  # rolled back whole; the shop did it, so still 200
        outcome = await run_in_threadpool(_record, state.db, got, failed, 200, now)
    return _answer(_view(got, outcome))


def _shop(db: Database, channel: str) -> storefronts.Storefront | None:
    if len(channel) > MAX_CHANNEL or not CHANNEL.fullmatch(channel):  # no channel is named otherwise
        return None
    with db.read_one() as conn:
        return storefronts.connection(conn, channel)


def _received(shop: storefronts.Storefront, connector: Connector, headers: Headers, body: bytes, rid: str,
              path: str) -> ingest.Received:
    delivery = connector.read(headers)
    delivery_id = (delivery.delivery_id or "").strip()[:200]
    # Without an id, the body is what a redelivery repeats.
    key = connector.delivery_key(delivery_id, body) if delivery_id else f"sha256:{hashlib.sha256(body).hexdigest()}"
    return ingest.Received(shop.channel, shop.platform, (delivery.topic or "").strip()[:100], delivery_id, key,
                           rid, path)


async def _apply(state: Any, got: ingest.Received, command: ingest.Command | None, now: datetime) -> ingest.Outcome:
    """A new order joins the group commit of sales (services/batching.py), like `POST /v1/orders`;
    anything else is rare and runs in a transaction of its own."""
    batcher = state.batcher
    skus = sorted({ln.sku for ln in command.lines if ln.sku}) if isinstance(command, ingest.PlaceOrder) else []
    if batcher is None or not skus:
        return await run_in_threadpool(_transact, state.db, got, command, now)
    outcome: ingest.Outcome = await batcher.sell(skus, lambda conn: ingest.receive(conn, got, command, now), now)
    return outcome


def _transact(db: Database, got: ingest.Received, command: ingest.Command | None, now: datetime) -> ingest.Outcome:
    with db.write() as conn:
        return ingest.receive(conn, got, command, now)


def _record(db: Database, got: ingest.Received, error: Exception, status: int, now: datetime) -> ingest.Outcome:
    with db.write() as conn:
        return ingest.refuse(conn, got, error, status, now)


def _refuse(channel: str, why: str) -> Response:
    """401, nothing written, one log line (never the secret or the signature)."""
    log.warning("refused a storefront webhook for channel %r: %s", channel[:MAX_CHANNEL], why)
    return problems.problem(401, "unauthorized", "Unauthorized", why, headers=None)


def _problem(error: AllotError) -> Response:
    status, content = problems.of(error)
    return JSONResponse(content, status_code=status, media_type=problems.MEDIA_TYPE)


def _view(got: ingest.Received, outcome: ingest.Outcome) -> dict[str, Any]:
    return {"delivery_id": got.delivery_id, "topic": got.topic, "outcome": outcome.outcome,
            "order_ref": outcome.order_ref, "detail": outcome.detail}


def _answer(content: Mapping[str, Any]) -> Response:
    return JSONResponse(dict(content), status_code=200)

