"""The customer's link: `/my/{token}`, signed and expiring, naming one order and nothing else.

token = base64url(order ref) "." expiry (unix seconds, base 36) "." HMAC-SHA256 over both, with a
key derived from a secret the server keeps in the database (so every process agrees and no sign-in
is needed). A link proves only "this person got the email for this order": it opens that order's
page and answers that order's questions, never anything else.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from allot.services import keys

SECRET_NAME = "customer_links"


@dataclass(frozen=True, slots=True)
class Links:
    secret: str
    days: int = 180

    @property
    def _key(self) -> bytes:
        return hashlib.sha256(b"allot-customer-link\0" + self.secret.encode()).digest()

    def token(self, order_ref: str, now: datetime) -> str:
        expires = int((now + timedelta(days=self.days)).timestamp())
        body = f"{_b64(order_ref.encode())}.{_base36(expires)}"
        return f"{body}.{self._sign(body)}"

    def order_of(self, token: str, now: datetime) -> str | None:
        """The order a token opens, or None when it is tampered with, malformed or expired."""
        parts = token.split(".")
        if len(parts) != 3 or len(token) > 600:
            return None
        body = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(parts[2].encode(), self._sign(body).encode()):  # str compare refuses non-ASCII
            return None
        try:
            expires = int(parts[1], 36)
            ref = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode()
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        return ref if now.timestamp() < expires else None

    def form_guard(self, token: str, nonce: str) -> str:
        """The CSRF value of the page's forms: bound to the link and to this browser's nonce cookie."""
        return hmac.new(self._key, f"form\0{token}\0{nonce}".encode(), hashlib.sha256).hexdigest()

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def links(conn: Connection, now: datetime, days: int = 180) -> Links:
    """The link signer, from the server's stored secret (made on first use)."""
    return Links(keys.server_secret(conn, SECRET_NAME, now), days)
