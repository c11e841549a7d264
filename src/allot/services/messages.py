"""Messages after they are made: a channel's choices, the mailer's claim and settle, lists and resends.

The same shape as webhook deliveries (services/deliveries.py): claim under a lease (SKIP LOCKED on
PostgreSQL), send outside any transaction, settle — sent, retried at a back-off, or dead after
MAX_ATTEMPTS. A message waits while an earlier one of the same order is unsettled, so a customer
reads an order's news in order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, exists, insert, or_, select, update

from allot.domain.errors import Invalid, NotFound
from allot.domain.messages import KINDS
from allot.services.mail_compose import start_cursor
from allot.store.tables import channel_messages, channels, messages

MAX_ATTEMPTS = 12  # about 3½ hours at the webhook back-off
UNSETTLED = ("pending", "sending")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message taken for sending."""

    id: int
    attempt: int
    message_id: str
    to_addr: str
    from_addr: str
    reply_to: str | None
    subject: str
    text: str
    html: str


def put_settings(conn: Connection, channel: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Which messages a channel's customers get, from whom, and whether they may cancel from their page."""
    if conn.execute(select(channels.c.id).where(channels.c.name == channel)).first() is None:
        raise NotFound(f"unknown channel {channel!r}", channel=channel)
    for i, kind in enumerate(body["send"]):
        if kind not in KINDS:
            raise Invalid(f"send.{i}", f"unknown message {kind!r}; one of {', '.join(KINDS)}")
    values = {"from_addr": body["from_"], "reply_to": body.get("reply_to"),
              "send": sorted(set(body["send"]), key=KINDS.index), "customer_cancel": body.get("customer_cancel", False),
              "updated_at": now}
    found = conn.execute(select(channel_messages.c.channel).where(channel_messages.c.channel == channel)).first()
    if found:
        conn.execute(update(channel_messages).where(channel_messages.c.channel == channel).values(**values))
    else:
        conn.execute(insert(channel_messages).values(channel=channel, **values))
    start_cursor(conn)
    return get_settings(conn, channel)


def get_settings(conn: Connection, channel: str) -> dict[str, Any]:
    row = conn.execute(select(channel_messages).where(channel_messages.c.channel == channel)).first()
    if row is None:
        if conn.execute(select(channels.c.id).where(channels.c.name == channel)).first() is None:
            raise NotFound(f"unknown channel {channel!r}", channel=channel)
        return {"channel": channel, "from": None, "reply_to": None, "send": [], "customer_cancel": False}
    return {"channel": channel, "from": row.from_addr, "reply_to": row.reply_to, "send": list(row.send),
            "customer_cancel": row.customer_cancel}


def customer_cancel(conn: Connection, channel: str) -> bool:
    """Whether the channel lets customers cancel unshipped lines from their page."""
    allowed = conn.execute(select(channel_messages.c.customer_cancel)
                           .where(channel_messages.c.channel == channel)).scalar()
    return bool(allowed)


def _due(now: datetime) -> Any:
    m = messages.c
    return or_(and_(m.status == "pending", m.next_attempt_at <= now),
               and_(m.status == "sending", m.lease_until <= now))  # a mailer died mid-send


def claim(conn: Connection, now: datetime, lease: timedelta, limit: int) -> list[Outgoing]:
    """Take up to `limit` due messages whose order has no earlier message unsettled, under a lease."""
    m = messages.c
    earlier = messages.alias("earlier")
    waiting = exists().where(earlier.c.order_ref == m.order_ref, earlier.c.id < m.id,
                             earlier.c.status.in_(UNSETTLED))
    ids = list(conn.execute(select(m.id).where(_due(now), ~waiting).order_by(m.id).limit(limit)
                            .with_for_update(skip_locked=True)).scalars())
    if not ids:
        return []
    conn.execute(update(messages).where(m.id.in_(ids))
                 .values(status="sending", attempts=m.attempts + 1, lease_until=now + lease))
    rows = conn.execute(select(messages).where(m.id.in_(ids)).order_by(m.id)).all()
    return [Outgoing(r.id, r.attempts, r.message_id, r.to_addr, r.from_addr, r.reply_to, r.subject, r.text, r.html)
            for r in rows]


def settle(conn: Connection, sent: Outgoing, now: datetime, error: str | None, retry_at: datetime) -> str:
    """Record one attempt: sent, else retried at `retry_at`, or dead after the last attempt. Does nothing
    if the lease was lost and another mailer took the message since."""
    outcome = "sent" if error is None else "dead" if sent.attempt >= MAX_ATTEMPTS else "pending"
    values: dict[str, Any] = {"status": outcome, "lease_until": None, "last_error": error and error[:500]}
    if error is None:
        values["sent_at"] = now
    elif outcome == "pending":
        values["next_attempt_at"] = retry_at
    m = messages.c
    conn.execute(update(messages).where(m.id == sent.id, m.status == "sending", m.attempts == sent.attempt)
                 .values(**values))
    return outcome


def view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "order_ref": row.order_ref, "channel": row.channel, "kind": row.kind, "to": row.to_addr,
            "subject": row.subject, "message_id": row.message_id, "status": row.status, "attempts": row.attempts,
            "next_attempt_at": row.next_attempt_at, "last_error": row.last_error, "created_at": row.created_at,
            "sent_at": row.sent_at}


def listing(conn: Connection, *, status: str | None = None, order_ref: str | None = None, after: int = 0,
            limit: int = 100) -> dict[str, Any]:
    """Messages newest last, paged by id."""
    m = messages.c
    q = select(messages).where(m.id > after)
    if status:
        q = q.where(m.status == status)
    if order_ref:
        q = q.where(m.order_ref == order_ref)
    rows = conn.execute(q.order_by(m.id).limit(limit)).all()
    return {"items": [view(r) for r in rows], "next": rows[-1].id if rows else after}


def get(conn: Connection, message_id: int, *, full: bool = False) -> dict[str, Any]:
    row = conn.execute(select(messages).where(messages.c.id == message_id)).first()
    if row is None:
        raise NotFound(f"unknown message {message_id}", id=message_id)
    out = view(row)
    if full:
        out.update(text=row.text, html=row.html, from_addr=row.from_addr, reply_to=row.reply_to)
    return out


def resend(conn: Connection, message_id: int, now: datetime) -> dict[str, Any]:
    """Send a message again with fresh attempts (same content, same Message-ID)."""
    get(conn, message_id)
    m = messages.c
    conn.execute(update(messages).where(m.id == message_id, m.status != "sending")
                 .values(status="pending", attempts=0, next_attempt_at=now, last_error=None))
    return get(conn, message_id)


def resend_dead(conn: Connection, now: datetime) -> int:
    """Every dead letter again."""
    m = messages.c
    return int(conn.execute(update(messages).where(m.status == "dead")
                            .values(status="pending", attempts=0, next_attempt_at=now, last_error=None)).rowcount)
