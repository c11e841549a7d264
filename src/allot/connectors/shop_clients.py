"""The stock client for a storefront connection's platform."""
from __future__ import annotations

import socket
from urllib.parse import urlsplit

from allot.connectors.shop_stock import ShopError, ShopStock, base_url, loopback
from allot.connectors.shopify_stock import ShopifyStock
from allot.connectors.woocommerce_stock import WooStock
from allot.domain.destinations import Destinations, Refused

ADDRESS = {"shopify": "shop", "woocommerce": "url"}


def stock_client(platform: str, credentials: dict[str, str], api_base: str | None, timeout: float = 10.0,
                 only_loopback: bool = False, destinations: Destinations | None = None,
                 ) -> ShopStock:
    """The platform's client; a connection without the credentials it needs cannot push.

    `only_loopback` (ALLOT_SHOP_PUSH_LOOPBACK_ONLY, set by the test suite) refuses every shop that
    is not on this machine, so a test that connects a made-up shop never calls out. `destinations`
    is the installation's policy for outgoing requests (ALLOT_WEBHOOK_ALLOW_PRIVATE): a shop whose
    address is private, loopback or link-local is refused unless the policy allows it.
    """
    if platform not in ADDRESS:
        raise ShopError(f"no stock client for platform {platform!r}", retry=False)
    try:
        root = base_url(api_base, credentials[ADDRESS[platform]])
        if only_loopback and not loopback(root):
            raise ShopError("refused: only shops on this machine (ALLOT_SHOP_PUSH_LOOPBACK_ONLY)", retry=False)
        if destinations is not None:
            _check(root, destinations)
        if platform == "shopify":
            return ShopifyStock(credentials, api_base, timeout)
        return WooStock(credentials, api_base, timeout)
    except KeyError as e:
        raise ShopError(f"the connection lacks the credential {e.args[0]!r}", retry=False) from None


def _check(root: str, destinations: Destinations) -> None:
    """Every address the shop's name resolves to must be one the installation may send to."""
    parts = urlsplit(root)
    try:
        found = socket.getaddrinfo(parts.hostname or "", parts.port or 443, type=socket.SOCK_STREAM)
        destinations.check([str(info[4][0]) for info in found])
    except socket.gaierror:
        raise ShopError("the shop's address does not resolve") from None
    except Refused as refused:
        raise ShopError(f"refused: {refused} (ALLOT_WEBHOOK_ALLOW_PRIVATE)", retry=False) from None
