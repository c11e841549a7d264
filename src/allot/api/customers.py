"""Customers over the API (BRIEF §10): a channel's messages and templates, the messages sent, a
customer's link, and the payments report. The customer's own page is in web/customers.py."""
from __future__ import annotations

import re
import threading
from datetime import datetime
from email.utils import parseaddr
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import AfterValidator, Field

from allot.api import answers_customers as a
from allot.api import schemas as s
from allot.api.deps import Ops, Reader, write
from allot.api.problems import MAX_ID, problem_responses
from allot.domain.messages import KINDS
from allot.services import messages, orders, payments, templates
from allot.services.links import Links, links
from allot.services.samples import sample_context
from allot.store.db import Database

router = APIRouter(prefix="/v1", responses=problem_responses())
Channel = Annotated[str, Path(min_length=1, max_length=100, pattern=s.NAME_PATTERN)]
Kind = Annotated[Literal[KINDS], Path()]  # type: ignore[valid-type]
def _address(value: str) -> str:
    """An address, or a display name and an address: `Tea Shop <hello@tea.example>`; one line only."""
    _, addr = parseaddr(value)
    if any(c in value for c in "\r\n\x00") or not _ADDR.fullmatch(addr):
        raise ValueError("not an email address")
    return value


_ADDR = re.compile(r"[^@\s\x00<>]+@[^@\s\x00<>]+")
Address = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(_address)]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


class CustomerLinks:
    """The link signer, made once per process from the server's stored secret."""

    def __init__(self, db: Database, public_url: str, days: int) -> None:
        self.db, self.public_url, self.days = db, public_url, days
        self._links: Links | None = None
        self._lock = threading.Lock()

    def signer(self, now: datetime) -> Links:
        with self._lock:
            if self._links is None:
                with self.db.write() as conn:
                    self._links = links(conn, now, self.days)
            return self._links

    def url(self, ref: str, now: datetime) -> str:
        return f"{self.public_url}/my/{self.signer(now).token(ref, now)}"


class MessagesIn(s.Body):
    from_: Address = Field(alias="from", description='the sender, e.g. "Tea Shop <hello@tea.example>"')
    reply_to: Address | None = None
    send: list[Literal[KINDS]] = Field(default_factory=list, max_length=len(KINDS))  # type: ignore[valid-type]
    customer_cancel: bool = Field(default=False, description="customers may cancel unshipped lines from their page")


# NUL and lone surrogates are refused (422) like every free text: PostgreSQL cannot store them.
Subject = Annotated[str, Field(min_length=1, max_length=1000, pattern=s.NO_NUL), s.Storable]
PlainText = Annotated[str, Field(min_length=1, max_length=100_000, pattern=s.NO_NUL), s.Storable]
Html = Annotated[str, Field(min_length=1, max_length=200_000, pattern=s.NO_NUL), s.Storable]


class TemplateIn(s.Body):
    subject: Subject
    text: PlainText
    html: Html


class PreviewIn(s.Body):  # a part being typed may be empty: the preview shows what it would say
    subject: Annotated[str, Field(max_length=1000, pattern=s.NO_NUL), s.Storable] | None = None
    text: Annotated[str, Field(max_length=100_000, pattern=s.NO_NUL), s.Storable] | None = None
    html: Annotated[str, Field(max_length=200_000, pattern=s.NO_NUL), s.Storable] | None = None


@router.put("/channels/{channel}/messages", response_model=a.MessageSettingsOut, tags=["customers"])
def put_messages(channel: Channel, body: MessagesIn, ctx: Ops) -> Response:
    """Which messages this channel's customers get, from whom; whether they may cancel from their page."""
    return write(ctx, body, lambda conn: messages.put_settings(conn, channel, body.model_dump(), ctx.now))


@router.get("/channels/{channel}/messages", response_model=a.MessageSettingsOut, tags=["customers"])
def get_messages_settings(channel: Channel, ctx: Reader) -> Any:
    with ctx.db.read() as conn:
        return messages.get_settings(conn, channel)


