"""What a storefront key may not do: set a priority, hold stock for long or in bulk, learn which refs exist.

And what ops can do about holds: list them by key or SKU, release them, and revoking a key releases its own.
"""
from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.trust import DATABASES, Server, new_key, ok, serving, unique

WEB, MARKET = "web", "market"


@pytest.fixture(scope="module", params=DATABASES)
def srv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(request.param, tmp_path_factory.mktemp(f"limits-{request.param}")) as server:
        with server.client() as admin:
            for name in (WEB, MARKET):
                ok(admin.put(f"/v1/channels/{name}", json={"allow_backorder": True, "allow_preorder": True}), 201)
        yield server


def sku(admin: httpx.Client, on_hand: int = 10) -> str:
    name = unique("L")
    ok(admin.put(f"/v1/skus/{name}", json={"mode": "stock"}), 201)
    ok(admin.post("/v1/stock/adjustments", json={"sku": name, "delta": on_hand, "reason": "in"}), 201)
    return name


@contextmanager
def shop(srv: Server, admin: httpx.Client, channel: str = WEB, **limits: int) -> Iterator[tuple[httpx.Client, int]]:
    body = {"name": unique("shop"), "role": "storefront", "channels": [channel], **limits}
    made = ok(admin.post("/v1/keys", json=body), 201)
    with srv.client(made["secret"]) as client:
        yield client, int(made["id"])


def available(admin: httpx.Client, name: str) -> int:
    answer: dict[str, Any] = ok(admin.get(f"/v1/availability/{name}", params={"channel": WEB}), 200)
    return int(answer["available"])


# -- finding 2: priority is the merchant's ---------------------------------------------------------

def test_a_storefront_key_may_not_set_a_priority_but_ops_may(srv: Server) -> None:
    with (srv.client() as admin, srv.client(new_key(admin, "ops")["secret"]) as ops,
          shop(srv, admin) as (client, _)):
        name, ref = sku(admin), unique("O")
        body = {"ref": ref, "channel": WEB, "priority": 1000, "lines": [{"sku": name, "qty": 1}]}
        refused = client.post("/v1/orders", json=body)
        assert refused.status_code == 403 and refused.json()["field"] == "priority", refused.text
        assert admin.get(f"/v1/orders/{ref}").status_code == 404  # nothing half-written
        ok(client.post("/v1/orders", json={**body, "priority": 0}), 201)
        ok(ops.post("/v1/orders", json={**body, "ref": unique("O")}), 201)


# -- finding 3: holds capped in time and in units, released on revocation, listed for ops ---------

def test_a_storefront_hold_is_capped_at_30_minutes_by_default_and_by_its_key(srv: Server) -> None:
    with (srv.client() as admin,
          shop(srv, admin) as (client, _), shop(srv, admin, max_hold_ttl_seconds=60) as (short, _)):
        name = sku(admin)
        week = client.post("/v1/holds", json={"sku": name, "qty": 1, "channel": WEB, "ttl_seconds": 7 * 24 * 3600})
        assert week.status_code == 422 and week.json()["field"] == "ttl_seconds", week.text
        held = ok(client.post("/v1/holds", json={"sku": name, "qty": 1, "channel": WEB, "ttl_seconds": 1800}), 201)
        assert datetime.fromisoformat(held["expires_at"]) <= datetime.now(UTC) + timedelta(minutes=31)
        assert short.post("/v1/holds", json={"sku": name, "qty": 1, "channel": WEB, "ttl_seconds": 61}
                          ).status_code == 422
        held = ok(short.post("/v1/holds", json={"sku": name, "qty": 1, "channel": WEB}), 201)  # default: 60 s
        assert datetime.fromisoformat(held["expires_at"]) <= datetime.now(UTC) + timedelta(seconds=61)
        ok(admin.post("/v1/holds", json={"sku": name, "qty": 1, "channel": WEB, "ttl_seconds": 7 * 24 * 3600}), 201)


