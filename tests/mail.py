"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1), and a mailer driven round by round."""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from allot.connectors.smtp import SmtpServer
from allot.store.db import Database
from allot.workers.mailer import Mailer, MailerOptions
from allot.workers.relay import RelayOptions

PUBLIC_URL = "http://127.0.0.1:9"


class Inbox:
    """aiosmtpd's handler: keeps every message it accepted."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        with self.lock:
            self.received.append(msg)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.received if m["To"] == address]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpSink:
    """Start and stop a real SMTP server on a fixed port (it can be down and come back on the same one)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> SmtpSink:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def mailer(db: Database, clock: Callable[[], datetime], url: str, backoff: float = 10.0) -> Mailer:
    return Mailer(db, clock, MailerOptions(SmtpServer.from_url(url), PUBLIC_URL, 180,
                                           RelayOptions(timeout=5.0, backoff=backoff, backoff_max=60.0)))


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())
