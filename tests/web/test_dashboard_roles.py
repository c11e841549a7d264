"""The dashboard's role matrix: every page and every form, for every role, is allowed or refused.

admin and ops: everything. viewer: every page, no change (403). A storefront key is a machine's key
for the shop's API: it cannot sign in, and a session it somehow held is refused on every page (403).
Nobody signed in: sent to sign in. The routes are read from the app, so a new page must join the matrix.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import insert
from starlette.routing import BaseRoute

from allot.api.app import create_app
from allot.services import keys, locations, purchasing, selling, stock, transfers, webhooks
from allot.services.links import links
from allot.settings import Settings
from allot.store.db import Database
from allot.store.tables import messages
from allot.web.session import COOKIE
from tests import factories as f
from tests.web.helpers import csrf_of, dashboard

ROLES = ["admin", "ops", "viewer", "storefront", "storefront_other", "anonymous"]
ADMINS = {"admin"}
EDITORS = {"admin", "ops"}
READERS = {"admin", "ops", "viewer"}
EVERYONE = {*READERS, "storefront", "storefront_other", "anonymous"}
_counter = [0]


def unique(prefix: str) -> str:
    _counter[0] += 1
    return f"{prefix}-{_counter[0]}"


@dataclass
class World:
    """Fresh things for one call, made through the services."""

    db: Database
    now: datetime
    secrets: dict[str, str]
    role: str

    def sku(self) -> str:
        name = unique("DR")
        with self.db.write() as conn:
            f.sku(conn, name, self.now)
            f.receive(conn, name, 10, self.now)
        return name

    def po(self) -> str:
        ref, name = unique("DPO"), self.sku()
        with self.db.write() as conn:
            f.po(conn, ref, self.now, (name, 5, self.now.date() + timedelta(days=10)))
        return ref

    def order(self) -> str:
        ref, name = unique("DO"), self.sku()
        with self.db.write() as conn:
            f.order(conn, ref, self.now, (name, 2))
        return ref

    def held_sku(self) -> str:
        name = self.sku()
        with self.db.write() as conn:
            selling.place_hold(conn, name, 1, "web", 600, self.now)
        return name

    def short_sku(self) -> tuple[str, str]:
        """A SKU with one backordered line: (sku, order ref)."""
        name, ref = unique("DB"), unique("DBO")
        with self.db.write() as conn:
            f.sku(conn, name, self.now)
            f.receive(conn, name, 2, self.now)
            f.order(conn, ref, self.now, (name, 2))
            stock.count(conn, name, 0, "lost", self.now)  # the stock went missing: the line is short
        return name, ref

    def consent_order(self) -> str:
        """An order whose line waits for the customer's consent to a later date."""
        name, ref, po = unique("DC"), unique("DCO"), unique("DCP")
        with self.db.write() as conn:
            f.sku(conn, name, self.now)
            f.po(conn, po, self.now, (name, 5, self.now.date() + timedelta(days=5)))
            f.order(conn, ref, self.now, (name, 2), channel="asks")
            purchasing.update_line(conn, po, 1, self.now.date() + timedelta(days=40), None, self.now)
        return ref

    def webhook(self) -> int:
        with self.db.write() as conn:
            return int(webhooks.create(conn, "http://127.0.0.1:9/hook", None, None, None, self.now)["id"])

    def spare_key(self) -> int:
        with self.db.write() as conn:
            return int(keys.create(conn, unique("spare"), "viewer", None, self.now)["id"])

    def transfer(self) -> str:
        ref, name = unique("DT"), self.sku()
        with self.db.write() as conn:
            locations.put(conn, "dr-3pl", None, 0, self.now)
            transfers.create(conn, ref, "main", "dr-3pl", self.now.date() + timedelta(days=3),
                             [{"sku": name, "qty": 2}], self.now)
        return ref

    def transfer_form(self) -> dict[str, str]:
        with self.db.write() as conn:
            locations.put(conn, "dr-3pl", None, 0, self.now)
        return {"ref": unique("NT"), "from": "main", "to": "dr-3pl", "sku_1": self.sku(), "qty_1": "2",
                "expected_date": (self.now.date() + timedelta(days=3)).isoformat()}

    def own_key(self) -> str:
        return self.secrets.get(self.role, "not-a-key")

    def message(self) -> int:
        """A message to a customer, as the mailer makes them (docs/customers.md)."""
        ref = self.order()
        with self.db.write() as conn:
            return int(conn.execute(insert(messages).values(  # type: ignore[index]
                key=unique("msg"), message_id="<m@example.org>", channel="web", order_ref=ref, kind="confirmation",
                to_addr="c@example.org", from_addr="shop@example.org", subject="s", text="t", html="h", position=1,
                status="dead", attempts=12, next_attempt_at=self.now, created_at=self.now)).inserted_primary_key[0])

    def my_link(self) -> str:
        """The customer's page of a fresh order: public, opened by its signed link alone."""
        ref = self.order()
        with self.db.write() as conn:
            return f"/my/{links(conn, self.now).token(ref, self.now)}"


