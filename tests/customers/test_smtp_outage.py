"""Acceptance 4: the SMTP server down for a while loses nothing and sends nothing twice; a mailer
killed between the server taking a message and marking it sent sends it again, recognisably the same
(same Message-ID, same bytes): docs/customers.md, "At least once"."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from allot.services import messages, selling
from allot.store.db import Database
from tests import factories as f
from tests.conftest import sqlite_db
from tests.mail import Inbox, SmtpSink, mailer, text_of

SHOP = "Tea Shop <hello@tea.example>"


def orders_placed(db: Database, now: datetime, refs: list[str]) -> None:
    with db.write() as conn:
        f.channel(conn, "web", now)
        messages.put_settings(conn, "web", {"from_": SHOP, "send": ["confirmation"]}, now)
        f.sku(conn, "CUP", now)
        f.receive(conn, "CUP", 100, now)
    for ref in refs:  # each sale its own transaction, while the mail server is down
        with db.write() as conn:
            selling.place_order(conn, ref, "web", 0, None, [{"sku": "CUP", "qty": 1}], now,
                                selling.Extras(email=f"{ref.lower()}@example.org"))


def statuses(db: Database) -> list[tuple[str, int]]:
    with db.read() as conn:
        return [(m["status"], m["attempts"]) for m in messages.listing(conn)["items"]]


def test_smtp_down_for_a_while_loses_nothing_and_sends_nothing_twice(db: Database, now: datetime) -> None:
    sink = SmtpSink()  # not started: the port refuses connections
    refs = ["A", "B", "C"]
    orders_placed(db, now, refs)
    clock = [now]
    m = mailer(db, lambda: clock[0], sink.url, backoff=10.0)
    m.round()
    assert statuses(db) == [("pending", 1)] * 3
    clock[0] += timedelta(seconds=25)  # past the first back-off (10–20 s): tried again, still down
    m.round()
    assert statuses(db) == [("pending", 2)] * 3
    sink.start()
    try:
        m.round()  # not due yet: the back-off holds
        assert sink.inbox.received == []
        clock[0] += timedelta(seconds=45)
        while m.round():
            pass
        clock[0] += timedelta(hours=1)
        m.round()
        got = sorted(str(msg["To"]) for msg in sink.inbox.received)
        assert got == ["a@example.org", "b@example.org", "c@example.org"]
        assert [s for s, _ in statuses(db)] == ["sent"] * 3
    finally:
        sink.stop()


class HoldingInbox(Inbox):
    """Takes the first message, then does not answer until released: the mailer is killed meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.took_one = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if not self.took_one.is_set():
            self.took_one.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
        return answer


def _worker(db_url: str, smtp_url: str, tmp: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ALLOT_DATABASE_URL": db_url, "ALLOT_SMTP_URL": smtp_url, "ALLOT_WEBHOOK_TIMEOUT": "0.2",
           "ALLOT_RELAY_POLL": "0.05", "ALLOT_SHOP_PUSH": "off"}
    allot = Path(sys.executable).parent / "allot"
    return subprocess.Popen([str(allot), "worker", "--no-sweep"], cwd=tmp, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _wait(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def holding_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.inbox = HoldingInbox()
    sink.start()
    yield sink
    sink.inbox.release.set()
    sink.stop()


def test_a_mailer_killed_between_send_and_mark_sends_the_same_message_again(
        tmp_path: Path, holding_sink: SmtpSink) -> None:
    db = sqlite_db(tmp_path / "allot.db")
    now = datetime.now().astimezone()
    orders_placed(db, now, ["A"])
    inbox: HoldingInbox = holding_sink.inbox  # type: ignore[assignment]
    first = _worker(db.url, holding_sink.url, tmp_path)
    try:
        assert inbox.took_one.wait(30), "the worker never sent"
        os.killpg(first.pid, signal.SIGKILL)  # the server has the message; the worker never hears "250"
        first.wait(10)
    finally:
        inbox.release.set()
    assert statuses(db) == [("sending", 1)]
    second = _worker(db.url, holding_sink.url, tmp_path)
    try:
        _wait(lambda: statuses(db) == [("sent", 2)], 30)  # once the dead worker's lease ran out
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(15)
    copies = inbox.to("a@example.org")
    assert len(copies) == 2
    assert copies[0]["Message-ID"] == copies[1]["Message-ID"]
    assert text_of(copies[0]) == text_of(copies[1]) and copies[0]["Subject"] == copies[1]["Subject"]
    db.dispose()
