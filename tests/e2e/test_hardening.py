"""Hardening at the HTTP edge: body and page-size caps, security headers, keys hashed and kept out of logs.

(Constant-time key comparison and the database timeout are in tests/integration/test_keys_and_timeouts.py.)"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from allot.services import keys
from allot.store.db import Database
from allot.store.tables import api_keys
from tests.conftest import ADMIN_KEY
from tests.e2e.trust import DATABASES, Server, new_key, ok, serving

LIMIT = 1024 * 1024


@pytest.fixture(scope="module", params=DATABASES)
def hardened(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"hardening-{request.param}")
    with serving(request.param, tmp) as srv:
        srv.tmp = tmp  # type: ignore[attr-defined]
        yield srv


@pytest.fixture(scope="module")
def admin(hardened: Server) -> Iterator[httpx.Client]:
    with hardened.client() as client:
        ok(client.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True}), 201)
        yield client


def test_a_body_over_a_mebibyte_is_refused_with_413_whether_its_length_is_declared_or_not(
    admin: httpx.Client
) -> None:
    huge = b'{"sku": "' + b"A" * LIMIT + b'", "delta": 1, "reason": "x"}'
    declared = admin.post("/v1/stock/adjustments", content=huge, headers={"content-type": "application/json"})
    chunked = admin.post("/v1/stock/adjustments", content=iter([huge[:LIMIT // 2], huge[LIMIT // 2:]]),
                         headers={"content-type": "application/json"})
    assert "content-length" not in chunked.request.headers
    for resp in (declared, chunked):
        assert resp.status_code == 413, resp.text[:200]
        assert resp.json()["code"] == "payload_too_large"
    small = admin.post("/v1/stock/adjustments", content=b"x" * 1000, headers={"content-type": "application/json"})
    assert small.status_code == 422


def test_page_sizes_are_capped(admin: httpx.Client) -> None:
    for path in ("/v1/events", "/v1/audit"):
        assert admin.get(path, params={"limit": 1000}).status_code == 200
        resp = admin.get(path, params={"limit": 1001})
        assert (resp.status_code, resp.json()["field"]) == (422, "limit")


def test_every_answer_carries_security_headers(hardened: Server, admin: httpx.Client) -> None:
    answers = [admin.get("/v1/events"), admin.get("/v1/skus/NOPE"), httpx.get(hardened.base + "/v1/events"),
               admin.post("/v1/stock/adjustments", json={}), httpx.get(hardened.base + "/openapi.json")]
    for resp in answers:
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["referrer-policy"] == "no-referrer"
        assert resp.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert resp.headers["cache-control"] == "no-store"
    docs = httpx.get(hardened.base + "/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()  # Swagger UI from our own files
    assert docs.headers["content-security-policy"].startswith("default-src 'self'")
    assert "script-src 'self';" in docs.headers["content-security-policy"]  # no inline script
    page = httpx.get(hardened.base + "/signin")  # the dashboard keeps its own policy, which lets its CSS load
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-frame-options"] == "DENY" and len(page.headers["x-request-id"]) == 32


def test_a_wrong_method_is_405_with_allow(admin: httpx.Client) -> None:
    resp = admin.put("/v1/events")
    assert resp.status_code == 405 and resp.json()["code"] == "method_not_allowed"
    assert resp.headers["allow"] == "GET"


def test_keys_are_stored_as_digests_shown_once_and_record_their_last_use(hardened: Server,
                                                                           admin: httpx.Client) -> None:
    made = new_key(admin, "viewer")
    listed = {k["id"]: k for k in ok(admin.get("/v1/keys"), 200)}
    assert "secret" not in listed[made["id"]] and listed[made["id"]]["last_used_at"] is None
    assert listed[made["id"]]["prefix"] == made["secret"][:12]
    with hardened.client(made["secret"]) as viewer:
        ok(viewer.get("/v1/events"), 200)
    assert ok(admin.get("/v1/keys"), 200)[-1]["last_used_at"] is not None
    db = Database(hardened.url)
    with db.read() as conn:
        stored = conn.execute(select(api_keys).where(api_keys.c.id == made["id"])).one()
    db.dispose()
    assert stored.secret_hash == hashlib.sha256(made["secret"].encode()).hexdigest()
    assert made["secret"] not in [str(v) for v in stored]


def test_no_key_or_its_digest_reaches_the_server_log(hardened: Server, admin: httpx.Client) -> None:
    shop = new_key(admin, "storefront", ["web"])
    wrong = "allot_" + "x" * 43
    with hardened.client(shop["secret"]) as storefront, hardened.client(wrong) as stranger:
        assert storefront.post("/v1/stock/adjustments", json={"sku": "A", "delta": 1, "reason": "r"}).status_code == 403
        assert stranger.get("/v1/events").status_code == 401
        assert storefront.get("/v1/availability/NOPE", params={"channel": "web"}).status_code == 404
    time.sleep(0.3)
    log = (hardened.tmp / f"server-{hardened.port}.log").read_text()  # type: ignore[attr-defined]
    assert f"denied key {shop['id']} (storefront)" in log  # refusals are logged, by key id
    assert "refused an unknown or revoked API key" in log
    for secret in (ADMIN_KEY, shop["secret"], wrong):
        assert secret not in log and keys.digest(secret) not in log and secret[6:18] not in log


def test_a_date_beyond_the_year_2999_is_bad_input_so_no_promise_can_overflow_the_calendar(
    admin: httpx.Client
) -> None:
    sku = f"FAR-{int(time.time() * 1000)}"
    ok(admin.put(f"/v1/skus/{sku}", json={"mode": "backorder", "handling_days": 5}), 201)
    far = admin.post("/v1/purchase-orders", json={"ref": f"PO-{sku}", "lines": [
        {"sku": sku, "qty": 5, "expected_date": "9999-12-30"}]})
    assert (far.status_code, far.json()["field"]) == (422, "lines.0.expected_date")
    ok(admin.get(f"/v1/availability/{sku}", params={"channel": "web"}), 200)


def test_text_that_no_database_can_store_is_bad_input(admin: httpx.Client) -> None:
    for escaped in (rb"nul\u0000inside", rb"lone \ud800 surrogate"):
        resp = admin.put("/v1/skus/TXT-1", content=b'{"mode": "stock", "name": "' + escaped + b'"}',
                         headers={"content-type": "application/json"})
        assert (resp.status_code, resp.json()["field"]) == (422, "name"), resp.text


def test_no_part_of_a_supplied_bootstrap_secret_is_listed(admin: httpx.Client) -> None:
    bootstrap = next(k for k in ok(admin.get("/v1/keys"), 200) if k["name"] == "bootstrap")
    assert bootstrap["prefix"] == "(supplied)"
    assert ADMIN_KEY[:4] not in str(bootstrap)