# A call: (path, form fields or None for a GET). The CSRF token is added to every form.
Build = Callable[[World], tuple[str, dict[str, str] | None]]
# (method, route path) -> (how to call it, roles allowed, status when allowed)
MATRIX: dict[tuple[str, str], tuple[Build, set[str], int]] = {
    ("GET", "/"): (lambda w: ("/", None), EVERYONE, 303),
    ("GET", "/signin"): (lambda w: ("/signin", None), EVERYONE, 200),
    ("POST", "/signin"): (lambda w: ("/signin", {"api_key": w.own_key(), "next": "/skus"}), READERS, 303),
    ("POST", "/signout"): (lambda w: ("/signout", {}), EVERYONE - {"anonymous"}, 303),
    ("GET", "/skus"): (lambda w: ("/skus?q=DR", None), READERS, 200),
    ("GET", "/skus/{sku}"): (lambda w: (f"/skus/{w.sku()}", None), READERS, 200),
    ("GET", "/orders"): (lambda w: ("/orders?q=zz", None), READERS, 200),
    ("GET", "/orders/{ref}"): (lambda w: (f"/orders/{w.order()}", None), READERS, 200),
    ("GET", "/at-risk"): (lambda w: ("/at-risk", None), READERS, 200),
    ("GET", "/purchase-orders"): (lambda w: ("/purchase-orders", None), READERS, 200),
    ("GET", "/purchase-orders/new"): (lambda w: ("/purchase-orders/new", None), EDITORS, 200),
    ("POST", "/purchase-orders"): (lambda w: ("/purchase-orders", {
        "ref": unique("NPO"), "line_sku_1": w.sku(), "line_qty_1": "3",
        "line_date_1": (w.now.date() + timedelta(days=9)).isoformat()}), EDITORS, 303),
    ("GET", "/purchase-orders/{ref}"): (lambda w: (f"/purchase-orders/{w.po()}", None), READERS, 200),
    ("POST", "/purchase-orders/{ref}/lines/{n}/preview"): (
        lambda w: (f"/purchase-orders/{w.po()}/lines/1/preview", {"qty": "7"}), EDITORS, 200),
    ("POST", "/purchase-orders/{ref}/lines/{n}"): (
        lambda w: (f"/purchase-orders/{w.po()}/lines/1", {"qty": "7", "nonce": unique("n")}), EDITORS, 303),
    ("POST", "/purchase-orders/{ref}/receipts/preview"): (
        lambda w: (f"/purchase-orders/{w.po()}/receipts/preview", {"receive_1": "2"}), EDITORS, 200),
    ("POST", "/purchase-orders/{ref}/receipts"): (
        lambda w: (f"/purchase-orders/{w.po()}/receipts", {"receive_1": "2", "nonce": unique("n")}), EDITORS, 303),
    ("POST", "/purchase-orders/{ref}/cancel/preview"): (
        lambda w: (f"/purchase-orders/{w.po()}/cancel/preview", {}), EDITORS, 200),
    ("POST", "/purchase-orders/{ref}/cancel"): (
        lambda w: (f"/purchase-orders/{w.po()}/cancel", {"nonce": unique("n")}), EDITORS, 303),
    ("GET", "/holds"): (lambda w: (f"/holds?status=active&sku={w.held_sku()}", None), READERS, 200),
    ("POST", "/holds/release"): (lambda w: ("/holds/release", {"sku": w.sku()}), EDITORS, 303),
    ("GET", "/channels"): (lambda w: ("/channels", None), READERS, 200),
    ("GET", "/channels/{name}"): (lambda w: ("/channels/web", None), READERS, 200),
    ("GET", "/import"): (lambda w: ("/import", None), EDITORS, 200),
    ("GET", "/transfers"): (lambda w: ("/transfers", None), READERS, 200),
    ("POST", "/transfers/preview"): (lambda w: ("/transfers/preview", w.transfer_form()), EDITORS, 200),
    ("POST", "/transfers"): (lambda w: ("/transfers", w.transfer_form()), EDITORS, 303),
    ("GET", "/transfers/{ref}"): (lambda w: (f"/transfers/{w.transfer()}", None), READERS, 200),
    ("POST", "/transfers/{ref}/receipts"): (lambda w: (f"/transfers/{w.transfer()}/receipts", {}), EDITORS, 303),
    # No file uploaded, no upload to confirm: an editor gets past the role check to the form's refusal.
    ("POST", "/import/preview"): (lambda w: ("/import/preview", {"kind": "skus"}), EDITORS, 422),
    ("POST", "/import/confirm"): (lambda w: ("/import/confirm", {"kind": "skus", "token": "0" * 32}), EDITORS, 409),
    ("GET", "/messages"): (lambda w: ("/messages", None), READERS, 200),
    ("POST", "/messages/{message_id}/resend"): (lambda w: (f"/messages/{w.message()}/resend", {}), EDITORS, 303),
    ("GET", "/payments"): (lambda w: ("/payments", None), READERS, 200),
    ("GET", "/channels/{name}/templates/{kind}"): (lambda w: ("/channels/web/templates/ready", None), READERS, 200),
    ("POST", "/channels/{name}/templates/{kind}/preview"): (
        lambda w: ("/channels/web/templates/ready/preview", {"subject": "Hi {{ order_ref }}", "text": "t", "html": "h"}),
        READERS, 200),
    ("POST", "/channels/{name}/templates/{kind}"): (
        lambda w: ("/channels/web/templates/ready", {"subject": "Hi {{ order_ref }}", "text": "t", "html": "h"}),
        EDITORS, 303),
    # The customer's page is public: its signed link is the key, for everyone alike.
    ("GET", "/my/{token}"): (lambda w: (w.my_link(), None), EVERYONE, 200),
    # Its forms need the link's own guard (bound to a cookie the page sets): no dashboard session, no key,
    # no session CSRF token stands in for it.
    ("POST", "/my/{token}/lines/{n}/consent"): (
        lambda w: (f"{w.my_link()}/lines/1/consent", {"answer": "cancel"}), EVERYONE, 403),
    ("POST", "/my/{token}/lines/{n}/cancel"): (lambda w: (f"{w.my_link()}/lines/1/cancel", {}), EVERYONE, 403),
    # Insight (BRIEF §8): reports, forecasts, the reorder list and its draft POs.
    ("GET", "/reports"): (lambda w: ("/reports", None), READERS, 200),
    ("GET", "/reports.csv"): (lambda w: ("/reports.csv?table=suppliers", None), READERS, 200),
    ("GET", "/reorder"): (lambda w: ("/reorder", None), READERS, 200),
    ("GET", "/reorder.csv"): (lambda w: ("/reorder.csv", None), READERS, 200),
    ("GET", "/reorder/{sku}/draft"): (lambda w: (f"/reorder/{w.sku()}/draft", None), EDITORS, 200),
    ("POST", "/reorder/{sku}/draft/preview"): (lambda w: (f"/reorder/{w.sku()}/draft/preview", {
        "ref": unique("RPO"), "qty": "4", "expected_date": (w.now.date() + timedelta(days=9)).isoformat()}),
        EDITORS, 200),
    ("POST", "/reorder/{sku}/draft"): (lambda w: (f"/reorder/{w.sku()}/draft", {
        "ref": unique("RPO"), "qty": "4", "expected_date": (w.now.date() + timedelta(days=9)).isoformat(),
        "nonce": unique("n")}), EDITORS, 303),
    ("GET", "/skus/{sku}/forecast"): (lambda w: (f"/skus/{w.sku()}/forecast", None), READERS, 200),
    ("GET", "/skus/{sku}/forecast/panel"): (lambda w: (f"/skus/{w.sku()}/forecast/panel", None), READERS, 200),
    ("GET", "/skus/{sku}/forecast.csv"): (lambda w: (f"/skus/{w.sku()}/forecast.csv", None), READERS, 200),
}
MATRIX.update({
    ("POST", "/orders/{ref}/shipments/preview"): (
        lambda w: (f"/orders/{w.order()}/shipments/preview", {"ship_1": "2"}), EDITORS, 200),
    ("POST", "/orders/{ref}/shipments"): (
        lambda w: (f"/orders/{w.order()}/shipments", {"ship_1": "2", "nonce": unique("n")}), EDITORS, 303),
    ("POST", "/orders/{ref}/cancel/preview"): (
        lambda w: (f"/orders/{w.order()}/cancel/preview", {"cancel_1": "1"}), EDITORS, 200),
    ("POST", "/orders/{ref}/cancel"): (
        lambda w: (f"/orders/{w.order()}/cancel", {"whole": "yes", "nonce": unique("n")}), EDITORS, 303),
    ("POST", "/orders/{ref}/lines/{n}/consent/preview"): (
        lambda w: (f"/orders/{w.consent_order()}/lines/1/consent/preview", {"answer": "accept"}), EDITORS, 200),
    ("POST", "/orders/{ref}/lines/{n}/consent"): (
        lambda w: (f"/orders/{w.consent_order()}/lines/1/consent", {"answer": "decline", "nonce": unique("n")}),
        EDITORS, 303),
    ("GET", "/skus/{sku}/stock"): (lambda w: (f"/skus/{w.sku()}/stock", None), EDITORS, 200),
    ("POST", "/skus/{sku}/stock/preview"): (
        lambda w: (f"/skus/{w.sku()}/stock/preview", {"kind": "adjust", "qty": "3", "reason": "found"}), EDITORS, 200),
    ("POST", "/skus/{sku}/stock"): (
        lambda w: (f"/skus/{w.sku()}/stock", {"kind": "count", "qty": "4", "reason": "count", "nonce": unique("n")}),
        EDITORS, 303),
    ("GET", "/skus/{sku}/settings"): (lambda w: (f"/skus/{w.sku()}/settings", None), EDITORS, 200),
    ("POST", "/skus/{sku}/settings/preview"): (
        lambda w: (f"/skus/{w.sku()}/settings/preview", {"mode": "backorder", "handling_days": "3"}), EDITORS, 200),
    ("POST", "/skus/{sku}/settings"): (
        lambda w: (f"/skus/{w.sku()}/settings", {"mode": "backorder", "handling_days": "3", "nonce": unique("n")}),
        EDITORS, 303),
    ("GET", "/skus/{sku}/backordered"): (lambda w: (f"/skus/{w.short_sku()[0]}/backordered", None), READERS, 200),
    ("POST", "/skus/{sku}/backordered/cancel/preview"): (
        lambda w: (f"/skus/{w.short_sku()[0]}/backordered/cancel/preview", {"scope": "all", "reason": "gone"}),
        EDITORS, 200),
    ("POST", "/skus/{sku}/backordered/cancel"): (
        lambda w: (f"/skus/{w.short_sku()[0]}/backordered/cancel",
                   {"scope": "all", "reason": "gone", "nonce": unique("n")}), EDITORS, 303),
    ("POST", "/skus/{sku}/backordered/keep"): (
        lambda w: (f"/skus/{w.short_sku()[0]}/backordered/keep", {"scope": "all", "reason": "wait"}), EDITORS, 303),
    ("GET", "/channels/{name}/settings"): (lambda w: ("/channels/market/settings", None), EDITORS, 200),
    ("POST", "/channels/{name}/settings/preview"): (
        lambda w: ("/channels/market/settings/preview", {"padding_days": "1"}), EDITORS, 200),
    ("POST", "/channels/{name}/settings"): (
        lambda w: ("/channels/market/settings", {"padding_days": "0", "nonce": unique("n")}), EDITORS, 303),
    ("POST", "/channels/{name}/quotas"): (
        lambda w: ("/channels/web/quotas", {"sku": w.sku(), "quota": "5"}), EDITORS, 303),
    ("GET", "/webhooks"): (lambda w: ("/webhooks", None), ADMINS, 200),
    ("GET", "/webhooks/{webhook_id}"): (lambda w: (f"/webhooks/{w.webhook()}", None), ADMINS, 200),
    ("POST", "/webhooks/{webhook_id}/redeliver"): (lambda w: (f"/webhooks/{w.webhook()}/redeliver", {}), ADMINS, 303),
    # No delivery to send again: an admin gets past the role check to the service's refusal.
    ("POST", "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): (
        lambda w: (f"/webhooks/{w.webhook()}/deliveries/999999/redeliver", {}), ADMINS, 404),
    ("GET", "/keys"): (lambda w: ("/keys", None), ADMINS, 200),
    ("POST", "/keys"): (lambda w: ("/keys", {"name": unique("k"), "role": "viewer"}), ADMINS, 201),
    ("POST", "/keys/{key_id}/revoke"): (lambda w: (f"/keys/{w.spare_key()}/revoke", {}), ADMINS, 303),
    ("GET", "/audit"): (lambda w: ("/audit", None), ADMINS, 200),
})
SESSION_CHANGING = {"/signin", "/signout"}
REFUSED_AS = {("POST", "/signin"): {"anonymous": 401}}  # no key of its own: the form says the key is not valid


