"""WooCommerce's REST API (v3) for stock: find products and variations by SKU, set `stock_quantity`.

Products are found with `GET /wp-json/wc/v3/products?sku=A,B,…`; a SKU not found there may be a
variation, so the variable products' variations are then listed (`/products/{id}/variations`),
page by page as `X-WP-TotalPages` says. Counts are set with the batch endpoints
(`POST /products/batch`, `POST /products/{id}/variations/batch`, `{update: [{id, manage_stock:
true, stock_quantity}]}`, at most 100 each). Authentication is basic auth with the consumer key
and secret, which WooCommerce accepts only over HTTPS: a plain-http address is refused unless it
is this machine (the test stand-ins).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from allot.connectors.shop_stock import (
    ShopError,
    ShopItem,
    base_url,
    chunks,
    failure,
    http_client,
    loopback,
    refused,
)

PAGE = 100  # WooCommerce's largest per_page
LOOKUP = 50  # SKUs per products?sku= query (kept well inside URL limits)


def product_ref(product_id: int) -> str:
    return f"product:{product_id}"


def variation_ref(parent_id: int, variation_id: int) -> str:
    return f"variation:{parent_id}:{variation_id}"


class WooStock:
    def __init__(self, credentials: dict[str, str], api_base: str | None, timeout: float = 10.0) -> None:
        root = base_url(api_base, credentials["url"])
        if not root.startswith("https://") and not loopback(root):
            raise ShopError("WooCommerce takes its keys only over https", retry=False)
        # `api_base` may be the site's root or already the REST root.
        self.root = root if root.endswith("/wp-json/wc/v3") else f"{root}/wp-json/wc/v3"
        self.http = http_client(timeout)
        self.http.auth = httpx.BasicAuth(credentials["consumer_key"], credentials["consumer_secret"])

    def __repr__(self) -> str:
        return f"WooStock({self.root!r})"  # never the keys

    def find(self, skus: Sequence[str], counts: bool = False) -> dict[str, ShopItem]:
        found: dict[str, ShopItem] = {}
        for part in chunks(list(skus), LOOKUP):
            for p in self._pages("/products", {"sku": ",".join(part)}):
                if p.get("sku") in part and p["sku"] not in found:
                    found[p["sku"]] = ShopItem(p["sku"], product_ref(p["id"]), _stock(p))
        rest = set(skus) - set(found)
        if rest:
            found.update(self._variations(rest))
        return found

    def _variations(self, skus: set[str]) -> dict[str, ShopItem]:
        found: dict[str, ShopItem] = {}
        for parent in self._pages("/products", {"type": "variable"}):
            for v in self._pages(f"/products/{parent['id']}/variations", {}):
                if v.get("sku") in skus and v["sku"] not in found:
                    found[v["sku"]] = ShopItem(v["sku"], variation_ref(parent["id"], v["id"]), _stock(v))
            if len(found) == len(skus):
                break
        return found

    def set(self, quantities: Sequence[tuple[str, int]]) -> dict[str, str]:
        groups: dict[str, list[tuple[int, str, int]]] = {}
        for ref, qty in quantities:
            kind, *ids = ref.split(":")
            path = "/products/batch" if kind == "product" else f"/products/{ids[0]}/variations/batch"
            groups.setdefault(path, []).append((int(ids[-1]), ref, qty))
        refused_items: dict[str, str] = {}
        for path, items in groups.items():
            for part in chunks(items, PAGE):
                refused_items.update(self._batch(path, part))
        return refused_items

    def _batch(self, path: str, part: Sequence[tuple[int, str, int]]) -> dict[str, str]:
        update = [{"id": item_id, "manage_stock": True, "stock_quantity": qty} for item_id, _, qty in part]
        answer = self._request("POST", path, json={"update": update}).json()
        refs = {item_id: ref for item_id, ref, _ in part}
        return {refs[int(u["id"])]: str(u["error"].get("message", "refused"))
                for u in answer.get("update", []) if isinstance(u, dict) and u.get("error")}

    def _pages(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every item of a listing, following `X-WP-TotalPages`."""
        items: list[dict[str, Any]] = []
        page, pages = 1, 1
        while page <= pages:
            response = self._request("GET", path, params={**params, "per_page": str(PAGE), "page": str(page)})
            items.extend(response.json())
            pages = int(response.headers.get("X-WP-TotalPages") or 1)
            page += 1
        return items

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            response = self.http.request(method, self.root + path, **kw)
        except httpx.HTTPError as e:
            raise failure(e) from None
        if not response.is_success:
            raise refused(response)
        return response

    def close(self) -> None:
        self.http.close()


def _stock(item: dict[str, Any]) -> int | None:
    return int(item["stock_quantity"]) if item.get("manage_stock") and item.get("stock_quantity") is not None else None
