"""The storefront's sales (`POST /v1/holds`, `POST /v1/orders`) without FastAPI's per-request machinery.

A profile of a hot-SKU hold put about two thirds of the server's CPU in the framework around the
sale: route matching over every route, solving the dependency tree, reading and re-validating the
body, the exception and exit-stack layers (docs/performance.md). This middleware takes the usual
sale, a valid JSON body from a key the process already knows, and does only what the framework did
for it: validate the body with the route's own model (straight from the JSON bytes, in
pydantic-core), admit the key with the route's own dependency, call the route's own endpoint, and
answer errors with the app's own exception handlers. Everything else (another content type, a body
the model refuses, a key not in the cache) is handed to FastAPI untouched, with the body replayed,
so every refusal keeps the exact answer, log line and throttle the rest of the API gives. The routes
stay declared as FastAPI routes, so the OpenAPI document does not change.
"""
from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import get_type_hints

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allot.api.deps import Ctx, KeyCache
from allot.services import keys

LEAN = ("/v1/holds", "/v1/orders")  # POST only


@dataclass(frozen=True, slots=True)
class Lean:
    route: APIRoute
    body: type[BaseModel]
    admit: Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[Ctx]]
    endpoint: Callable[..., Awaitable[Response]]


class SalePath:
    def __init__(self, app: ASGIApp, api: FastAPI, router: APIRouter) -> None:
        self.app, self.api = app, api
        self._routes = _routes(router)  # the router is included into `api` as it is, prefix and all

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lean = self._lean(scope) if scope["type"] == "http" and scope["method"] == "POST" else None
        if lean is None or not _json(scope):
            await self.app(scope, receive, send)
            return
        try:
            body = await _read(receive)
        except Exception as exc:  # noqa: BLE001 - a body over the cap (api/middleware.py), answered as elsewhere
            await (await self._handled(Request(scope, receive), exc))(scope, receive, send)
            return
        if body is None:  # the client left before its body was whole: nothing to sell, nobody to answer
            return
        try:
            # As FastAPI does it (JSON to Python, then the model in Python mode): validating the JSON
            # bytes directly reads `7.00` as Decimal('7') where FastAPI reads Decimal('7.0'), and the
            # Idempotency-Key fingerprint and the audit row would differ between the two paths.
            model = lean.body.model_validate(json.loads(body))
        except ValueError:  # not JSON, or a ValidationError: FastAPI words it (and checks the key first or not)
            await self.app(scope, _replay(body, receive), send)
            return
        credentials = _bearer(scope)
        cache: KeyCache = self.api.state.key_cache
        if credentials is None or cache.get(keys.digest(credentials.credentials)) is None:
            await self.app(scope, _replay(body, receive), send)  # unknown here: looked up, throttled, logged there
            return
        scope["route"], scope["path_params"] = lean.route, {}  # as the router would set them (the audit row reads them)
        request = Request(scope, receive)
        try:
            ctx = await lean.admit(request, credentials)
            response = await lean.endpoint(body=model, ctx=ctx)
        except Exception as exc:  # noqa: BLE001 - answered by the app's own handler, or raised on as the router would
            response = await self._handled(request, exc)
        await response(scope, receive, send)

    def _lean(self, scope: Scope) -> Lean | None:
        return self._routes.get(scope["path"])

    async def _handled(self, request: Request, exc: Exception) -> Response:
        """What the app's exception middleware would answer; an error without a handler goes on up."""
        handlers = self.api.exception_handlers
        handler = next((handlers[cls] for cls in type(exc).__mro__ if cls in handlers), None)
        if handler is None:
            raise exc
        answer = handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer


def _routes(router: APIRouter) -> dict[str, Lean]:
    found: dict[str, Lean] = {}
    for route in router.routes:
        if isinstance(route, APIRoute) and route.path in LEAN and "POST" in (route.methods or ()):
            hints = get_type_hints(route.endpoint, include_extras=True)
            found[route.path] = Lean(route, hints["body"], hints["ctx"].__metadata__[0].dependency, route.endpoint)
    missing = set(LEAN) - set(found)
    if missing:
        raise RuntimeError(f"sale path: no POST route for {sorted(missing)}")
    return found


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _json(scope: Scope) -> bool:
    kind = _header(scope, b"content-type")
    return kind is not None and kind.split(b";", 1)[0].strip().lower() == b"application/json"


def _bearer(scope: Scope) -> HTTPAuthorizationCredentials | None:
    """As fastapi.security.HTTPBearer(auto_error=False) reads the header."""
    value = _header(scope, b"authorization")
    scheme, credentials = get_authorization_scheme_param(value.decode("latin-1") if value else None)
    if not (scheme and credentials) or scheme.lower() != "bearer":
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)


async def _read(receive: Receive) -> bytes | None:
    """The whole body, or None if the client disconnected first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once more for the framework, then the connection's own messages (a disconnect)."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again
