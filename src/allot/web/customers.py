"""The customer's page, `/my/{token}` (docs/customers.md): no sign-in, the signed link is the key.

The token names one order and is checked on every request (signature, expiry); nothing else — no
dashboard session, no API key — opens these pages, and a token never reaches beyond its order.
Forms carry a guard bound to the link and to a nonce cookie (double submit): a page on another site
cannot post them. A bad or expired link gets the same plain page whatever was wrong with it.
Phone-first, no JavaScript: every answer is a form post followed by a redirect back to the page.
"""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlalchemy import Connection, select

from allot.api.middleware import request_id
from allot.domain.errors import AllotError, ConsentNotRequested, NotFound
from allot.domain.messages import STATE_WORDS, kind_of, nice_date, why
from allot.services import audit, messages, orders
from allot.services.common import today
from allot.services.links import Links
from allot.store.tables import events, skus
from allot.web.views import redirect, secure, templates

router = APIRouter(include_in_schema=False)
NONCE_COOKIE = "allot_my"
Token = Annotated[str, Path(min_length=10, max_length=600)]
Line = Annotated[int, Path(ge=1, le=10_000)]
CUSTOMER = audit.Actor(None, "customer", "customer")
NOTICES = {
    "accepted": "Thank you: we will keep your item and ship it as soon as it arrives.",
    "declined": "Done: we have cancelled that item. You will get an email to confirm.",
    "cancelled": "Done: we have cancelled that item. You will get an email to confirm.",
}


def _links(request: Request) -> Links:
    return request.app.state.customer_links.signer(request.app.state.clock())  # type: ignore[no-any-return]


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    secure(response)
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is the key: never hand it to another site
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _bad_link(request: Request) -> Response:
    return _page(request, "my_bad_link.html", {}, 404)


@router.get("/my/{token}")
def my_order(request: Request, token: Token, done: str | None = None) -> Response:
    """The order behind the link: each line's state, promise and why; the answers the customer can give."""
    now = request.app.state.clock()
    ref = _links(request).order_of(token, now)
    if ref is None:
        return _bad_link(request)
    return _show(request, token, ref, NOTICES.get(done or ""), None, 200)


def _show(request: Request, token: str, ref: str, notice: str | None, problem: str | None, status: int) -> Response:
    now = request.app.state.clock()
    try:
        with request.app.state.db.read() as conn:
            order = orders.get(conn, ref)
            page = _view(conn, order, now)
    except NotFound:
        return _bad_link(request)
    nonce = request.cookies.get(NONCE_COOKIE) or secrets.token_urlsafe(24)
    response = _page(request, "my_order.html", {
        **page, "token": token, "guard": _links(request).form_guard(token, nonce), "notice": notice,
        "problem": problem}, status)
    response.set_cookie(NONCE_COOKIE, nonce, httponly=True, samesite="lax", path="/my/",
                        secure=request.url.scheme == "https")
    return response


def _view(conn: Connection, order: dict[str, Any], now: datetime) -> dict[str, Any]:
    can_cancel = messages.customer_cancel(conn, order["channel"])
    names = {r.sku: r.name or r.sku for r in conn.execute(
        select(skus.c.sku, skus.c.name).where(skus.c.sku.in_([ln["sku"] for ln in order["lines"]])))}
    reasons = _reasons(conn, order["ref"])
    lines = []
    for ln in order["lines"]:
        open_units = ln["qty"] - ln["qty_shipped"] - ln["qty_cancelled"]
        state = ln["state"] if open_units else ("shipped" if ln["qty_shipped"] else "cancelled")
        lines.append({
            "line": ln["line"], "name": names.get(ln["sku"], ln["sku"]), "qty": ln["qty"], "open": open_units,
            "shipped": ln["qty_shipped"], "cancelled": ln["qty_cancelled"], "state": state,
            "state_words": STATE_WORDS.get(state, state), "promise": nice_date(ln["promise_date"])
            if ln["promise_date"] else None, "why": reasons.get(ln["line"]) or why("confirmation", {"state": state}),
            "asking": ln["consent_status"] == "needs_consent" and open_units > 0,
            # The deadline is the merchant's midnight that ends the last day to answer: show that day.
            "deadline": nice_date(today(ln["consent_deadline"] - timedelta(seconds=1)))
            if ln["consent_deadline"] else None,
            "answered": ln["consent_status"] in ("accepted", "rejected"),
            "can_cancel": can_cancel and open_units > 0})
    return {"order_ref": order["ref"], "customer": order["customer"], "lines": lines}


def _reasons(conn: Connection, ref: str) -> dict[int, str]:
    """Each line's latest change, in the customer's words."""
    found: dict[int, str] = {}
    for e in conn.execute(select(events.c.type, events.c.line, events.c.data).where(events.c.order_ref == ref)
                          .order_by(events.c.id.desc()).limit(500)):
        kind = kind_of(e.type, e.data)
        if kind is not None and e.line not in found:
            found[e.line] = why(kind, e.data)
    return found


async def _guarded(request: Request, token: str) -> tuple[str | None, dict[str, str]]:
    """The order a post may act on: a good link and a form from its own page; else None."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str) and "\x00" not in v and len(v) < 1000}
    now = request.app.state.clock()
    ref = _links(request).order_of(token, now)
    nonce = request.cookies.get(NONCE_COOKIE, "")
    expected = _links(request).form_guard(token, nonce)
    if ref is None or not nonce or not hmac.compare_digest(fields.get("guard", "").encode(), expected.encode()):
        return None, fields
    return ref, fields


Posted = Annotated[tuple[str | None, dict[str, str]], Depends(_guarded)]


@router.post("/my/{token}/lines/{n}/consent")
def answer(request: Request, token: Token, n: Line, posted: Posted) -> Response:
    """Wait for the new date, or cancel the line (its units go to the next in the queue)."""
    ref, fields = posted
    if ref is None:
        return _refused(request)
    accept = fields.get("answer") == "wait"
    return _act(request, token, ref, "accepted" if accept else "declined", "consent",
                lambda conn, now: orders.answer_consent(conn, ref, n, accept, now))


@router.post("/my/{token}/lines/{n}/cancel")
def cancel(request: Request, token: Token, n: Line, posted: Posted) -> Response:
    """Cancel a line's unshipped units, where the channel lets customers do so."""
    ref, _ = posted
    if ref is None:
        return _refused(request)

    def op(conn: Connection, now: datetime) -> Any:
        if not messages.customer_cancel(conn, orders.channel_of(conn, ref)):
            raise ConsentNotRequested("this shop takes cancellations by email")
        return orders.cancel(conn, ref, [{"line": n}], now)

    return _act(request, token, ref, "cancelled", "cancel", op)


def _act(request: Request, token: str, ref: str, done: str, action: str, op: Any) -> Response:
    now = request.app.state.clock()
    try:
        with request.app.state.db.write() as conn:
            op(conn, now)
            change = audit.Change(request_id(request.scope), "POST", f"/my/…/{action}", f"customer_{action}", 303,
                                  {"order_ref": ref, "outcome": done})
            audit.record(conn, now, CUSTOMER, change)
    except ConsentNotRequested:
        return _show(request, token, ref, None, "We already have your answer for this item, thank you: nothing "
                     "was changed. If you have changed your mind, reply to our email and we will help.", 409)
    except AllotError:
        return _show(request, token, ref, None, "That item can no longer be changed here: nothing was changed. "
                     "Reply to our email and we will help.", 409)
    return redirect(f"/my/{token}?done={done}")


def _refused(request: Request) -> Response:
    return _page(request, "my_bad_link.html", {"form": True}, 403)
