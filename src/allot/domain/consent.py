"""Delay consent: when a customer must be asked whether they still want to wait. Pure."""
from __future__ import annotations

from datetime import date

from allot.domain.model import State

NEEDS_CONSENT = "needs_consent"
# The customer (accepted), the merchant (kept) or the deadline's default (expired) agreed to a wait.
AGREED = frozenset({"accepted", "kept", "expired"})


def too_late(state: State, promise: date | None, first_promise: date | None, status: str | None,
             agreed_promise: date | None, after_days: int) -> bool:
    """Late enough to ask: backordered, or promised more than `after_days` after the promise the
    customer last agreed to (the first promise, until they agree to a later one).

    Agreeing to wait with no date at all (a backordered line) is agreeing to wait for good.
    """
    if status in AGREED:
        if agreed_promise is None:
            return False
        reference: date | None = agreed_promise
    else:
        reference = first_promise
    if state is State.BACKORDERED:
        return True
    if promise is None or reference is None:
        return False
    return (promise - reference).days > after_days
