"""Templates over the API: a template that does not render is refused at save with its line and reason,
the preview shows the same; a saved override is what the next email says; messages listed and re-sent."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from fastapi.testclient import TestClient

from allot.api.app import create_app
from allot.services import keys, selling
from allot.settings import Settings
from allot.store.db import Database
from tests import factories as f
from tests.mail import SmtpSink, mailer, text_of

GOOD = {"subject": "{{ shop }}: order {{ order_ref }}", "text": "Hi {{ customer }}\n{% for l in lines %}{{ l.name }}\n"
        "{% endfor %}{{ link }}", "html": "<p>{{ customer }}</p>"}


@contextmanager
def api(db: Database, now: datetime) -> Iterator[TestClient]:
    with db.write() as conn:
        secret = keys.create(conn, "admin", "admin", None, now)["secret"]
        f.channel(conn, "web", now)
        f.sku(conn, "MUG", now)
        f.receive(conn, "MUG", 10, now)
    app = create_app(Settings(database_url=db.url), clock=lambda: now, sweep=False)
    with TestClient(app, headers={"Authorization": f"Bearer {secret}"}) as client:
        yield client


def test_a_template_that_does_not_render_is_refused_with_its_line_and_reason(db: Database, now: datetime) -> None:
    with api(db, now) as client:
        unknown = client.put("/v1/channels/web/templates/ready", json={**GOOD, "text": "Hi\n\n{{ custmer }}"})
        assert unknown.status_code == 422
        body = unknown.json()
        assert body["problems"] == [{"part": "text", "line": 3, "reason": "'custmer' is undefined"}]
        assert "text" in body["detail"] and "line 3" in body["detail"]
        broken = client.put("/v1/channels/web/templates/ready", json={**GOOD, "html": "<p>\n{% if x %}\n</p>"})
        assert broken.status_code == 422
        assert broken.json()["problems"][0]["part"] == "html" and broken.json()["problems"][0]["line"] == 3
        assert client.get("/v1/channels/web/templates/ready").json()["custom"] is False
        preview = client.post("/v1/channels/web/templates/ready/preview", json={"subject": "{{ nope }}"}).json()
        assert preview["problems"] == [{"part": "subject", "line": 1, "reason": "'nope' is undefined"}]
        assert "SAMPLE-1001" in preview["text"]
        escaped = client.post("/v1/channels/web/templates/ready/preview",
                              json={"html": "{{ customer ~ '<script>' }}"}).json()
        assert "&lt;script&gt;" in escaped["html"] and "<script>" not in escaped["html"]
        sandboxed = client.post("/v1/channels/web/templates/ready/preview",
                                json={"text": "{{ lines.__class__.__mro__ }}"}).json()
        assert sandboxed["problems"]
        # Errors that are not Jinja's own (arithmetic on real values) are refused the same way, not a 500.
        for text in ("{{ 1 / 0 }}", "{{ customer + 1 }}"):
            crash = client.put("/v1/channels/web/templates/ready", json={**GOOD, "text": text})
            assert crash.status_code == 422, crash.text
            assert crash.json()["problems"][0]["part"] == "text"


def test_a_saved_template_is_what_the_next_email_says_and_messages_are_listed_and_resent(
        db: Database, now: datetime, smtp: SmtpSink) -> None:
    with api(db, now) as client:
        settings = client.put("/v1/channels/web/messages", json={"from": "Mug Co <hi@mug.example>",
                                                                 "send": ["confirmation"]})
        assert settings.status_code == 200, settings.text
        assert client.put("/v1/channels/web/messages", json={"from": "nobody", "send": []}).status_code == 422
        assert client.put("/v1/channels/web/messages", json={"from": "a@b.c", "send": ["spam"]}).status_code == 422
        assert client.put("/v1/channels/web/templates/confirmation", json=GOOD).status_code == 200
        with db.write() as conn:
            selling.place_order(conn, "O-1", "web", 0, "Ada", [{"sku": "MUG", "qty": 1}], now,
                                selling.Extras(email="ada@example.org"))
        m = mailer(db, lambda: now, smtp.url)
        while m.round():
            pass
        (got,) = smtp.inbox.received
        assert got["Subject"] == "Mug Co: order O-1" and text_of(got).replace("\r\n", "\n").startswith("Hi Ada\nMUG")
        listed = client.get("/v1/messages").json()["items"]
        assert [(x["order_ref"], x["status"], x["message_id"]) for x in listed] == [
            ("O-1", "sent", got["Message-ID"])]
        assert client.post(f"/v1/messages/{listed[0]['id']}/resend").json()["status"] == "pending"
        while m.round():
            pass
        assert [x["Message-ID"] for x in smtp.inbox.received] == [got["Message-ID"]] * 2
