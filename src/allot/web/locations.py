"""Transfer pages: list and create (previewed first: the real operation, rolled back), receive.

Create and receive are committed by the shared confirm step (web/acting.py `commit`): a one-time
token in the form, so a double click or a reload applies the change once and shows the first result.
"""
from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from allot.api.locations import TransferIn
from allot.domain.errors import AllotError
from allot.services import catalog, impact, locations, transfers
from allot.web.acting import Change, commit
from allot.web.guard import Editor, Form, User, WebError, WebUser, attempt
from allot.web.purchasing import first_problem
from allot.web.views import render

router = APIRouter(include_in_schema=False)
ROWS = 3


@router.get("/transfers", response_class=HTMLResponse)
def transfer_list(request: Request, user: User) -> Response:
    return _page(request, user, {}, None)


def _page(request: Request, user: WebUser, values: dict[str, str], error: str | None) -> Response:
    with request.app.state.db.read() as conn:
        context = {"user": user, "values": values, "error": error, "rows": range(1, ROWS + 1),
                   "transfers": transfers.list_refs(conn), "places": locations.list_all(conn),
                   "sku_names": catalog.sku_names(conn)[:1000], "nav": "/transfers"}
    return render(request, "transfers.html", context, status=422 if error else 200)


def _body(form: dict[str, str]) -> TransferIn:
    lines = [{"sku": form.get(f"sku_{i}", "").strip(), "qty": form.get(f"qty_{i}", "").strip()}
             for i in range(1, ROWS + 1)]
    return TransferIn.model_validate({
        "ref": form.get("ref", "").strip(), "from": form.get("from", ""), "to": form.get("to", ""),
        "expected_date": form.get("expected_date", ""), "lines": [ln for ln in lines if any(ln.values())]})


def _run(body: TransferIn, now: Any) -> Any:
    rows = [ln.model_dump() for ln in body.lines]
    return lambda conn: transfers.create(conn, body.ref, body.source, body.to, body.expected_date, rows, now)


@router.post("/transfers/preview", response_class=HTMLResponse)
def transfer_preview(request: Request, user: Editor, form: Form) -> Response:
    """What the transfer would do to promises, by running it and rolling it back."""
    try:
        body = _body(form)
    except ValidationError as e:
        return _page(request, user, form, first_problem(e))
    now = request.app.state.clock()
    try:
        seen = impact.preview(request.app.state.db, [ln.sku for ln in body.lines], _run(body, now), now)
    except AllotError as e:
        return _page(request, user, form, e.detail)
    fields = {k: v for k, v in form.items() if k not in ("csrf", "nonce")}
    return render(request, "transfer_preview.html", {"user": user, "body": body, "impact": seen, "form": fields,
                                                     "nonce": secrets.token_urlsafe(16), "nav": "/transfers"})


@router.post("/transfers", response_class=HTMLResponse)
def transfer_create(request: Request, user: Editor, form: Form) -> Response:
    try:
        body = _body(form)
    except ValidationError as e:
        return _page(request, user, form, first_problem(e))
    now = request.app.state.clock()
    fields = {k: v for k, v in form.items() if k not in ("csrf", "nonce")}
    change = Change(f"transfer {body.ref}", [], [ln.sku for ln in body.lines], _run(body, now), fields,
                    ("/transfers", "All transfers"))
    try:
        return commit(request, user, lambda: change, form, "created", _detail(body.ref))
    except WebError as e:  # refused (a ref in use, an unknown SKU): the form again, as typed, saying why
        return _page(request, user, form, e.detail)


def _detail(ref: str) -> str:
    return f"/transfers/{quote(ref, safe='')}"


@router.get("/transfers/{ref}", response_class=HTMLResponse)
def transfer_detail(request: Request, user: User, ref: str, notice: str = "", changed: str = "0") -> Response:
    with request.app.state.db.read() as conn:
        found = attempt(lambda: transfers.get(conn, ref), "/transfers", "All transfers")
    return render(request, "transfer.html", {"user": user, "transfer": found, "notice": notice,
                                             "changed": changed, "nonce": secrets.token_urlsafe(16),
                                             "nav": "/transfers"})


@router.post("/transfers/{ref}/receipts", response_class=HTMLResponse)
def transfer_receive(request: Request, user: Editor, form: Form, ref: str) -> Response:
    """Receive everything still on its way, at the destination."""
    now = request.app.state.clock()
    with request.app.state.db.read() as conn:
        found = attempt(lambda: transfers.get(conn, ref), "/transfers", "All transfers")
    change = Change(f"receive transfer {ref}", [], sorted({ln["sku"] for ln in found["lines"]}),
                    lambda c: transfers.receive(c, ref, None, False, now), {}, (_detail(ref), f"Back to {ref}"))
    try:
        return commit(request, user, lambda: change, form, "received", _detail(ref))
    except WebError as e:
        return render(request, "transfer.html", {"user": user, "transfer": found, "notice": "", "changed": "0",
                                                 "error": e.detail, "nonce": secrets.token_urlsafe(16),
                                                 "nav": "/transfers"}, status=409)
