"""Acceptance 2: a consent email's link opens the customer's page; declining cancels the line and frees
its units for the next in the queue, waiting keeps it, and a second answer is refused politely.
Also: a tampered or expired link shows a plain page and changes nothing; forms need their guard."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from email.message import EmailMessage

from fastapi.testclient import TestClient

from allot.api.app import create_app
from allot.services import catalog, messages, orders, purchasing, selling
from allot.settings import Settings
from allot.store.db import Database
from tests import factories as f
from tests.mail import PUBLIC_URL, SmtpSink, mailer, text_of

GUARD = re.compile(r'name="guard" value="([^"]+)"')


@contextmanager
def site(db: Database, now: datetime) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=db.url, public_url=PUBLIC_URL), clock=lambda: now, sweep=False)
    with TestClient(app, follow_redirects=False) as client:
        yield client


def three_customers_and_a_slip(db: Database, now: datetime, smtp: SmtpSink, *, customer_cancel: bool = False) -> None:
    """A and B share PO-1's two units; C waits behind them for PO-2. PO-1 slips two weeks: A and B are asked."""
    with db.write() as conn:
        f.channel(conn, "web", now, consent_after_days=7, consent_window_days=5, consent_default="keep")
        messages.put_settings(conn, "web", {"from_": "Tea Shop <hello@tea.example>", "customer_cancel": customer_cancel,
                                            "send": ["consent_requested", "cancelled"]}, now)
        catalog.put_sku(conn, "POT-1", {"mode": "backorder", "handling_days": 0, "name": "Clay teapot"}, now)
        f.po(conn, "PO-1", now, ("POT-1", 2, now.date() + timedelta(days=10)))
        f.po(conn, "PO-2", now, ("POT-1", 1, now.date() + timedelta(days=40)))
        for ref in ("A", "B", "C"):
            selling.place_order(conn, ref, "web", 0, ref, [{"sku": "POT-1", "qty": 1}], now,
                                selling.Extras(email=f"{ref.lower()}@example.org"))
    drain(db, now, smtp)
    with db.write() as conn:
        purchasing.update_line(conn, "PO-1", 1, now.date() + timedelta(days=24), None, now)
    drain(db, now, smtp)


def drain(db: Database, now: datetime, smtp: SmtpSink) -> None:
    m = mailer(db, lambda: now, smtp.url)
    while m.round():
        pass


def link_path(msg: EmailMessage) -> str:
    found = re.search(re.escape(PUBLIC_URL) + r"(/my/\S+)", text_of(msg))
    assert found, text_of(msg)
    return found.group(1)


def answer(client: TestClient, path: str, value: str) -> tuple[int, str]:
    page = client.get(path)
    guard = GUARD.search(page.text)
    assert guard, page.text
    done = client.post(f"{path}/lines/1/consent", data={"guard": guard.group(1), "answer": value})
    if done.status_code == 303:
        return 303, client.get(done.headers["location"]).text
    return done.status_code, done.text


def line(db: Database, ref: str) -> dict:  # type: ignore[type-arg]
    with db.read() as conn:
        return orders.get(conn, ref)["lines"][0]  # type: ignore[no-any-return]


def test_declining_cancels_the_line_and_frees_its_unit_for_the_next_in_the_queue(
        db: Database, now: datetime, smtp: SmtpSink) -> None:
    three_customers_and_a_slip(db, now, smtp)
    (email_a,) = smtp.inbox.to("a@example.org")
    assert "wait or cancel" in email_a["Subject"]
    assert [a["po_ref"] for a in line(db, "C")["allocation"]] == ["PO-2"]
    with site(db, now) as client:
        page = client.get(link_path(email_a))
        assert page.status_code == 200
        assert "Would you like to wait?" in page.text and "Clay teapot" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
        status, text = answer(client, link_path(email_a), "cancel")
    assert status == 303 and "we have cancelled that item" in text
    a, c = line(db, "A"), line(db, "C")
    assert (a["state"], a["qty_cancelled"], a["consent_status"]) == ("cancelled", 1, "rejected")
    assert [a["po_ref"] for a in c["allocation"]] == ["PO-1"]  # A's unit
    assert c["promise_date"] == now.date() + timedelta(days=24)


def test_waiting_keeps_the_line_and_a_second_answer_is_refused_politely(
        db: Database, now: datetime, smtp: SmtpSink) -> None:
    three_customers_and_a_slip(db, now, smtp)
    (email_b,) = smtp.inbox.to("b@example.org")
    path = link_path(email_b)
    with site(db, now) as client:
        guard = GUARD.search(client.get(path).text).group(1)  # type: ignore[union-attr]
        status, text = answer(client, path, "wait")
        assert status == 303 and "we will keep your item" in text
        before = line(db, "B")
        # The page was open in another tab: its form is sent again, with the other answer.
        again = client.post(f"{path}/lines/1/consent", data={"guard": guard, "answer": "cancel"})
    status, text = again.status_code, again.text
    assert status == 409 and "We already have your answer" in text
    after = line(db, "B")
    assert before == after and (after["state"], after["consent_status"]) == ("awaiting_stock", "accepted")


def test_a_tampered_or_expired_link_shows_a_plain_page_and_changes_nothing(
        db: Database, now: datetime, smtp: SmtpSink) -> None:
    three_customers_and_a_slip(db, now, smtp)
    path = link_path(smtp.inbox.to("a@example.org")[0])
    token = path.rsplit("/", 1)[1]
    ref_part, expiry, signature = token.split(".")
    other = f"/my/Qg.{expiry}.{signature}"  # order "B" with A's signature
    with site(db, now) as client:
        good_page = client.get(path)
        guard = GUARD.search(good_page.text).group(1)  # type: ignore[union-attr]
        for bad in (other, path[:-3], f"/my/{ref_part}.zzzzzz.{signature}", f"/my/{ref_part}.{expiry}.%C3%A9"):
            page = client.get(bad)
            assert page.status_code == 404 and "This link does not work" in page.text
            assert "Clay teapot" not in page.text and "A" not in page.text.split("<body>")[1].split("Open")[0]
            posted = client.post(f"{bad}/lines/1/consent", data={"guard": guard, "answer": "cancel"})
            assert posted.status_code == 403
        no_guard = client.post(f"{path}/lines/1/consent", data={"answer": "cancel"})
        assert no_guard.status_code == 403
        odd_guard = client.post(f"{path}/lines/1/consent", data={"guard": "é", "answer": "cancel"})
        assert odd_guard.status_code == 403
    with site(db, now + timedelta(days=181)) as client:
        assert client.get(path).status_code == 404
    assert line(db, "A")["consent_status"] == "needs_consent"


def test_customers_cancel_unshipped_lines_only_where_the_channel_allows(
        db: Database, now: datetime, smtp: SmtpSink) -> None:
    three_customers_and_a_slip(db, now, smtp, customer_cancel=True)
    path = link_path(smtp.inbox.to("b@example.org")[0])
    with site(db, now) as client:
        page = client.get(path)
        guard = GUARD.search(page.text).group(1)  # type: ignore[union-attr]
        done = client.post(f"{path}/lines/1/cancel", data={"guard": guard})
        assert done.status_code == 303
    assert line(db, "B")["qty_cancelled"] == 1
    assert line(db, "C")["state"] == "awaiting_stock"
