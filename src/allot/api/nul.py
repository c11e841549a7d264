"""NUL bytes in a path or query string: refused before any handler (PostgreSQL cannot store or compare them).

A path with one names nothing that can exist (404); a query string with one is bad input (422). The API
answers problem+json; dashboard pages a short HTML page.
"""
from __future__ import annotations

from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from allot.api.problems import problem

PAGE = "<!doctype html><title>{title} · Allot</title><h1>{title}</h1><p>{detail}</p><p><a href=\"/\">Home</a></p>"


def _has_nul(raw: bytes) -> bool:
    return b"\x00" in raw or b"%00" in raw


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = _refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _refusal(scope: Scope) -> Response | None:
    if "\x00" in scope["path"]:
        return _answer(scope, 404, "not_found", "Not found", "there is nothing at a path with a NUL byte in it")
    if _has_nul(scope.get("query_string", b"")):
        return _answer(scope, 422, "invalid", "Invalid input", "query: a NUL byte is not allowed", field="query")
    return None


def _answer(scope: Scope, status: int, code: str, title: str, detail: str, **extra: str) -> Response:
    if scope["path"].startswith("/v1/"):
        return problem(status, code, title, detail, None, **extra)
    return HTMLResponse(PAGE.format(title=title, detail=detail), status_code=status,
                        headers={"Content-Security-Policy": "default-src 'none'", "Cache-Control": "no-store"})
