"""Dashboard pages an operations manager reads: sign in, SKUs, a SKU's plan, orders, at risk."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from allot.api.throttle import Throttled, client_address
from allot.domain.errors import NotFound
from allot.services import catalog, explain, keys, orders, overview, reports, risk, windows
from allot.services.common import today as merchant_today
from allot.web import words
from allot.web.chart import atp_svg
from allot.web.guard import STOREFRONT_REFUSED, Form, User, WebError, attempt, session_of, sessions
from allot.web.located import located, only_at
from allot.web.session import ANONYMOUS_AGE, COOKIE, MAX_AGE
from allot.web.views import redirect, render

router = APIRouter(include_in_schema=False)
MODES = ("stock", "backorder", "preorder")
RISK_DAYS = 7


def number(raw: str | None, default: int = 1, low: int = 1, high: int = 1_000_000) -> int:
    """A page number or count from the query string; nonsense falls back to the default."""
    try:
        return min(high, max(low, int(raw or default)))
    except ValueError:
        return default


def _set_session(request: Request, response: Response, data: dict[str, Any], age: int) -> None:
    response.set_cookie(COOKIE, sessions(request).write(data), max_age=age, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/skus"


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    data = session_of(request)
    return redirect("/skus" if data and data.get("key") is not None else "/signin")


@router.get("/signin", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str | None = None) -> Response:
    data = session_of(request) or sessions(request).new(None)
    response = render(request, "signin.html", {"user": None, "csrf": data["csrf"], "next": _safe_next(next)})
    if data.get("key") is None:
        _set_session(request, response, data, ANONYMOUS_AGE)
    return response


@router.post("/signin", response_class=HTMLResponse)
def sign_in(request: Request, form: Form) -> Response:
    secret = form.get("api_key", "").strip()
    throttle, address = request.app.state.auth_throttle, client_address(request)
    try:
        throttle.check(address)
    except Throttled as e:
        return _refuse_sign_in(request, form, 429, f"Too many failed sign-ins from your address: wait "
                               f"{e.retry_after} seconds and try again.", {"Retry-After": str(e.retry_after)})
    with request.app.state.db.read() as conn:
        principal = keys.authenticate(conn, secret) if secret else None
    if principal is None:
        throttle.failed(address, "refused a dashboard sign-in with an unknown or revoked key")
        return _refuse_sign_in(request, form, 401, "That API key is not valid (unknown or revoked). Paste the whole "
                               "key, or ask an admin to make one with: allot keys create NAME --role ops")
    if principal.role is keys.Role.STOREFRONT:
        return _refuse_sign_in(request, form, 403, STOREFRONT_REFUSED)
    response = redirect(_safe_next(form.get("next")))
    started = sessions(request).start(principal.key_id, request.app.state.clock())  # a fresh CSRF token too
    _set_session(request, response, started, MAX_AGE)
    return response


def _refuse_sign_in(request: Request, form: dict[str, str], status: int, why: str,
                    headers: dict[str, str] | None = None) -> Response:
    data = session_of(request) or sessions(request).new(None)
    response = render(request, "signin.html", {"user": None, "csrf": data["csrf"],
                                                "next": _safe_next(form.get("next")), "error": why}, status=status)
    response.headers.update(headers or {})
    return response


@router.post("/signout")
def sign_out(request: Request, _: Form) -> RedirectResponse:
    """Signing out ends the session on the server too: a copied cookie stops working."""
    sessions(request).end(session_of(request), request.app.state.clock())
    response = redirect("/signin")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/skus", response_class=HTMLResponse)
def sku_list(request: Request, user: User, q: str = "", mode: str = "", page: str = "1") -> Response:
    mode = mode if mode in MODES else ""
    with request.app.state.db.read() as conn:
        found = overview.sku_page(conn, request.app.state.clock(), q.strip(), mode, number(page))
    return render(request, "skus.html", {"user": user, "page": found, "q": q, "mode": mode, "modes": MODES})


@router.get("/skus/{sku}", response_class=HTMLResponse)
def sku_detail(request: Request, user: User, sku: str, page: str = "1", location: str = "") -> Response:
    missing = WebError(404, "Not found", f"There is no SKU {sku!r}. Search the SKU list, or create it "
                       "with PUT /v1/skus/{sku}.", "/skus", "Back to SKUs")
    now = request.app.state.clock()
    try:
        reports.tidy(request.app.state.db, sku, now)
    except NotFound as e:
        raise missing from e
    with request.app.state.db.read() as conn:
        book = overview.sku_book(conn, sku, now)
        if book is None:
            raise missing
        context: dict[str, Any] = {
            "user": user, "sku": overview.sku_figures(book), "settings": catalog.get_sku(conn, sku),
            "points": overview.supply_demand(book), "queue": overview.queue_page(conn, book.id, now, number(page)),
            "pos": overview.sku_pos(conn, book.id), "events": overview.recent_events(conn, sku),
            "labels": {b.key: overview.bucket_label(book, b.key) for b in book.supply.buckets},
            **located(book, location),  # locations (migration 0010): per-location columns, the queue filter
            "windows": windows.windows(conn, book.id, now),  # drops (migration 0014): windows, countdowns
        }
        context["queue"] = only_at(context["queue"], book, location)
    context["chart"] = atp_svg(context["points"], context["sku"]["uncovered"], sku,
                               context["settings"]["release_date"])
    return render(request, "sku.html", context)


@router.get("/orders", response_class=HTMLResponse)
def order_list(request: Request, user: User, q: str = "", page: str = "1") -> Response:
    with request.app.state.db.read() as conn:
        found = overview.order_page(conn, q.strip(), number(page))
    if q.strip() and found.total == 1 and found.items[0]["ref"].lower() == q.strip().lower():
        return redirect(f"/orders/{found.items[0]['ref']}")
    return render(request, "orders.html", {"user": user, "page": found, "q": q})


@router.get("/orders/{ref}", response_class=HTMLResponse)
def order_detail(request: Request, user: User, ref: str) -> Response:
    now = request.app.state.clock()
    with request.app.state.db.read() as conn:
        order = attempt(lambda: orders.get(conn, ref), "/orders", "Look up another order")
        why = [explain.explain_line(conn, ref, ln["line"], now) for ln in order["lines"]]
        history = words.order_history(conn, ref)
    return render(request, "order.html", {"user": user, "order": order, "explained": why, "history": history})


@router.get("/at-risk", response_class=HTMLResponse)
def at_risk(request: Request, user: User, days: str = str(RISK_DAYS), due_page: str = "1", late_page: str = "1",
            po_page: str = "1", sku_page: str = "1", short_page: str = "1", consent_page: str = "1") -> Response:
    now = request.app.state.clock()
    today = merchant_today(now)
    horizon = number(days, RISK_DAYS, 0, 365)
    pages = {"days": horizon, "due_page": number(due_page), "late_page": number(late_page),
             "po_page": number(po_page), "sku_page": number(sku_page), "short_page": number(short_page),
             "consent_page": number(consent_page)}
    with request.app.state.db.read() as conn:
        context = {
            "user": user, "days": horizon, "now": now,
            "short": risk.backordered_lines(conn, pages["short_page"]),
            "consent": risk.consent_waiting(conn, pages["consent_page"]),
            "due": risk.due_without_stock(conn, today, horizon, pages["due_page"]),
            "late": overview.ready_but_late(conn, today, pages["late_page"]),
            "overdue": overview.overdue_po_lines(conn, today, pages["po_page"]),
            "oversold": overview.oversold_skus(conn, now, pages["sku_page"]),
        }
    return render(request, "at_risk.html", {**context, "pages": pages, "deadline_in": risk.deadline_in})
