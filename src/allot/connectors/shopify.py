"""Shopify's order webhooks, translated into Allot's commands (BRIEF §7).

orders/create places the order `{channel}-{order_number}`; orders/cancelled cancels what is not
shipped; refunds/create cancels the units of refund lines whose `restock_type` is `cancel`;
fulfillments/create ships its line items. Lines are matched by Shopify's line-item `id`.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from allot.connectors.storefront import Connector, Loose, parse
from allot.services.ingest import CancelOrder, CancelUnits, Command, PlaceOrder, ShipUnits, ShopLine, Units

Id = Annotated[str, Field(min_length=1, max_length=100)]
Number = Annotated[str, Field(min_length=1, max_length=60)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
Text = Annotated[str, Field(max_length=320)]


class Customer(Loose):
    id: Id | None = None


class LineItem(Loose):
    id: Id
    sku: str | None = None  # any length: one Allot cannot keep is simply not one it manages
    quantity: Count
    name: str | None = None


class Order(Loose):
    order_number: Number
    email: Text | None = None
    customer: Customer | None = None
    line_items: list[LineItem]


class RefundLine(Loose):
    line_item_id: Id
    quantity: Count
    restock_type: str | None = None


class Refund(Loose):
    refund_line_items: list[RefundLine]


class FulfilledLine(Loose):
    id: Id
    quantity: Count


class Fulfillment(Loose):
    status: str | None = None
    line_items: list[FulfilledLine]


def translate(topic: str, body: bytes) -> Command | None:
    """One Shopify delivery as an Allot command; None for a topic that changes nothing."""
    if topic == "orders/create":
        order = parse(body, Order)
        customer = order.customer.id if order.customer else None
        lines = tuple(ShopLine(li.id, (li.sku or "").strip() or None, li.quantity, li.name) for li in order.line_items)
        return PlaceOrder(order.order_number, customer, order.email or None, lines)
    if topic == "orders/cancelled":
        return CancelOrder(parse(body, Order).order_number)
    if topic == "refunds/create":
        refund = parse(body, Refund)
        return CancelUnits(tuple(Units(r.line_item_id, r.quantity) for r in refund.refund_line_items
                                 if r.restock_type == "cancel" and r.quantity > 0))
    if topic == "fulfillments/create":
        fulfillment = parse(body, Fulfillment)
        if fulfillment.status in ("cancelled", "failure", "error"):
            return None  # nothing left the warehouse
        return ShipUnits(tuple(Units(li.id, li.quantity) for li in fulfillment.line_items if li.quantity > 0))
    return None


CONNECTOR = Connector(
    platform="shopify",
    signature_header="x-shopify-hmac-sha256",
    topic_header="x-shopify-topic",
    delivery_header="x-shopify-webhook-id",
    translate=translate,
)
