"""Broken preconditions, each with a stable `code`. The HTTP layer maps classes to statuses."""
from __future__ import annotations

import re
from typing import Any


class AllotError(Exception):
    code = "error"
    # A human phrase for people reading the answer, where the class name in words (`title_of`) reads badly.
    title = "Request refused"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(AllotError):
    code = "not_found"


class Invalid(AllotError):
    """Input that is well-formed but breaks a rule; `field` names the offending input."""

    code = "invalid"
    title = "Invalid input"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}", field=field)
        self.field = field


class Conflict(AllotError):
    code = "conflict"


class SaleRefused(Conflict):
    code = "insufficient_availability"

    def __init__(self, detail: str, available: int, **extra: Any) -> None:
        super().__init__(detail, available=available, **extra)
        self.available = available


class HoldExpired(AllotError):
    code = "hold_expired"


class NotReady(Conflict):
    code = "not_ready"


class ConsentNotRequested(Conflict):
    """The line has no open consent request: never asked, already answered, or past its deadline."""

    code = "consent_not_requested"


class InsufficientStock(Conflict):
    code = "insufficient_stock"


class IdempotencyMismatch(Invalid):
    code = "idempotency_key_reused"
    title = "Idempotency key reused"


class Unauthorized(AllotError):
    code = "unauthorized"


class Forbidden(AllotError):
    code = "forbidden"


class HoldLimitReached(Conflict):
    """A storefront key already holds as many units as it may (its `max_held_units`)."""

    code = "hold_limit_reached"


def title_of(error: AllotError) -> str:
    """The problem's title: its own class's `title`, else the class name in words (`SaleRefused`: "Sale refused")."""
    own = vars(type(error)).get("title")
    return str(own) if own else re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type(error).__name__).capitalize()
