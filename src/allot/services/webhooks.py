"""Webhooks: where to send events, and what became of each delivery (attempts, dead letters)."""
from __future__ import annotations

import secrets
import socket
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Select, insert, select, update

from allot.domain import events as catalogue
from allot.domain.destinations import Destinations, Refused, literal_ip
from allot.domain.errors import Invalid, NotFound
from allot.services import outbox
from allot.store.tables import events, webhook_deliveries, webhooks

DEFAULT_MAX_ATTEMPTS = 12
STATUSES = ("pending", "sending", "delivered", "dead")


def create(conn: Connection, url: str, event_types: list[str] | None, secret: str | None,
           max_attempts: int | None, now: datetime) -> dict[str, Any]:
    """Subscribe a URL to events from now on; the signing secret is shown here and never again."""
    for i, pattern in enumerate(event_types or []):
        if not catalogue.is_known_filter(pattern):
            raise Invalid(f"events.{i}", f"unknown event type {pattern!r}")
    secret = secret or f"whsec_{secrets.token_urlsafe(32)}"
    outbox.sequence(conn)  # "from now on" means after every event committed so far
    webhook_id = conn.execute(insert(webhooks).values(
        url=url, event_types=event_types or None, secret=secret,
        max_attempts=max_attempts or DEFAULT_MAX_ATTEMPTS, cursor=outbox.last_position(conn), created_at=now,
    ).returning(webhooks.c.id)).scalar_one()
    return get(conn, webhook_id) | {"secret": secret}


def check_destination(url: str, destinations: Destinations) -> None:
    """Refuse a URL whose host is (or resolves to) an address the installation does not send to.

    Checked again at every delivery (a name may resolve elsewhere later); a name that does not
    resolve yet is accepted and fails its deliveries until it does.
    """
    try:
        host, port = _host_and_port(url)
    except ValueError:
        raise Invalid("url", "not a valid URL") from None
    if not host:
        raise Invalid("url", "the URL has no host")
    ip = literal_ip(host)
    try:
        found = [] if ip else socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [str(ip)] if ip else [str(info[4][0]) for info in found]
    except (OSError, UnicodeError):
        return
    try:
        destinations.check(addresses)
    except Refused as refused:
        raise Invalid("url", f"{refused} (see ALLOT_WEBHOOK_ALLOW_PRIVATE)") from None


def _host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def list_all(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(webhooks).where(webhooks.c.deleted_at.is_(None)).order_by(webhooks.c.id))
    return [_view(r) for r in rows]


def get(conn: Connection, webhook_id: int) -> dict[str, Any]:
    return _view(_live(conn, webhook_id))


def delete(conn: Connection, webhook_id: int, now: datetime) -> None:
    """Stop sending; what was delivered stays listed, what was not is never sent."""
    _live(conn, webhook_id)
    conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(deleted_at=now))


def deliveries(conn: Connection, webhook_id: int, status: str | None, after: int, limit: int) -> dict[str, Any]:
    """Deliveries in event order after a cursor (a delivery id), optionally of one status."""
    _live(conn, webhook_id)
    d = webhook_deliveries.c
    stmt = _deliveries().where(d.webhook_id == webhook_id, d.id > after).order_by(d.id).limit(limit)
    if status:
        stmt = stmt.where(d.status == status)
    rows = conn.execute(stmt).all()
    return {"deliveries": [_delivery(r) for r in rows], "next": rows[-1].id if rows else after}


def redeliver(conn: Connection, webhook_id: int, delivery_id: int, now: datetime) -> dict[str, Any]:
    """Send one delivery again (a dead letter, or one the receiver lost) with fresh attempts."""
    _live(conn, webhook_id)
    d = webhook_deliveries.c
    found = conn.execute(update(webhook_deliveries)
                         .where(d.id == delivery_id, d.webhook_id == webhook_id, d.status != "sending")
                         .values(status="pending", attempts=0, next_attempt_at=now, lease_until=None)).rowcount
    if not found:
        raise NotFound(f"webhook {webhook_id} has no delivery {delivery_id} that can be sent again",
                       delivery_id=delivery_id)
    return _delivery(conn.execute(_deliveries().where(d.id == delivery_id)).one())


def redeliver_dead(conn: Connection, webhook_id: int, now: datetime) -> dict[str, Any]:
    """Send every dead letter of this webhook again."""
    _live(conn, webhook_id)
    d = webhook_deliveries.c
    count = conn.execute(update(webhook_deliveries).where(d.webhook_id == webhook_id, d.status == "dead")
                         .values(status="pending", attempts=0, next_attempt_at=now, lease_until=None)).rowcount
    return {"webhook_id": webhook_id, "requeued": count}


def _deliveries() -> Select[Any]:
    d = webhook_deliveries.c
    return (select(d.id, d.status, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.created_at,
                   d.delivered_at, events.c.type, events.c.position.label("event_position"))
            .join(events, events.c.id == d.event_id))


def _live(conn: Connection, webhook_id: int) -> Any:
    row = conn.execute(select(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.deleted_at.is_(None))).first()
    if row is None:
        raise NotFound(f"unknown webhook {webhook_id}", webhook_id=webhook_id)
    return row


def _view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "url": row.url, "events": row.event_types, "max_attempts": row.max_attempts,
            "secret_prefix": secret_prefix(row.secret), "created_at": row.created_at}


def _delivery(row: Any) -> dict[str, Any]:
    return {"id": row.id, "event_id": row.event_position, "event_type": row.type, "status": row.status,
            "attempts": row.attempts, "next_attempt_at": row.next_attempt_at, "last_status": row.last_status,
            "last_error": row.last_error, "created_at": row.created_at, "delivered_at": row.delivered_at}


GENERATED = len("whsec_") + 43  # "whsec_" + secrets.token_urlsafe(32)


def secret_prefix(secret: str) -> str:
    """Enough of a generated secret to tell it apart; nothing of one the admin chose (it may be weak or reused)."""
    return secret[:10] if secret.startswith("whsec_") and len(secret) == GENERATED else "(supplied)"
