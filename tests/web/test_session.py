"""Signing in to the dashboard: API key in, signed HttpOnly cookie out, CSRF on every form, roles obeyed."""
from __future__ import annotations

from datetime import datetime

from allot.services import keys
from allot.store.db import Database
from allot.web.session import COOKIE, Codec
from tests.fresh_db import load_demo
from tests.web.helpers import csrf_of, dashboard, make_key, sign_in


def test_signing_in_sets_an_httponly_samesite_session_cookie(db: Database, now: datetime) -> None:
    secret = make_key(db, now, "ops")
    with dashboard(db, now) as client:
        token = csrf_of(client.get("/signin").text)
        answer = client.post("/signin", data={"csrf": token, "api_key": secret, "next": "/at-risk"})
    assert answer.status_code == 303 and answer.headers["location"] == "/at-risk"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert secret not in cookie


def test_a_wrong_key_is_refused_with_what_to_do_next(db: Database, now: datetime) -> None:
    with dashboard(db, now) as client:
        token = csrf_of(client.get("/signin").text)
        answer = client.post("/signin", data={"csrf": token, "api_key": "not-a-key"})
    assert answer.status_code == 401
    assert "not valid" in answer.text and "allot keys create" in answer.text


def test_pages_send_you_to_sign_in_and_back(db: Database, now: datetime) -> None:
    with dashboard(db, now) as client:
        answer = client.get("/orders?q=W-1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=/orders%3Fq%3DW-1"


def test_after_sign_in_next_is_never_another_site(db: Database, now: datetime) -> None:
    secret = make_key(db, now, "viewer")
    with dashboard(db, now) as client:
        token = csrf_of(client.get("/signin").text)
        answer = client.post("/signin", data={"csrf": token, "api_key": secret, "next": "//evil.example/x"})
    assert answer.headers["location"] == "/skus"


def test_sign_in_without_the_forms_csrf_token_is_refused(db: Database, now: datetime) -> None:
    secret = make_key(db, now, "ops")
    with dashboard(db, now) as client:
        client.get("/signin")
        answer = client.post("/signin", data={"csrf": "forged", "api_key": secret})
    assert answer.status_code == 403 and COOKIE not in answer.headers.get("set-cookie", "x")


def test_a_post_without_the_sessions_csrf_token_changes_nothing(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        sign_in(client, make_key(db, now, "ops"))
        for token in ("", "someone-elses-token"):
            answer = client.post("/purchase-orders/PO-1002/lines/1", data={"csrf": token, "expected_date": "2027-03-01"})
            assert answer.status_code == 403 and "security token" in answer.text
        assert "2027-03-01" not in client.get("/purchase-orders/PO-1002").text


def test_a_viewer_sees_no_edit_controls_and_cannot_change_anything(db: Database, now: datetime) -> None:
    load_demo(db, now)
    with dashboard(db, now) as client:
        token = sign_in(client, make_key(db, now, "viewer"))
        page = client.get("/purchase-orders/PO-1002").text
        assert "Preview change" not in page and "Preview receipt" not in page and "New purchase order" not in page
        assert "can look" in page
        answer = client.post("/purchase-orders/PO-1002/lines/1", data={"csrf": token, "expected_date": "2027-03-01"})
        assert answer.status_code == 403
        assert client.get("/purchase-orders/new").status_code == 403


def test_a_revoked_key_ends_its_session(db: Database, now: datetime) -> None:
    secret = make_key(db, now, "ops")
    with dashboard(db, now) as client:
        sign_in(client, secret)
        with db.write() as conn:
            principal = keys.authenticate(conn, secret)
            assert principal is not None
            keys.revoke(conn, principal.key_id, now)
        assert client.get("/skus").status_code == 303


def test_a_tampered_cookie_is_no_session(db: Database, now: datetime) -> None:
    with dashboard(db, now) as client:
        sign_in(client, make_key(db, now, "admin"))
        value = client.cookies[COOKIE]
        body, _, mac = value.partition(".")
        client.cookies.set(COOKIE, body[:-2] + "xx." + mac)
        assert client.get("/skus").status_code == 303


def test_the_session_secret_is_made_once_and_shared_through_the_database(db: Database, now: datetime) -> None:
    secret = make_key(db, now, "ops")
    with dashboard(db, now) as first:
        sign_in(first, secret)
        cookie = first.cookies[COOKIE]
    with dashboard(db, now) as second:  # another process on the same database
        second.cookies.set(COOKIE, cookie)
        assert second.get("/skus").status_code == 200


def test_a_configured_session_secret_signs_the_cookie(db: Database, now: datetime) -> None:
    with dashboard(db, now, secret="from-the-environment") as client:
        sign_in(client, make_key(db, now, "ops"))
        assert Codec(b"from-the-environment").loads(client.cookies[COOKIE], now.timestamp()) is not None


def test_an_expired_cookie_reads_as_no_session() -> None:
    codec = Codec(b"s")
    token = codec.dumps({"key": 1, "csrf": "t", "exp": 100})
    assert codec.loads(token, 99) is not None and codec.loads(token, 101) is None


def test_a_form_posted_after_the_session_ended_asks_to_sign_in_again(db: Database, now: datetime) -> None:
    with dashboard(db, now) as client:
        answer = client.post("/purchase-orders/PO-1/receipts", data={"csrf": "x", "receive_1": "5"})
    assert answer.status_code == 303 and answer.headers["location"] == "/signin?next=/skus"
