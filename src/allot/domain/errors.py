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


class CustomerLimit(Conflict):
    """The customer already has as many units of the SKU as its `per_customer_limit` allows."""

    code = "customer_limit"


class NotOpen(Conflict):
    """The channel's window for the SKU has not opened yet, or has closed."""

    code = "not_open"


class RateLimited(AllotError):
    """The key has placed as many holds and orders this second as its `rate_per_second` allows."""

    code = "rate_limited"

    def __init__(self, detail: str, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after


def title_of(error: AllotError) -> str:
    """The problem's title: its own class's `title`, else the class name in words (`SaleRefused`: "Sale refused")."""
    own = vars(type(error)).get("title")
    return str(own) if own else re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type(error).__name__).capitalize()
