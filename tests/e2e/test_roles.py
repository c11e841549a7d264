"""The role matrix: every endpoint, called with every role, is allowed (2xx) or refused with 403.

admin: everything. ops: catalog, stock, POs, holds, orders, cancel, ship, reads. storefront:
availability, holds and orders on the channels its key names, and only holds it placed itself.
viewer: reads (not keys, not the audit log). No key, a wrong key or a revoked key: 401.
Each call gets fresh things to act on, so an allowed call really succeeds and a 403 is no 404.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from allot.api.app import create_app
from allot.settings import Settings
from tests.e2e.shop import signature
from tests.e2e.trust import DATABASES, Server, new_key, ok, serving, unique

ROLES = ["admin", "ops", "viewer", "storefront", "storefront_other"]
WEB, MARKET = "web", "market"  # the storefront key names web; the other storefront key names market


def later(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


@dataclass
class Call:
    method: str
    path: str
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None  # a raw body: a CSV import, a shop's signed webhook
    headers: dict[str, str] = field(default_factory=dict)


class World:
    """Fresh things for one call, made with the admin key (holds with the storefront key: it owns them)."""

    def __init__(self, admin: httpx.Client, shop: httpx.Client) -> None:
        self.admin, self.shop = admin, shop

    def sku(self, on_hand: int = 10) -> str:
        name = unique("R")
        ok(self.admin.put(f"/v1/skus/{name}", json={"mode": "backorder"}), 201)
        if on_hand:  # 0: sold out (a waitlist's SKU)
            ok(self.admin.post("/v1/stock/adjustments", json={"sku": name, "delta": on_hand, "reason": "in"}), 201)
        return name

    def po(self) -> str:
        ref = unique("PO")
        ok(self.admin.post("/v1/purchase-orders", json={"ref": ref, "lines": [
            {"sku": self.sku(), "qty": 5, "expected_date": later(10)}]}), 201)
        return ref

    def order(self) -> str:
        ref = unique("O")
        ok(self.admin.post("/v1/orders", json={"ref": ref, "channel": WEB, "lines": [{"sku": self.sku(), "qty": 2}]}),
           201)
        return ref

    def shop_hold(self) -> str:
        body = {"sku": self.sku(), "qty": 1, "channel": WEB, "ttl_seconds": 1800}
        hold_id: str = ok(self.shop.post("/v1/holds", json=body), 201)["id"]
        return hold_id

    def webhook(self) -> int:
        hook_id: int = ok(self.admin.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}), 201)["id"]
        return hook_id

    def channel(self) -> str:
        name = unique("shop")
        ok(self.admin.put(f"/v1/channels/{name}", json={"allow_backorder": True, "allow_preorder": True}), 201)
        return name

    def storefront(self) -> str:
        """A fresh channel connected to a (pretend) WooCommerce shop."""
        name = self.channel()
        ok(self.admin.put(f"/v1/channels/{name}/storefront", json={"platform": "woocommerce", "secret": "s"}), 201)
        return name

    def delivery(self) -> Call:
        """A signed WooCommerce delivery of a topic Allot records and ignores: a key plays no part."""
        name = self.storefront()
        body = b'{"id": 1}'
        return Call("POST", f"/v1/storefronts/{name}/webhooks", content=body, headers={
            "X-WC-Webhook-Topic": "product.updated", "X-WC-Webhook-Delivery-ID": unique("d"),
            "X-WC-Webhook-Signature": signature("s", body)})

    def location(self) -> str:
        name = unique("loc")
        ok(self.admin.put(f"/v1/locations/{name}", json={}), 201)
        return name

    def transfer_body(self) -> dict[str, Any]:
        return {"ref": unique("T"), "from": "main", "to": self.location(), "expected_date": later(3),
                "lines": [{"sku": self.sku(), "qty": 2}]}

    def transfer(self) -> str:
        body = self.transfer_body()
        ok(self.admin.post("/v1/transfers", json=body), 201)
        return str(body["ref"])

    def waiting(self) -> int:
        """A waitlist entry on the storefront key's channel, for a sold-out SKU (drops)."""
        entry_id: int = ok(self.admin.post("/v1/waitlist", json={"sku": self.sku(0), "channel": WEB,
                                                                 "customer": "c", "qty": 1}), 201)["id"]
        return entry_id

    def key(self) -> int:
        key_id: int = new_key(self.admin, "viewer")["id"]
        return key_id


