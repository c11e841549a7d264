"""Small stand-ins for the two shops' stock APIs, real HTTP servers on 127.0.0.1.

Written from the platforms' documentation, kept to what Allot uses:
- Shopify Admin GraphQL (`POST /admin/api/<version>/graphql.json`, `X-Shopify-Access-Token`):
  `inventoryItems(first, after, query: "sku:…")` with `pageInfo`, `inventoryLevel(locationId)
  { quantities(names) }`, and `inventorySetQuantities(input: {name, reason, quantities:
  [{inventoryItemId, locationId, quantity, changeFromQuantity}]}) @idempotent(key)` answering
  `userErrors {code field message}`. Every answer carries `extensions.cost` (requested and actual
  cost, `throttleStatus`); a request the leaky bucket cannot hold answers `THROTTLED`.
- WooCommerce REST v3 (`/wp-json/wc/v3`, basic auth): products and variations listed with
  `sku`, `type`, `per_page`, `page` and the `X-WP-Total` / `X-WP-TotalPages` headers, `PUT` of one,
  `POST …/batch` `{update: […]}`; 401 on bad credentials, 404 on an unknown id.
Both can be slowed (`latency`) and made to answer 503 for a while (`down_for`).
"""
from __future__ import annotations

import base64
import json
import math
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], Any]


