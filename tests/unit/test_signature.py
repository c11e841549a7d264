"""Webhook signatures: HMAC-SHA256 over "{t}.{body}", with the time inside what is signed."""
from __future__ import annotations

import hashlib
import hmac

from allot.domain.signature import sign, verify

SECRET = "whsec_0123456789abcdef"
BODY = b'{"id":7,"type":"order_line.promise_changed"}'
T = 1_800_000_000


def test_the_header_carries_the_time_and_the_hmac_of_time_and_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert sign(SECRET, T, BODY) == f"t={T},v1={expected}"


def test_a_receiver_accepts_a_fresh_genuine_delivery() -> None:
    assert verify(SECRET, sign(SECRET, T, BODY), BODY, now=T + 30)


def test_a_changed_body_a_wrong_secret_or_a_moved_time_is_rejected() -> None:
    header = sign(SECRET, T, BODY)

    assert not verify(SECRET, header, BODY.replace(b"7", b"8"), now=T)
    assert not verify(SECRET + "x", header, BODY, now=T)
    assert not verify(SECRET, header.replace(f"t={T}", f"t={T + 1}"), BODY, now=T)


def test_a_replay_after_five_minutes_is_rejected() -> None:
    assert not verify(SECRET, sign(SECRET, T, BODY), BODY, now=T + 301)


def test_a_malformed_header_is_rejected() -> None:
    assert not verify(SECRET, "garbage", BODY, now=T)
    assert not verify(SECRET, "t=soon,v1=00", BODY, now=T)