OPS = {"admin", "ops"}
READERS = {"admin", "ops", "viewer"}
SELLERS = {"admin", "ops", "storefront"}
SALE_READERS = {"admin", "ops", "viewer", "storefront"}
ADMIN = {"admin"}

Build = Callable[[World], Call]
# (method, path as in the OpenAPI document) -> (how to call it, roles allowed, status when allowed)
MATRIX: dict[tuple[str, str], tuple[Build, set[str], int]] = {
    ("PUT", "/v1/skus/{sku}"): (lambda w: Call("PUT", f"/v1/skus/{unique('N')}", {"mode": "stock"}), OPS, 201),
    ("GET", "/v1/skus/{sku}"): (lambda w: Call("GET", f"/v1/skus/{w.sku()}"), READERS, 200),
    ("PUT", "/v1/channels/{channel}"): (
        lambda w: Call("PUT", f"/v1/channels/{unique('c')}", {"allow_backorder": True, "allow_preorder": False}),
        OPS, 201),
    ("PUT", "/v1/skus/{sku}/channels/{channel}"): (
        lambda w: Call("PUT", f"/v1/skus/{w.sku()}/channels/{WEB}", {"quota": 5}), OPS, 201),
    ("POST", "/v1/stock/adjustments"): (
        lambda w: Call("POST", "/v1/stock/adjustments", {"sku": w.sku(), "delta": 3, "reason": "found"}), OPS, 201),
    ("POST", "/v1/stock/counts"): (
        lambda w: Call("POST", "/v1/stock/counts", {"sku": w.sku(), "on_hand": 7}), OPS, 201),
    ("POST", "/v1/purchase-orders"): (
        lambda w: Call("POST", "/v1/purchase-orders", {"ref": unique("PO"), "lines": [
            {"sku": w.sku(), "qty": 4, "expected_date": later(5)}]}), OPS, 201),
    ("GET", "/v1/purchase-orders/{ref}"): (lambda w: Call("GET", f"/v1/purchase-orders/{w.po()}"), READERS, 200),
    ("PATCH", "/v1/purchase-orders/{ref}/lines/{n}"): (
        lambda w: Call("PATCH", f"/v1/purchase-orders/{w.po()}/lines/1", {"expected_date": later(20)}), OPS, 200),
    ("POST", "/v1/purchase-orders/{ref}/receipts"): (
        lambda w: Call("POST", f"/v1/purchase-orders/{w.po()}/receipts", {"lines": [{"line": 1, "qty": 2}]}),
        OPS, 201),
    ("POST", "/v1/purchase-orders/{ref}/cancel"): (
        lambda w: Call("POST", f"/v1/purchase-orders/{w.po()}/cancel"), OPS, 200),
    ("POST", "/v1/holds"): (
        lambda w: Call("POST", "/v1/holds", {"sku": w.sku(), "qty": 1, "channel": WEB}), SELLERS, 201),
    ("GET", "/v1/holds/{hold_id}"): (lambda w: Call("GET", f"/v1/holds/{w.shop_hold()}"), SALE_READERS, 200),
    ("DELETE", "/v1/holds/{hold_id}"): (lambda w: Call("DELETE", f"/v1/holds/{w.shop_hold()}"), SELLERS, 200),
    ("GET", "/v1/holds"): (lambda w: Call("GET", "/v1/holds", params={"sku": w.sku(), "status": "active"}), OPS, 200),
    ("POST", "/v1/holds/release"): (lambda w: Call("POST", "/v1/holds/release", {"sku": w.sku()}), OPS, 200),
    ("POST", "/v1/orders"): (
        lambda w: Call("POST", "/v1/orders", {"ref": unique("O"), "channel": WEB, "lines": [
            {"sku": w.sku(), "qty": 1}]}), SELLERS, 201),
    ("GET", "/v1/orders/{ref}"): (lambda w: Call("GET", f"/v1/orders/{w.order()}"), SALE_READERS, 200),
    ("GET", "/v1/orders/{ref}/lines/{n}/explain"): (
        lambda w: Call("GET", f"/v1/orders/{w.order()}/lines/1/explain"), READERS, 200),
    ("POST", "/v1/orders/{ref}/cancel"): (lambda w: Call("POST", f"/v1/orders/{w.order()}/cancel"), OPS, 200),
    ("POST", "/v1/orders/{ref}/shipments"): (
        lambda w: Call("POST", f"/v1/orders/{w.order()}/shipments", {"lines": [{"line": 1, "qty": 1}]}), OPS, 201),
    ("GET", "/v1/availability/{sku}"): (
        lambda w: Call("GET", f"/v1/availability/{w.sku()}", params={"channel": WEB}), SALE_READERS, 200),
    ("GET", "/v1/events"): (lambda w: Call("GET", "/v1/events", params={"limit": "5"}), READERS, 200),
    ("GET", "/v1/ping"): (lambda w: Call("GET", "/v1/ping"), READERS, 200),
    ("GET", "/v1/keys"): (lambda w: Call("GET", "/v1/keys"), ADMIN, 200),
    ("POST", "/v1/keys"): (lambda w: Call("POST", "/v1/keys", {"name": unique("k"), "role": "viewer"}), ADMIN, 201),
    ("DELETE", "/v1/keys/{key_id}"): (lambda w: Call("DELETE", f"/v1/keys/{w.key()}"), ADMIN, 204),
    ("GET", "/v1/audit"): (lambda w: Call("GET", "/v1/audit", params={"limit": "5"}), ADMIN, 200),
    ("POST", "/v1/webhooks"): (lambda w: Call("POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/hook"}), ADMIN, 201),
    ("GET", "/v1/webhooks"): (lambda w: Call("GET", "/v1/webhooks"), ADMIN, 200),
    ("GET", "/v1/webhooks/{webhook_id}"): (lambda w: Call("GET", f"/v1/webhooks/{w.webhook()}"), ADMIN, 200),
    ("DELETE", "/v1/webhooks/{webhook_id}"): (lambda w: Call("DELETE", f"/v1/webhooks/{w.webhook()}"), ADMIN, 204),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): (
        lambda w: Call("GET", f"/v1/webhooks/{w.webhook()}/deliveries"), ADMIN, 200),
    # No such delivery: an admin gets past the role check to the 404, everyone else stops at 403.
    ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): (
        lambda w: Call("POST", f"/v1/webhooks/{w.webhook()}/deliveries/999999/redeliver"), ADMIN, 404),
    ("POST", "/v1/webhooks/{webhook_id}/redeliver"): (
        lambda w: Call("POST", f"/v1/webhooks/{w.webhook()}/redeliver"), ADMIN, 200),
    ("GET", "/v1/skus/{sku}/backordered"): (lambda w: Call("GET", f"/v1/skus/{w.sku()}/backordered"), READERS, 200),
    ("POST", "/v1/skus/{sku}/backordered/cancel"): (
        lambda w: Call("POST", f"/v1/skus/{w.sku()}/backordered/cancel", {"reason": "supplier short"}), OPS, 200),
    ("POST", "/v1/skus/{sku}/backordered/keep"): (
        lambda w: Call("POST", f"/v1/skus/{w.sku()}/backordered/keep", {"reason": "keep waiting"}), OPS, 200),
    ("PUT", "/v1/channels/{channel}/storefront"): (
        lambda w: Call("PUT", f"/v1/channels/{w.channel()}/storefront", {"platform": "shopify", "secret": "s"}), ADMIN,
        201),
    ("GET", "/v1/channels/{channel}/storefront"): (
        lambda w: Call("GET", f"/v1/channels/{w.storefront()}/storefront"), OPS, 200),
    # Authenticated by the shop's signature, not a key: every role (and none) gets the same answer.
    ("POST", "/v1/storefronts/{channel}/webhooks"): (lambda w: w.delivery(), set(ROLES), 200),
    ("DELETE", "/v1/channels/{channel}/storefront"): (
        lambda w: Call("DELETE", f"/v1/channels/{w.storefront()}/storefront"), ADMIN, 204),
    # No consent was asked for: a seller gets past the role check to the 409.
    ("POST", "/v1/orders/{ref}/lines/{n}/consent"): (
        lambda w: Call("POST", f"/v1/orders/{w.order()}/lines/1/consent", {"accept": True}), SELLERS, 409),
    # Lists, many-SKU availability and previews (BRIEF §7).
    ("GET", "/v1/availability"): (
        lambda w: Call("GET", "/v1/availability", params={"channel": WEB, "skus": f"{w.sku()},{w.sku()}"}),
        SALE_READERS, 200),
    ("GET", "/v1/skus"): (lambda w: Call("GET", "/v1/skus", params={"limit": "5"}), READERS, 200),
    ("GET", "/v1/orders"): (lambda w: Call("GET", "/v1/orders", params={"channel": WEB, "limit": "5"}),
                            SALE_READERS, 200),
    ("GET", "/v1/purchase-orders"): (lambda w: Call("GET", "/v1/purchase-orders", params={"limit": "5"}),
                                     READERS, 200),
    ("GET", "/v1/stock/moves"): (lambda w: Call("GET", "/v1/stock/moves", params={"limit": "5"}), READERS, 200),
    ("POST", "/v1/purchase-orders/{ref}/lines/{n}/preview"): (
        lambda w: Call("POST", f"/v1/purchase-orders/{w.po()}/lines/1/preview", {"expected_date": later(20)}),
        OPS, 200),
    ("POST", "/v1/purchase-orders/{ref}/receipts/preview"): (
        lambda w: Call("POST", f"/v1/purchase-orders/{w.po()}/receipts/preview", {"lines": [{"line": 1, "qty": 2}]}),
        OPS, 200),
    ("POST", "/v1/purchase-orders/{ref}/cancel/preview"): (
        lambda w: Call("POST", f"/v1/purchase-orders/{w.po()}/cancel/preview"), OPS, 200),
    ("POST", "/v1/imports/{kind}"): (
        lambda w: Call("POST", "/v1/imports/skus", content=f"sku,mode\n{unique('F')},stock\n".encode(),
                       headers={"Content-Type": "text/csv"}), OPS, 200),
    # No such job: ops gets past the role check to the 404.
    ("GET", "/v1/imports/jobs/{job_id}"): (lambda w: Call("GET", f"/v1/imports/jobs/imp_{'0' * 32}"), OPS, 404),
    ("GET", "/v1/exports/{kind}"): (lambda w: Call("GET", "/v1/exports/channels"), READERS, 200),
    # Customers (BRIEF §10).
    ("PUT", "/v1/channels/{channel}/messages"): (
        lambda w: Call("PUT", f"/v1/channels/{w.channel()}/messages", {"from": "shop@example.org",
                                                                        "send": ["shipped"]}), OPS, 200),
    ("GET", "/v1/channels/{channel}/messages"): (lambda w: Call("GET", f"/v1/channels/{WEB}/messages"), READERS, 200),
    ("GET", "/v1/channels/{channel}/templates/{kind}"): (
        lambda w: Call("GET", f"/v1/channels/{WEB}/templates/ready"), READERS, 200),
    ("PUT", "/v1/channels/{channel}/templates/{kind}"): (
        lambda w: Call("PUT", f"/v1/channels/{w.channel()}/templates/ready",
                       {"subject": "{{ order_ref }}", "text": "t", "html": "h"}), OPS, 200),
    ("DELETE", "/v1/channels/{channel}/templates/{kind}"): (
        lambda w: Call("DELETE", f"/v1/channels/{w.channel()}/templates/ready"), OPS, 204),
    ("POST", "/v1/channels/{channel}/templates/{kind}/preview"): (
        lambda w: Call("POST", f"/v1/channels/{WEB}/templates/ready/preview", {}), READERS, 200),
    ("GET", "/v1/messages"): (lambda w: Call("GET", "/v1/messages"), OPS, 200),
    # No such message: ops gets past the role check to the 404.
    ("GET", "/v1/messages/{message_id}"): (lambda w: Call("GET", "/v1/messages/999999"), OPS, 404),
    ("POST", "/v1/messages/{message_id}/resend"): (lambda w: Call("POST", "/v1/messages/999999/resend"), OPS, 404),
    ("POST", "/v1/messages/resend"): (lambda w: Call("POST", "/v1/messages/resend"), OPS, 200),
    ("GET", "/v1/orders/{ref}/link"): (lambda w: Call("GET", f"/v1/orders/{w.order()}/link"), OPS, 200),
    ("GET", "/v1/reports/payments"): (lambda w: Call("GET", "/v1/reports/payments"), READERS, 200),
    # Insight (BRIEF §8).
    ("GET", "/v1/reports/kpis"): (lambda w: Call("GET", "/v1/reports/kpis"), READERS, 200),
    ("GET", "/v1/skus/{sku}/forecast"): (lambda w: Call("GET", f"/v1/skus/{w.sku()}/forecast"), READERS, 200),
    ("GET", "/v1/reports/reorder"): (lambda w: Call("GET", "/v1/reports/reorder"), READERS, 200),
    ("PUT", "/v1/locations/{location}"): (lambda w: Call("PUT", f"/v1/locations/{unique('loc')}", {}), OPS, 201),
    ("GET", "/v1/locations"): (lambda w: Call("GET", "/v1/locations"), READERS, 200),
    ("GET", "/v1/locations/{location}"): (lambda w: Call("GET", "/v1/locations/main"), READERS, 200),
    ("DELETE", "/v1/locations/{location}"): (lambda w: Call("DELETE", f"/v1/locations/{w.location()}"), OPS, 204),
    ("POST", "/v1/transfers"): (lambda w: Call("POST", "/v1/transfers", w.transfer_body()), OPS, 201),
    ("GET", "/v1/transfers"): (lambda w: Call("GET", "/v1/transfers"), READERS, 200),
    ("GET", "/v1/transfers/{ref}"): (lambda w: Call("GET", f"/v1/transfers/{w.transfer()}"), READERS, 200),
    ("POST", "/v1/transfers/{ref}/receipts"): (
        lambda w: Call("POST", f"/v1/transfers/{w.transfer()}/receipts", {}), OPS, 201),
    # The waitlist (drops, migration 0014).
    ("POST", "/v1/waitlist"): (lambda w: Call("POST", "/v1/waitlist", {"sku": w.sku(0), "channel": WEB,
                                                                        "customer": "c", "qty": 1}), SELLERS, 201),
    ("DELETE", "/v1/waitlist/{entry_id}"): (lambda w: Call("DELETE", f"/v1/waitlist/{w.waiting()}"), SELLERS, 200),
    ("GET", "/v1/skus/{sku}/waitlist"): (lambda w: Call("GET", f"/v1/skus/{w.sku()}/waitlist"), READERS, 200),
}


