"""Acting from the dashboard: a change that moves promises is previewed, then committed once.

The pattern of the PO pages, for every page: the preview runs the real service call inside a
transaction and rolls it back (services/impact.py); the confirm form posts the same fields plus a
one-time token, so a double click or a reload applies the change once. Every change is audited
like an API write, in the same transaction. Changes that move no promise (keep a backorder, a
quota, a key) go straight through `apply`.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from allot.api.middleware import request_id
from allot.services import audit, idempotency, impact
from allot.services.overview import Page, clamp_page
from allot.services.risk import customers_of
from allot.web.guard import WebError, WebUser, attempt
from allot.web.views import redirect, render

PREVIEW_ROWS = 50  # a slip can move thousands of lines: the preview shows them a page at a time


@dataclass(frozen=True, slots=True)
class Change:
    """A change ready to preview or commit: what it is in words, which SKUs, and how to run it."""

    title: str
    details: list[str]
    skus: list[str]
    run: Callable[[Connection], Any]
    fields: dict[str, str]
    back: tuple[str, str] = ("/", "Home")  # where "go back without saving" leads, and its words
    crumbs: list[tuple[str, str]] = field(default_factory=list)


def changes_page(seen: impact.Impact, raw: str | None) -> Page:
    """One page of the lines whose promise changes, in the order the change moved them."""
    try:
        wanted = int(raw or 1)
    except ValueError:
        wanted = 1
    number = clamp_page(wanted, len(seen.changes), PREVIEW_ROWS)
    start = (number - 1) * PREVIEW_ROWS
    rows = [{"c": c, "customer": None} for c in seen.changes[start:start + PREVIEW_ROWS]]
    return Page(rows, number, PREVIEW_ROWS, len(seen.changes))


def show_preview(request: Request, user: WebUser, change: Change, action: str, form: dict[str, str]) -> Response:
    """The preview page: what would change, nothing saved; its confirm form posts to `action`."""
    now = request.app.state.clock()
    seen = attempt(lambda: impact.preview(request.app.state.db, change.skus, change.run, now), *change.back)
    shown = changes_page(seen, form.get("view_page"))
    if shown.items:
        with request.app.state.db.read() as conn:
            names = customers_of(conn, sorted({r["c"].order_ref for r in shown.items}))
        for r in shown.items:
            r["customer"] = names.get(r["c"].order_ref)
    return render(request, "preview.html", {
        "user": user, "change": change, "impact": seen, "action": action, "preview_action": request.url.path,
        "fields": {**change.fields, "nonce": secrets.token_urlsafe(16)}, "shown": shown})


def commit(request: Request, user: WebUser, build: Callable[[], Change], form: dict[str, str], kind: str,
           target: str) -> Response:
    """Apply a previewed change once and go to `target` with a notice of what moved.

    The confirm form's one-time token makes a repeat (a double click, a reload) show the first result.
    """
    db, now = request.app.state.db, request.app.state.clock()
    back = (target, "Back")
    key = "dashboard:" + (form.get("nonce") or secrets.token_urlsafe(16))
    posted = {k: v for k, v in form.items() if k not in ("csrf", "nonce", "view_page")}
    fingerprint = idempotency.request_hash("POST", request.url.path, json.dumps(posted, sort_keys=True).encode())
    joiner = "&" if "?" in target else "?"
    with db.read() as conn:
        seen = attempt(lambda: idempotency.recall(conn, user.key_id, key, fingerprint), *back)
    if seen is not None:
        return redirect(target + joiner + str(seen[1]))
    change = build()

    def run() -> str:
        with db.write() as conn:
            done = impact.measure(conn, change.skus, change.run, now)
            record(conn, request, user, change.fields, _counts(done), now)
            query = notice(kind, done)
            idempotency.remember(conn, user.key_id, key, fingerprint, 303, json.dumps(query), now)
            return query

    try:
        return redirect(target + joiner + attempt(run, *change.back))
    except IntegrityError:  # the same confirm raced itself and lost: show the winner's result
        with db.read() as conn:
            seen = idempotency.recall(conn, user.key_id, key, fingerprint)
        if seen is None:
            raise
        return redirect(target + joiner + str(seen[1]))


def apply(request: Request, user: WebUser, op: Callable[[Connection], Any], asked: dict[str, Any],
          back: tuple[str, str]) -> Any:
    """A change that moves no promise: run it and its audit row in one transaction."""
    now = request.app.state.clock()

    def run() -> Any:
        with request.app.state.db.write() as conn:
            result = op(conn)
            record(conn, request, user, asked, audit.brief(result), now)
            return result

    return attempt(run, *back)


def record(conn: Connection, request: Request, user: WebUser, posted: dict[str, Any], result: Any,
           now: datetime) -> None:
    """A change made on the dashboard is audited like an API write, in the same transaction."""
    action = getattr(request.scope.get("route"), "name", None) or request.url.path
    change = audit.Change(request_id(request.scope), request.method, request.url.path, action, 303,
                          audit.summarise(dict(request.path_params), posted, result))
    audit.record(conn, now, audit.Actor(user.key_id, user.name, user.role.value), change)


def _counts(done: impact.Impact) -> dict[str, int]:
    return {"changed": len(done.changes), "backordered": done.newly_backordered, "covered": done.newly_covered}


def notice(kind: str, done: impact.Impact) -> str:
    return urlencode({"notice": kind, **_counts(done)})


def checked(build: Callable[[], Any], what: str, back: tuple[str, str]) -> Any:
    """Validate a form through the API's own schema; its first complaint names the field."""
    try:
        return build()
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "form"
        raise WebError(422, f"Check the {what}", f"{where}: {first['msg']}.", *back) from e


def whole(raw: str, name: str, back: tuple[str, str], low: int = 0) -> int | None:
    """A whole number typed in a form (blank: None); anything else names the field."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise WebError(422, "Check the form", f"{name}: enter a whole number (you typed {raw!r}).", *back) from None
    if value < low:
        raise WebError(422, "Check the form", f"{name}: must be at least {low}.", *back)
    return value
