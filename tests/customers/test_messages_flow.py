"""Acceptance 1: one email per order per change, from committed events only (a real SMTP server)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from allot.domain.messages import nice_date
from allot.services import catalog, messages, purchasing, selling
from allot.store.db import Database
from tests import factories as f
from tests.mail import SmtpSink, mailer, text_of

SHOP = "Tea Shop <hello@tea.example>"
EVERY_KIND = ["confirmation", "promise_later", "backordered", "consent_requested", "ready", "shipped", "cancelled"]


def shop_with_two_orders(db: Database, now: datetime) -> None:
    """Order A has two lines and order B one, all waiting for the same PO line."""
    with db.write() as conn:
        f.channel(conn, "web", now)
        messages.put_settings(conn, "web", {"from_": SHOP, "send": EVERY_KIND}, now)
        catalog.put_sku(conn, "TEA-1", {"mode": "backorder", "handling_days": 0, "name": "Sencha tin"}, now)
        f.po(conn, "PO-1", now, ("TEA-1", 10, now.date() + timedelta(days=10)))
        selling.place_order(conn, "A", "web", 0, "Ada", [{"sku": "TEA-1", "qty": 1}, {"sku": "TEA-1", "qty": 2}],
                            now, selling.Extras(email="ada@example.org"))
        selling.place_order(conn, "B", "web", 0, "Bo", [{"sku": "TEA-1", "qty": 3}], now,
                            selling.Extras(email="bo@example.org"))


def drain(db: Database, now: datetime, smtp: SmtpSink) -> None:
    m = mailer(db, lambda: now, smtp.url)
    while m.round():
        pass


def test_a_po_slip_moving_three_lines_of_two_orders_sends_exactly_two_emails(
        db: Database, now: datetime, smtp: SmtpSink) -> None:
    shop_with_two_orders(db, now)
    drain(db, now, smtp)
    assert len(smtp.inbox.received) == 2  # the two confirmations
    smtp.inbox.received.clear()
    old, new = now.date() + timedelta(days=10), now.date() + timedelta(days=24)
    with db.write() as conn:
        purchasing.update_line(conn, "PO-1", 1, new, None, now)
    drain(db, now, smtp)
    assert len(smtp.inbox.received) == 2
    ada, bo = smtp.inbox.to("ada@example.org"), smtp.inbox.to("bo@example.org")
    assert len(ada) == 1 and len(bo) == 1
    ada_text, bo_text = text_of(ada[0]), text_of(bo[0])
    assert ada_text.count("Sencha tin") == 2 and bo_text.count("Sencha tin") == 1
    for text in (ada_text, bo_text):
        assert f"Was: {nice_date(old)}. Now: {nice_date(new)}." in text
        assert "Our supplier's delivery moved to a later date." in text
        assert "/my/" in text
    assert "3 × Sencha tin" in bo_text and "3 × " not in ada_text
    assert ada[0]["Message-ID"] != bo[0]["Message-ID"]
    assert "later" in ada[0]["Subject"] or "new date" in ada[0]["Subject"]


def test_a_rolled_back_slip_sends_nothing(db: Database, now: datetime, smtp: SmtpSink) -> None:
    shop_with_two_orders(db, now)
    drain(db, now, smtp)
    smtp.inbox.received.clear()
    with pytest.raises(RuntimeError), db.write() as conn:
        purchasing.update_line(conn, "PO-1", 1, now.date() + timedelta(days=24), None, now)
        raise RuntimeError("the operation fails after the slip was planned")
    drain(db, now, smtp)
    assert smtp.inbox.received == []
    with db.read() as conn:
        assert [m["kind"] for m in messages.listing(conn)["items"]] == ["confirmation", "confirmation"]
