"""API keys: shown once, stored as a SHA-256 digest (they are long random secrets, so no slow hash)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, update

from allot.domain.errors import Conflict, Invalid, NotFound
from allot.services import holds, sessions
from allot.services.common import as_utc
from allot.store.tables import api_keys, server_secrets

LAST_USED_GRANULARITY = timedelta(minutes=1)
# A generated key's first 12 characters ("allot_" + 6 random ones) identify it and give nothing away;
# a secret someone chose (the bootstrap key) may be a weak one, so none of it is kept in the clear.
SUPPLIED = "(supplied)"


class Role(StrEnum):
    ADMIN = "admin"
    OPS = "ops"
    STOREFRONT = "storefront"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: int
    name: str
    role: Role
    channels: tuple[str, ...] | None
    last_used_at: datetime | None
    max_hold_ttl_seconds: int | None = None  # None: the installation's default (a storefront key's caps)
    max_held_units: int | None = None
    rate_per_second: int | None = None  # drops (migration 0014): holds and orders per second


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(conn: Connection, name: str, role: str, channels: list[str] | None, now: datetime,
           secret: str | None = None, limits: dict[str, int | None] | None = None,
           rate_per_second: int | None = None) -> dict[str, Any]:
    """Make a key; the secret is returned here and never again."""
    if role not in Role.__members__.values():
        raise Invalid("role", f"one of {', '.join(Role)}")
    _check_scope(role, channels)
    limits = {k: v for k, v in (limits or {}).items() if v is not None}
    if limits and role != Role.STOREFRONT:
        raise Invalid(next(iter(limits)), "only a storefront key's holds are capped")
    prefix = SUPPLIED if secret else None
    secret = secret or f"allot_{secrets.token_urlsafe(32)}"
    key_id = conn.execute(insert(api_keys).values(
        name=name, role=role, channels=channels, prefix=prefix or secret[:12], secret_hash=digest(secret),
        created_at=now, rate_per_second=rate_per_second, **limits,
    ).returning(api_keys.c.id)).scalar_one()
    return {"id": key_id, "name": name, "role": role, "channels": channels, "secret": secret, **limits,
            "rate_per_second": rate_per_second}


def _check_scope(role: str, channels: list[str] | None) -> None:
    """A storefront key sells on the channels it names, so it must name some; no other role is scoped."""
    if role == Role.STOREFRONT and not channels:
        raise Invalid("channels", "a storefront key must name the channels it may sell on")
    if role != Role.STOREFRONT and channels:
        raise Invalid("channels", "only a storefront key is limited to channels")


def ensure(conn: Connection, secret: str, now: datetime) -> None:
    """Make sure an admin key with exactly this secret exists (scripted set-ups, tests)."""
    found = conn.execute(select(api_keys.c.id).where(api_keys.c.secret_hash == digest(secret))).first()
    if found is None:
        create(conn, "bootstrap", Role.ADMIN, None, now, secret=secret)


def authenticate(conn: Connection, secret: str) -> Principal | None:
    wanted = digest(secret)
    row = conn.execute(select(api_keys).where(api_keys.c.secret_hash == wanted)).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_hash, wanted):
        return None
    channels = tuple(row.channels) if row.channels else None
    used = as_utc(row.last_used_at) if row.last_used_at else None
    return Principal(row.id, row.name, Role(row.role), channels, used, row.max_hold_ttl_seconds, row.max_held_units,
                     row.rate_per_second)


def touch(conn: Connection, principal: Principal, now: datetime) -> bool:
    """Record use at most once a minute, so authentication adds no write to the hot path."""
    if principal.last_used_at and now - principal.last_used_at < LAST_USED_GRANULARITY:
        return False
    conn.execute(update(api_keys).where(api_keys.c.id == principal.key_id).values(last_used_at=now))
    return True


def list_keys(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(api_keys).order_by(api_keys.c.id))
    return [{"id": r.id, "name": r.name, "role": r.role, "channels": r.channels, "prefix": r.prefix,
             "created_at": r.created_at, "revoked_at": r.revoked_at, "last_used_at": r.last_used_at,
             "max_hold_ttl_seconds": r.max_hold_ttl_seconds, "max_held_units": r.max_held_units,
             "rate_per_second": r.rate_per_second} for r in rows]


def revoke(conn: Connection, key_id: int, now: datetime, by: int | None = None) -> dict[str, Any]:
    """Stop a key working, end its dashboard sessions and release its holds (their SKUs re-planned);
    a key may not revoke itself (nobody locks the last admin out by accident)."""
    if key_id == by:
        raise Conflict("a key cannot revoke itself; use another admin key", key_id=key_id)
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
    if row is None:
        raise NotFound(f"unknown key {key_id}", key_id=key_id)
    if row.revoked_at is None:
        conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=now))
        sessions.end_for_key(conn, key_id, now)
    released = holds.release_for_key(conn, key_id, now) if row.revoked_at is None else 0
    return {"id": key_id, "name": row.name, "role": row.role, "revoked_at": row.revoked_at or now,
            "released_holds": released}


def server_secret(conn: Connection, name: str, now: datetime) -> str:
    """A random secret the server keeps in the database, made on first use, so every process agrees."""
    found = conn.execute(select(server_secrets.c.value).where(server_secrets.c.name == name)).scalar()
    if found is not None:
        return str(found)
    value = secrets.token_urlsafe(48)
    conn.execute(insert(server_secrets).values(name=name, value=value, created_at=now))
    return value
