"""Insight (BRIEF §8): promise KPIs, a SKU's forecast and the reorder list. Translation only;
definitions in docs/kpis.md, methods in docs/decisions.md ("## Insight")."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from allot.api import schemas as s
from allot.api.answers_insight import ForecastOut, KpiReport, ReorderList
from allot.api.deps import Reader
from allot.api.problems import problem_responses
from allot.services import forecasts, kpis
from allot.services.common import today
from allot.services.forecasts import Ask

router = APIRouter(prefix="/v1", responses=problem_responses())

NameQuery = Annotated[str | None, Query(min_length=1, max_length=100, pattern=s.NAME_PATTERN)]
TextQuery = Annotated[str | None, Query(min_length=1, max_length=200, pattern=s.NO_NUL)]
Day = Annotated[date | None, Query(ge=date(1970, 1, 1), le=date(9999, 12, 30))]
LeadDays = Annotated[int, Query(ge=0, le=365, description="days from ordering to receiving")]
CoverDays = Annotated[int, Query(ge=1, le=365, description="days the order should last once received")]
ServiceLevel = Annotated[float, Query(gt=0.5, lt=0.999, description="chance demand stays under the stock ordered")]


@router.get("/reports/kpis", response_model=KpiReport, tags=["insight"])
def kpi_report(ctx: Reader, start: Annotated[Day, Query(alias="from")] = None,
               end: Annotated[Day, Query(alias="to")] = None, sku: NameQuery = None,
               channel: NameQuery = None, supplier: TextQuery = None) -> Any:
    """Promise kept, slip, suppliers, oversold, backorder age, cancellations, consent and time to
    ship over the days `from` … `to` (inclusive; default: the last 90 days)."""
    day = today(ctx.now)
    with ctx.db.read() as conn:
        w = kpis.window(conn, day, start, end, sku, channel, supplier)
        return kpis.kpis(conn, w, day)


# exclude_unset: `chart` is absent, not null, when there is no history (as before it was typed).
@router.get("/skus/{sku}/forecast", response_model=ForecastOut, response_model_exclude_unset=True,
             tags=["insight"])
def sku_forecast(ctx: Reader, sku: Annotated[str, Path(min_length=1, max_length=100, pattern=s.NAME_PATTERN)],
                 channel: NameQuery = None, lead_days: LeadDays = 14, cover_days: CoverDays = 28,
                 service_level: ServiceLevel = 0.95) -> Any:
    """Velocity, demand over lead + cover days at P50 and at the service level, safety stock,
    reorder point, suggested quantity and run-out date; for a preorder SKU before release, the
    projected total of preorders by the release day."""
    with ctx.db.read() as conn:
        return forecasts.forecast(conn, sku, Ask(lead_days, cover_days, service_level, channel), today(ctx.now))


@router.get("/reports/reorder", response_model=ReorderList, tags=["insight"])
def reorder_report(ctx: Reader, channel: NameQuery = None, lead_days: LeadDays = 14, cover_days: CoverDays = 28,
                   service_level: ServiceLevel = 0.95) -> Any:
    """Every SKU that needs ordering, most urgent first (run-out date minus lead time)."""
    with ctx.db.read() as conn:
        return {"items": forecasts.reorder(conn, Ask(lead_days, cover_days, service_level, channel),
                                           today(ctx.now))}
