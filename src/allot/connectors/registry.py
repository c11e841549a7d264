"""The storefront platforms Allot takes webhooks from, by the name a connection gives."""
from __future__ import annotations

from allot.connectors import shopify, woocommerce
from allot.connectors.storefront import Connector

CONNECTORS: dict[str, Connector] = {c.platform: c for c in (shopify.CONNECTOR, woocommerce.CONNECTOR)}
