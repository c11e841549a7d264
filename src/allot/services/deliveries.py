"""The relay's steps against the database, each one short transaction; never any HTTP in here.

fan_out: a webhook's cursor walks the published events, making one delivery row per matching
event. claim: take due deliveries (SKIP LOCKED on PostgreSQL, so several workers never take the
same row), each under a lease; a delivery waits while an earlier one with the same ordering key
(the order line, else the SKU) is unsettled — in order per order line. settle: record the answer.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, insert, or_, select, update

from allot.domain import events as catalogue
from allot.services.common import as_utc
from allot.services.reports import event_view
from allot.store.tables import events, webhook_deliveries, webhooks

UNSETTLED = ("pending", "sending")


@dataclass(frozen=True, slots=True)
class Claim:
    """One delivery taken for sending: where, with what secret, and the exact body to sign."""

    id: int
    webhook_id: int
    attempt: int
    max_attempts: int
    url: str
    secret: str
    event_id: int
    event_type: str
    body: bytes


def live_webhooks(conn: Connection) -> list[int]:
    return list(conn.execute(select(webhooks.c.id).where(webhooks.c.deleted_at.is_(None))).scalars())


def fan_out(conn: Connection, webhook_id: int, now: datetime, limit: int = 500) -> int:
    """Make deliveries for the events after the webhook's cursor; returns how many events it passed."""
    wh = conn.execute(select(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.deleted_at.is_(None))
                      .with_for_update(skip_locked=True)).first()
    if wh is None:  # deleted, or another worker is fanning it out right now
        return 0
    rows = conn.execute(select(events.c.id, events.c.position, events.c.type, events.c.sku, events.c.order_ref,
                               events.c.line)
                        .where(events.c.position > wh.cursor).order_by(events.c.position).limit(limit)).all()
    wanted = [{"webhook_id": wh.id, "event_id": r.id, "position": r.position, "ordering_key": ordering_key(r),
               "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
              for r in rows if catalogue.matches(wh.event_types, r.type)]
    if wanted:
        conn.execute(insert(webhook_deliveries), wanted)
    if rows:
        conn.execute(update(webhooks).where(webhooks.c.id == wh.id).values(cursor=rows[-1].position))
    return len(rows)


def ordering_key(event: Any) -> str:
    """Events of one order line go out in order; other events in order per SKU."""
    if event.order_ref is not None and event.line is not None:
        return f"line:{event.order_ref}/{event.line}"[:220]
    return f"sku:{event.sku}"[:220]


def _due(now: datetime) -> Any:
    d = webhook_deliveries.c
    return or_(and_(d.status == "pending", d.next_attempt_at <= now),
               and_(d.status == "sending", d.lease_until <= now))  # a worker died mid-delivery


def due_webhooks(conn: Connection, now: datetime) -> list[int]:
    """The live webhooks with a delivery due now (maybe still waiting for an earlier sibling)."""
    d = webhook_deliveries.c
    live = d.webhook_id.in_(select(webhooks.c.id).where(webhooks.c.deleted_at.is_(None)))
    return list(conn.execute(select(d.webhook_id).where(_due(now), live).distinct().order_by(d.webhook_id))
                .scalars())


def claim(conn: Connection, now: datetime, lease: timedelta, limit: int, webhook_id: int | None = None) -> list[Claim]:
    """Take up to `limit` due deliveries (of one webhook, if given) whose earlier siblings have settled,
    under a lease."""
    d = webhook_deliveries.c
    earlier = webhook_deliveries.alias("earlier")
    due = _due(now)
    waiting = exists().where(earlier.c.webhook_id == d.webhook_id, earlier.c.ordering_key == d.ordering_key,
                             earlier.c.position < d.position, earlier.c.status.in_(UNSETTLED))
    live: ColumnElement[bool] = d.webhook_id.in_(select(webhooks.c.id).where(webhooks.c.deleted_at.is_(None)))
    if webhook_id is not None:
        live = and_(live, d.webhook_id == webhook_id)
    ids = list(conn.execute(select(d.id).where(due, ~waiting, live).order_by(d.position, d.id).limit(limit)
                            .with_for_update(skip_locked=True, of=webhook_deliveries)).scalars())
    if not ids:
        return []
    conn.execute(update(webhook_deliveries).where(d.id.in_(ids))
                 .values(status="sending", attempts=d.attempts + 1, lease_until=now + lease))
    rows = conn.execute(select(d.id.label("delivery_id"), d.webhook_id.label("hook_id"), d.attempts, webhooks.c.url, webhooks.c.secret,
                               webhooks.c.max_attempts, events)
                        .join(webhooks, webhooks.c.id == d.webhook_id).join(events, events.c.id == d.event_id)
                        .where(d.id.in_(ids)).order_by(d.position)).all()
    return [Claim(r.delivery_id, r.hook_id, r.attempts, r.max_attempts, r.url, r.secret, r.position, r.type, body(r))
            for r in rows]


def body(row: Any) -> bytes:
    """The delivery body: the event exactly as GET /v1/events shows it."""
    view = event_view(row)
    view["occurred_at"] = as_utc(view["occurred_at"]).isoformat()
    return json.dumps(view, separators=(",", ":"), sort_keys=True).encode()


def settle(conn: Connection, claimed: Claim, now: datetime, *, status: int | None, error: str | None,
           retry_at: datetime) -> str:
    """Record one attempt: delivered on a 2xx, else retried at `retry_at` or dead after the last attempt.

    Does nothing if the lease was lost and another worker has taken the delivery since.
    """
    ok = error is None and status is not None and 200 <= status < 300
    outcome = "delivered" if ok else "dead" if claimed.attempt >= claimed.max_attempts else "pending"
    values: dict[str, Any] = {"status": outcome, "last_status": status, "last_error": (error or None) and error[:500],
                              "lease_until": None}
    if ok:
        values["delivered_at"] = now
    elif outcome == "pending":
        values["next_attempt_at"] = retry_at
    d = webhook_deliveries.c
    conn.execute(update(webhook_deliveries)
                 .where(d.id == claimed.id, d.status == "sending", d.attempts == claimed.attempt).values(**values))
    return outcome
