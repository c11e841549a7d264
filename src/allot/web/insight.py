"""Insight pages (BRIEF §8): Reports (promise KPIs), a SKU's forecast, the reorder list and its
draft purchase orders. Charts are server-side SVG with the same numbers as a table and as CSV."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from allot.api import schemas as s
from allot.domain.errors import AllotError
from allot.services import forecasts, kpis, purchasing
from allot.services.common import today as merchant_today
from allot.services.forecasts import Ask
from allot.web import insight_charts as charts
from allot.web import purchasing as po_pages
from allot.web import words
from allot.web.acting import Change, commit, show_preview
from allot.web.guard import Editor, Form, User, WebError
from allot.web.views import render, secure

router = APIRouter(include_in_schema=False)
TABLES = ("weekly", "suppliers", "backorder_age", "oversold")


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        raise WebError(422, "That cannot be answered", f"{raw!r} is not a date (YYYY-MM-DD)", "/reports", "Reports") from None


def _ask(lead_days: str, cover_days: str, service_level: str, channel: str) -> Ask:
    try:
        ask = Ask(int(lead_days or 14), int(cover_days or 28), float(service_level or 0.95), channel or None)
    except ValueError:
        raise WebError(422, "That cannot be answered", "lead and cover days are whole numbers, the service level a fraction",
                       "/reorder", "Reorder") from None
    if not (0 <= ask.lead_days <= 365 and 1 <= ask.cover_days <= 365 and 0.5 < ask.service_level < 0.999):
        raise WebError(422, "That cannot be answered", "lead days 0–365, cover days 1–365, service level between 0.5 and 0.999",
                       "/reorder", "Reorder")
    return ask


def _report(request: Request, params: dict[str, str]) -> dict[str, Any]:
    today = merchant_today(request.app.state.clock())
    try:
        with request.app.state.db.read() as conn:
            w = kpis.window(conn, today, _day(params.get("from")), _day(params.get("to")),
                            params.get("sku") or None, params.get("channel") or None, params.get("supplier") or None)
            return {"kpis": kpis.kpis(conn, w, today), "weekly": kpis.weekly(conn, w),
                    "ages": kpis.backorder_ages(conn, w, today), "oversold": kpis.oversold_weekly(conn, w)}
    except AllotError as e:
        raise WebError(422, "That cannot be answered", e.detail, "/reports", "Reports") from None


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, user: User) -> Response:
    params = dict(request.query_params)
    found = _report(request, params)
    weekly, suppliers = found["weekly"], found["kpis"]["suppliers"]
    chart = {
        "weekly": charts.bars("kept", "Share of units shipped by their first promise, per week",
                              [words.day(w["week"]) for w in weekly],
                              [None if w["promise_kept"] is None else w["promise_kept"] * 100 for w in weekly],
                              unit="%", top=100),
        "suppliers": charts.bars("slip", "Mean days late per supplier", [s["supplier"] or "(none)" for s in suppliers],
                                 [s["mean_days_late"] for s in suppliers], unit=" d"),
        "ages": charts.bars("ages", "Backordered lines by age in days", [str(a) for a, _ in found["ages"]],
                            [n for _, n in found["ages"]]),
        "oversold": charts.bars("oversold", "Oversold units per week", [words.day(o["week"])
                                                                         for o in found["oversold"]],
                                [o["units"] for o in found["oversold"]]),
    }
    return render(request, "reports.html", {"user": user, **found, "chart": chart, "params": params,
                                            "csv": _query(params)})


@router.get("/reports.csv")
def reports_csv(request: Request, user: User, table: str = "weekly") -> Response:
    if table not in TABLES:
        raise WebError(422, "That cannot be answered", f"table is one of {', '.join(TABLES)}", "/reports", "Reports")
    found = _report(request, dict(request.query_params))
    rows: dict[str, tuple[Sequence[str], Iterable[Sequence[Any]]]] = {
        "weekly": (("week", "shipped_units", "promise_kept"),
                   ((w["week"], w["shipped_units"], w["promise_kept"]) for w in found["weekly"])),
        "suppliers": (("supplier", "received_units", "on_time", "mean_days_late", "receipts", "fill_rate"),
                      ((s["supplier"], s["received_units"], s["on_time"], s["mean_days_late"], s["receipts"],
                        s["fill_rate"]) for s in found["kpis"]["suppliers"])),
        "backorder_age": (("age_days", "lines"), found["ages"]),
        "oversold": (("week", "skus", "units"), ((o["week"], o["skus"], o["units"]) for o in found["oversold"])),
    }
    return _csv(f"allot-{table}.csv", *rows[table])


@router.get("/reorder", response_class=HTMLResponse)
def reorder_page(request: Request, user: User, lead_days: str = "", cover_days: str = "", service_level: str = "",
                 channel: str = "") -> Response:
    ask = _ask(lead_days, cover_days, service_level, channel)
    items = _reorder(request, ask)
    return render(request, "reorder.html", {"user": user, "items": items, "ask": ask,
                                            "csv": _query(dict(request.query_params))})


@router.get("/reorder.csv")
def reorder_csv(request: Request, user: User, lead_days: str = "", cover_days: str = "", service_level: str = "",
                channel: str = "") -> Response:
    items = _reorder(request, _ask(lead_days, cover_days, service_level, channel))
    head = ("sku", "order_by", "run_out_date", "suggested_qty", "position", "reorder_point", "demand_p50",
            "demand_at_service_level", "velocity_28", "method")
    return _csv("allot-reorder.csv", head, ((x["sku"], x["order_by"], x["run_out_date"], x["suggested_qty"],
                                            x["position"], x["reorder_point"], x["demand"]["p50"],
                                            x["demand"]["at_service_level"], x["velocity"]["28"], x["method"])
                                           for x in items))


@router.get("/reorder/{sku}/draft", response_class=HTMLResponse)
def draft_po(request: Request, user: Editor, sku: str, lead_days: str = "", cover_days: str = "",
             service_level: str = "", channel: str = "") -> Response:
    """A draft PO filled in from the suggestion: review it, preview what it changes, then save it."""
    ask = _ask(lead_days, cover_days, service_level, channel)
    today = merchant_today(request.app.state.clock())
    found = _forecast(request, sku, ask)
    draft = {"ref": f"PO-{sku}-{today:%Y%m%d}"[:100], "supplier": "", "qty": str(found["suggested_qty"] or ""),
             "expected_date": (today + timedelta(days=ask.lead_days)).isoformat()}
    return render(request, "reorder_draft.html", {"user": user, "sku_name": sku, "draft": draft, "fc": found})


@router.post("/reorder/{sku}/draft/preview", response_class=HTMLResponse)
def draft_preview(request: Request, user: Editor, form: Form, sku: str) -> Response:
    """What saving the draft would change (promises, availability), with the existing PO preview page."""
    return show_preview(request, user, _draft(request, sku, form), f"/reorder/{quote(sku)}/draft", form)


@router.post("/reorder/{sku}/draft", response_class=HTMLResponse)
def draft_save(request: Request, user: Editor, form: Form, sku: str) -> Response:
    """Save the previewed draft once (the preview's one-time token), as the PO pages save a change."""
    change = _draft(request, sku, form)
    return commit(request, user, lambda: change, form, "created", f"/purchase-orders/{quote(change.fields['ref'])}")


def _draft(request: Request, sku: str, form: dict[str, str]) -> Change:
    fields = {k: form.get(k, "").strip() for k in ("ref", "supplier", "qty", "expected_date")}
    try:
        line = {"sku": sku, "qty": fields["qty"], "expected_date": fields["expected_date"]}
        body = s.PoIn(ref=fields["ref"], supplier=fields["supplier"] or None, lines=[line])  # type: ignore[list-item]
    except ValidationError as e:
        raise WebError(422, "Check the draft", po_pages.first_problem(e), f"/reorder/{quote(sku)}/draft",
                       "Back to the draft") from e
    rows = [line.model_dump() for line in body.lines]
    now = request.app.state.clock()
    details = [f"{sku}: {rows[0]['qty']} units expected {rows[0]['expected_date']}",
               f"Supplier: {body.supplier or 'none'}"]
    return Change(f"Create {body.ref}", details, [sku], lambda c: purchasing.create(c, body.ref, body.supplier, rows, now),
                  fields, back=(f"/reorder/{quote(sku)}/draft", "Back to the draft"),
                  crumbs=[("/reorder", "Reorder"), (f"/reorder/{quote(sku)}/draft", f"Draft for {sku}")])


@router.get("/skus/{sku}/forecast", response_class=HTMLResponse)
def forecast_page(request: Request, user: User, sku: str, lead_days: str = "", cover_days: str = "",
                  service_level: str = "", channel: str = "") -> Response:
    ask = _ask(lead_days, cover_days, service_level, channel)
    return render(request, "forecast.html", {"user": user, **_panel(request, sku, ask)})


@router.get("/skus/{sku}/forecast/panel", response_class=HTMLResponse)
def forecast_panel(request: Request, user: User, sku: str) -> Response:
    """The SKU page's forecast section, fetched once the page has loaded."""
    return render(request, "_forecast_panel.html", {"user": user, **_panel(request, sku, Ask())})


@router.get("/skus/{sku}/forecast.csv")
def forecast_csv(request: Request, user: User, sku: str) -> Response:
    found = _forecast(request, sku, Ask())
    ahead = (found.get("chart") or {}).get("ahead", [])
    return _csv(f"allot-forecast-{sku}.csv", ("date", "cumulative_p50", "cumulative_at_service_level"),
                ((p["date"], p["p50"], p["at_service_level"]) for p in ahead))


def _panel(request: Request, sku: str, ask: Ask) -> dict[str, Any]:
    found = _forecast(request, sku, ask)
    chart = found.get("chart")
    svg = charts.band("fc", f"Demand ahead for {sku}", chart["ahead"], found["position"]) if chart else None
    return {"fc": found, "svg": svg, "sku_name": sku}


def _forecast(request: Request, sku: str, ask: Ask) -> dict[str, Any]:
    today = merchant_today(request.app.state.clock())
    try:
        with request.app.state.db.read() as conn:
            return forecasts.forecast(conn, sku, ask, today)
    except AllotError as e:
        raise WebError(404 if getattr(e, "field", "") == "sku" else 422, "No forecast", e.detail, "/skus", "SKUs") from None


def _reorder(request: Request, ask: Ask) -> list[dict[str, Any]]:
    today = merchant_today(request.app.state.clock())
    try:
        with request.app.state.db.read() as conn:
            return forecasts.reorder(conn, ask, today)
    except AllotError as e:
        raise WebError(422, "That cannot be answered", e.detail, "/reorder", "Reorder") from None


def _query(params: dict[str, str]) -> str:
    return urlencode({k: v for k, v in params.items() if v and k != "table"})


def _csv(name: str, head: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(head)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return secure(Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                           headers={"Content-Disposition": f'attachment; filename="{name}"'}))
