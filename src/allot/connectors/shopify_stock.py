"""Shopify's Admin GraphQL API for stock: find inventory items by SKU, set their `available` count.

Requests: `POST {base}/admin/api/{API_VERSION}/graphql.json` with `X-Shopify-Access-Token`.
Items are found with `inventoryItems(query: "sku:…")` (their count at the connection's location
comes along) and set with `inventorySetQuantities` (name `available`, reason `correction`; Allot
is the source of truth for this count, so each quantity opts out of the compare-and-swap check with
`changeFromQuantity: null`, and the mutation carries the `@idempotent` key the API asks for since
2026-04). Rate limits are cost-based: every answer's `extensions.cost.throttleStatus` says how full
the leaky bucket is; the client waits before a request the bucket cannot hold, and on `THROTTLED`
waits for the bucket to refill and tries again (for at most `patience` seconds).
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from allot.connectors.shop_stock import ShopError, ShopItem, base_url, chunks, failure, http_client, refused

API_VERSION = "2026-10"
LOOKUP = 250  # SKUs per inventoryItems query (a connection's most nodes per page)
SET = 250  # quantities per inventorySetQuantities (the API's limit)
MUTATION_COST = 10

# Pushing needs only the ids (one point per item); checking also reads the count (two points).
FIND_IDS = """
query FindItems($query: String!, $first: Int!, $after: String) {
  inventoryItems(first: $first, after: $after, query: $query) {
    nodes { id sku }
    pageInfo { hasNextPage endCursor }
  }
}"""

FIND_COUNTS = """
query FindItemCounts($query: String!, $first: Int!, $after: String, $location: ID!) {
  inventoryItems(first: $first, after: $after, query: $query) {
    nodes { id sku inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

SET_MUTATION = """
mutation SetAvailable($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    userErrors { code field message }
  }
}"""


def location_gid(location_id: str) -> str:
    return location_id if location_id.startswith("gid://") else f"gid://shopify/Location/{location_id}"


def sku_query(skus: Sequence[str]) -> str:
    """Shopify's search syntax: `sku:"A" OR sku:"B"`, quotes and backslashes escaped."""
    quoted = ('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in skus)
    return " OR ".join(f"sku:{q}" for q in quoted)


class ShopifyStock:
    def __init__(self, credentials: dict[str, str], api_base: str | None, timeout: float = 10.0,
                 patience: float = 30.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.endpoint = f"{base_url(api_base, credentials['shop'])}/admin/api/{API_VERSION}/graphql.json"
        self.location = location_gid(str(credentials["location_id"]))
        self._token = credentials["admin_token"]
        self.http = http_client(timeout)
        self.patience, self.sleep = patience, sleep
        self.bucket: tuple[float, float, float] | None = None  # available, restore rate, when seen

    def __repr__(self) -> str:
        return f"ShopifyStock({self.endpoint!r})"  # never the token

    def find(self, skus: Sequence[str], counts: bool = False) -> dict[str, ShopItem]:
        found: dict[str, ShopItem] = {}
        query, per_item = (FIND_COUNTS, 2) if counts else (FIND_IDS, 1)
        for part in chunks(list(skus), LOOKUP):
            wanted, after = set(part), None
            while True:
                variables: dict[str, Any] = {"query": sku_query(part), "first": LOOKUP, "after": after}
                if counts:
                    variables["location"] = self.location
                page = self._call(query, variables, cost=2 + per_item * LOOKUP)
                items = page["inventoryItems"]
                for node in items["nodes"]:
                    if node["sku"] in wanted and node["sku"] not in found:
                        found[node["sku"]] = ShopItem(node["sku"], node["id"], _available(node))
                if not items["pageInfo"]["hasNextPage"]:
                    break
                after = items["pageInfo"]["endCursor"]
        return found

    def set(self, quantities: Sequence[tuple[str, int]]) -> dict[str, str]:
        refused_items: dict[str, str] = {}
        for part in chunks(list(quantities), SET):
            refused_items.update(self._set(part))
        return refused_items

    def _set(self, part: Sequence[tuple[str, int]]) -> dict[str, str]:
        """One mutation; if the shop names bad items, the rest are sent again without them."""
        errors = self._mutate(part)
        bad = {part[i][0]: message for i, message in errors.items() if i is not None}
        if None in errors:
            raise ShopError(f"Shopify refused the change: {errors[None]}")
        rest = [q for q in part if q[0] not in bad]
        if bad and rest:
            again = self._mutate(rest)
            if again:
                raise ShopError(f"Shopify refused the change: {next(iter(again.values()))}")
        return bad

    def _mutate(self, part: Sequence[tuple[str, int]]) -> dict[int | None, str]:
        quantities = [{"inventoryItemId": ref, "locationId": self.location, "quantity": qty,
                       "changeFromQuantity": None} for ref, qty in part]
        payload = {"input": {"name": "available", "reason": "correction", "quantities": quantities},
                   "key": str(uuid.uuid4())}
        data = self._call(SET_MUTATION, payload, cost=MUTATION_COST)
        return {_index(e): f"{e.get('code') or ''} {e.get('message', '')}".strip()
                for e in data["inventorySetQuantities"]["userErrors"]}

    def _call(self, query: str, variables: dict[str, Any], cost: int) -> dict[str, Any]:
        """One GraphQL request, waiting for the rate-limit bucket as the shop tells us to."""
        waited = 0.0
        while True:
            pause = self._wait_for(cost)
            if pause:
                self.sleep(pause)
                waited += pause
            body = self._post({"query": query, "variables": variables})
            self._remember_bucket(body)
            errors = body.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                pause = max(self._wait_for(cost), 0.2)
                if waited + pause > self.patience:
                    raise ShopError("THROTTLED: Shopify's rate limit, still full after waiting")
                self.sleep(pause)
                waited += pause
                continue
            if errors:
                raise ShopError("GraphQL: " + "; ".join(str(e.get("message", "")) for e in errors)[:300])
            found: dict[str, Any] = body["data"]
            return found

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        headers = {"X-Shopify-Access-Token": self._token, "Content-Type": "application/json"}
        try:
            response = self.http.post(self.endpoint, json=payload, headers=headers)
        except httpx.HTTPError as e:
            raise failure(e) from None
        if not response.is_success:
            raise refused(response)
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            raise ShopError("Shopify answered something that is not JSON") from None
        return body

    def _remember_bucket(self, body: dict[str, Any]) -> None:
        status = ((body.get("extensions") or {}).get("cost") or {}).get("throttleStatus")
        if status:
            self.bucket = (float(status["currentlyAvailable"]), float(status["restoreRate"]), time.monotonic())

    def _wait_for(self, cost: int) -> float:
        """Seconds until the bucket holds `cost`, by the last status the shop reported."""
        if self.bucket is None:
            return 0.0
        available, rate, seen = self.bucket
        now_available = available + (time.monotonic() - seen) * rate
        return 0.0 if now_available >= cost or rate <= 0 else (cost - now_available) / rate

    def close(self) -> None:
        self.http.close()


def _available(node: dict[str, Any]) -> int | None:
    level = node.get("inventoryLevel")
    for q in (level or {}).get("quantities") or []:
        if q.get("name") == "available":
            return int(q["quantity"])
    return None


def _index(error: dict[str, Any]) -> int | None:
    """Which quantity a user error is about: field `["input", "quantities", "3", …]`, else None."""
    field = error.get("field") or []
    if len(field) >= 3 and field[1] == "quantities" and str(field[2]).isdigit():
        return int(field[2])
    return None
