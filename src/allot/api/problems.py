"""RFC 9457 problem+json: one table maps error classes to statuses (a base class maps a family)."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa
from starlette.exceptions import HTTPException

from allot.api.schemas import Problem
from allot.domain import errors

STATUS: dict[type[errors.AllotError], int] = {
    errors.AllotError: 400,
    errors.NotFound: 404,
    errors.Invalid: 422,
    errors.Conflict: 409,
    errors.HoldExpired: 410,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.RateLimited: 429,  # drops (migration 0014)
}
TYPE_BASE = "https://allot.dev/problems/"
MEDIA_TYPE = "application/problem+json"
HTTP_CODES = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


log = logging.getLogger("allot.api")
MAX_ID = 2**63 - 1  # the largest id either database stores
RETRY_AFTER_SECONDS = 2  # a database restart or fail-over takes seconds; storefronts retry with their key
# The database cannot be reached, dropped the connection, or every pooled connection is busy.
UNAVAILABLE: tuple[type[Exception], ...] = (sa.OperationalError, sa.InterfaceError, sa.TimeoutError,
                                            psycopg.OperationalError, psycopg.InterfaceError)


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem answers a router may give (all of them by default)."""
    problem_json = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {code: {"model": Problem, "description": "RFC 9457 problem details", "content": {MEDIA_TYPE: problem_json}}
            for code in codes or (401, 403, 404, 409, 413, 422)}


def status_of(exc: errors.AllotError) -> int:
    return next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)


def problem(status: int, code: str, title: str, detail: str, headers: Mapping[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    body = {"type": TYPE_BASE + code, "code": code, "title": title, "status": status, "detail": detail, **extra}
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def of(exc: errors.AllotError) -> tuple[int, dict[str, Any]]:
    """The status and problem body for a domain error (stored as the answer to an idempotency key)."""
    status = status_of(exc)
    return status, {"type": TYPE_BASE + exc.code, "code": exc.code, "title": errors.title_of(exc), "status": status,
                    "detail": exc.detail, **exc.extra}


def database_unavailable(exc: Exception) -> bool:
    """An error that says the database is away (retry later), not that the request was wrong."""
    return isinstance(exc, UNAVAILABLE) or (isinstance(exc, sa.DBAPIError) and exc.connection_invalidated)


def unavailable() -> JSONResponse:
    return problem(503, "unavailable", "Service unavailable", "the database is unavailable: retry shortly",
                   headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def unread_body(request: Request) -> str:
    """Why FastAPI did not read an API body as JSON (curl's default is a form), or "" when it did or there
    was none (the dashboard's own forms are forms)."""
    if not request.url.path.startswith("/v1/"):
        return ""
    if request.headers.get("content-length", "0") == "0" and "transfer-encoding" not in request.headers:
        return ""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return ""
    return f"not {media}" if media else "no Content-Type was sent"


def said(error: dict[str, Any]) -> str:
    """A validation message; for dates, the format the API speaks (pydantic's own says only what went wrong)."""
    kind = str(error.get("type", ""))
    if kind.startswith("date_"):
        return f"a date as YYYY-MM-DD, such as 2026-12-03 ({error['msg']})"
    if kind.startswith("datetime_"):
        return f"a time as YYYY-MM-DDTHH:MM:SSZ (ISO 8601; {error['msg']})"
    return str(error["msg"])


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.AllotError)
    async def _domain(_: Request, exc: errors.AllotError) -> JSONResponse:
        status, body = of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, errors.RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)

    async def _database(_: Request, exc: Exception) -> JSONResponse:
        if not database_unavailable(exc):
            raise exc  # a bug, not an outage: the server's 500 and its traceback in the log
        log.warning("database unavailable, answered 503: %s", str(exc).splitlines()[0] if str(exc) else type(exc))
        return unavailable()

    for cls in (sa.DBAPIError, sa.TimeoutError, psycopg.OperationalError, psycopg.InterfaceError):
        app.add_exception_handler(cls, _database)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        unread = unread_body(request)
        if unread and any(e["loc"][:1] == ("body",) for e in exc.errors()):
            return problem(415, "unsupported_media_type", "Unsupported media type",
                           f"send the body as JSON with Content-Type: application/json ({unread})",
                           field="Content-Type")
        found = [{"field": "body" if e["type"] == "json_invalid" else field_of(tuple(e["loc"])), "message": said(e)}
                 for e in exc.errors()]
        first = found[0] if found else {"field": "body", "message": "invalid"}
        return problem(422, "invalid", "Invalid input", f"{first['field']}: {first['message']}",
                       field=first["field"], errors=found)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not read the body (e.g. not UTF-8): bad input, like bad JSON
            return problem(422, "invalid", "Invalid input", f"body: {exc.detail}", field="body",
                           errors=[{"field": "body", "message": str(exc.detail)}])
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, HTTPStatus(exc.status_code).phrase.capitalize(), str(exc.detail),
                       headers=exc.headers)
