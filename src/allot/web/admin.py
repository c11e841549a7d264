"""Admin pages: webhooks and their deliveries, API keys, the audit log — the API's admin routes on a page.

Only an admin key sees them (ops and viewers get 403, as the API answers them). A new key's secret
is shown once, on the answer to the form, and never put in a URL, a log or the audit row.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from allot.api import schemas as s
from allot.domain.calendar import day_start
from allot.services import audit, keys, webhooks
from allot.services.common import merchant_zone
from allot.services.keys import Role
from allot.store.tables import audit_log
from allot.web.acting import apply, checked
from allot.web.guard import Form, WebError, WebUser, attempt, signed_in
from allot.web.routes import number
from allot.web.views import redirect, render

router = APIRouter(include_in_schema=False)
PAGE = 50
STATUSES = ("pending", "sending", "delivered", "dead")


def admin(user: Annotated[WebUser, Depends(signed_in)]) -> WebUser:
    if user.role is not Role.ADMIN:
        raise WebError(403, "Not allowed", f"Only an admin key manages webhooks, keys and the audit log; this is a "
                       f"{user.role} key.", "/skus", "Back to SKUs")
    return user


Admin = Annotated[WebUser, Depends(admin)]


# -- webhooks -----------------------------------------------------------------------------------

@router.get("/webhooks", response_class=HTMLResponse)
def webhook_list(request: Request, user: Admin) -> Response:
    with request.app.state.db.read() as conn:
        found = webhooks.list_all(conn)
    return render(request, "webhooks.html", {"user": user, "hooks": found})


@router.get("/webhooks/{webhook_id}", response_class=HTMLResponse)
def webhook_page(request: Request, user: Admin, webhook_id: int, status: str = "", after: str = "0") -> Response:
    status = status if status in STATUSES else ""
    start = number(after, 0, 0, 2**62)
    with request.app.state.db.read() as conn:
        hook = attempt(lambda: webhooks.get(conn, webhook_id), "/webhooks", "All webhooks")
        found = webhooks.deliveries(conn, webhook_id, status or None, start, PAGE)
    more = found["next"] if len(found["deliveries"]) == PAGE else None
    return render(request, "webhook.html", {"user": user, "hook": hook, "found": found, "status": status,
                                            "statuses": STATUSES, "more": more, "after": start})


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", response_class=HTMLResponse)
def redeliver(request: Request, user: Admin, form: Form, webhook_id: int, delivery_id: int) -> Response:
    back = (f"/webhooks/{webhook_id}", "Back to the webhook")
    apply(request, user, lambda c: webhooks.redeliver(c, webhook_id, delivery_id, request.app.state.clock()),
          {"delivery_id": delivery_id}, back)
    return redirect(back[0] + "?notice=redelivered")


@router.post("/webhooks/{webhook_id}/redeliver", response_class=HTMLResponse)
def redeliver_dead(request: Request, user: Admin, form: Form, webhook_id: int) -> Response:
    back = (f"/webhooks/{webhook_id}", "Back to the webhook")
    apply(request, user, lambda c: webhooks.redeliver_dead(c, webhook_id, request.app.state.clock()), {}, back)
    return redirect(back[0] + "?notice=redelivered")


# -- keys ---------------------------------------------------------------------------------------

def _key_page(request: Request, user: WebUser, made: dict[str, Any] | None = None, status: int = 200) -> Response:
    with request.app.state.db.read() as conn:
        found = keys.list_keys(conn)
    return render(request, "keys.html", {"user": user, "keys": found, "made": made, "roles": list(Role)},
                  status=status)


@router.get("/keys", response_class=HTMLResponse)
def key_list(request: Request, user: Admin) -> Response:
    return _key_page(request, user)


@router.post("/keys", response_class=HTMLResponse)
def key_create(request: Request, user: Admin, form: Form) -> Response:
    back = ("/keys", "Back to keys")
    channels = [c.strip() for c in form.get("channels", "").split(",") if c.strip()] or None
    body = checked(lambda: s.KeyIn(name=form.get("name", "").strip(), role=form.get("role", ""),  # type: ignore[arg-type]
                                   channels=channels), "key", back)
    made = apply(request, user, lambda c: keys.create(c, body.name, body.role, body.channels,
                                                      request.app.state.clock()),
                 {"name": body.name, "role": body.role, "channels": body.channels}, back)
    return _key_page(request, user, made, 201)  # the secret is in this answer only


@router.post("/keys/{key_id}/revoke", response_class=HTMLResponse)
def key_revoke(request: Request, user: Admin, form: Form, key_id: int) -> Response:
    apply(request, user, lambda c: keys.revoke(c, key_id, request.app.state.clock(), by=user.key_id),
          {"key_id": key_id}, ("/keys", "Back to keys"))
    request.app.state.key_cache.forget(key_id)
    return redirect("/keys?notice=revoked")


# -- audit log ----------------------------------------------------------------------------------

def _day_start(raw: str) -> datetime | None:
    try:
        # The merchant's day, like every date the dashboard shows: it starts at their midnight.
        return day_start(datetime.strptime(raw.strip(), "%Y-%m-%d").date(), merchant_zone()) if raw.strip() else None
    except ValueError:
        raise WebError(422, "Check the filters", f"since: enter a day as YYYY-MM-DD (you typed {raw!r}).",
                       "/audit", "Back to the audit log") from None


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, user: Admin, action: str = "", key_id: str = "", since: str = "",
               after: str = "") -> Response:
    action = action.strip().lower()
    filters = audit.Filters(key_id=number(key_id, 0, 0, 2**62) or None, action=action or None,
                            since=_day_start(since))
    with request.app.state.db.read() as conn:
        last = conn.execute(select(func.coalesce(func.max(audit_log.c.id), 0))).scalar_one()
        filtered = any((action, key_id.strip(), since.strip()))
        start = number(after, 0, 0, 2**62) if after else 0 if filtered else max(0, last - PAGE)  # latest first
        found = audit.page(conn, start, PAGE, filters)
    args = {"action": action, "key_id": key_id, "since": since}
    return render(request, "audit.html", {"user": user, "found": found, "args": args, "start": start,
                                          "older": max(0, start - PAGE) if start else None,
                                          "newer": found["next"] if found["next"] < last else None})
