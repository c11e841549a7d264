"""Rendering: templates, security headers, the server-time header, and error pages."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from allot.web import words
from allot.web.guard import SignInRequired, WebError, sign_in_url

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _query(base: dict[str, Any], **changes: Any) -> str:
    """A query string from the current filters with some changed; empty values are left out."""
    merged = {**base, **changes}
    kept = {k: v for k, v in merged.items() if v not in (None, "") and not (k.endswith("page") and v == 1)}
    return "?" + urlencode(kept)


templates.env.globals["query"] = _query
words.install(templates.env)  # one date format everywhere, events in words


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, {"nav": _nav(request), **context}, status_code=status)
    secure(response)
    started = getattr(request.state, "started", None)
    if started is not None:
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _nav(request: Request) -> str:
    path = request.url.path
    for prefix in ("/skus", "/purchase-orders", "/orders", "/at-risk", "/holds", "/channels", "/import", "/messages",
                   "/payments", "/webhooks", "/keys", "/audit", "/reports", "/reorder"):
        if path.startswith(prefix):
            return prefix
    return ""


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


async def on_web_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WebError)
    user = getattr(request.state, "user", None)
    return render(request, "error.html", {"user": user, "error": exc}, status=exc.status)


async def on_sign_in_required(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return redirect(sign_in_url(exc.path))
