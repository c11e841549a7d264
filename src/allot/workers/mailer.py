"""The mailer: the relay's machinery for customers' email (docs/customers.md).

Rounds of short transactions, like the webhook relay: publish (sequence the outbox), compose (the
cursor walks the events, one message per order per change), claim (due messages, under a lease),
then SMTP outside any transaction, then settle each — sent, retried at the relay's back-off with
jitter, or dead. It runs as a thread wherever the relay runs; a slow or dead SMTP server costs the
sale path nothing.

Delivery is at least once. A mailer that dies after the server took a message but before marking
it sent leaves the lease to expire and sends it again — with the same Message-ID and the same
bytes, so the customer's mail program shows it once (and a person can tell it is the same message).
Marking it sent first would instead lose it for good on such a crash; a lost "your order is
delayed" is worse than a recognisable copy.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from allot.connectors.smtp import Connection, Mail, SmtpServer
from allot.services import mail_compose, messages, outbox
from allot.services.links import links
from allot.settings import Settings
from allot.store.db import Database
from allot.workers.relay import RelayOptions, options_from, retry_delay

log = logging.getLogger("allot.mailer")


@dataclass(frozen=True, slots=True)
class MailerOptions:
    server: SmtpServer
    public_url: str
    link_days: int = 180
    relay: RelayOptions = field(default_factory=RelayOptions)
    batch: int = 20  # messages claimed per round

    @property
    def lease(self) -> timedelta:
        """Long enough for a whole round's messages at the SMTP timeout each."""
        return timedelta(seconds=self.relay.timeout * (self.batch + 2))


def mailer_options(settings: Settings) -> MailerOptions | None:
    if not settings.smtp_url:
        return None
    return MailerOptions(SmtpServer.from_url(settings.smtp_url), settings.public_url, settings.customer_link_days,
                         options_from(settings))


class Mailer:
    def __init__(self, db: Database, clock: Callable[[], datetime], options: MailerOptions) -> None:
        self.db, self.clock, self.options = db, clock, options
        self._context: mail_compose.Context | None = None

    def round(self) -> int:
        """One pass: publish, compose, send what is due; returns how much work it found."""
        return self.publish() + self.compose() + self.deliver()

    def publish(self) -> int:
        return outbox.publish(self.db)

    def context(self) -> mail_compose.Context:
        if self._context is None:
            with self.db.write() as conn:
                signer = links(conn, self.clock(), self.options.link_days)
            self._context = mail_compose.Context(signer, self.options.public_url)
        return self._context

    def compose(self) -> int:
        context = self.context()
        with self.db.write() as conn:
            return mail_compose.compose(conn, self.clock(), context)

    def deliver(self) -> int:
        with self.db.write() as conn:
            claimed = messages.claim(conn, self.clock(), self.options.lease, self.options.batch)
        if not claimed:
            return 0
        smtp = Connection(self.options.server, self.options.relay.timeout)
        try:
            for one in claimed:
                error = smtp.send(_mail(one), self.clock())
                self.settle(one, error)
        finally:
            smtp.close()
        return len(claimed)

    def settle(self, sent: messages.Outgoing, error: str | None) -> None:
        now = self.clock()
        retry_at = now + timedelta(seconds=retry_delay(sent.attempt, self.options.relay))
        with self.db.write() as conn:
            outcome = messages.settle(conn, sent, now, error, retry_at)
        if outcome != "sent":
            log.info("message %s to %s: %s (attempt %s)", sent.id, self.options.server.redacted(), error,
                     sent.attempt)


def _mail(m: messages.Outgoing) -> Mail:
    return Mail(m.message_id, m.to_addr, m.from_addr, m.reply_to, m.subject, m.text, m.html)


class MailerThread(threading.Thread):
    """Runs rounds until stopped; a failing round is logged and the next one retries."""

    def __init__(self, db: Database, clock: Callable[[], datetime], options: MailerOptions,
                 stop: threading.Event) -> None:
        super().__init__(name="allot-mailer", daemon=True)
        self.mailer = Mailer(db, clock, options)
        self.options, self.stop = options, stop

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                busy = self.mailer.round()
            except Exception:
                log.exception("mailer round failed")
                busy = 0
            if not busy:
                self.stop.wait(self.options.relay.poll)
