"""The stock client for a storefront connection's platform."""
from __future__ import annotations

from allot.connectors.shop_stock import ShopError, ShopStock
from allot.connectors.shopify_stock import ShopifyStock
from allot.connectors.woocommerce_stock import WooStock


def stock_client(platform: str, credentials: dict[str, str], api_base: str | None,
                 timeout: float = 10.0) -> ShopStock:
    """The platform's client; a connection without the credentials it needs cannot push."""
    try:
        if platform == "shopify":
            return ShopifyStock(credentials, api_base, timeout)
        if platform == "woocommerce":
            return WooStock(credentials, api_base, timeout)
    except KeyError as e:
        raise ShopError(f"the connection lacks the credential {e.args[0]!r}", retry=False) from None
    raise ShopError(f"no stock client for platform {platform!r}", retry=False)
