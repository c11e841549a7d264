"""Transfer pages: list and create (previewed first: the real operation, rolled back), receive."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from allot.api.locations import TransferIn
from allot.domain.errors import AllotError
from allot.services import catalog, impact, locations, transfers
from allot.web.guard import Editor, Form, User, WebUser, attempt
from allot.web.purchasing import _audit, _notice, first_problem
from allot.web.views import redirect, render

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
    return render(request, "transfer_preview.html", {"user": user, "body": body, "impact": seen, "form": form,
                                                     "nav": "/transfers"})


@router.post("/transfers", response_class=HTMLResponse)
def transfer_create(request: Request, user: Editor, form: Form) -> Response:
    try:
        body = _body(form)
    except ValidationError as e:
        return _page(request, user, form, first_problem(e))
    now = request.app.state.clock()
    try:
        with request.app.state.db.write() as conn:
            done = impact.measure(conn, [ln.sku for ln in body.lines], _run(body, now), now)
            _audit(conn, request, user, body.model_dump(mode="json", by_alias=True), done, now)
    except AllotError as e:
        return _page(request, user, form, e.detail)
    return redirect(f"/transfers/{body.ref}?" + _notice("created", done))


@router.get("/transfers/{ref}", response_class=HTMLResponse)
def transfer_detail(request: Request, user: User, ref: str, notice: str = "", changed: str = "0") -> Response:
    with request.app.state.db.read() as conn:
        found = attempt(lambda: transfers.get(conn, ref), "/transfers", "All transfers")
    return render(request, "transfer.html", {"user": user, "transfer": found, "notice": notice,
                                             "changed": changed, "nav": "/transfers"})


@router.post("/transfers/{ref}/receipts", response_class=HTMLResponse)
def transfer_receive(request: Request, user: Editor, form: Form, ref: str) -> Response:
    """Receive everything still on its way, at the destination."""
    now = request.app.state.clock()
    with request.app.state.db.read() as conn:
        found = attempt(lambda: transfers.get(conn, ref), "/transfers", "All transfers")
    try:
        with request.app.state.db.write() as conn:
            done = impact.measure(conn, [ln["sku"] for ln in found["lines"]],
                                  lambda c: transfers.receive(c, ref, None, False, now), now)
            _audit(conn, request, user, {}, done, now)
    except AllotError as e:
        return render(request, "transfer.html", {"user": user, "transfer": found, "notice": "", "changed": "0",
                                                 "error": e.detail, "nav": "/transfers"}, status=409)
    return redirect(f"/transfers/{ref}?" + _notice("received", done))