@router.get("/channels/{channel}/templates/{kind}", response_model=a.TemplateOut, tags=["customers"])
def get_template(channel: Channel, kind: Kind, ctx: Reader) -> Any:
    with ctx.db.read() as conn:
        messages.get_settings(conn, channel)  # 404 for an unknown channel
        return {**templates.for_channel(conn, channel, kind), "custom": templates.is_custom(conn, channel, kind)}


@router.put("/channels/{channel}/templates/{kind}", response_model=a.TemplateOut, tags=["customers"])
def put_template(channel: Channel, kind: Kind, body: TemplateIn, ctx: Ops) -> Response:
    """Keep the channel's wording for this message, only if it renders (else 422 with the line and reason)."""
    def op(conn: Any) -> dict[str, Any]:
        messages.get_settings(conn, channel)
        templates.save(conn, channel, kind, body.model_dump(), sample_context(conn, channel, kind), ctx.now)
        return {**templates.for_channel(conn, channel, kind), "custom": True}

    return write(ctx, body, op)


@router.delete("/channels/{channel}/templates/{kind}", status_code=204, tags=["customers"])
def reset_template(channel: Channel, kind: Kind, ctx: Ops) -> Response:
    return write(ctx, None, lambda conn: templates.reset(conn, channel, kind), 204)


@router.post("/channels/{channel}/templates/{kind}/preview", response_model=a.TemplatePreviewOut, tags=["customers"])
def preview(channel: Channel, kind: Kind, body: PreviewIn, ctx: Reader) -> Any:
    """The message rendered for a sample order, with what is wrong if it does not render. Changes nothing."""
    with ctx.db.read() as conn:
        messages.get_settings(conn, channel)
        template = {**templates.for_channel(conn, channel, kind), **body.model_dump(exclude_none=True)}
        rendered, problems = templates.render(template, sample_context(conn, channel, kind))
    return {**rendered, "problems": [p.as_dict() for p in problems]}


@router.get("/messages", response_model=a.MessagePage, tags=["customers"])
def list_messages(
    ctx: Ops,
    status: Literal["pending", "sending", "sent", "dead"] | None = None,
    order_ref: Annotated[str | None, Query(max_length=100)] = None,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    with ctx.db.read() as conn:
        return messages.listing(conn, status=status, order_ref=order_ref, after=after, limit=limit)


@router.get("/messages/{message_id}", response_model=a.MessageFull, tags=["customers"])
def get_message(message_id: Id, ctx: Ops) -> Any:
    with ctx.db.read() as conn:
        return messages.get(conn, message_id, full=True)


@router.post("/messages/{message_id}/resend", response_model=a.MessageOut, tags=["customers"])
def resend(message_id: Id, ctx: Ops) -> Response:
    """Send it again: the same message, the same Message-ID, fresh attempts."""
    return write(ctx, None, lambda conn: messages.resend(conn, message_id, ctx.now))


@router.post("/messages/resend", response_model=a.ResentOut, tags=["customers"])
def resend_dead(ctx: Ops) -> Response:
    """Send every dead message again."""
    return write(ctx, None, lambda conn: {"requeued": messages.resend_dead(conn, ctx.now)})


@router.get("/orders/{ref}/link", response_model=a.LinkOut, tags=["customers"])
def customer_link(ref: Channel, ctx: Ops) -> Any:
    """The customer's page for this order (what their emails link to): for support to send by hand."""
    with ctx.db.read() as conn:
        orders.channel_of(conn, ref)  # 404 for an unknown order
    return {"url": ctx.request.app.state.customer_links.url(ref, ctx.now)}


@router.get("/reports/payments", response_model=a.PaymentsReport, tags=["customers"])
def payments_report(ctx: Reader) -> Any:
    """Deposits held on unshipped lines, balance due now (ready, unshipped) and still to come, per currency."""
    with ctx.db.read() as conn:
        return payments.report(conn)
