"""The audit log: every write, with who made it, in the write's own transaction; nothing can alter it."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from allot.services.audit import SECRET_FIELDS
from tests.e2e.test_roles import MATRIX, SIGNED, WEB, World, app_operations
from tests.e2e.trust import DATABASES, Server, allot, new_key, ok, serving, unique

# Calls the matrix makes that are refused even when allowed (409, 404) change nothing, so write no audit row.
# A shop's signed webhook is made by no key: its row names the shop (tests/e2e/test_storefront_webhooks.py).
# Previews are POSTs that write nothing (BRIEF §7), so they leave no audit row either.
WRITES = sorted((m, p) for (m, p), (_, _, success) in MATRIX.items()
                if m != "GET" and success < 400 and (m, p) not in SIGNED and not p.endswith("/preview"))
PREVIEWS = sorted((m, p) for (m, p) in MATRIX if p.endswith("/preview"))


@pytest.fixture(scope="module", params=DATABASES)
def audited(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"audit-{request.param}")
    with serving(request.param, tmp) as srv:
        yield srv


@pytest.fixture(scope="module")
def admin(audited: Server) -> Iterator[httpx.Client]:
    with audited.client() as client:
        ok(client.put(f"/v1/channels/{WEB}", json={"allow_backorder": True, "allow_preorder": True}), 201)
        yield client


@pytest.fixture(scope="module")
def keys(audited: Server, admin: httpx.Client) -> Iterator[dict[str, tuple[dict[str, Any], httpx.Client]]]:
    made = {"ops": new_key(admin, "ops"), "storefront": new_key(admin, "storefront", [WEB])}
    opened = {role: (key, audited.client(key["secret"])) for role, key in made.items()}
    yield opened
    for _, client in opened.values():
        client.close()


def entries(admin: httpx.Client, **filters: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(admin.get("/v1/audit", params={"limit": 1000, **filters}), 200)["entries"]
    return found


def contains(big: Any, small: Any) -> bool:
    """`big` has everything `small` has (and may add defaults)."""
    if isinstance(small, dict):
        return isinstance(big, dict) and all(k in big and contains(big[k], v) for k, v in small.items())
    if isinstance(small, list):
        return isinstance(big, list) and len(big) == len(small) and all(map(contains, big, small))
    return bool(big == small)


def rid() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest.mark.parametrize(("method", "path"), PREVIEWS, ids=lambda v: str(v))
def test_a_preview_writes_no_audit_row(admin: httpx.Client, keys: dict[str, tuple[dict[str, Any], httpx.Client]],
                                       method: str, path: str) -> None:
    call = MATRIX[(method, path)][0](World(admin, keys["storefront"][1]))
    request_id = rid()
    ok(keys["ops"][1].request(call.method, call.path, json=call.json, headers={"X-Request-Id": request_id}), 200)
    assert entries(admin, request_id=request_id) == []


@pytest.mark.parametrize(("method", "path"), WRITES, ids=lambda v: str(v))
def test_every_write_is_in_the_audit_log_with_who_made_it(
    admin: httpx.Client, keys: dict[str, tuple[dict[str, Any], httpx.Client]], method: str, path: str
) -> None:
    build, allowed, success = MATRIX[(method, path)]
    role = next(r for r in ("storefront", "ops", "admin") if r in allowed)  # the least powerful that may
    key, client = keys[role] if role != "admin" else ({"id": None, "name": "bootstrap"}, admin)
    call = build(World(admin, keys["storefront"][1]))
    request_id = rid()
    resp = client.request(call.method, call.path, json=call.json, params=call.params, content=call.content,
                          headers={**call.headers, "X-Request-Id": request_id})
    assert resp.status_code == success, resp.text
    assert resp.headers["x-request-id"] == request_id
    if success >= 400:  # the matrix reaches this write only as far as a refusal, which changes nothing
        assert entries(admin, request_id=request_id) == []
        return
    [entry] = entries(admin, request_id=request_id)
    assert (entry["method"], entry["path"], entry["status"], entry["role"]) == (method, call.path, success, role)
    assert entry["key_name"] == key["name"] and (key["id"] is None or entry["key_id"] == key["id"])
    assert entry["action"] and entry["summary"]["params"] is not None
    if call.json is not None:  # all of it but the secrets, which are never copied (a storefront's)
        assert contains(entry["summary"]["body"], {k: v for k, v in call.json.items() if k not in SECRET_FIELDS})
    assert abs(datetime.fromisoformat(entry["occurred_at"]) - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_refused_or_failed_write_leaves_no_audit_row(admin: httpx.Client,
                                                         keys: dict[str, tuple[dict[str, Any], httpx.Client]]) -> None:
    world = World(admin, keys["storefront"][1])
    sku = world.sku(on_hand=1)
    refused = {"ref": unique("O"), "channel": WEB, "lines": [{"sku": sku, "qty": 1}, {"sku": sku, "qty": 5}]}
    attempts = [
        (admin, "POST", "/v1/orders", refused, 409),  # the second line is refused: the whole order rolls back
        (admin, "POST", "/v1/stock/adjustments", {"sku": sku, "delta": -5, "reason": "x"}, 409),
        (admin, "POST", "/v1/orders", {"ref": unique("O"), "channel": "nowhere", "lines": [{"sku": sku, "qty": 1}]},
         422),
        (keys["storefront"][1], "POST", "/v1/stock/adjustments", {"sku": sku, "delta": 5, "reason": "x"}, 403),
    ]
    for client, method, path, body, status in attempts:
        request_id = rid()
        resp = client.request(method, path, json=body, headers={"X-Request-Id": request_id})
        assert resp.status_code == status, resp.text
        assert entries(admin, request_id=request_id) == []
    assert admin.get(f"/v1/orders/{refused['ref']}").status_code == 404


def test_an_idempotent_replay_changes_nothing_and_adds_no_audit_row(admin: httpx.Client) -> None:
    sku = World(admin, admin).sku()
    body = {"sku": sku, "delta": 2, "reason": "receipt"}
    first, again = rid(), rid()
    headers = {"Idempotency-Key": unique("idem")}
    ok(admin.post("/v1/stock/adjustments", json=body, headers={**headers, "X-Request-Id": first}), 201)
    replay = admin.post("/v1/stock/adjustments", json=body, headers={**headers, "X-Request-Id": again})
    assert replay.headers["idempotent-replayed"] == "true"
    assert len(entries(admin, request_id=first)) == 1 and entries(admin, request_id=again) == []


def test_the_audit_log_cannot_be_changed_through_the_api(admin: httpx.Client) -> None:
    before = entries(admin)
    assert before
    first = before[0]["id"]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/v1/audit", f"/v1/audit/{first}"):
            resp = admin.request(method, path, json={"summary": {}, "role": "viewer"})
            assert resp.status_code in (404, 405), f"{method} {path}: {resp.status_code}"
    assert {m for m, p in app_operations() if p.startswith("/v1/audit")} == {"GET"}
    after = entries(admin)
    assert after[: len(before)] == before


def test_the_audit_log_filters_by_key_role_action_method_and_time(
    admin: httpx.Client, keys: dict[str, tuple[dict[str, Any], httpx.Client]]
) -> None:
    ops_key, ops = keys["ops"]
    ok(ops.put(f"/v1/skus/{unique('F')}", json={"mode": "stock"}), 201)
    start = datetime.now(UTC)
    sku = unique("F")
    ok(ops.put(f"/v1/skus/{sku}", json={"mode": "stock"}), 201)
    ok(ops.post("/v1/stock/adjustments", json={"sku": sku, "delta": 1, "reason": "in"}), 201)
    mine = entries(admin, key_id=ops_key["id"], since=start.isoformat())
    assert [(e["action"], e["path"]) for e in mine] == [("put_sku", f"/v1/skus/{sku}"),
                                                       ("adjust_stock", "/v1/stock/adjustments")]
    earlier = entries(admin, key_id=ops_key["id"], until=start.isoformat())
    assert earlier and all(datetime.fromisoformat(e["occurred_at"]) < start for e in earlier)
    assert all(e["role"] == "ops" for e in entries(admin, role="ops"))
    assert {e["action"] for e in entries(admin, action="put_sku")} == {"put_sku"}
    assert {e["method"] for e in entries(admin, method="PUT")} == {"PUT"}
    page = ok(admin.get("/v1/audit", params={"limit": 1}), 200)
    assert len(page["entries"]) == 1
    assert ok(admin.get("/v1/audit", params={"after": page["next"], "limit": 1}), 200)["entries"][0]["id"] > page["next"]
    assert admin.get("/v1/audit", params={"limit": 1001}).status_code == 422


def test_a_new_key_secret_never_reaches_the_audit_log(admin: httpx.Client) -> None:
    request_id = rid()
    made = ok(admin.post("/v1/keys", json={"name": "shop", "role": "storefront", "channels": [WEB]},
                         headers={"X-Request-Id": request_id}), 201)
    [entry] = entries(admin, request_id=request_id)
    assert entry["summary"]["result"]["id"] == made["id"]
    assert made["secret"] not in json.dumps(entry)
    refused = admin.post("/v1/keys", json={"name": "x", "role": "viewer"}, headers={"Idempotency-Key": "k-1"})
    assert (refused.status_code, refused.json()["field"]) == (422, "Idempotency-Key")


def test_a_webhook_signing_secret_never_reaches_the_audit_log(admin: httpx.Client) -> None:
    request_id, secret = rid(), "s3cret-" + uuid.uuid4().hex
    made = ok(admin.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "secret": secret},
                         headers={"X-Request-Id": request_id}), 201)
    [entry] = entries(admin, request_id=request_id)
    assert entry["summary"]["result"]["id"] == made["id"] and secret not in json.dumps(entry)


def test_a_request_gets_an_id_when_it_brings_none_or_a_malformed_one(admin: httpx.Client) -> None:
    plain = admin.get("/v1/events", params={"limit": 1})
    odd = admin.get("/v1/events", params={"limit": 1}, headers={"X-Request-Id": "bad id\twith spaces"})
    for resp in (plain, odd):
        assert len(resp.headers["x-request-id"]) == 32 and int(resp.headers["x-request-id"], 16) >= 0
    assert plain.headers["x-request-id"] != odd.headers["x-request-id"]


def test_keys_made_and_revoked_on_the_command_line_are_audited_as_cli(audited: Server, admin: httpx.Client,
                                                                       tmp_path: Path) -> None:
    made = allot(audited.url, "keys", "create", "cli-made", "--role", "viewer", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    key_id = next(k["id"] for k in ok(admin.get("/v1/keys"), 200) if k["name"] == "cli-made")
    revoked = allot(audited.url, "keys", "revoke", str(key_id), cwd=tmp_path)
    assert revoked.returncode == 0, revoked.stderr
    cli = entries(admin, role="cli")
    assert [(e["action"], e["summary"]["result"]["id"]) for e in cli][-2:] == [("create_key", key_id),
                                                                                 ("revoke_key", key_id)]
    secret = made.stdout.split(": ", 1)[1].split()[0]
    assert secret.startswith("allot_") and secret not in json.dumps(cli)
    listed = allot(audited.url, "keys", "list", cwd=tmp_path)
    assert "cli-made" in listed.stdout and secret not in listed.stdout