def test_a_storefront_key_holds_at_most_its_cap_of_units_even_when_it_asks_all_at_once(srv: Server) -> None:
    with (srv.client() as admin,
          shop(srv, admin, max_held_units=5) as (client, _)):
        name = sku(admin, 100)
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda _: client.post("/v1/holds", json={"sku": name, "qty": 1, "channel": WEB}),
                                    range(20)))
        codes = sorted(a.status_code for a in answers)
        assert codes == [201] * 5 + [409] * 15, codes
        assert {a.json()["code"] for a in answers if a.status_code == 409} == {"hold_limit_reached"}
        first = next(a.json()["id"] for a in answers if a.status_code == 201)
        ok(client.delete(f"/v1/holds/{first}"), 200)
        ok(client.post("/v1/holds", json={"sku": name, "qty": 1, "channel": WEB}), 201)
        assert client.post("/v1/holds", json={"sku": name, "qty": 1, "channel": WEB}).status_code == 409


def test_revoking_a_storefront_key_releases_its_holds_and_gives_the_stock_back(srv: Server) -> None:
    with (srv.client() as admin,
          shop(srv, admin) as (client, key_id)):
        name = sku(admin, 3)
        held = ok(client.post("/v1/holds", json={"sku": name, "qty": 3, "channel": WEB, "ttl_seconds": 1800}), 201)
        assert available(admin, name) == 0
        ok(admin.delete(f"/v1/keys/{key_id}"), 204)
        assert available(admin, name) == 3
        assert ok(admin.get(f"/v1/holds/{held['id']}"), 200)["status"] == "released"


def test_ops_list_a_keys_holds_page_by_page_and_release_them_by_key_or_sku(srv: Server) -> None:
    with (srv.client() as admin, srv.client(new_key(admin, "ops")["secret"]) as ops,
          shop(srv, admin) as (client, key_id)):
        first, second = sku(admin), sku(admin)
        made = {ok(client.post("/v1/holds", json={"sku": s, "qty": 1, "channel": WEB}), 201)["id"]
                for s in (first, first, second)}
        seen: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            page = ok(ops.get("/v1/holds", params={"key_id": key_id, "status": "active", "limit": 2,
                                                   **({"after": after} if after else {})}), 200)
            seen += page["items"]
            after = page["next"]
            if after is None:
                break
        assert {h["id"] for h in seen} == made and {h["key_id"] for h in seen} == {key_id}
        by_sku = ok(ops.get("/v1/holds", params={"sku": second}), 200)["items"]
        assert [h["sku"] for h in by_sku] == [second]
        assert ok(ops.post("/v1/holds/release", json={"sku": first}), 200)["released"] == 2
        assert available(admin, first) == 10
        assert ok(ops.post("/v1/holds/release", json={"key_id": key_id}), 200)["released"] == 1
        assert ok(ops.get("/v1/holds", params={"key_id": key_id, "status": "active"}), 200)["items"] == []
        missing = ops.post("/v1/holds/release", json={})
        assert missing.status_code == 422 and missing.json()["field"] == "sku"


# -- finding 8: the same answer for "not yours" and "absent" --------------------------------------

def test_a_storefront_key_gets_the_same_answer_for_another_channels_ref_and_an_absent_one(srv: Server) -> None:
    with (srv.client() as admin,
          shop(srv, admin, channel=WEB) as (client, _), shop(srv, admin, channel=MARKET) as (other, _)):
        name = sku(admin)
        ref = unique("O")
        ok(admin.post("/v1/orders", json={"ref": ref, "channel": MARKET, "lines": [{"sku": name, "qty": 1}]}), 201)
        hold = ok(other.post("/v1/holds", json={"sku": name, "qty": 1, "channel": MARKET}), 201)["id"]
        pairs = [("GET", f"/v1/orders/{ref}", "/v1/orders/NO-SUCH-REF"),
                 ("POST", f"/v1/orders/{ref}/lines/1/consent", "/v1/orders/NO-SUCH-REF/lines/1/consent"),
                 ("GET", f"/v1/holds/{hold}", "/v1/holds/hold_nosuchhold"),
                 ("DELETE", f"/v1/holds/{hold}", "/v1/holds/hold_nosuchhold")]
        for method, theirs, absent in pairs:
            body = {"accept": True} if method == "POST" else None
            a, b = client.request(method, theirs, json=body), client.request(method, absent, json=body)
            assert a.status_code == b.status_code == 403, (theirs, a.text, b.text)
            assert a.json()["detail"].replace(theirs.split("/")[3], "X") == \
                b.json()["detail"].replace(absent.split("/")[3], "X")
