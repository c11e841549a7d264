"""SMTP at the edge: `ALLOT_SMTP_URL` parsed, a message built as MIME, and handed to the server.

smtp://[user:pass@]host[:port]            plain (port 25); AUTH if a user is given
smtp+starttls://[user:pass@]host[:port]   STARTTLS before AUTH (port 587), certificate verified
smtps://[user:pass@]host[:port]           TLS from the first byte (port 465)
A `?cafile=/path` query trusts that CA file as well (a private relay's own certificate).
Standard library only (smtplib, email): sending is one blocking call in the mailer's thread, never
on a request's path.
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True, slots=True)
class SmtpServer:
    scheme: str
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    cafile: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("ALLOT_SMTP_URL must be smtp://, smtp+starttls:// or smtps:// with a host")
        cafile = parse_qs(parts.query).get("cafile", [None])[0]
        return cls(parts.scheme, parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme],
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None, cafile)

    def redacted(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Mail:
    message_id: str
    to_addr: str
    from_addr: str
    reply_to: str | None
    subject: str
    text: str
    html: str


def build(mail: Mail, now: datetime) -> EmailMessage:
    """Plain text first, HTML as the alternative; the Message-ID is the message's own, never a new one."""
    msg = EmailMessage()
    msg["From"] = mail.from_addr
    msg["To"] = mail.to_addr
    if mail.reply_to:
        msg["Reply-To"] = mail.reply_to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = mail.message_id
    msg["Date"] = format_datetime(now)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg


class Connection:
    """One SMTP session for a round of messages; opened on first use."""

    def __init__(self, server: SmtpServer, timeout: float) -> None:
        self.server, self.timeout = server, timeout
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.server
        context = ssl.create_default_context(cafile=s.cafile)
        smtp: smtplib.SMTP
        if s.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            if s.scheme == "smtp+starttls":
                smtp.starttls(context=context)
        if s.user:
            smtp.login(s.user, s.password or "")
        return smtp

    def send(self, mail: Mail, now: datetime) -> str | None:
        """None when the server accepted the message; else why not (a short category and the server's code)."""
        try:
            if self._smtp is None:
                self._smtp = self._open()
            refused = self._smtp.send_message(build(mail, now))
            return None if not refused else f"refused: {min(refused)}"
        except smtplib.SMTPResponseException as e:
            self.close()
            return f"SMTP {e.smtp_code}"
        except (smtplib.SMTPException, OSError, ssl.SSLError, ValueError) as e:  # ValueError: a header it refuses
            self.close()
            return f"{type(e).__name__}: {str(e)[:200]}" if str(e) else type(e).__name__

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None
