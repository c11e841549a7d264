"""Answers of the customers routes (api/customers.py): a channel's message settings and templates,
the messages made, a customer's link and the payments report. Money is a decimal string (2 places)."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The kinds of allot.domain.messages.KINDS (a test keeps the two the same).
MessageKind = Literal["consent_requested", "cancelled", "backordered", "promise_later", "ready", "shipped",
                      "confirmation"]


class MessageSettingsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    channel: str
    from_: str | None = Field(alias="from", description="the sender; null until the channel's messages are set")
    reply_to: str | None
    send: list[MessageKind]
    customer_cancel: bool


class TemplateOut(BaseModel):
    subject: str
    text: str
    html: str
    custom: bool = Field(description="the channel's own wording (false: the default)")


class TemplateProblem(BaseModel):
    part: Literal["subject", "text", "html"]
    line: int | None
    reason: str


class TemplatePreviewOut(BaseModel):
    """Each part rendered for a sample order ('' for a part that does not render) and what is wrong."""

    subject: str
    text: str
    html: str
    problems: list[TemplateProblem]


class MessageOut(BaseModel):
    id: int
    order_ref: str
    channel: str
    kind: MessageKind
    to: str
    subject: str
    message_id: str = Field(description="the Message-ID header, the same on every resend")
    status: Literal["pending", "sending", "sent", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class MessageFull(MessageOut):
    text: str
    html: str
    from_addr: str
    reply_to: str | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    next: int = Field(description="pass as `after` for the next page")


class ResentOut(BaseModel):
    requeued: int


class LinkOut(BaseModel):
    url: str


class CurrencyTotals(BaseModel):
    currency: str
    deposits_held: str
    balance_due: str
    balance_to_come: str


class PaymentLine(BaseModel):
    order_ref: str
    line: int
    sku: str
    terms: Literal["deposit", "on_ready"]
    currency: str
    open_units: int
    unit_price: str
    deposit_held: str
    balance_due: str | None = Field(description="null until the line is ready")
    balance_due_at: datetime | None
    state: str


class PaymentsReport(BaseModel):
    currencies: list[CurrencyTotals]
    lines: list[PaymentLine]
