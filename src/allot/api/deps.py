"""Per-request plumbing: who is calling, what they may touch, and running a write exactly once, audited."""
from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from allot.api import problems
from allot.api.middleware import request_id
from allot.api.throttle import client_address
from allot.domain.errors import AllotError, Forbidden, Invalid, NotFound, RateLimited, Unauthorized
from allot.services import audit, idempotency, keys, orders, rates, selling
from allot.services.book import atomic
from allot.services.holds import HoldLimits
from allot.services.keys import Principal, Role
from allot.store.db import Database

AUTH_CACHE_SECONDS = 5.0  # a revoked key stops working within this long (at once in the process that revoked it)
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, as stored
log = logging.getLogger("allot.auth")
bearer = HTTPBearer(auto_error=False, description="An Allot API key: `Authorization: Bearer <key>`.")


class KeyCache:
    """Verified keys for a few seconds, so the hot path does not look up its key every request.

    Entries are found by the key's SHA-256 digest, never by the secret itself.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, Principal]] = {}

    def get(self, digest: str) -> Principal | None:
        hit = self._known.get(digest)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def put(self, digest: str, principal: Principal) -> None:
        with self._lock:
            self._known[digest] = (time.monotonic() + AUTH_CACHE_SECONDS, principal)

    def forget(self, key_id: int) -> None:
        with self._lock:
            self._known = {d: hit for d, hit in self._known.items() if hit[1].key_id != key_id}


@dataclass(frozen=True, slots=True)
class Ctx:
    db: Database
    principal: Principal
    now: datetime
    request: Request

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor(self.principal.key_id, self.principal.name, self.principal.role.value)


async def _principal(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The caller: from the cache on the event loop (the hot path), else looked up in a worker thread."""
    secret = credentials.credentials.strip() if credentials else ""
    if not secret:
        raise Unauthorized("send Authorization: Bearer <api key>")
    digest = keys.digest(secret)
    principal: Principal | None = request.app.state.key_cache.get(digest)
    if principal is None:
        request.app.state.auth_throttle.check(client_address(request))  # a known key never waits here
        principal = await run_in_threadpool(_authenticate, request, secret, digest)
    return principal


def _authenticate(request: Request, secret: str, digest: str) -> Principal:
    state = request.app.state
    with state.db.read() as conn:
        principal = keys.authenticate(conn, secret)
    if principal is None:
        state.auth_throttle.failed(client_address(request), f"refused an unknown or revoked API key: "
                                   f"{request.method} {request.url.path}")
        raise Unauthorized("unknown or revoked API key")
    now = state.clock()
    if principal.last_used_at is None or (now - principal.last_used_at).total_seconds() > 60:
        with state.db.write() as conn:
            keys.touch(conn, principal, now)
    state.key_cache.put(digest, principal)
    return principal


def deny(principal: Principal, request: Request, why: str) -> Forbidden:
    """Log a refusal (key id and role, never the secret) and return the error to raise."""
    log.warning("denied key %s (%s): %s %s: %s", principal.key_id, principal.role.value, request.method,
                request.url.path, why)
    return Forbidden(why)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def require(*roles: Role) -> Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[Ctx]]:
    """A dependency that admits only the given roles (admin always)."""
    allowed = {Role.ADMIN, *roles}

    async def dependency(request: Request, credentials: Credentials) -> Ctx:
        principal = await _principal(request, credentials)
        if principal.role not in allowed:
            raise deny(principal, request, f"a {principal.role} key may not do this")
        state = request.app.state
        return Ctx(state.db, principal, state.clock(), request)

    return dependency


READ = require(Role.OPS, Role.VIEWER)  # catalog, purchase orders, events
SALE_READ = require(Role.OPS, Role.VIEWER, Role.STOREFRONT)  # availability, holds, orders (storefront: scoped)
OPS = require(Role.OPS)
SELL = require(Role.OPS, Role.STOREFRONT)
ADMIN = require()
Reader = Annotated[Ctx, Depends(READ)]
SaleReader = Annotated[Ctx, Depends(SALE_READ)]
Ops = Annotated[Ctx, Depends(OPS)]
Seller = Annotated[Ctx, Depends(SELL)]
Admin = Annotated[Ctx, Depends(ADMIN)]


def _storefront(ctx: Ctx) -> bool:
    return ctx.principal.role is Role.STOREFRONT


