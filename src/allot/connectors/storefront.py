"""What every storefront platform's webhooks share: a signature over the raw body, a topic, a delivery id.

Each platform module gives a `Connector`: the header names it signs with and a `translate` that turns
a topic and its payload into one platform-neutral command (services/ingest.py), or None for a topic
that changes nothing in Allot. Adding a platform adds a module and a line in `CONNECTORS`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from allot.api.schemas import storable
from allot.domain.errors import AllotError, Invalid
from allot.services.ingest import Command

Payload = TypeVar("Payload", bound=BaseModel)


class UnreadablePayload(AllotError):
    """A signed body that is not JSON (HTTP 400)."""

    code = "unreadable_payload"


class Loose(BaseModel):
    """A platform's payload: it carries many fields and gains new ones, so unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        """Text every database can keep (no NUL, no lone surrogate): else a 422 naming the field, not a 500."""
        return storable(value) if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook's headers as the platform sent them (any may be missing)."""

    topic: str | None
    delivery_id: str | None
    signature: str | None


@dataclass(frozen=True, slots=True)
class Connector:
    platform: str
    signature_header: str
    topic_header: str
    delivery_header: str
    translate: Callable[[str, bytes], Command | None]
    # A platform's own check that the URL answers (not signed, changes nothing).
    is_ping: Callable[[Mapping[str, str], bytes], bool] = lambda headers, body: False
    # The platform's delivery ids are unique per event (False: they repeat, so the body is part of the key).
    unique_delivery_ids: bool = True

    def read(self, headers: Mapping[str, str]) -> Delivery:
        return Delivery(headers.get(self.topic_header), headers.get(self.delivery_header),
                        headers.get(self.signature_header))

    def delivery_key(self, delivery_id: str, body: bytes) -> str:
        if self.unique_delivery_ids:
            return delivery_id[:200]
        return f"{delivery_id[:130]}/{hashlib.sha256(body).hexdigest()[:64]}"


def signed(secret: str, body: bytes, signature: str | None) -> bool:
    """base64(HMAC-SHA256(secret, raw body)) equals the header, compared in constant time."""
    if not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode("ascii", "replace"))


def sign(secret: str, body: bytes) -> str:
    """The signature a platform sends with `body` (for stand-ins, tests and the bench)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def parse(body: bytes, model: type[Payload]) -> Payload:
    """The payload as `model`; not JSON is a 400, a missing or wrong field a 422 naming it."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise UnreadablePayload(f"body: not JSON ({e.__class__.__name__})", field="body") from None
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise Invalid(field, first["msg"]) from None
