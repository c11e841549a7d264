"""The push's health as the storefront answer shows it (BRIEF §7, availability pushed to the shop)."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class PushStatusOut(BaseModel):
    last_push_at: datetime | None = Field(description="when the shop last took a count from Allot")
    missing_skus: list[str] = Field(description="SKUs Allot manages that the shop has no item for (up to 1,000)")
    last_error: str | None = Field(description="the last failure: the shop's status or message, never a credential")
    last_error_at: datetime | None
    pending: int = Field(description="SKUs whose new count is still to be pushed")
    failing: int = Field(description="of those, how many failed last time (retried with back-off)")