SIGNED = {("POST", "/v1/storefronts/{channel}/webhooks")}  # the shop's HMAC is the authentication


def test_a_storefront_webhook_without_a_valid_signature_is_401_whatever_the_key(
    clients: dict[str, httpx.Client], world: World
) -> None:
    call = world.delivery()
    for client in clients.values():
        unsigned = {k: v for k, v in call.headers.items() if k != "X-WC-Webhook-Signature"}
        for headers in (unsigned, {**unsigned, "X-WC-Webhook-Signature": signature("wrong", call.content or b"")}):
            resp = client.post(call.path, content=call.content, headers=headers)
            assert resp.status_code == 401, resp.text


def app_operations() -> set[tuple[str, str]]:
    paths = create_app(Settings("sqlite://"), sweep=False).openapi()["paths"]
    return {(method.upper(), path) for path, methods in paths.items() for method in methods}


def test_the_matrix_covers_every_operation_of_the_api() -> None:
    assert set(MATRIX) == app_operations()


@pytest.fixture(scope="module", params=DATABASES)
def roles_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"roles-{request.param}")
    with serving(request.param, tmp) as srv:
        yield srv


@pytest.fixture(scope="module")
def clients(roles_server: Server) -> Iterator[dict[str, httpx.Client]]:
    with roles_server.client() as admin:
        for name in (WEB, MARKET):
            ok(admin.put(f"/v1/channels/{name}", json={"allow_backorder": True, "allow_preorder": True}), 201)
        secrets = {"admin": None, "ops": new_key(admin, "ops")["secret"],
                   "viewer": new_key(admin, "viewer")["secret"],
                   "storefront": new_key(admin, "storefront", [WEB])["secret"],
                   "storefront_other": new_key(admin, "storefront", [MARKET])["secret"]}
    opened = {role: roles_server.client(secret) if secret else roles_server.client() for role, secret in secrets.items()}
    yield opened
    for client in opened.values():
        client.close()


