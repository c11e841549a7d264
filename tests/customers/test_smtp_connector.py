"""The SMTP edge: STARTTLS with a verified certificate and AUTH against a real aiosmtpd; URLs parsed."""
from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from allot.connectors.smtp import Connection, Mail, SmtpServer
from tests.mail import Inbox, free_port

MAIL = Mail("<one@tea.example>", "ada@example.org", "Tea Shop <hello@tea.example>", None, "Hi", "text", "<p>html</p>")


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"shop", b"s3cret pass")
    return AuthResult(success=ok)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Inbox, Path]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=_authenticate, auth_required=True)
    controller.start()
    yield port, inbox, cert
    controller.stop()


def test_starttls_and_auth_deliver_with_the_messages_own_id(tls_server: tuple[int, Inbox, Path]) -> None:
    port, inbox, cert = tls_server
    server = SmtpServer.from_url(f"smtp+starttls://shop:s3cret%20pass@127.0.0.1:{port}?cafile={cert}")
    smtp = Connection(server, 5)
    assert smtp.send(MAIL, datetime.now(UTC)) is None
    smtp.close()
    (got,) = inbox.received
    assert got["Message-ID"] == "<one@tea.example>" and got["Subject"] == "Hi"
    assert got.get_body(preferencelist=("html",)) is not None


def test_a_wrong_password_or_an_untrusted_certificate_is_an_error_to_retry(
        tls_server: tuple[int, Inbox, Path]) -> None:
    port, inbox, cert = tls_server
    wrong = Connection(SmtpServer.from_url(f"smtp+starttls://shop:nope@127.0.0.1:{port}?cafile={cert}"), 2)
    assert wrong.send(MAIL, datetime.now(UTC)) is not None  # refused (aiosmtpd then stalls the client)
    untrusted = Connection(SmtpServer.from_url(f"smtp+starttls://shop:s3cret%20pass@127.0.0.1:{port}"), 5)
    error = untrusted.send(MAIL, datetime.now(UTC))
    assert error is not None and "CERTIFICATE_VERIFY_FAILED" in error
    assert inbox.received == []


def test_smtp_urls() -> None:
    assert SmtpServer.from_url("smtp://127.0.0.1:2525") == SmtpServer("smtp", "127.0.0.1", 2525)
    assert SmtpServer.from_url("smtps://u:p@mail.example").port == 465
    s = SmtpServer.from_url("smtp+starttls://user%40x:p%3Aw@mail.example")
    assert (s.port, s.user, s.password) == (587, "user@x", "p:w")
    assert "p:w" not in s.redacted()
    with pytest.raises(ValueError, match="ALLOT_SMTP_URL"):
        SmtpServer.from_url("http://mail.example")
