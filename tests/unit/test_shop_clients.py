"""The shop stock clients against the stand-ins: find by SKU, set counts, throttling, refusals."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from allot.connectors.shop_clients import stock_client
from allot.connectors.shop_stock import ShopError
from allot.connectors.shopify_stock import ShopifyStock, sku_query
from allot.connectors.woocommerce_stock import WooStock
from allot.domain.destinations import Destinations
from tests.shop_standins import ShopifyStandIn, WooStandIn

TOKEN = "shpat_test_token_0123456789"


@pytest.fixture
def shopify() -> Iterator[ShopifyStandIn]:
    shop = ShopifyStandIn(TOKEN)
    yield shop
    shop.close()


@pytest.fixture
def woo() -> Iterator[WooStandIn]:
    shop = WooStandIn("ck_test", "cs_test")
    yield shop
    shop.close()


def shopify_client(shop: ShopifyStandIn, token: str = TOKEN) -> ShopifyStock:
    return ShopifyStock({"shop": "x.myshopify.com", "admin_token": token, "location_id": "1"}, shop.base)


def test_shopify_finds_items_by_sku_and_sets_available(shopify: ShopifyStandIn) -> None:
    shopify.add("LAMP", 7)
    shopify.add('ODD "SKU"', 1)
    client = shopify_client(shopify)
    found = client.find(["LAMP", "NOPE", 'ODD "SKU"'], counts=True)
    assert set(found) == {"LAMP", 'ODD "SKU"'}
    assert found["LAMP"].quantity == 7
    assert client.set([(found["LAMP"].ref, 3), (found['ODD "SKU"'].ref, 0)]) == {}
    assert shopify.count("LAMP") == 3 and shopify.count('ODD "SKU"') == 0


def test_shopify_names_an_unknown_item_and_still_sets_the_others(shopify: ShopifyStandIn) -> None:
    shopify.add("LAMP", 7)
    client = shopify_client(shopify)
    ref = client.find(["LAMP"])["LAMP"].ref
    refused = client.set([("gid://shopify/InventoryItem/999", 1), (ref, 4)])
    assert list(refused) == ["gid://shopify/InventoryItem/999"] and "INVALID_INVENTORY_ITEM" in refused[
        "gid://shopify/InventoryItem/999"]
    assert shopify.count("LAMP") == 4


def test_shopify_waits_for_the_cost_bucket_instead_of_failing(shopify: ShopifyStandIn) -> None:
    shopify.add("LAMP")
    client = shopify_client(shopify)
    ref = client.find(["LAMP"])["LAMP"].ref
    shopify.bucket.size = shopify.bucket.level = 30.0  # three mutations' worth
    shopify.bucket.rate = 200.0
    for n in range(20):
        assert client.set([(ref, n)]) == {}
    assert shopify.count("LAMP") == 19
    assert shopify.throttled <= 2  # it read the bucket from each answer and waited before asking


def test_shopify_gives_up_on_throttling_after_its_patience(shopify: ShopifyStandIn) -> None:
    shopify.bucket.size = shopify.bucket.level = 5.0  # a mutation (10) never fits
    shopify.add("LAMP")
    client = ShopifyStock({"shop": "x", "admin_token": TOKEN, "location_id": "1"}, shopify.base, patience=0.5)
    with pytest.raises(ShopError, match="THROTTLED"):
        client.set([("gid://shopify/InventoryItem/1", 1)])
    assert shopify.throttled >= 2


def test_shopify_bad_token_is_a_401_that_never_shows_the_token(shopify: ShopifyStandIn) -> None:
    with pytest.raises(ShopError) as refused:
        shopify_client(shopify, token="wrong-token-xyz").find(["LAMP"])
    assert "401" in str(refused.value) and "wrong-token-xyz" not in str(refused.value)
    assert "wrong-token-xyz" not in repr(shopify_client(shopify, token="wrong-token-xyz"))


def test_shopify_outage_is_a_retryable_error(shopify: ShopifyStandIn) -> None:
    shopify.down_for(5)
    with pytest.raises(ShopError, match="503") as failed:
        shopify_client(shopify).find(["LAMP"])
    assert failed.value.retry


def test_sku_query_quotes_every_sku() -> None:
    assert sku_query(["A", 'B"C']) == 'sku:"A" OR sku:"B\\"C"'


def test_woocommerce_finds_products_and_variations_across_pages(woo: WooStandIn) -> None:
    for n in range(120):
        woo.add(f"P{n}", stock=n)
    parent = woo.add("SHIRT", kind="variable")
    woo.add("SHIRT-M", stock=2, parent=parent)
    client = WooStock({"url": "shop.example", "consumer_key": "ck_test", "consumer_secret": "cs_test"}, woo.base)
    found = client.find([f"P{n}" for n in range(120)] + ["SHIRT-M", "NOPE"], counts=True)
    assert len(found) == 121 and "NOPE" not in found
    assert found["SHIRT-M"].ref.startswith("variation:") and found["SHIRT-M"].quantity == 2
    assert client.set([(found["P5"].ref, 0), (found["SHIRT-M"].ref, 9), ("product:9999", 1)]) == {
        "product:9999": "Invalid ID."}
    assert woo.stock("P5") == 0 and woo.stock("SHIRT-M") == 9


def test_woocommerce_bad_keys_are_a_401(woo: WooStandIn) -> None:
    client = stock_client("woocommerce", {"url": "x", "consumer_key": "ck_test", "consumer_secret": "bad"}, woo.base)
    with pytest.raises(ShopError, match="401"):
        client.find(["A"])


def test_woocommerce_refuses_plain_http_to_another_host() -> None:
    with pytest.raises(ShopError, match="https"):
        WooStock({"url": "x", "consumer_key": "k", "consumer_secret": "s"}, "http://shop.example")


SHOPIFY = {"shop": "x.myshopify.com", "admin_token": "t", "location_id": "1"}


@pytest.mark.parametrize("base", ["http://127.0.0.1:9", "http://169.254.169.254", "http://10.1.2.3:8080",
                                  "http://[::1]:9"])
def test_a_shop_at_a_private_address_is_refused_unless_the_installation_allows_it(base: str) -> None:
    """The push sends the shop's admin token: it goes to a private address only where ALLOT_WEBHOOK_ALLOW_PRIVATE
    says so, like a webhook (no request is made: refused before connecting)."""
    with pytest.raises(ShopError, match="refused") as refused:
        stock_client("shopify", SHOPIFY, base, destinations=Destinations.from_setting(""))
    assert refused.value.retry is False
    stock_client("shopify", SHOPIFY, base, destinations=Destinations.from_setting("1")).close()
