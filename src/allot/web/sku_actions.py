"""Acting on a SKU: adjust or count its stock, change its settings, decide about its backordered tail.

Stock and settings re-plan the SKU, and cancelling backordered units frees supply down the queue:
all three preview first. Keeping lines waiting moves no promise, so it is saved at once (audited).
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from allot.api import schemas as s
from allot.domain.errors import NotFound
from allot.services import catalog, reports, shortages, stock
from allot.web.acting import Change, apply, checked, commit, show_preview, whole
from allot.web.guard import Editor, Form, User, WebError, WebUser, attempt
from allot.web.views import redirect, render

router = APIRouter(include_in_schema=False)
POLICIES = ("fifo", "fair_share")
MODES = ("stock", "backorder", "preorder")


def _place(sku: str) -> dict[str, Any]:
    page = f"/skus/{quote(sku, safe='')}"
    return {"back": (page, f"Back to {sku}"), "crumbs": [("/skus", "SKUs"), (page, sku)]}


def _settings(request: Request, sku: str) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return attempt(lambda: catalog.get_sku(conn, sku), "/skus", "Back to SKUs")


# -- stock --------------------------------------------------------------------------------------

@router.get("/skus/{sku}/stock", response_class=HTMLResponse)
def stock_form(request: Request, user: Editor, sku: str) -> Response:
    return render(request, "sku_stock.html", {"user": user, "settings": _settings(request, sku)})


def _stock(request: Request, sku: str, form: dict[str, str]) -> Change:
    where = _place(sku)
    now_on_hand = _settings(request, sku)["on_hand"]
    kind, reason = form.get("kind", ""), form.get("reason", "").strip()
    qty = whole(form.get("qty", ""), "qty", where["back"], low=-1_000_000)
    if kind not in ("adjust", "count") or qty is None:
        raise WebError(422, "Check the form", "Choose adjust or count, and enter a number of units.", *where["back"])
    fields = {"kind": kind, "qty": str(qty), "reason": reason}
    if kind == "adjust":
        body = checked(lambda: s.AdjustmentIn(sku=sku, delta=qty, reason=reason or "adjustment"), "adjustment",
                       where["back"])
        said = f"On hand {now_on_hand} → {now_on_hand + body.delta} ({body.delta:+d}, {body.reason})"
        return Change(f"Adjust stock of {sku}", [said], [sku],
                      lambda c: stock.adjust(c, sku, body.delta, body.reason, request.app.state.clock()),
                      fields, **where)
    counted = checked(lambda: s.CountIn(sku=sku, on_hand=qty, reason=reason or "count"), "count", where["back"])
    said = f"Counted {counted.on_hand} on hand (the books say {now_on_hand}: {counted.on_hand - now_on_hand:+d})"
    return Change(f"Stock count of {sku}", [said], [sku],
                  lambda c: stock.count(c, sku, counted.on_hand, counted.reason, request.app.state.clock()),
                  fields, **where)


@router.post("/skus/{sku}/stock/preview", response_class=HTMLResponse)
def preview_stock(request: Request, user: Editor, form: Form, sku: str) -> Response:
    return show_preview(request, user, _stock(request, sku, form), f"/skus/{quote(sku, safe='')}/stock", form)


@router.post("/skus/{sku}/stock", response_class=HTMLResponse)
def commit_stock(request: Request, user: Editor, form: Form, sku: str) -> Response:
    return commit(request, user, lambda: _stock(request, sku, form), form, "stock", _place(sku)["back"][0])


# -- settings -----------------------------------------------------------------------------------

@router.get("/skus/{sku}/settings", response_class=HTMLResponse)
def settings_form(request: Request, user: Editor, sku: str) -> Response:
    return render(request, "sku_settings.html", {"user": user, "settings": _settings(request, sku),
                                                 "modes": MODES, "policies": POLICIES})


SETTING_FIELDS = ("mode", "name", "release_date", "handling_days", "incoming_buffer", "safety_stock",
                  "backorder_limit", "backorder_lead_days", "allocation_policy")


def _settings_change(request: Request, sku: str, form: dict[str, str]) -> Change:
    where = _place(sku)
    was = _settings(request, sku)
    raw = {k: form.get(k, "").strip() for k in SETTING_FIELDS}
    typed: dict[str, Any] = {k: v for k, v in raw.items() if v != ""}
    if "incoming_buffer" in typed:  # typed as a percentage: what a person means by "10"
        try:
            typed["incoming_buffer"] = str(float(typed["incoming_buffer"]) / 100)
        except ValueError:
            raise WebError(422, "Check the settings", "incoming_buffer: enter a percentage such as 10.",
                           *where["back"]) from None
    body = checked(lambda: s.SkuIn(**typed), "settings", where["back"])
    new = body.model_dump()
    details = [f"{k.replace('_', ' ').capitalize()}: {_shown(k, was.get(k))} → {_shown(k, new[k])}"
               for k in SETTING_FIELDS if _shown(k, was.get(k)) != _shown(k, new[k])]
    return Change(f"Change the settings of {sku}", details or ["Nothing changes"], [sku],
                  lambda c: catalog.put_sku(c, sku, new, request.app.state.clock()), raw, **where)


def _shown(key: str, value: Any) -> str:
    if value is None or value == "":
        return "none"
    if key == "incoming_buffer":
        return f"{float(value) * 100:g}%"
    return str(value)


@router.post("/skus/{sku}/settings/preview", response_class=HTMLResponse)
def preview_settings(request: Request, user: Editor, form: Form, sku: str) -> Response:
    return show_preview(request, user, _settings_change(request, sku, form),
                        f"/skus/{quote(sku, safe='')}/settings", form)


@router.post("/skus/{sku}/settings", response_class=HTMLResponse)
def commit_settings(request: Request, user: Editor, form: Form, sku: str) -> Response:
    return commit(request, user, lambda: _settings_change(request, sku, form), form, "settings", _place(sku)["back"][0])


# -- the backordered tail -----------------------------------------------------------------------

@router.get("/skus/{sku}/backordered", response_class=HTMLResponse)
def backordered(request: Request, user: User, sku: str) -> Response:
    now = request.app.state.clock()
    try:
        reports.tidy(request.app.state.db, sku, now)
    except NotFound as e:
        raise WebError(404, "Not found", f"There is no SKU {sku!r}.", "/skus", "Back to SKUs") from e
    with request.app.state.db.read() as conn:
        found = shortages.backordered(conn, sku, now)
    return render(request, "backordered.html", {"user": user, "found": found, "sku": sku})


def _picked(found: dict[str, Any], form: dict[str, str]) -> list[dict[str, Any]] | None:
    """The lines ticked on the form (`pick_REF__N`), or None for every one when `all` is chosen."""
    if form.get("scope") == "all":
        return None
    return [{"order_ref": ln["order_ref"], "line": ln["line"]} for ln in found["lines"]
            if form.get(f"pick_{ln['order_ref']}__{ln['line']}")]


def _tail(request: Request, sku: str) -> dict[str, Any]:
    with request.app.state.db.read() as conn:
        return attempt(lambda: shortages.backordered(conn, sku, request.app.state.clock()),
                       "/skus", "Back to SKUs")


def _cancel_tail(request: Request, sku: str, form: dict[str, str]) -> Change:
    where = _place(sku)
    where["back"] = (f"{where['back'][0]}/backordered", f"Back to {sku}'s backordered lines")
    lines = _picked(_tail(request, sku), form)
    if lines == []:
        raise WebError(422, "Check the form", "Tick at least one line, or choose every backordered line.",
                       *where["back"])
    body = checked(lambda: s.BackorderCancelIn(reason=form.get("reason", "").strip(), lines=lines,  # type: ignore[arg-type]
                                               whole_line=bool(form.get("whole_line"))),
                   "cancellation", where["back"])
    rows = [ln.model_dump() for ln in body.lines] if body.lines else None
    which = "every backordered line" if rows is None else ", ".join(f"{r['order_ref']}/{r['line']}" for r in rows)
    what = "whole lines" if body.whole_line else "the units no supply covers"
    fields = {k: v for k, v in form.items() if k.startswith("pick_") or k in ("scope", "reason", "whole_line")}
    return Change(f"Cancel backordered {sku}", [f"Cancel {what} of {which}", f"Reason: {body.reason}"], [sku],
                  lambda c: shortages.cancel(c, sku, body.reason, rows, body.whole_line, request.app.state.clock()),
                  fields, **where)


@router.post("/skus/{sku}/backordered/cancel/preview", response_class=HTMLResponse)
def preview_cancel_tail(request: Request, user: Editor, form: Form, sku: str) -> Response:
    return show_preview(request, user, _cancel_tail(request, sku, form),
                        f"/skus/{quote(sku, safe='')}/backordered/cancel", form)


@router.post("/skus/{sku}/backordered/cancel", response_class=HTMLResponse)
def commit_cancel_tail(request: Request, user: Editor, form: Form, sku: str) -> Response:
    return commit(request, user, lambda: _cancel_tail(request, sku, form), form, "backorder_cancelled",
                  f"/skus/{quote(sku, safe='')}/backordered")


@router.post("/skus/{sku}/backordered/keep", response_class=HTMLResponse)
def keep_tail(request: Request, user: Editor, form: Form, sku: str) -> Response:
    """Keeping lines waiting changes no promise: saved at once, and it settles any consent question."""
    page = f"/skus/{quote(sku, safe='')}/backordered"
    lines = _picked(_tail(request, sku), form)
    if lines == []:
        raise WebError(422, "Check the form", "Tick at least one line, or choose every backordered line.",
                       page, "Back")
    reason = form.get("reason", "").strip() or "keep waiting"
    body = checked(lambda: s.BackorderKeepIn(reason=reason, lines=lines),  # type: ignore[arg-type]
                   "decision", (page, "Back"))
    rows = [ln.model_dump() for ln in body.lines] if body.lines else None
    _keep(request, user, sku, body.reason, rows)
    return redirect(page + "?notice=kept")


def _keep(request: Request, user: WebUser, sku: str, reason: str, rows: list[dict[str, Any]] | None) -> None:
    apply(request, user, lambda c: shortages.keep(c, sku, reason, rows, request.app.state.clock()),
          {"reason": reason, "lines": rows}, (f"/skus/{quote(sku, safe='')}/backordered", "Back"))
