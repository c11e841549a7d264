"""What to order next (BRIEF §8): each SKU's demand history read in a few grouped queries, then
`allot.forecasting` (pure) turns it into velocity, demand over lead + cover, and a suggestion.

Demand history = the imported sales history + the units of order lines placed, per day, ending
yesterday (today is not over). Days before the first thing known of the SKU (its first history
row, or its creation) are unknown; a day the SKU was sold out for half of it or more (sku_spans)
is left out: its demand was hidden, not low.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Date, Integer, cast, func, literal, select

from allot import forecasting
from allot.domain.calendar import day_start
from allot.domain.errors import Invalid
from allot.services.catalog import unknown_channel
from allot.services.common import merchant_zone
from allot.services.common import today as merchant_day
from allot.services.local_days import day_number
from allot.store.tables import channels, order_lines, sales_history, sku_spans, skus

HISTORY_DAYS = 182  # 26 weeks: room for the 90-day velocity and for the back-testing of the method
VELOCITY_DAYS = (7, 28, 90)
NO_HISTORY = "no demand history: no sales history and no orders yet, so no velocity and no suggestion"


@dataclass(frozen=True, slots=True)
class Ask:
    lead_days: int = 14
    cover_days: int = 28
    service_level: float = 0.95
    channel: str | None = None


def check_channel(conn: Connection, channel: str | None) -> None:
    if channel is not None and conn.execute(select(channels.c.id).where(channels.c.name == channel)).first() is None:
        raise unknown_channel(channel, field="channel")


def forecast(conn: Connection, sku: str, ask: Ask, today: date) -> dict[str, Any]:
    """One SKU's forecast, with the numbers its chart draws."""
    row = conn.execute(select(skus).where(skus.c.sku == sku)).first()
    if row is None:
        raise Invalid("sku", f"unknown SKU {sku!r}")
    check_channel(conn, ask.channel)
    histories = _histories(conn, [row], ask.channel, today)
    found = answer(row, histories.get(row.id), ask, today)
    if found["method"] is not None:
        found["chart"] = _chart(histories[row.id], ask, today)
    return found


def reorder(conn: Connection, ask: Ask, today: date) -> list[dict[str, Any]]:
    """Every SKU that needs ordering (position at or under its reorder point), most urgent first."""
    check_channel(conn, ask.channel)
    rows = conn.execute(select(skus.c.id, skus.c.sku, skus.c.mode, skus.c.release_date, skus.c.on_hand,
                               skus.c.summary, skus.c.created_at)).all()
    histories = _histories(conn, list(rows), ask.channel, today)
    due = []
    for row in rows:
        history = histories.get(row.id)
        if history is None or not _may_need_order(row, history, ask):
            continue
        got = answer(row, history, ask, today, chart=False)
        if got["needs_order"]:
            due.append(got)
    due.sort(key=lambda x: (x["order_by"] or date.max, -(x["suggested_qty"] or 0), x["sku"]))
    return due


def _may_need_order(row: Any, history: np.ndarray, ask: Ask) -> bool:
    """The reorder list's first look: a position above the reorder point needs no order, and the
    reorder point needs only the lead-time forecast (the whole answer is made for the rest)."""
    if not ask.lead_days or not np.any(~np.isnan(history)):
        return True
    summary = row.summary
    position = int(row.on_hand) + int(summary.get("incoming", 0)) - int(summary.get("committed", 0))
    return position <= _up(forecasting.forecast(history, ask.lead_days, ask.service_level).quantile)


def answer(row: Any, history: np.ndarray | None, ask: Ask, today: date, *, chart: bool = True) -> dict[str, Any]:
    """The forecast answer for one SKU from its history (None: nothing known)."""
    summary = row.summary
    on_hand, incoming, committed = int(row.on_hand), int(summary.get("incoming", 0)), int(summary.get("committed", 0))
    position = on_hand + incoming - committed
    base: dict[str, Any] = {
        "sku": row.sku, "channel": ask.channel, "today": today, "lead_days": ask.lead_days,
        "cover_days": ask.cover_days, "service_level": ask.service_level, "on_hand": on_hand, "incoming": incoming,
        "committed": committed, "position": position, "method": None, "history_days": 0,
        "velocity": {str(d): None for d in VELOCITY_DAYS}, "demand": None, "safety_stock": None,
        "reorder_point": None, "suggested_qty": None, "run_out_date": None, "order_by": None,
        "needs_order": False, "preorder": None, "note": NO_HISTORY,
    }
    if history is None or not np.any(~np.isnan(history)):
        return base
    horizon = ask.lead_days + ask.cover_days
    whole, lead = forecasting.forecast_many(history, (horizon, max(1, ask.lead_days)), ask.service_level)
    reorder_point = _up(lead.quantile) if ask.lead_days else 0
    suggested = max(0, _up(whole.quantile) - position)
    run_out = _run_out(whole.path, position, today)
    base |= {
        "method": whole.method, "history_days": int(np.sum(~np.isnan(history))), "note": None,
        "velocity": {str(d): _round(forecasting.velocity(history, d)) for d in VELOCITY_DAYS},
        "demand": {"p50": round(whole.p50, 1), "at_service_level": round(whole.quantile, 1), "days": horizon},
        "safety_stock": _up(whole.quantile) - _up(whole.p50), "reorder_point": reorder_point,
        "suggested_qty": suggested, "run_out_date": run_out,
        "order_by": run_out - timedelta(days=ask.lead_days) if run_out else None,
        "needs_order": suggested > 0 and position <= reorder_point,
    }
    if row.mode == "preorder" and row.release_date is not None and row.release_date > today:
        base["preorder"] = _preorder(history, row.release_date, ask.service_level, today)
    return base


