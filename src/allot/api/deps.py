"""Per-request plumbing: who is calling, what time it is, and running a write exactly once."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from allot.api import problems
from allot.domain.errors import AllotError, Forbidden, Unauthorized
from allot.services import idempotency, keys
from allot.services.keys import Principal, Role
from allot.store.db import Database

AUTH_CACHE_SECONDS = 5.0  # a revoked key stops working within this long


class KeyCache:
    """Verified keys for a few seconds, so the hot path does not look up its key every request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, Principal]] = {}

    def get(self, digest: str) -> Principal | None:
        hit = self._known.get(digest)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def put(self, digest: str, principal: Principal) -> None:
        with self._lock:
            self._known[digest] = (time.monotonic() + AUTH_CACHE_SECONDS, principal)


@dataclass(frozen=True, slots=True)
class Ctx:
    db: Database
    principal: Principal
    now: datetime
    request: Request


def _principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("send Authorization: Bearer <api key>")
    state = request.app.state
    digest = keys.digest(secret.strip())
    principal = state.key_cache.get(digest)
    if principal is None:
        with state.db.read() as conn:
            principal = keys.authenticate(conn, secret.strip())
        if principal is None:
            raise Unauthorized("unknown or revoked API key")
        now = state.clock()
        if principal.last_used_at is None or (now - principal.last_used_at).total_seconds() > 60:
            with state.db.write() as conn:
                keys.touch(conn, principal, now)
        state.key_cache.put(digest, principal)
    return principal


def require(*roles: Role) -> Callable[[Request], Ctx]:
    """A dependency that admits only the given roles (admin always)."""
    allowed = {Role.ADMIN, *roles}

    def dependency(request: Request) -> Ctx:
        principal = _principal(request)
        if principal.role not in allowed:
            raise Forbidden(f"a {principal.role} key may not do this")
        state = request.app.state
        return Ctx(state.db, principal, state.clock(), request)

    return dependency


READ = require(Role.OPS, Role.STOREFRONT, Role.VIEWER)
OPS = require(Role.OPS)
SELL = require(Role.OPS, Role.STOREFRONT)
ADMIN = require()
Reader = Annotated[Ctx, Depends(READ)]
Ops = Annotated[Ctx, Depends(OPS)]
Seller = Annotated[Ctx, Depends(SELL)]
Admin = Annotated[Ctx, Depends(ADMIN)]


def check_channels(ctx: Ctx, channels: Iterable[str]) -> None:
    """A storefront key sells only on the channels it names."""
    scope = ctx.principal.channels
    if ctx.principal.role is Role.STOREFRONT and scope is not None:
        outside = [c for c in channels if c not in scope]
        if outside:
            raise Forbidden(f"this key may not sell on channel {outside[0]!r}")


def write(ctx: Ctx, body: BaseModel | None, op: Callable[[Connection], Any], status: int = 200,
          batch: str | None = None) -> JSONResponse:
    """Run `op` in one transaction; with an Idempotency-Key, a repeat returns the first answer.

    With a `batch` key (the SKU of a sale) the transaction is shared with concurrent sales of
    that SKU (services/batching.py); each still gets its own answer.
    """
    key = ctx.request.headers.get("idempotency-key")
    fingerprint = idempotency.request_hash(
        ctx.request.method, ctx.request.url.path, body.model_dump_json().encode() if body else b""
    ) if key else ""
    key_id = ctx.principal.key_id

    def run(conn: Connection) -> tuple[int, Any, bool]:
        if not key:
            return status, jsonable_encoder(op(conn)), False
        seen = idempotency.recall(conn, key_id, key, fingerprint)
        if seen is not None:
            return seen[0], seen[1], True
        try:
            with conn.begin_nested():
                code, content = status, jsonable_encoder(op(conn))
        except AllotError as refused:  # a refusal is an answer too: the retry gets the same one
            code, content = problems.of(refused)
        idempotency.remember(conn, key_id, key, fingerprint, code, json.dumps(content), ctx.now)
        return code, content, False

    try:
        code, content, replayed = _transact(ctx, run, batch)
    except IntegrityError:
        if not key:
            raise
        # A concurrent request with the same key committed first; ours rolled back whole.
        with ctx.db.read() as conn:
            seen = idempotency.recall(conn, key_id, key, fingerprint)
        if seen is None:
            raise
        code, content, replayed = seen[0], seen[1], True
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    media = problems.MEDIA_TYPE if code >= 400 else None
    return JSONResponse(content, status_code=code, headers=headers, media_type=media)


def _transact(ctx: Ctx, run: Callable[[Connection], Any], batch: str | None) -> Any:
    batcher = ctx.request.app.state.batcher
    if batch is not None and batcher is not None:
        return batcher.run(batch, run)
    with ctx.db.write() as conn:
        return run(conn)