def _walk(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI ≥ 0.165 wraps included routers
        yield from _walk(included.routes) if included is not None else [route]


def dashboard_routes() -> set[tuple[str, str]]:
    """Every page and form the dashboard serves: the routes whose handlers live in allot.web."""
    app = create_app(Settings("sqlite://"), sweep=False)
    return {(method, r.path) for r in _walk(app.routes) if isinstance(r, APIRoute)
            and r.endpoint.__module__.startswith("allot.web") for method in r.methods}


def test_the_matrix_covers_every_page_and_form_of_the_dashboard() -> None:
    assert set(MATRIX) == dashboard_routes()


def _keys(db: Database, now: datetime) -> dict[str, str]:
    with db.write() as conn:
        f.channel(conn, "web", now)
        f.channel(conn, "market", now)
        f.channel(conn, "asks", now, consent_after_days=3)
        made = {role: keys.create(conn, f"{role}-key", role, None, now)["secret"] for role in READERS}
        made["storefront"] = keys.create(conn, "shop", "storefront", ["web"], now)["secret"]
        made["storefront_other"] = keys.create(conn, "market", "storefront", ["market"], now)["secret"]
    return {k: str(v) for k, v in made.items()}


def _sign_in(client: TestClient, secret: str) -> tuple[int, str]:
    token = csrf_of(client.get("/signin").text)
    answer = client.post("/signin", data={"csrf": token, "api_key": secret, "next": "/skus"})
    return answer.status_code, answer.text


def _storefront_session(client: TestClient, db: Database, secret: str, now: datetime) -> None:
    """A session for a storefront key, as if one were made before storefront sign-in was refused."""
    with db.read() as conn:
        principal = keys.authenticate(conn, secret)
    assert principal is not None
    sessions = client.app.state.web_sessions  # type: ignore[attr-defined]
    client.cookies.set(COOKIE, sessions.write(sessions.start(principal.key_id, now)))


def _csrf(client: TestClient) -> str:
    return csrf_of(client.get("/signin").text)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_and_form_is_allowed_or_refused_for_each_role(db: Database, now: datetime, role: str) -> None:
    secrets = _keys(db, now)
    failures = []
    # One app and one session per role (an app per call made this test the suite's slowest); a call
    # that ends or replaces the session (sign in, sign out) gets a fresh client after it.
    with dashboard(db, now) as client:
        fresh = True
        for (method, route), (build, allowed, success) in sorted(MATRIX.items()):
            if fresh:
                client.cookies.clear()
                if role in READERS:
                    assert _sign_in(client, secrets[role])[0] == 303
                elif role != "anonymous":
                    status, text = _sign_in(client, secrets[role])
                    assert status == 403 and "storefront key" in text, (status, text)
                    _storefront_session(client, db, secrets[role], now)
            fresh = route in SESSION_CHANGING
            path, form = build(World(db, now, secrets, role))
            if form is None:
                answer = client.get(path)
            else:
                answer = client.post(path, data={**form, "csrf": _csrf(client)})
            refused = REFUSED_AS.get((method, route), {}).get(role, 303 if role == "anonymous" else 403)
            expected = success if role in allowed else refused
            if answer.status_code != expected:
                failures.append(f"{role} {method} {path}: {answer.status_code}, expected {expected}")
            if refused == 303 and role not in allowed:
                assert answer.headers["location"].startswith("/signin"), path
    assert not failures, "\n".join(failures)
