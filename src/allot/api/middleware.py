"""Every HTTP exchange: a request id, a cap on the body size, and security headers on the answer.

A plain ASGI middleware (no BaseHTTPMiddleware): it adds no task or copy to the hot path.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import MutableMapping
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allot.api.problems import problem

REQUEST_ID = "allot.request_id"  # scope key; the audit log records it
CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,100}$")
DEFAULT_MAX_BODY = 1024 * 1024  # a PO of 1000 lines is ~80 kB

COMMON_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"cross-origin-resource-policy": b"same-origin",
}
API_HEADERS = {
    b"cache-control": b"no-store",
    b"content-security-policy": b"default-src 'none'; frame-ancestors 'none'",
}
# Swagger UI and ReDoc load their script from a CDN and run inline code: no CSP there. Static files
# may be cached. Dashboard pages set their own policy (web/views.py); a header already set is kept.
UNRESTRICTED_PATHS = ("/docs", "/redoc", "/static/")
# CSV imports (API and dashboard) are spooled to disk as they arrive, never held whole: a larger cap.
UPLOAD_PATHS = ("/v1/imports/", "/import/preview")
UPLOAD_MAX_BODY = 512 * 1024 * 1024


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def request_id(scope: MutableMapping[str, Any]) -> str:
    """The id this request is known by: the client's X-Request-Id when sensible, else a new one."""
    return str(scope.get(REQUEST_ID) or "")


def _choose_request_id(headers: Headers) -> str:
    given = headers.get("x-request-id", "")
    return given if CLIENT_REQUEST_ID.match(given) else uuid.uuid4().hex


def _headers_for(path: str) -> dict[bytes, bytes]:
    if path.startswith(UNRESTRICTED_PATHS):
        return COMMON_HEADERS
    return COMMON_HEADERS | API_HEADERS


class Guard:
    def __init__(self, app: ASGIApp, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rid = _choose_request_id(headers)
        scope[REQUEST_ID] = rid
        send = _decorating(send, rid, _headers_for(scope["path"]))
        limit = UPLOAD_MAX_BODY if scope["path"].startswith(UPLOAD_PATHS) else self.max_body
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(limit, scope, send)
            return
        await self.app(scope, _counting(receive, limit), send)


def _decorating(send: Send, rid: str, extra: dict[bytes, bytes]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            added = [(k, v) for k, v in extra.items() if k not in present]
            message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode()), *added]
        await send(message)

    return wrapped


def _counting(receive: Receive, limit: int) -> Receive:
    """A body sent without Content-Length (chunked) is refused as soon as it passes the limit."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return wrapped


async def _too_large(limit: int, scope: Scope, send: Send) -> None:
    response = problem(413, "payload_too_large", "Payload too large", f"the request body is larger than {limit} bytes")

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, nothing, send)
