"""WooCommerce's order webhooks, translated into Allot's commands (BRIEF §7).

order.created places the order `{channel}-{number}`; order.updated to `cancelled` or `refunded`
cancels what is not shipped. WooCommerce pings a new webhook's URL with an unsigned
form body `webhook_id=N` and saves the webhook only if the answer is 200.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import Field

from allot.connectors.storefront import Connector, Loose, parse
from allot.services.ingest import CancelOrder, Command, PlaceOrder, ShopLine

Id = Annotated[str, Field(min_length=1, max_length=100)]
Number = Annotated[str, Field(min_length=1, max_length=60)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
PING = re.compile(rb"^webhook_id=[0-9]{1,20}$")
CLOSED = ("cancelled", "refunded")  # no unit of the order will ship
# Created already closed: nothing to plan. A `failed` one is placed: its payment may be retried, and
# WooCommerce then sends no second order.created.
NOT_PLACED = (*CLOSED, "trash")


class Billing(Loose):
    email: Annotated[str, Field(max_length=320)] | None = None


class LineItem(Loose):
    id: Id
    sku: str | None = None  # any length: one Allot cannot keep is simply not one it manages
    quantity: Count
    name: str | None = None


class Order(Loose):
    number: Number
    status: str | None = None
    customer_id: Id | None = None
    billing: Billing | None = None
    line_items: list[LineItem]


class Status(Loose):
    number: Number
    status: str


def translate(topic: str, body: bytes) -> Command | None:
    """One WooCommerce delivery as an Allot command; None for a topic that changes nothing."""
    if topic == "order.created":
        order = parse(body, Order)
        if order.status in NOT_PLACED:
            return None  # nothing to plan
        customer = order.customer_id if order.customer_id not in (None, "0") else None
        email = order.billing.email if order.billing and order.billing.email else None
        lines = tuple(ShopLine(li.id, (li.sku or "").strip() or None, li.quantity, li.name) for li in order.line_items)
        return PlaceOrder(order.number, customer, email, lines)
    if topic == "order.updated":
        update = parse(body, Status)
        return CancelOrder(update.number) if update.status in CLOSED else None
    return None


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    return "x-wc-webhook-topic" not in headers and PING.match(body.strip()) is not None


CONNECTOR = Connector(
    platform="woocommerce",
    signature_header="x-wc-webhook-signature",
    topic_header="x-wc-webhook-topic",
    delivery_header="x-wc-webhook-delivery-id",
    translate=translate,
    is_ping=is_ping,
    # WooCommerce makes a delivery id from the webhook id and the current second: two orders in
    # one second share it, and a retry gets a new one. The body tells deliveries apart.
    unique_delivery_ids=False,
)
