"""What the push worker asks of a shop's stock, whatever the platform: find items by SKU, set counts.

Each platform module (shopify_stock, woocommerce_stock) speaks its own API and answers in these
terms, so the worker and the CLI never see a platform's field names. Credentials live only inside
the client; no message, exception or repr here ever carries them.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

import httpx

T = TypeVar("T")
USER_AGENT = "allot-shop-push/1"


@dataclass(frozen=True, slots=True)
class ShopItem:
    """The shop's item for one SKU: its id (remembered) and the count it sells from now."""

    sku: str
    ref: str
    quantity: int | None


class ShopError(Exception):
    """The shop did not take the request; `retry` says whether trying again later can help."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message[:500])
        self.retry = retry


class ShopStock(Protocol):
    def find(self, skus: Sequence[str], counts: bool = False) -> dict[str, ShopItem]:
        """The shop's items for these SKUs (absent: the shop has none), with their counts if asked."""
        ...

    def set(self, quantities: Sequence[tuple[str, int]]) -> dict[str, str]:
        """Set each item's (ref's) sellable count; the refs the shop refused, with why."""
        ...

    def close(self) -> None: ...


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def base_url(api_base: str | None, address: str) -> str:
    """The shop's root: the connection's explicit `api_base`, else https:// and its address."""
    if api_base:
        return api_base.rstrip("/")
    return (address if "://" in address else f"https://{address}").rstrip("/")


def loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def http_client(timeout: float) -> httpx.Client:
    # No redirects: a redirect could carry the credentials' header to another host.
    return httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT})


def failure(e: httpx.HTTPError) -> ShopError:
    """A transport failure (timeout, refused connection) in words without the request's headers."""
    return ShopError(f"{type(e).__name__}: {e}"[:300])


def refused(response: httpx.Response) -> ShopError:
    """An HTTP error answer: 401/403/429/5xx are worth retrying (credentials get fixed, shops recover)."""
    status = response.status_code
    retry = status in (401, 403, 408, 409, 429) or status >= 500
    return ShopError(f"HTTP {status}", retry=retry)