def _preorder(history: np.ndarray, release: date, service_level: float, today: date) -> dict[str, Any]:
    """Total preorders by the release day: what came so far plus the curve's projection."""
    so_far = float(np.nansum(history))
    days = (release - today).days
    ahead = forecasting.forecast(history, days, service_level)
    return {"release_date": release, "so_far": int(so_far), "days_left": days,
            "p50": round(so_far + ahead.p50, 1), "at_service_level": round(so_far + ahead.quantile, 1)}


def _run_out(path: np.ndarray, position: int, today: date) -> date | None:
    """The day expected demand (P50 path, then its last rate) uses up the position; None at no demand."""
    if position <= 0:
        return today
    used = np.cumsum(path)
    past = np.flatnonzero(used > position + 1e-6)
    if past.size:
        return today + timedelta(days=int(past[0]))
    rate = float(path[-1]) if path.size else 0.0
    if rate <= 0:
        return None
    left = position - float(used[-1]) if path.size else float(position)
    return today + timedelta(days=path.size + int(left // rate))


def _chart(history: np.ndarray, ask: Ask, today: date) -> dict[str, Any]:
    """Cumulative demand ahead at P50 and at the service level, a point every few days, and the
    last 90 days as they were (None: not sellable or unknown)."""
    horizon = ask.lead_days + ask.cover_days
    step = max(1, horizon // 12)
    days = [*range(step, horizon, step), horizon]
    points = [{"date": today + timedelta(days=h - 1), "p50": round(got.p50, 1), "at_service_level": round(got.quantile, 1)}
              for h, got in zip(days, forecasting.forecast_many(history, days, ask.service_level), strict=True)]
    past = history[-90:]
    start = today - timedelta(days=past.size)
    return {"ahead": points, "past": [{"date": start + timedelta(days=i), "units": None if math.isnan(v) else v}
                                      for i, v in enumerate(past.tolist())]}


def _up(units: float) -> int:
    """Whole units, rounding up, but not for float dust (420.0000000001 is 420)."""
    return math.ceil(round(units, 6))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# ── reading the history: three grouped queries for one SKU or for all ──

def _histories(conn: Connection, rows: list[Any], channel: str | None, today: date) -> dict[Any, np.ndarray]:
    """Each SKU's daily demand over the history window (NaN: unknown or sold out); SKUs with no
    demand record at all are left out."""
    start = today - timedelta(days=HISTORY_DAYS)
    n = (today - start).days
    ids = [r.id for r in rows] if len(rows) <= 500 else None
    place = {r.id: i for i, r in enumerate(rows)}
    demand = np.zeros((len(rows), n))
    first: dict[Any, date] = {}
    sh = sales_history.c
    day = _offset(conn, sh.date, start)
    q = select(sh.sku_id, day, func.sum(sh.qty)).where(sh.date >= start, sh.date < today)
    found = _add(demand, place, start, _ints(conn, _scoped(q, sh, ids, channel).group_by(sh.sku_id, day)), track=True)
    for sku_id, day in found:
        first[sku_id] = min(first.get(sku_id, day), day)
    ol = order_lines.c
    lo, hi = day_start(start, merchant_zone()), day_start(today, merchant_zone())
    day_of = day_number(conn, ol.queued_at, start, lo, hi)  # a line counts on the merchant's day it was placed
    q = select(ol.sku_id, day_of, func.sum(ol.qty)).where(ol.queued_at >= lo, ol.queued_at < hi)
    _add(demand, place, start, _ints(conn, _scoped(q, ol, ids, channel).group_by(ol.sku_id, day_of)))
    recent = {rows[i].id for i in np.flatnonzero(demand.any(axis=1))}
    ever = recent | _ever_sold(conn, [r.id for r in rows if r.id not in recent], channel)
    hidden = _sold_out_days(conn, ids, channel, start, today)
    out: dict[Any, np.ndarray] = {}
    for i, r in enumerate(rows):
        if r.id not in ever:
            continue
        created = _as_date(r.created_at)
        known_from = max(start, min(first.get(r.id, created), created))
        x = demand[i]
        x[: (known_from - start).days] = np.nan
        mask = hidden.get(r.id)
        if mask is not None:
            x[mask] = np.nan
        out[r.id] = x
    return out


def _add(demand: np.ndarray, place: dict[Any, int], start: date, found: Sequence[Any], *,
         track: bool = False) -> set[tuple[Any, date]]:
    """Add (sku_id, day, units) rows into the matrix (one row per SKU, one column per day); with
    `track`, also say which (SKU, day) pairs had a row."""
    seen: set[tuple[Any, date]] = set()
    rows, cols, units = [], [], []
    for sku_id, col, qty in found:
        i = place.get(sku_id)
        if i is None:
            continue
        rows.append(i)
        cols.append(col)
        units.append(float(qty))
        if track:
            seen.add((sku_id, start + timedelta(days=col)))
    if rows:
        np.add.at(demand, (np.array(rows), np.array(cols)), np.array(units))
    return seen


def _ints(conn: Connection, q: Any) -> list[Any]:
    """Rows of plain numbers straight from the driver's cursor: no per-row result processing (every
    column is an id, a day offset or a sum, which need none)."""
    result = conn.execute(q)
    rows: list[Any] = list(result.cursor.fetchall()) if result.cursor is not None else []
    result.close()
    return rows


def _ever_sold(conn: Connection, ids: list[Any], channel: str | None) -> set[Any]:
    """Of these SKUs, those with any demand record at all, however old (else: no history)."""
    found: set[Any] = set()
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        for table in (sales_history, order_lines):
            q = select(table.c.sku_id).distinct()
            found |= set(conn.execute(_scoped(q, table.c, part, channel)).scalars())
    return found


def _sold_out_days(conn: Connection, ids: list[Any] | None, channel: str | None, start: date,
                   today: date) -> dict[Any, np.ndarray]:
    """Per SKU, which days of the history it could not be sold (on the channel; without one, on any
    channel) for half the day or more: a mask over the days start … yesterday."""
    sp = sku_spans.c
    zone = merchant_zone()
    n = (today - start).days
    # The local midnights bounding each day: a day is 23 or 25 hours across a daylight-saving change.
    edges = np.array([day_start(start + timedelta(days=i), zone).timestamp() for i in range(n + 1)])
    q = select(sp.sku_id, sp.started_at, sp.ended_at).where(
        sp.kind == "sold_out", sp.started_at < day_start(today, zone),
        sp.ended_at.is_(None) | (sp.ended_at >= day_start(start, zone)))
    if ids is not None:
        q = q.where(sp.sku_id.in_(ids))
    if channel is not None:
        q = q.where(sp.channel == channel)
    out: dict[Any, np.ndarray] = {}
    spans: Any = conn.execute(q)
    for sku_id, began, ended in spans:
        lo = max(float(edges[0]), _aware(began).timestamp())
        hi = min(float(edges[-1]), _aware(ended).timestamp() if ended is not None else float(edges[-1]))
        if hi <= lo:
            continue
        share = out.setdefault(sku_id, np.zeros(n))
        first = int(np.searchsorted(edges, lo, side="right")) - 1  # the day lo falls in
        last = int(np.searchsorted(edges, hi, side="left")) - 1  # the day just before hi falls in
        days = slice(first, last + 1)
        inside = np.minimum(hi, edges[first + 1:last + 2]) - np.maximum(lo, edges[days])
        share[days] += inside / (edges[first + 1:last + 2] - edges[days])
    return {k: v >= 0.5 for k, v in out.items()}


def _scoped(q: Any, c: Any, ids: list[Any] | None, channel: str | None) -> Any:
    if ids is not None:
        q = q.where(c.sku_id.in_(ids))
    if channel is not None:
        q = q.where(c.channel == channel)
    return q


def _offset(conn: Connection, column: Any, start: date) -> Any:
    """Whole days from `start` to a DATE column, computed by the database: the history arrives as
    integers, nothing to parse per row. (A timestamp column's day is the merchant's: local_days.)"""
    if conn.dialect.name == "postgresql":
        return cast(column - literal(start, Date()), Integer)
    return cast(func.julianday(column) - func.julianday(literal(start.isoformat())), Integer)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return merchant_day(value)
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
