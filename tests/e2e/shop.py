"""A pretend shop: payloads in each platform's documented shape (tests/fixtures), signed as the platform signs."""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.world import channel, ok, unique

FIXTURES = Path(__file__).parent.parent / "fixtures"
HEADERS = {
    "shopify": ("X-Shopify-Hmac-Sha256", "X-Shopify-Topic", "X-Shopify-Webhook-Id"),
    "woocommerce": ("X-WC-Webhook-Signature", "X-WC-Webhook-Topic", "X-WC-Webhook-Delivery-ID"),
}
CREATED = {"shopify": "orders/create", "woocommerce": "order.created"}


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class Shop:
    """One connected channel and the shop behind it."""

    def __init__(self, api: httpx.Client, platform: str, **channel_rules: Any) -> None:
        self.api, self.platform = api, platform
        self.channel = channel(api, **channel_rules)
        self.secret = f"whsec-{uuid.uuid4().hex}"
        ok(api.put(f"/v1/channels/{self.channel}/storefront", json={"platform": platform, "secret": self.secret}),
           201)
        self.url = f"/v1/storefronts/{self.channel}/webhooks"

    def post(self, topic: str, body: bytes, delivery_id: str | None = None, *, signed_body: bytes | None = None,
             secret: str | None = None) -> httpx.Response:
        """Deliver `body`, signed over `signed_body` (default: the body itself) with `secret`."""
        sig, top, did = HEADERS[self.platform]
        headers = {"Content-Type": "application/json", top: topic, did: delivery_id or uuid.uuid4().hex,
                   sig: signature(secret or self.secret, body if signed_body is None else signed_body)}
        # No API key: the signature is the authentication.
        return httpx.post(f"{self.api.base_url}{self.url}", content=body, headers=headers, timeout=30)

    def send(self, topic: str, payload: dict[str, Any], delivery_id: str | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = ok(self.post(topic, json.dumps(payload).encode(), delivery_id), 200)
        return answer

    # -- payloads ------------------------------------------------------------------------------

    def order(self, number: int, managed: list[tuple[str, int]]) -> dict[str, Any]:
        """The platform's order fixture with its managed lines' SKUs and quantities set; it keeps a line
        without a SKU and one with a SKU Allot does not manage."""
        if self.platform == "shopify":
            data = fixture("shopify_orders_create")
            data["order_number"], data["name"] = number, f"#{number}"
        else:
            data = fixture("woocommerce_order_created")
            data["id"], data["number"] = number, str(number)
        items = data["line_items"]
        managed_items, rest = items[:2], items[2:]
        for item, (sku, qty) in zip(managed_items, managed, strict=False):
            item["sku"], item["quantity"] = sku, qty
        data["line_items"] = managed_items[:len(managed)] + rest
        rest[-1]["sku"] = unique("NOT-MANAGED")
        return data

    def line_id(self, order: dict[str, Any], i: int) -> int:
        line_id: int = order["line_items"][i]["id"]
        return line_id

    def cancelled(self, order: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The platform's delivery for the whole order being cancelled."""
        done = copy.deepcopy(order)
        if self.platform == "shopify":
            done |= {"cancelled_at": "2026-11-30T11:00:00-05:00", "cancel_reason": "customer",
                     "financial_status": "voided"}
            return "orders/cancelled", done
        done["status"] = "cancelled"
        return "order.updated", done


def refund(order: dict[str, Any], line: int, qty: int, restock_type: str = "cancel") -> dict[str, Any]:
    data = fixture("shopify_refunds_create")
    data["order_id"] = order["id"]
    data["refund_line_items"][0] |= {"line_item_id": order["line_items"][line]["id"], "quantity": qty,
                                     "restock_type": restock_type}
    return data


def fulfillment(order: dict[str, Any], *lines: tuple[int, int]) -> dict[str, Any]:
    data = fixture("shopify_fulfillments_create")
    data["order_id"] = order["id"]
    template = data["line_items"][0]
    data["line_items"] = [template | {"id": order["line_items"][i]["id"], "quantity": qty} for i, qty in lines]
    return data
