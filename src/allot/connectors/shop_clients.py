"""The stock client for a storefront connection's platform."""
from __future__ import annotations

from allot.connectors.shop_stock import ShopError, ShopStock, base_url, loopback
from allot.connectors.shopify_stock import ShopifyStock
from allot.connectors.woocommerce_stock import WooStock

ADDRESS = {"shopify": "shop", "woocommerce": "url"}


def stock_client(platform: str, credentials: dict[str, str], api_base: str | None, timeout: float = 10.0,
                 only_loopback: bool = False) -> ShopStock:
    """The platform's client; a connection without the credentials it needs cannot push.

    `only_loopback` (ALLOT_SHOP_PUSH_LOOPBACK_ONLY, set by the test suite) refuses every shop that
    is not on this machine, so a test that connects a made-up shop never calls out.
    """
    if platform not in ADDRESS:
        raise ShopError(f"no stock client for platform {platform!r}", retry=False)
    try:
        if only_loopback and not loopback(base_url(api_base, credentials[ADDRESS[platform]])):
            raise ShopError("refused: only shops on this machine (ALLOT_SHOP_PUSH_LOOPBACK_ONLY)", retry=False)
        if platform == "shopify":
            return ShopifyStock(credentials, api_base, timeout)
        return WooStock(credentials, api_base, timeout)
    except KeyError as e:
        raise ShopError(f"the connection lacks the credential {e.args[0]!r}", retry=False) from None
