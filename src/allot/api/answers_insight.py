"""Answers of the insight routes (api/insight.py): the promise KPIs, a SKU's forecast and the reorder
list. Figures are defined in docs/kpis.md; a share is a fraction (0.95), null when nothing was measured."""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class Percentiles(BaseModel):
    p50: int | None
    p90: int | None


class ShipDays(Percentiles):
    shipments: int


class SlipDays(BaseModel):
    mean: float | None
    p90: int | None
    lines: int
    lost_promise_lines: int


class SupplierKpis(BaseModel):
    supplier: str | None
    received_units: int
    on_time: float | None
    mean_days_late: float | None
    receipts: int
    fill_rate: float | None


class BackorderAge(Percentiles):
    lines: int


class CancelledAfterSlip(BaseModel):
    share: float | None
    lines: int
    slipped_lines: int


class ConsentOutcomes(BaseModel):
    accepted: int
    rejected: int
    defaulted: int


class KpiReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: date = Field(alias="from")
    to: date
    sku: str | None
    channel: str | None
    supplier: str | None
    shipped_units: int
    unpromised_shipped_units: int
    promise_kept: float | None
    promise_kept_latest: float | None
    order_to_ship_days: ShipDays
    slip_days: SlipDays
    suppliers: list[SupplierKpis]
    oversold_units: int
    backorder_age_days: BackorderAge
    cancelled_after_slip: CancelledAfterSlip
    consent: ConsentOutcomes


class Velocity(BaseModel):
    """Units a day over the last 7, 28 and 90 days."""

    model_config = ConfigDict(populate_by_name=True)
    last_7: float | None = Field(alias="7")
    last_28: float | None = Field(alias="28")
    last_90: float | None = Field(alias="90")


class Demand(BaseModel):
    p50: float
    at_service_level: float
    days: int


class PreorderProjection(BaseModel):
    """Total preorders by the release day: what came so far plus the projection."""

    release_date: date
    so_far: int
    days_left: int
    p50: float
    at_service_level: float


class ChartAhead(BaseModel):
    date: date
    p50: float
    at_service_level: float


class ChartPast(BaseModel):
    date: date
    units: float | None = Field(description="null: not sellable or unknown that day")


class ForecastChart(BaseModel):
    ahead: list[ChartAhead]
    past: list[ChartPast]


class ReorderItem(BaseModel):
    sku: str
    channel: str | None
    today: date
    lead_days: int
    cover_days: int
    service_level: float
    on_hand: int
    incoming: int
    committed: int
    position: int
    method: str | None = Field(description="the forecasting method; null with no demand history")
    history_days: int
    velocity: Velocity
    demand: Demand | None
    safety_stock: int | None
    reorder_point: int | None
    suggested_qty: int | None
    run_out_date: date | None
    order_by: date | None
    needs_order: bool
    preorder: PreorderProjection | None
    note: str | None


class ForecastOut(ReorderItem):
    chart: ForecastChart | None = Field(default=None, description="absent with no demand history")


class ReorderList(BaseModel):
    items: list[ReorderItem]
