"""Purchase-order pages: list, create, and every supply change previewed before it is committed.

A change is posted first to `…/preview`, which runs the real operation and rolls it back,
showing which lines change promise; the confirm form posts the same fields (and a one-time
token, so a double click cannot receive twice) to the commit route.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import Connection

from allot.api import schemas as s
from allot.domain.errors import AllotError
from allot.services import catalog, impact, overview, purchasing
from allot.services.common import today as merchant_today
from allot.web.acting import Change, commit, notice, record, show_preview
from allot.web.guard import Editor, Form, User, WebError, WebUser, attempt
from allot.web.routes import number
from allot.web.views import redirect, render

router = APIRouter(include_in_schema=False)
STATUSES = ("open", "closed", "cancelled")
NEW_PO_ROWS = 5


@router.get("/purchase-orders", response_class=HTMLResponse)
def po_list(request: Request, user: User, status: str = "", page: str = "1") -> Response:
    status = status if status in STATUSES else ""
    today = merchant_today(request.app.state.clock())
    with request.app.state.db.read() as conn:
        found = overview.po_page(conn, today, status, number(page))
    return render(request, "pos.html", {"user": user, "page": found, "status": status, "statuses": STATUSES})


@router.get("/purchase-orders/new", response_class=HTMLResponse)
def po_new(request: Request, user: Editor, sku: str = "") -> Response:
    return _new_form(request, user, {"line_sku_1": sku}, None)


def _new_form(request: Request, user: WebUser, values: dict[str, str], error: str | None) -> Response:
    with request.app.state.db.read() as conn:
        names = catalog.sku_names(conn)[:1000]
    return render(request, "po_new.html", {"user": user, "values": values, "error": error, "sku_names": names,
                                           "rows": range(1, NEW_PO_ROWS + 1)}, status=422 if error else 200)


@router.post("/purchase-orders", response_class=HTMLResponse)
def po_create(request: Request, user: Editor, form: Form) -> Response:
    lines = [{"sku": form.get(f"line_sku_{i}", "").strip(), "qty": form.get(f"line_qty_{i}", "").strip(),
              "expected_date": form.get(f"line_date_{i}", "").strip()} for i in range(1, NEW_PO_ROWS + 1)]
    lines = [ln for ln in lines if any(ln.values())]
    try:
        body = s.PoIn(ref=form.get("ref", "").strip(), supplier=form.get("supplier", "").strip() or None,
                      lines=lines)  # type: ignore[arg-type]
    except ValidationError as e:
        return _new_form(request, user, form, first_problem(e))
    now = request.app.state.clock()
    rows = [ln.model_dump() for ln in body.lines]
    try:
        with request.app.state.db.write() as conn:
            done = impact.measure(conn, [ln["sku"] for ln in rows],
                                  lambda c: purchasing.create(c, body.ref, body.supplier, rows, now), now)
            _audit(conn, request, user, body.model_dump(mode="json"), done, now)
    except AllotError as e:  # a refusal is shown on the form, with what was typed
        return _new_form(request, user, form, e.detail)
    return redirect(f"/purchase-orders/{body.ref}?" + _notice("created", done))


@router.get("/purchase-orders/{ref}", response_class=HTMLResponse)
def po_detail(request: Request, user: User, ref: str, notice: str = "", changed: str = "0",
              backordered: str = "0", covered: str = "0") -> Response:
    with request.app.state.db.read() as conn:
        po = attempt(lambda: purchasing.get(conn, ref), "/purchase-orders", "All purchase orders")
    counts = {"changed": number(changed, 0, 0), "backordered": number(backordered, 0, 0),
              "covered": number(covered, 0, 0)}
    return render(request, "po.html", {"user": user, "po": po, "notice": notice, "counts": counts,
                                       "today": merchant_today(request.app.state.clock())})


# -- changes: preview, then commit -----------------------------------------------------------------

@router.post("/purchase-orders/{ref}/lines/{n}/preview", response_class=HTMLResponse)
def preview_line(request: Request, user: Editor, form: Form, ref: str, n: int) -> Response:
    return _preview(request, user, ref, _line_change(request, ref, n, form), f"/purchase-orders/{ref}/lines/{n}",
                    form)


@router.post("/purchase-orders/{ref}/lines/{n}", response_class=HTMLResponse)
def commit_line(request: Request, user: Editor, form: Form, ref: str, n: int) -> Response:
    return _commit(request, user, ref, lambda: _line_change(request, ref, n, form), form, "line_changed")


@router.post("/purchase-orders/{ref}/receipts/preview", response_class=HTMLResponse)
def preview_receipt(request: Request, user: Editor, form: Form, ref: str) -> Response:
    return _preview(request, user, ref, _receipt(request, ref, form), f"/purchase-orders/{ref}/receipts", form)


@router.post("/purchase-orders/{ref}/receipts", response_class=HTMLResponse)
def commit_receipt(request: Request, user: Editor, form: Form, ref: str) -> Response:
    return _commit(request, user, ref, lambda: _receipt(request, ref, form), form, "received")


@router.post("/purchase-orders/{ref}/cancel/preview", response_class=HTMLResponse)
def preview_cancel(request: Request, user: Editor, form: Form, ref: str) -> Response:
    return _preview(request, user, ref, _cancel(request, ref), f"/purchase-orders/{ref}/cancel", form)


@router.post("/purchase-orders/{ref}/cancel", response_class=HTMLResponse)
def commit_cancel(request: Request, user: Editor, form: Form, ref: str) -> Response:
    return _commit(request, user, ref, lambda: _cancel(request, ref), form, "cancelled")


def _preview(request: Request, user: WebUser, ref: str, change: Change, action: str, form: dict[str, str]) -> Response:
    return show_preview(request, user, change, action, form)


def _commit(request: Request, user: WebUser, ref: str, build: Callable[[], Change], form: dict[str, str],
            kind: str) -> Response:
    return commit(request, user, build, form, kind, f"/purchase-orders/{ref}")


def _audit(conn: Connection, request: Request, user: WebUser, posted: dict[str, Any], done: impact.Impact,
           now: datetime) -> None:
    result = {"changed": len(done.changes), "backordered": done.newly_backordered, "covered": done.newly_covered}
    record(conn, request, user, posted, result, now)


def _notice(kind: str, done: impact.Impact) -> str:
    return notice(kind, done)


def _po(request: Request, ref: str) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return attempt(lambda: purchasing.get(conn, ref), "/purchase-orders", "All purchase orders")


def _line_change(request: Request, ref: str, n: int, form: dict[str, str]) -> Change:
    po = _po(request, ref)
    line = next((ln for ln in po["lines"] if ln["line"] == n), None)
    if line is None:
        raise WebError(404, "Not found", f"{ref} has no line {n}.", f"/purchase-orders/{ref}", f"Back to {ref}")
    raw = {"expected_date": form.get("expected_date", "").strip(), "qty": form.get("qty", "").strip()}
    new_date = raw["expected_date"] or None
    new_qty = raw["qty"] or None
    if new_date == line["expected_date"].isoformat():
        new_date = None
    if new_qty is not None and new_qty == str(line["qty"]):
        new_qty = None
    try:
        patch = s.PoLinePatch(expected_date=new_date, qty=new_qty)  # type: ignore[arg-type]
    except ValidationError as e:
        raise WebError(422, "Check the change", first_problem(e) + ". Change the date or the quantity.",
                       f"/purchase-orders/{ref}", f"Back to {ref}") from e
    details = []
    if patch.expected_date is not None:
        days = (patch.expected_date - line["expected_date"]).days
        details.append(f"Expected date {line['expected_date']} → {patch.expected_date} ({days:+d} days)")
    if patch.qty is not None:
        details.append(f"Quantity {line['qty']} → {patch.qty}")
    fields = {"expected_date": patch.expected_date.isoformat() if patch.expected_date else "",
              "qty": str(patch.qty) if patch.qty is not None else ""}
    return Change(f"Change {ref} line {n} ({line['sku']})", details, [line["sku"]],
                  lambda c: purchasing.update_line(c, ref, n, patch.expected_date, patch.qty,
                                                   request.app.state.clock()), fields, *_place(ref))


def _receipt(request: Request, ref: str, form: dict[str, str]) -> Change:
    po = _po(request, ref)
    lines, details, fields = [], [], {"close_short": "on" if form.get("close_short") else ""}
    for ln in po["lines"]:
        raw = form.get(f"receive_{ln['line']}", "").strip()
        if raw and raw != "0":
            lines.append({"line": ln["line"], "qty": raw})
            details.append(f"Line {ln['line']} ({ln['sku']}): receive {raw} of {ln['remaining']} still due")
            fields[f"receive_{ln['line']}"] = raw
    try:
        body = s.ReceiptIn(lines=lines, close_short=bool(fields["close_short"]))  # type: ignore[arg-type]
    except ValidationError as e:
        raise WebError(422, "Check the receipt", "Enter how many units arrived on at least one line "
                       f"({first_problem(e)}).", f"/purchase-orders/{ref}", f"Back to {ref}") from e
    if body.close_short:
        details.append("Close the rest: the supplier sends nothing more on these lines")
    rows = [ln.model_dump() for ln in body.lines]
    skus = sorted({ln["sku"] for ln in po["lines"] if ln["line"] in {r["line"] for r in rows}})
    return Change(f"Receive stock on {ref}", details, skus,
                  lambda c: purchasing.receive(c, ref, rows, body.close_short, request.app.state.clock()), fields,
                  *_place(ref))


def _cancel(request: Request, ref: str) -> Change:
    po = _po(request, ref)
    skus = sorted({ln["sku"] for ln in po["lines"]})
    return Change(f"Cancel {ref}", ["Nothing more arrives on this PO; what was received stays on hand"], skus,
                  lambda c: purchasing.cancel(c, ref, request.app.state.clock()), {}, *_place(ref))


def _place(ref: str) -> tuple[tuple[str, str], list[tuple[str, str]]]:
    """Where a PO change's preview leads back to, and its breadcrumbs."""
    return (f"/purchase-orders/{ref}", f"Back to {ref}"), [("/purchase-orders", "Purchase orders"),
                                                           (f"/purchase-orders/{ref}", ref)]


def first_problem(e: ValidationError) -> str:
    first = e.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "form"
    return f"{where}: {first['msg']}"

