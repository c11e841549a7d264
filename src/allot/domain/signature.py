"""Webhook signatures: HMAC-SHA256 over `"{t}.{body}"`, sent as `Allot-Signature: t=<unix>,v1=<hex>`.

The timestamp is inside the signed text, so a receiver that rejects old timestamps also rejects
replays of a captured request. Pure: the time comes in as an argument.
"""
from __future__ import annotations

import hashlib
import hmac

HEADER = "Allot-Signature"
TOLERANCE_SECONDS = 300


def digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for a delivery made at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={digest(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), digest(secret, timestamp, body))
