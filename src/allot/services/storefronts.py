"""A channel's connection to the shop that sells on it: the webhook secret and the shop's admin credentials.

Neither is ever shown back, written to the audit log or logged: answers say only whether credentials
are set. Other modules (the webhook receiver, the availability push) read them through `connection`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from allot.domain.errors import Invalid, NotFound
from allot.services import push_status
from allot.services.catalog import require_channel
from allot.store.bulk import insert_new
from allot.store.tables import storefronts

PLATFORMS = ("shopify", "woocommerce")
# The admin credentials each platform needs, all or none (BRIEF §7, availability pushed to the shop).
CREDENTIALS: dict[str, tuple[str, ...]] = {
    "shopify": ("shop", "admin_token", "location_id"),
    "woocommerce": ("url", "consumer_key", "consumer_secret"),
}
# Credentials that may be shown back (they say which shop, not how to get in).
VISIBLE = ("shop", "url", "location_id")


@dataclass(frozen=True, slots=True)
class Storefront:
    channel: str
    platform: str
    secret: str
    credentials: dict[str, str]
    api_base: str | None


def connection(conn: Connection, channel: str) -> Storefront | None:
    """The channel's shop connection, or None when the channel is not connected."""
    row = conn.execute(select(storefronts).where(storefronts.c.channel == channel)).first()
    return None if row is None else _storefront(row)


def connected(conn: Connection) -> list[Storefront]:
    """Every connected channel, by channel name."""
    return [_storefront(r) for r in conn.execute(select(storefronts).order_by(storefronts.c.channel))]


def connect(conn: Connection, channel: str, platform: str, secret: str, settings: dict[str, Any],
            now: datetime) -> dict[str, Any]:
    """Connect a channel to its shop (or change the connection); the channel must exist."""
    require_channel(conn, channel, field="channel")
    credentials = _credentials(platform, settings)
    values = {"platform": platform, "secret": secret, "credentials": json.dumps(credentials),
              "api_base": settings.get("api_base"), "updated_at": now}
    created = insert_new(conn, storefronts, {"channel": channel, "created_at": now, **values}, ["channel"])
    if not created:
        conn.execute(update(storefronts).where(storefronts.c.channel == channel).values(**values))
    return get(conn, channel) | {"created": created}


def disconnect(conn: Connection, channel: str) -> None:
    """Stop taking the shop's webhooks on this channel; what was ingested stays."""
    if not conn.execute(delete(storefronts).where(storefronts.c.channel == channel)).rowcount:
        raise NotFound(f"channel {channel!r} is not connected to a storefront", channel=channel)


def get(conn: Connection, channel: str) -> dict[str, Any]:
    """The connection as it may be shown: never the secret, a token or a key."""
    found = connection(conn, channel)
    if found is None:
        raise NotFound(f"channel {channel!r} is not connected to a storefront", channel=channel)
    return view(found) | {"push": push_status.status(conn, channel) if found.credentials else None}


def view(found: Storefront) -> dict[str, Any]:
    shown = {name: found.credentials.get(name) for name in VISIBLE}
    return {"channel": found.channel, "platform": found.platform, **shown, "api_base": found.api_base,
            "credentials": bool(found.credentials), "push": None}


def _credentials(platform: str, settings: dict[str, Any]) -> dict[str, str]:
    """The platform's admin credentials: all of them, or none (webhooks in only)."""
    wanted = CREDENTIALS[platform]
    for names in CREDENTIALS.values():
        for name in names:
            if name not in wanted and settings.get(name) is not None:
                raise Invalid(name, f"not a {platform} credential; {platform} takes {', '.join(wanted)}")
    given = {name: str(settings[name]) for name in wanted if settings.get(name) is not None}
    if given and len(given) < len(wanted):
        missing = next(name for name in wanted if name not in given)
        raise Invalid(missing, f"{platform} credentials need all of {', '.join(wanted)}")
    return given


def _storefront(row: Any) -> Storefront:
    return Storefront(row.channel, row.platform, row.secret, json.loads(row.credentials or "{}"), row.api_base)