@pytest.fixture(scope="module")
def world(clients: dict[str, httpx.Client]) -> World:
    return World(clients["admin"], clients["storefront"])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), sorted(MATRIX), ids=lambda v: str(v))
def test_each_role_is_allowed_or_refused_with_403(
    clients: dict[str, httpx.Client], world: World, method: str, path: str, role: str
) -> None:
    build, allowed, success = MATRIX[(method, path)]
    call = build(world)
    resp = clients[role].request(call.method, call.path, json=call.json, params=call.params, content=call.content,
                                 headers=call.headers)
    if role in allowed:
        assert resp.status_code == success, f"{role} {call.method} {call.path}: {resp.status_code} {resp.text}"
    else:
        assert resp.status_code == 403, f"{role} {call.method} {call.path}: {resp.status_code} {resp.text}"
        assert resp.json()["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path"), sorted(set(MATRIX) - SIGNED), ids=lambda v: str(v))
def test_every_endpoint_without_a_valid_key_is_401(
    roles_server: Server, clients: dict[str, httpx.Client], world: World, method: str, path: str
) -> None:
    call = MATRIX[(method, path)][0](world)
    revoked = new_key(clients["admin"], "ops")
    ok(clients["admin"].delete(f"/v1/keys/{revoked['id']}"), 204)
    for key in (None, "not-a-key", revoked["secret"]):
        with roles_server.client(key) as anonymous:
            resp = anonymous.request(call.method, call.path, json=call.json, params=call.params, content=call.content,
                                     headers=call.headers)
        assert resp.status_code == 401, f"{key} {call.method} {call.path}: {resp.status_code} {resp.text}"
        assert resp.headers["www-authenticate"] == "Bearer"