def check_channels(ctx: Ctx, channels: Iterable[str]) -> None:
    """A storefront key sells and looks only on the channels it names."""
    if not _storefront(ctx):
        return
    scope = ctx.principal.channels or ()
    outside = [c for c in channels if c not in scope]
    if outside:
        raise deny(ctx.principal, ctx.request, f"this key may not use channel {outside[0]!r}")


def check_availability_channel(ctx: Ctx, channel: str | None) -> None:
    """A storefront key asks for its own channels' availability, never the SKU's as a whole."""
    if _storefront(ctx) and channel is None:
        raise deny(ctx.principal, ctx.request, "a storefront key must name its channel: ?channel=<name>")
    if channel is not None:
        check_channels(ctx, [channel])


def check_hold(ctx: Ctx, conn: Connection, hold_id: str) -> None:
    """A storefront key sees, releases and confirms only the holds it placed itself.

    Another key's hold and no hold at all get the same answer: a key learns nothing of what others hold.
    """
    if not _storefront(ctx):
        return
    try:
        owner = selling.hold_owner(conn, hold_id)
    except NotFound:
        owner = None
    if owner != ctx.principal.key_id:
        raise deny(ctx.principal, ctx.request, f"hold {hold_id!r} is not one this key placed")


def check_order(ctx: Ctx, conn: Connection, ref: str) -> None:
    """A storefront key sees only orders on its channels; another channel's order and no order at all
    get the same answer, so a key cannot learn which refs exist."""
    if not _storefront(ctx):
        return
    try:
        channel: str | None = orders.channel_of(conn, ref)
    except NotFound:
        channel = None
    if channel not in (ctx.principal.channels or ()):
        raise deny(ctx.principal, ctx.request, f"order {ref!r} is not one this key may see")


def check_priority(ctx: Ctx, priority: int) -> None:
    """Priority is the merchant's decision: only an ops or admin key may set one."""
    if _storefront(ctx) and priority != 0:
        log.warning("denied key %s (storefront): priority %s", ctx.principal.key_id, priority)
        raise Forbidden("priority: only an ops or admin key may set a priority; a storefront key's orders "
                        "queue at priority 0", field="priority")


def hold_limits(ctx: Ctx) -> HoldLimits | None:
    """A storefront key's hold caps: its own, else the installation's; other keys are not capped."""
    if not _storefront(ctx):
        return None
    default: HoldLimits = ctx.request.app.state.hold_limits
    p = ctx.principal
    return HoldLimits(p.max_hold_ttl_seconds or default.max_ttl_seconds, p.max_held_units or default.max_held_units)


Status = int | Callable[[Any], int]


def check_query(request: Request, known: set[str]) -> None:
    """Refuse a query parameter the route does not know (422 naming it) rather than silently ignore a filter."""
    for name in request.query_params:
        if name not in known:
            raise Invalid(name, f"unknown query parameter; this route takes {', '.join(sorted(known))}")


def write(ctx: Ctx, body: BaseModel | None, op: Callable[[Connection], Any], status: Status = 200,
          *, replayable: bool = True) -> Response:
    """Run `op` in one transaction with its audit row; with an Idempotency-Key a repeat returns the first
    answer and changes nothing (so it writes no second audit row)."""
    attempt = Attempt(ctx, body, op, status, replayable)
    try:
        outcome = _transact(ctx.db, attempt.run)
    except IntegrityError as race:
        outcome = attempt.after_race(race)
    return attempt.respond(outcome)


async def sell(ctx: Ctx, body: BaseModel, op: Callable[[Connection], Any], skus: list[str],
               customers: Sequence[str] = ()) -> Response:
    """`write` for a sale: the transaction is shared with concurrent sales (services/batching.py).

    Each request still gets its own answer and its own audit row, undone with it if it fails.
    Only the batch's thread touches the database; this coroutine just waits for its answer.
    """
    attempt = Attempt(ctx, body, op, 201, True)
    if ctx.principal.rate_per_second is not None and attempt.key:
        # A retry of a sale already answered gets its stored answer, never a 429, and spends no rate:
        # the lookup is a read; the counter is written only for a request that will run.
        seen = await run_in_threadpool(attempt.recall)
        if seen is not None:
            return attempt.respond(seen)
    await _within_rate(ctx)
    batcher = ctx.request.app.state.batcher
    try:
        if batcher is None:
            outcome = await run_in_threadpool(_transact, ctx.db, attempt.run)
        else:
            outcome = await batcher.sell(skus, attempt.run, ctx.now, customers)
    except IntegrityError as race:
        outcome = await run_in_threadpool(attempt.after_race, race)
    return attempt.respond(outcome)