class StandIn:
    """The HTTP plumbing both stand-ins share: latency, outages, a request count."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.down_until = 0.0
        self.requests = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down_for(self, seconds: float) -> None:
        """Answer 503 to everything for this long."""
        self.down_until = time.monotonic() + seconds

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        raise NotImplementedError

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with stand_in.lock:
                    stand_in.requests += 1
                if stand_in.latency:
                    time.sleep(stand_in.latency)
                if time.monotonic() < stand_in.down_until:
                    status, headers, answer = 503, {}, {"errors": "Service Unavailable"}
                else:
                    status, headers, answer = stand_in.handle(
                        self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _any

            def log_message(self, *_: object) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Bucket:
    """Shopify's leaky bucket of query cost points."""

    def __init__(self, size: float, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.size, self.rate, self.clock = size, rate, clock
        self.level, self.seen = size, clock()

    def available(self) -> float:
        now = self.clock()
        self.level, self.seen = min(self.size, self.level + (now - self.seen) * self.rate), now
        return self.level

    def status(self) -> dict[str, float]:
        return {"maximumAvailable": self.size, "currentlyAvailable": math.floor(self.available()),
                "restoreRate": self.rate}


SKU_TERM = re.compile(r'sku:"((?:[^"\\]|\\.)*)"|sku:(\S+)')


class ShopifyStandIn(StandIn):
    def __init__(self, token: str, location: str = "gid://shopify/Location/1", latency: float = 0.0,
                 bucket: float = 2000.0, restore: float = 100.0) -> None:
        self.token, self.location = token, location
        self.items: dict[str, str] = {}  # sku -> inventory item gid
        self.counts: dict[tuple[str, str], int] = {}  # (item gid, location gid) -> available
        self.bucket = Bucket(bucket, restore)
        self.mutations: list[tuple[float, dict[str, int]]] = []  # (when, {sku: quantity}) each accepted set
        self.throttled = 0
        super().__init__(latency)

    def add(self, sku: str, available: int = 0) -> str:
        gid = f"gid://shopify/InventoryItem/{len(self.items) + 1}"
        self.items[sku] = gid
        self.counts[(gid, self.location)] = available
        return gid

    def count(self, sku: str) -> int:
        return self.counts[(self.items[sku], self.location)]

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if headers.get("x-shopify-access-token") != self.token:
            return 401, {}, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
        if method != "POST" or not re.fullmatch(r"/admin/api/\d{4}-\d{2}/graphql\.json", urlsplit(path).path):
            return 404, {}, {"errors": "Not Found"}
        request = json.loads(body)
        query, variables = request["query"], request.get("variables") or {}
        with self.lock:
            return 200, {}, self._run(query, variables)

    def _run(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        per_item = 2 if "inventoryLevel" in query else 1
        mutation = "inventorySetQuantities" in query
        requested = 10 if mutation else 2 + per_item * int(variables.get("first") or 0)
        if self.bucket.available() < requested:
            self.throttled += 1
            return {"errors": [{"message": "Throttled", "extensions": {
                "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                        "throttleStatus": self.bucket.status()}}}
        if mutation:
            data, actual = self._set(query, variables), requested
        else:
            data, found = self._find(variables, per_item)
            actual = 2 + per_item * found
        self.bucket.level -= actual  # Shopify takes the requested cost and refunds what was not used
        return {"data": data, "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                                                      "throttleStatus": self.bucket.status()}}}

    def _find(self, variables: dict[str, Any], per_item: int) -> tuple[dict[str, Any], int]:
        skus = [(m.group(1) or m.group(2)).replace('\\"', '"').replace("\\\\", "\\")
                for m in SKU_TERM.finditer(variables["query"])]
        matches = [s for s in skus if s in self.items]
        start = int(variables.get("after") or 0)
        page = matches[start:start + int(variables["first"])]
        location = variables.get("location")
        nodes = []
        for sku in page:
            node: dict[str, Any] = {"id": self.items[sku], "sku": sku}
            if per_item == 2:
                qty = self.counts.get((self.items[sku], location))
                node["inventoryLevel"] = None if qty is None else {"quantities": [{"name": "available", "quantity": qty}]}
            nodes.append(node)
        more = start + len(page) < len(matches)
        info = {"hasNextPage": more, "endCursor": str(start + len(page)) if page else None}
        return {"inventoryItems": {"nodes": nodes, "pageInfo": info}}, len(page)

    def _set(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        if "@idempotent" not in query:
            raise_errors = [{"message": "The @idempotent directive is required for this mutation", "field": None}]
            return {"inventorySetQuantities": {"userErrors": raise_errors}}
        given = variables["input"]
        errors = []
        if given.get("name") != "available":
            errors.append({"code": "INVALID_NAME", "field": ["input", "name"], "message": "invalid name"})
        if not given.get("reason"):
            errors.append({"code": "INVALID_REASON", "field": ["input", "reason"], "message": "reason is required"})
        by_gid = {gid: sku for sku, gid in self.items.items()}
        for i, q in enumerate(given["quantities"]):
            field = ["input", "quantities", str(i)]
            if q["inventoryItemId"] not in by_gid:
                errors.append({"code": "INVALID_INVENTORY_ITEM", "field": [*field, "inventoryItemId"],
                               "message": "The specified inventory item could not be found."})
            elif (q["inventoryItemId"], q["locationId"]) not in self.counts:
                errors.append({"code": "INVALID_LOCATION", "field": [*field, "locationId"],
                               "message": "The specified location could not be found."})
            elif "changeFromQuantity" not in q:
                errors.append({"code": "CHANGE_FROM_QUANTITY_REQUIRED", "field": [*field, "changeFromQuantity"],
                               "message": "changeFromQuantity must be given (null opts out of the check)"})
        if errors:  # the mutation changes nothing unless every quantity is good
            return {"inventorySetQuantities": {"userErrors": errors}}
        for q in given["quantities"]:
            self.counts[(q["inventoryItemId"], q["locationId"])] = int(q["quantity"])
        self.mutations.append((time.monotonic(), {by_gid[q["inventoryItemId"]]: int(q["quantity"])
                                                  for q in given["quantities"]}))
        return {"inventorySetQuantities": {"userErrors": []}}


class WooStandIn(StandIn):
    def __init__(self, key: str, secret: str, latency: float = 0.0) -> None:
        self.auth = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
        self.products: dict[int, dict[str, Any]] = {}
        self.variations: dict[int, dict[str, Any]] = {}  # id -> variation (with parent_id)
        self.writes: list[tuple[float, dict[str, int]]] = []  # (when, {sku: stock_quantity}) each write
        self._next = 100
        super().__init__(latency)

    def add(self, sku: str, stock: int | None = None, parent: int | None = None, kind: str = "simple") -> int:
        self._next += 1
        item = {"id": self._next, "sku": sku, "manage_stock": stock is not None, "stock_quantity": stock}
        if parent is None:
            self.products[self._next] = {**item, "type": kind}
        else:
            self.variations[self._next] = {**item, "parent_id": parent}
        return self._next

    def stock(self, sku: str) -> int | None:
        for item in [*self.products.values(), *self.variations.values()]:
            if item["sku"] == sku:
                return item["stock_quantity"]  # type: ignore[no-any-return]
        raise KeyError(sku)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if headers.get("authorization") != self.auth:
            return 401, {}, {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
                             "data": {"status": 401}}
        url = urlsplit(path)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        route = url.path.removeprefix("/wp-json/wc/v3")
        with self.lock:
            return self._route(method, route, params, json.loads(body) if body else {})

    def _route(self, method: str, route: str, params: dict[str, str], body: dict[str, Any]) -> Answer:
        if (m := re.fullmatch(r"/products(?:/(\d+)/variations)?", route)) and method == "GET":
            parent = int(m.group(1)) if m.group(1) else None
            pool = self.products if parent is None else {
                i: v for i, v in self.variations.items() if v["parent_id"] == parent}
            return self._list(list(pool.values()), params)
        if (m := re.fullmatch(r"/products(?:/(\d+)/variations)?/batch", route)) and method == "POST":
            pool = self.products if m.group(1) is None else self.variations
            if len(body.get("update", [])) > 100:
                return 400, {}, {"code": "woocommerce_rest_request_entity_too_large", "message": "max 100",
                                 "data": {"status": 413}}
            return 200, {}, {"update": [self._write(pool, int(u["id"]), u) for u in body.get("update", [])]}
        if (m := re.fullmatch(r"/products/(\d+)(?:/variations/(\d+))?", route)) and method == "PUT":
            pool, item = (self.products, m.group(1)) if m.group(2) is None else (self.variations, m.group(2))
            answer = self._write(pool, int(item), body)
            return (404 if "error" in answer else 200), {}, answer.get("error", answer)
        return 404, {}, {"code": "rest_no_route", "message": "No route was found", "data": {"status": 404}}

    def _list(self, items: list[dict[str, Any]], params: dict[str, str]) -> Answer:
        if "sku" in params:
            wanted = set(params["sku"].split(","))
            items = [i for i in items if i["sku"] in wanted]
        if "type" in params:
            items = [i for i in items if i.get("type") == params["type"]]
        per_page = min(int(params.get("per_page", 10)), 100)
        page = int(params.get("page", 1))
        pages = max(1, math.ceil(len(items) / per_page))
        headers = {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)}
        return 200, headers, items[(page - 1) * per_page:page * per_page]

    def _write(self, pool: dict[int, dict[str, Any]], item_id: int, change: dict[str, Any]) -> dict[str, Any]:
        item = pool.get(item_id)
        if item is None:
            return {"id": item_id, "error": {"code": "woocommerce_rest_product_invalid_id",
                                             "message": "Invalid ID.", "data": {"status": 404}}}
        for k in ("manage_stock", "stock_quantity"):
            if k in change:
                item[k] = change[k]
        self.writes.append((time.monotonic(), {item["sku"]: item["stock_quantity"]}))
        return item