# -- the storefront's scope, beyond the matrix ---------------------------------------------------

def test_a_storefront_key_may_not_touch_a_hold_another_key_placed_on_its_own_channel(
    clients: dict[str, httpx.Client], world: World
) -> None:
    shop = clients["storefront"]
    held = ok(clients["ops"].post("/v1/holds", json={"sku": world.sku(), "qty": 1, "channel": WEB}), 201)
    assert shop.get(f"/v1/holds/{held['id']}").status_code == 403
    assert shop.delete(f"/v1/holds/{held['id']}").status_code == 403
    confirm = {"ref": unique("O"), "channel": WEB, "lines": [{"sku": held["sku"], "qty": 1, "hold_id": held["id"]}]}
    assert shop.post("/v1/orders", json=confirm).status_code == 403
    assert ok(clients["ops"].get(f"/v1/holds/{held['id']}"), 200)["status"] == "active"


def test_a_storefront_key_confirms_its_own_hold_into_an_order(clients: dict[str, httpx.Client],
                                                               world: World) -> None:
    hold_id = world.shop_hold()
    sku = ok(clients["storefront"].get(f"/v1/holds/{hold_id}"), 200)["sku"]
    body = {"ref": unique("O"), "channel": WEB, "lines": [{"sku": sku, "qty": 1, "hold_id": hold_id}]}
    ok(clients["storefront"].post("/v1/orders", json=body), 201)


