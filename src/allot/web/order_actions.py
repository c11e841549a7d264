"""Acting on an order from its page: ship lines, cancel lines or the whole order, answer consent.

Each calls the service the API calls (services/orders.py) and previews first: shipping and
cancelling free or take units that move other customers' promises.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from allot.api import schemas as s
from allot.services import orders
from allot.web.acting import Change, checked, commit, show_preview, whole
from allot.web.guard import Editor, Form, WebError, attempt

router = APIRouter(include_in_schema=False)


def _order(request: Request, ref: str) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return attempt(lambda: orders.get(conn, ref), "/orders", "Look up another order")


def _place(ref: str) -> dict[str, Any]:
    return {"back": (f"/orders/{ref}", f"Back to {ref}"), "crumbs": [("/orders", "Orders"), (f"/orders/{ref}", ref)]}


def _amounts(order: dict[str, Any], form: dict[str, str], prefix: str) -> list[dict[str, int]]:
    back = _place(order["ref"])["back"]
    found = []
    for ln in order["lines"]:
        qty = whole(form.get(f"{prefix}_{ln['line']}", ""), f"line {ln['line']}", back)
        if qty:
            found.append({"line": ln["line"], "qty": qty})
    return found


def _ship(request: Request, ref: str, form: dict[str, str]) -> Change:
    order = _order(request, ref)
    where = _place(ref)
    lines = _amounts(order, form, "ship")
    body = checked(lambda: s.ShipmentIn(lines=lines), "shipment", where["back"])  # type: ignore[arg-type]
    rows = [ln.model_dump() for ln in body.lines]
    sku = {ln["line"]: ln["sku"] for ln in order["lines"]}
    details = [f"Ship {r['qty']} unit(s) of line {r['line']} ({sku[r['line']]})" for r in rows]
    return Change(f"Ship on {ref}", details, sorted({sku[r["line"]] for r in rows}),
                  lambda c: orders.ship(c, ref, rows, request.app.state.clock()),
                  {f"ship_{r['line']}": str(r["qty"]) for r in rows}, **where)


def _cancel(request: Request, ref: str, form: dict[str, str]) -> Change:
    order = _order(request, ref)
    where = _place(ref)
    sku = {ln["line"]: ln["sku"] for ln in order["lines"]}
    if form.get("whole") == "yes":
        open_lines = [ln for ln in order["lines"] if ln["qty"] - ln["qty_shipped"] - ln["qty_cancelled"] > 0]
        if not open_lines:
            raise WebError(409, "Cannot do that", f"Order {ref} has no open units to cancel.", *where["back"])
        return Change(f"Cancel order {ref}", ["Cancel every open unit of every line"],
                      sorted({ln["sku"] for ln in open_lines}),
                      lambda c: orders.cancel(c, ref, None, request.app.state.clock()), {"whole": "yes"}, **where)
    lines = _amounts(order, form, "cancel")
    if not lines:
        raise WebError(422, "Check the form", "Enter how many units to cancel on at least one line, or cancel the "
                       "whole order.", *where["back"])
    body = checked(lambda: s.CancelIn(lines=lines), "cancellation", where["back"])  # type: ignore[arg-type]
    rows = [ln.model_dump() for ln in body.lines or []]
    details = [f"Cancel {r['qty']} unit(s) of line {r['line']} ({sku[r['line']]})" for r in rows]
    return Change(f"Cancel on {ref}", details, sorted({sku[r["line"]] for r in rows}),
                  lambda c: orders.cancel(c, ref, rows, request.app.state.clock()),
                  {f"cancel_{r['line']}": str(r["qty"]) for r in rows}, **where)


def _consent(request: Request, ref: str, n: int, form: dict[str, str]) -> Change:
    order = _order(request, ref)
    where = _place(ref)
    line = next((ln for ln in order["lines"] if ln["line"] == n), None)
    if line is None:
        raise WebError(404, "Not found", f"Order {ref} has no line {n}.", *where["back"])
    answer = form.get("answer", "")
    if answer not in ("accept", "decline"):
        raise WebError(422, "Check the form", "answer: choose accept or decline.", *where["back"])
    accept = answer == "accept"
    said = (f"The customer accepts the new date {line['promise_date']}" if accept
            else "The customer declines the later date: the line is cancelled and its units go down the queue")
    return Change(f"Answer consent on {ref} line {n} for the customer", [said], [line["sku"]],
                  lambda c: orders.answer_consent(c, ref, n, accept, request.app.state.clock()),
                  {"answer": answer}, **where)


@router.post("/orders/{ref}/shipments/preview", response_class=HTMLResponse)
def preview_ship(request: Request, user: Editor, form: Form, ref: str) -> Response:
    return show_preview(request, user, _ship(request, ref, form), f"/orders/{ref}/shipments", form)


@router.post("/orders/{ref}/shipments", response_class=HTMLResponse)
def commit_ship(request: Request, user: Editor, form: Form, ref: str) -> Response:
    return commit(request, user, lambda: _ship(request, ref, form), form, "shipped", f"/orders/{ref}")


@router.post("/orders/{ref}/cancel/preview", response_class=HTMLResponse)
def preview_cancel(request: Request, user: Editor, form: Form, ref: str) -> Response:
    return show_preview(request, user, _cancel(request, ref, form), f"/orders/{ref}/cancel", form)


@router.post("/orders/{ref}/cancel", response_class=HTMLResponse)
def commit_cancel(request: Request, user: Editor, form: Form, ref: str) -> Response:
    return commit(request, user, lambda: _cancel(request, ref, form), form, "cancelled", f"/orders/{ref}")


@router.post("/orders/{ref}/lines/{n}/consent/preview", response_class=HTMLResponse)
def preview_consent(request: Request, user: Editor, form: Form, ref: str, n: int) -> Response:
    return show_preview(request, user, _consent(request, ref, n, form), f"/orders/{ref}/lines/{n}/consent", form)


@router.post("/orders/{ref}/lines/{n}/consent", response_class=HTMLResponse)
def commit_consent(request: Request, user: Editor, form: Form, ref: str, n: int) -> Response:
    return commit(request, user, lambda: _consent(request, ref, n, form), form, "consent", f"/orders/{ref}")
