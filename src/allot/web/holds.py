"""The holds page: who holds what (by SKU, key or status), and releasing a SKU's or a key's holds."""
from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from allot.api.middleware import request_id
from allot.services import audit, holds
from allot.web.guard import Editor, Form, User, WebError, attempt
from allot.web.routes import number
from allot.web.views import redirect, render

router = APIRouter(include_in_schema=False)
PAGE = 50


def _key_id(raw: str) -> int | None:
    return number(raw, 0, 0, 2**62) or None if raw.strip() else None


@router.get("/holds", response_class=HTMLResponse)
def hold_list(request: Request, user: User, sku: str = "", key: str = "", status: str = "active",
              after: str = "", released: str = "") -> Response:
    status = status if status in holds.STATUSES else ""
    sku = sku.strip()
    with request.app.state.db.read() as conn:
        found = holds.page(conn, request.app.state.clock(), sku or None, _key_id(key), status or None,
                           after.strip() or None, PAGE)
    more = urlencode({"sku": sku, "key": key, "status": status, "after": found["next"]}) if found["next"] else ""
    return render(request, "holds.html", {"user": user, "found": found, "sku": sku, "key": key, "status": status,
                                          "statuses": holds.STATUSES, "more": more,
                                          "released": number(released, 0, 0) if released else None})


@router.post("/holds/release", response_class=HTMLResponse)
def release(request: Request, user: Editor, form: Form) -> Response:
    """Release every live hold of a SKU and/or a key, audited like the API's POST /v1/holds/release."""
    sku, key_id = form.get("sku", "").strip() or None, _key_id(form.get("key", ""))
    if sku is None and key_id is None:
        raise WebError(422, "Name a SKU or a key", "Enter the SKU or the key id whose holds to release.",
                       "/holds", "Back to holds")
    now, db = request.app.state.clock(), request.app.state.db

    def run() -> int:
        with db.write() as conn:
            done = holds.release(conn, now, sku, key_id)
            asked = {"sku": sku, "key_id": key_id}
            change = audit.Change(request_id(request.scope), "POST", request.url.path, "release_holds", 303,
                                  audit.summarise({}, asked, {"released": done["released"]}))
            audit.record(conn, now, audit.Actor(user.key_id, user.name, user.role.value), change)
            return int(done["released"])

    count = attempt(run, "/holds", "Back to holds")
    return redirect("/holds?" + urlencode({"sku": sku or "", "key": key_id or "", "released": count}))