def test_a_storefront_key_sees_availability_only_for_a_channel_it_names(clients: dict[str, httpx.Client],
                                                                      world: World) -> None:
    sku = world.sku()
    assert clients["storefront"].get(f"/v1/availability/{sku}").status_code == 403
    assert clients["storefront"].get(f"/v1/availability/{sku}", params={"channel": MARKET}).status_code == 403
    assert clients["storefront_other"].get(f"/v1/availability/{sku}", params={"channel": MARKET}).status_code == 200


def test_a_storefront_key_must_name_channels_and_other_keys_may_not(clients: dict[str, httpx.Client]) -> None:
    admin = clients["admin"]
    missing = admin.post("/v1/keys", json={"name": "shop", "role": "storefront"})
    assert (missing.status_code, missing.json()["field"]) == (422, "channels")
    scoped_ops = admin.post("/v1/keys", json={"name": "ops", "role": "ops", "channels": [WEB]})
    assert (scoped_ops.status_code, scoped_ops.json()["field"]) == (422, "channels")


def test_an_admin_key_may_not_revoke_itself(clients: dict[str, httpx.Client]) -> None:
    me = next(k for k in ok(clients["admin"].get("/v1/keys"), 200) if k["name"] == "bootstrap")
    assert clients["admin"].delete(f"/v1/keys/{me['id']}").status_code == 409
    assert clients["admin"].get("/v1/keys").status_code == 200


def test_a_storefront_key_lists_only_its_channels_orders(clients: dict[str, httpx.Client], world: World) -> None:
    mine = world.order()
    theirs = unique("O")
    ok(clients["admin"].post("/v1/orders", json={"ref": theirs, "channel": MARKET, "lines": [
        {"sku": world.sku(), "qty": 1}]}), 201)
    seen, after = [], 0
    while True:
        page = ok(clients["storefront"].get("/v1/orders", params={"after": str(after), "limit": "1000"}), 200)
        seen += [o["ref"] for o in page["items"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert mine in seen and theirs not in seen
    assert clients["storefront"].get("/v1/orders", params={"channel": MARKET}).status_code == 403
    assert clients["storefront"].get("/v1/availability", params={"skus": "A,B"}).status_code == 403
