"""The platform connectors: signatures over raw bytes, and payloads in each platform's shape translated."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allot.connectors import shopify, woocommerce
from allot.connectors.storefront import UnreadablePayload, sign, signed
from allot.domain.errors import Invalid
from allot.services.ingest import CancelOrder, CancelUnits, PlaceOrder, ShipUnits, ShopLine, Units

FIXTURES = Path(__file__).parent.parent / "fixtures"


def raw(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


@given(st.text(min_size=1, max_size=50), st.binary(max_size=500))
def test_a_body_signed_with_the_secret_verifies(secret: str, body: bytes) -> None:
    assert signed(secret, body, sign(secret, body))


@given(st.text(min_size=1, max_size=50), st.binary(min_size=1, max_size=500), st.data())
def test_any_changed_byte_breaks_the_signature(secret: str, body: bytes, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(body) - 1))
    tampered = body[:i] + bytes([body[i] ^ data.draw(st.integers(1, 255))]) + body[i + 1:]
    assert not signed(secret, tampered, sign(secret, body))


def test_no_or_another_secrets_signature_does_not_verify() -> None:
    assert not signed("s", b"{}", None)
    assert not signed("s", b"{}", "")
    assert not signed("s", b"{}", sign("t", b"{}"))
    assert not signed("s", b"{}", "\u00e9\u00e9")  # not even ASCII


def test_a_shopify_order_keeps_every_line_for_the_service_to_sort() -> None:
    placed = shopify.translate("orders/create", raw("shopify_orders_create"))
    assert placed == PlaceOrder("1001", "7012345678901", "ada.lovelace@example.com", (
        ShopLine("14620001000001", "AURORA-LAMP", 2, "Aurora Lamp - Brass"),
        ShopLine("14620001000002", "MUG-SAND", 1, "Ceramic Mug - Sand"),
        ShopLine("14620001000003", None, 1, "Gift Card - $10"),
        ShopLine("14620001000004", "STICKERS-3", 1, "Sticker Pack")))


def test_shopify_refunds_cancel_only_cancel_lines_and_fulfilments_ship() -> None:
    assert shopify.translate("refunds/create", raw("shopify_refunds_create")) == CancelUnits(
        (Units("14620001000001", 1),))
    assert shopify.translate("fulfillments/create", raw("shopify_fulfillments_create")) == ShipUnits(
        (Units("14620001000001", 2),))
    assert shopify.translate("orders/cancelled", raw("shopify_orders_create")) == CancelOrder("1001")
    assert shopify.translate("products/update", b"not even json") is None


def test_a_failed_fulfilment_ships_nothing() -> None:
    failed = json.loads(raw("shopify_fulfillments_create")) | {"status": "failure"}
    assert shopify.translate("fulfillments/create", json.dumps(failed).encode()) is None


def test_a_woocommerce_order_and_its_closing_statuses() -> None:
    placed = woocommerce.translate("order.created", raw("woocommerce_order_created"))
    assert isinstance(placed, PlaceOrder)
    assert (placed.number, placed.customer, placed.email) == ("727", "26", "grace.hopper@example.com")
    assert [(ln.external_id, ln.sku, ln.qty) for ln in placed.lines] == [
        ("315", "AURORA-LAMP", 2), ("316", "MUG-SAND", 1), ("317", None, 1), ("318", "STICKERS-3", 1)]
    order = json.loads(raw("woocommerce_order_created"))
    for status, command in [("cancelled", CancelOrder("727")), ("refunded", CancelOrder("727")),
                            ("completed", None), ("on-hold", None)]:
        assert woocommerce.translate("order.updated", json.dumps(order | {"status": status}).encode()) == command
    guest = order | {"customer_id": 0}
    guest_order = woocommerce.translate("order.created", json.dumps(guest).encode())
    assert isinstance(guest_order, PlaceOrder) and guest_order.customer is None


def test_woocommerce_ping_is_recognised_only_without_a_topic() -> None:
    assert woocommerce.is_ping({}, b"webhook_id=12")
    assert not woocommerce.is_ping({"x-wc-webhook-topic": "order.created"}, b"webhook_id=12")
    assert not woocommerce.is_ping({}, b'{"webhook_id": 12}')


@pytest.mark.parametrize(("body", "field"), [
    (b'{"order_number": 1}', "line_items"),
    (b'{"order_number": 1, "line_items": [{"id": 1}]}', "line_items.0.quantity"),
    (b'{"order_number": 1, "line_items": [{"id": 1, "quantity": -1}]}', "line_items.0.quantity"),
    (b'{"line_items": []}', "order_number"),
    (b"[1, 2]", "body"),
])
def test_a_shopify_order_missing_a_field_names_it(body: bytes, field: str) -> None:
    with pytest.raises(Invalid) as bad:
        shopify.translate("orders/create", body)
    assert bad.value.field == field


def test_a_body_that_is_not_json_is_unreadable() -> None:
    with pytest.raises(UnreadablePayload):
        shopify.translate("orders/create", b"\xff\xfe{")


def test_a_line_with_a_sku_or_name_longer_than_allot_keeps_is_still_read() -> None:
    order = json.loads(raw("shopify_orders_create"))
    order["line_items"][3] |= {"sku": "S" * 300, "name": "N" * 1000}
    placed = shopify.translate("orders/create", json.dumps(order).encode())
    assert isinstance(placed, PlaceOrder) and placed.lines[3].sku == "S" * 300


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800"])
@pytest.mark.parametrize("field", ["email", "sku", "name"])
def test_text_no_database_can_keep_is_refused_naming_the_field(bad: str, field: str) -> None:
    """NUL and lone surrogates would fail in the database (500, retried for ever): they are a 422 instead."""
    order = json.loads(raw("shopify_orders_create"))
    if field == "email":
        order["email"] = bad
    else:
        order["line_items"][0][field] = bad
    with pytest.raises(Invalid) as refused:
        shopify.translate("orders/create", json.dumps(order).encode())
    assert field in str(refused.value.field)