async def _within_rate(ctx: Ctx) -> None:
    """A key's `rate_per_second` (services/rates.py): counted in the database, so every process agrees."""
    limit = ctx.principal.rate_per_second
    if limit is None:
        return  # the usual key: no cost at all
    wait = await run_in_threadpool(rates.take, ctx.db, ctx.principal.key_id, limit)
    if wait > 0:
        raise RateLimited(f"this key may place {limit} holds and orders per second", math.ceil(wait),
                          rate_per_second=limit)


def _transact(db: Database, run: Callable[[Connection], Any]) -> Any:
    with db.write() as conn:
        return run(conn)


class Attempt:
    """One write request: run it once (or recall its first answer), then answer it."""

    def __init__(self, ctx: Ctx, body: BaseModel | None, op: Callable[[Connection], Any], status: Status,
                 replayable: bool) -> None:
        self.ctx, self.body, self.op, self.status = ctx, body, op, status
        self.key = _idempotency_key(ctx.request, replayable)
        self.fingerprint = idempotency.request_hash(
            ctx.request.method, ctx.request.url.path, body.model_dump_json().encode() if body else b""
        ) if self.key else ""

    def run(self, conn: Connection) -> tuple[int, Any, bool]:
        ctx, key = self.ctx, self.key
        if not key:
            code, content = _run(ctx, conn, self.body, self.op, self.status)
            return code, content, False
        seen = idempotency.recall(conn, ctx.principal.key_id, key, self.fingerprint)
        if seen is not None:
            return seen[0], seen[1], True
        try:
            with atomic(conn):
                code, content = _run(ctx, conn, self.body, self.op, self.status)
        except AllotError as refused:  # a refusal is an answer too: the retry gets the same one
            code, content = problems.of(refused)
        idempotency.remember(conn, ctx.principal.key_id, key, self.fingerprint, code, json.dumps(content), ctx.now)
        return code, content, False

    def recall(self) -> tuple[int, Any, bool] | None:
        """The first answer under this Idempotency-Key, if one was recorded (a read)."""
        if not self.key:
            return None
        with self.ctx.db.read() as conn:
            seen = idempotency.recall(conn, self.ctx.principal.key_id, self.key, self.fingerprint)
        return None if seen is None else (seen[0], seen[1], True)

    def after_race(self, error: IntegrityError) -> tuple[int, Any, bool]:
        """The transaction lost a race on a unique row; with a key, a concurrent twin committed first."""
        seen = self.recall()
        if seen is None:
            raise error
        return seen

    @staticmethod
    def respond(outcome: tuple[int, Any, bool]) -> Response:
        code, content, replayed = outcome
        return _respond(content, code, {"Idempotent-Replayed": "true"} if replayed else None)


def _idempotency_key(request: Request, replayable: bool) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not replayable:
        raise Invalid("Idempotency-Key", "not accepted here: this answer holds a secret that is never stored")
    if not IDEMPOTENCY_KEY.match(key):
        raise Invalid("Idempotency-Key", "1 to 200 visible ASCII characters")
    return key


def _run(ctx: Ctx, conn: Connection, body: BaseModel | None, op: Callable[[Connection], Any],
         status: Status) -> tuple[int, Any]:
    result = op(conn)
    code = status(result) if callable(status) else status
    content = plain(result)
    audit.record(conn, ctx.now, ctx.actor, _change(ctx.request, body, content, code))
    return code, content


def _change(request: Request, body: BaseModel | None, content: Any, code: int) -> audit.Change:
    path = request.scope["path"]  # not request.url: building a URL costs more than the sale itself
    action = getattr(request.scope.get("route"), "name", None) or path
    posted = body.model_dump(mode="json", by_alias=True) if body else None  # the names the client sent
    summary = audit.summarise(dict(request.path_params), posted, content)
    return audit.Change(request_id(request.scope), request.method, path, action, code, summary)


def _respond(content: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    if status == 204:
        return Response(status_code=204, headers=headers)
    media = problems.MEDIA_TYPE if status >= 400 else None
    return JSONResponse(content, status_code=status, headers=headers, media_type=media)


def plain(value: Any) -> Any:
    """`jsonable_encoder` for what services return (dicts with str keys, lists, scalars, dates),
    several times faster on the hot path; anything else still goes through `jsonable_encoder`."""
    kind = type(value)
    if kind is dict:
        return {k: plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [plain(v) for v in value]
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return value
    if kind is datetime or kind is date:
        return value.isoformat()
    return jsonable_encoder(value)
