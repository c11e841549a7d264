"""How well promises are kept (BRIEF §8): SQL aggregates over the history rows; definitions in docs/kpis.md.

Every figure is an aggregate computed by the database. Percentiles come from a histogram the
database groups by whole days (a few hundred rows at most, whatever the number of lines), read
with the nearest-rank rule: the p-th percentile is the smallest day count with at least p of the
weight at or below it. The same queries run on SQLite and PostgreSQL; only a day difference and a
timestamp's local date (services/local_days.py) are spelt per dialect. Days are the merchant's
(ALLOT_TIMEZONE): a window runs from its first day's local midnight to the one after its last.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    literal_column,
    select,
    true,
)

from allot.domain.calendar import day_end, day_start
from allot.domain.errors import Invalid
from allot.services.catalog import unknown_channel
from allot.services.common import merchant_zone
from allot.services.local_days import local_date
from allot.store.tables import (
    cancellations,
    channels,
    order_lines,
    po_lines,
    purchase_orders,
    receipts,
    shipments,
    sku_spans,
    skus,
)

DEFAULT_DAYS = 90
CONSENT_OUTCOMES = {"accepted": "accepted", "rejected": "rejected", "defaulted": "expired"}


@dataclass(frozen=True, slots=True)
class Window:
    """The days asked about (both inclusive) and the filters; ids are resolved names."""

    start: date
    end: date
    sku_id: Any = None
    sku: str | None = None
    channel: str | None = None
    supplier: str | None = None


def window(conn: Connection, today: date, start: date | None, end: date | None, sku: str | None,
           channel: str | None, supplier: str | None) -> Window:
    """Check the question: 422 naming the field for a backwards window or an unknown name."""
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise Invalid("from", f"{start.isoformat()} is after to ({end.isoformat()})")
    sku_id = None
    if sku is not None:
        sku_id = conn.execute(select(skus.c.id).where(skus.c.sku == sku)).scalar()
        if sku_id is None:
            raise Invalid("sku", f"unknown SKU {sku!r}")
    if channel is not None and conn.execute(select(channels.c.id).where(channels.c.name == channel)).first() is None:
        raise unknown_channel(channel, field="channel")
    if supplier is not None and conn.execute(
            select(purchase_orders.c.id).where(purchase_orders.c.supplier == supplier).limit(1)).first() is None:
        raise Invalid("supplier", f"no purchase order names supplier {supplier!r}")
    return Window(start, end, sku_id, sku, channel, supplier)


def kpis(conn: Connection, w: Window, today: date) -> dict[str, Any]:
    """Every figure of BRIEF §8 for the window, as docs/kpis.md defines it."""
    shipped = _shipped(conn, w)
    return {
        "from": w.start, "to": w.end, "sku": w.sku, "channel": w.channel, "supplier": w.supplier,
        **shipped,
        "slip_days": _slip(conn, w),
        "suppliers": _suppliers(conn, w),
        "oversold_units": _oversold(conn, w),
        "backorder_age_days": _backorder_age(conn, w, today),
        "cancelled_after_slip": _cancelled_after_slip(conn, w),
        "consent": _consent(conn, w),
    }


def percentiles(histogram: Iterable[tuple[int, float]], *ps: float) -> list[int | None]:
    """Nearest-rank percentiles of a (value, weight) histogram; None when it is empty."""
    bins = sorted((int(v), float(n)) for v, n in histogram if n)
    total = sum(n for _, n in bins)
    out: list[int | None] = []
    for p in ps:
        if not bins:
            out.append(None)
            continue
        need, seen = max(1e-9, math.ceil(p * total - 1e-9)), 0.0
        out.append(next(v for v, n in bins if (seen := seen + n) >= need))
    return out


def days_between(conn: Connection, later: Any, earlier: Any) -> ColumnElement[int]:
    """Whole days from `earlier` to `later` (two DATE columns)."""
    if conn.dialect.name == "postgresql":
        return cast(later - earlier, Integer)
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def _filters(table: Any, w: Window, *, with_channel: bool = True) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if w.sku_id is not None:
        found.append(table.c.sku_id == w.sku_id)
    if with_channel and w.channel is not None:
        found.append(table.c.channel == w.channel)
    return found


def _share(part: Any, whole: Any) -> float | None:
    return round(float(part) / float(whole), 4) if whole else None


def _shipped(conn: Connection, w: Window) -> dict[str, Any]:
    s = shipments.c
    where = and_(s.shipped_on.between(w.start, w.end), *_filters(shipments, w))
    # One pass, grouped by the index's own order (day, days to ship): no sort, a few rows per day.
    rows = conn.execute(select(
        s.days_to_ship, func.count(), func.sum(s.qty), func.sum(s.promised_qty), func.sum(s.kept_qty),
        func.sum(s.kept_latest_qty),
    ).where(where).group_by(s.shipped_on, s.days_to_ship)).all()
    units, measured, kept_first, kept_latest = (sum(int(r[i]) for r in rows) for i in (2, 3, 4, 5))
    counts: dict[int, int] = {}
    for r in rows:
        counts[r[0]] = counts.get(r[0], 0) + int(r[1])
    hist = list(counts.items())
    p50, p90 = percentiles(hist, 0.5, 0.9)
    return {"shipped_units": units, "unpromised_shipped_units": units - measured,
            "promise_kept": _share(kept_first, measured), "promise_kept_latest": _share(kept_latest, measured),
            "order_to_ship_days": {"p50": p50, "p90": p90, "shipments": sum(n for _, n in hist)}}


def _slip(conn: Connection, w: Window) -> dict[str, Any]:
    ol = order_lines.c
    where = and_(ol.first_promise_date.between(w.start, w.end), ol.promise_date.is_not(None),
                 *_filters(order_lines, w))
    # Grouped by the index's own order (first promise, latest promise): no sort; the day counts are
    # taken in Python from the few distinct pairs.
    pairs: Any = conn.execute(select(ol.first_promise_date, ol.promise_date, func.count()).where(where)
                              .group_by(ol.first_promise_date, ol.promise_date)).all()
    counts: dict[int, int] = {}
    for first, latest, n in pairs:
        slip = (_as_day(latest) - _as_day(first)).days
        counts[slip] = counts.get(slip, 0) + int(n)
    hist = list(counts.items())
    lines = sum(n for _, n in hist)
    _, p90 = percentiles(hist, 0.5, 0.9)
    mean = round(sum(v * n for v, n in hist) / lines, 2) if lines else None
    unpromised = conn.execute(select(func.count()).where(
        ol.first_promise_date.between(w.start, w.end), ol.promise_date.is_(None), ol.state == "backordered",
        *_filters(order_lines, w))).scalar()
    return {"mean": mean, "p90": p90, "lines": lines, "lost_promise_lines": int(unpromised or 0)}


def _as_day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _suppliers(conn: Connection, w: Window) -> list[dict[str, Any]]:
    r = receipts.c
    where = [r.received_on.between(w.start, w.end), *_filters(receipts, w, with_channel=False)]
    if w.supplier is not None:
        where.append(r.supplier == w.supplier)
    on_time = func.sum(case((r.received_on <= r.first_expected_date, r.qty), else_=0))
    rows = conn.execute(select(r.supplier, func.sum(r.qty), on_time, func.avg(r.days_late), func.count())
                        .where(*where).group_by(r.supplier)).all()
    fill = _fill_rates(conn, w)
    found = {row[0]: {"supplier": row[0], "received_units": int(row[1]), "on_time": _share(row[2], row[1]),
                      "mean_days_late": round(float(row[3]), 2), "receipts": int(row[4]),
                      "fill_rate": fill.get(row[0])} for row in rows}
    for supplier, rate in fill.items():
        found.setdefault(supplier, {"supplier": supplier, "received_units": 0, "on_time": None,
                                    "mean_days_late": None, "receipts": 0, "fill_rate": rate})
    return sorted(found.values(), key=lambda x: (x["supplier"] is None, x["supplier"] or ""))


def _fill_rates(conn: Connection, w: Window) -> dict[str | None, float | None]:
    """Received ÷ ordered over closed lines first expected in the window (cancelled POs left out)."""
    pl, po = po_lines.c, purchase_orders.c
    first = func.coalesce(pl.first_expected_date, pl.expected_date)
    where = [pl.closed.is_(True), po.status != "cancelled", first.between(w.start, w.end)]
    if w.sku_id is not None:
        where.append(pl.sku_id == w.sku_id)
    if w.supplier is not None:
        where.append(po.supplier == w.supplier)
    rows = conn.execute(select(po.supplier, func.sum(pl.received), func.sum(pl.qty))
                        .join(purchase_orders, po.id == pl.po_id).where(*where).group_by(po.supplier)).all()
    return {row[0]: _share(row[1], row[2]) for row in rows}


def _oversold(conn: Connection, w: Window) -> int:
    """Units of open order lines no bucket covers, now (a SKU's figure: no channel or window applies)."""
    uncovered = skus.c.summary["uncovered"].as_integer()
    where = [skus.c.id == w.sku_id] if w.sku_id is not None else [true()]
    return int(conn.execute(select(func.coalesce(func.sum(uncovered), 0)).where(*where)).scalar() or 0)


def _backorder_age(conn: Connection, w: Window, today: date) -> dict[str, Any]:
    hist = backorder_ages(conn, w, today)
    p50, p90 = percentiles(hist, 0.5, 0.9)
    return {"p50": p50, "p90": p90, "lines": sum(n for _, n in hist)}


def backorder_ages(conn: Connection, w: Window, today: date) -> list[tuple[int, int]]:
    """Days since the line was queued (on the merchant's calendar), over lines backordered now:
    (age, lines), youngest first."""
    ol = order_lines.c
    where = [ol.state == "backordered", ol.open.is_(True), *_filters(order_lines, w)]
    # The range the zone's offsets must cover. Grouped (by the one state asked) so PostgreSQL reads the
    # backordered lines, not the queued_at index from one end until it meets one (235 ms, not 5).
    span = conn.execute(select(func.min(ol.queued_at), func.max(ol.queued_at)).where(*where)
                        .group_by(ol.state)).first()
    if span is None:
        return []
    placed = local_date(conn, ol.queued_at, span[0], span[1] + timedelta(seconds=1))
    age = days_between(conn, literal(today, order_lines.c.promise_date.type), placed).label("age")
    rows = conn.execute(select(age, func.count()).where(*where).group_by(age)).all()
    return sorted((int(a), int(n)) for a, n in rows)


def _cancelled_after_slip(conn: Connection, w: Window) -> dict[str, Any]:
    c = cancellations.c
    row = conn.execute(select(func.count(distinct(c.order_line_id)),
                              func.count(distinct(case((c.slipped.is_(True), c.order_line_id)))))
                       .where(c.cancelled_on.between(w.start, w.end), *_filters(cancellations, w))).one()
    return {"share": _share(row[1], row[0]), "lines": int(row[0]), "slipped_lines": int(row[1])}


def _consent(conn: Connection, w: Window) -> dict[str, int]:
    """Outcomes of delay-consent requests on lines queued in the window."""
    ol = order_lines.c
    start, end = day_start(w.start, merchant_zone()), day_end(w.end, merchant_zone())
    # Few lines have an outcome: SQLite must walk the consent index (it covers the question), not the
    # whole window of lines by queued_at; a unary + keeps its planner off the queued_at index.
    queued = ol.queued_at if conn.dialect.name == "postgresql" else literal_column(
        "+order_lines.queued_at", ol.queued_at.type)
    q = select(ol.consent_status, func.count()).where(
        ol.consent_status.in_(list(CONSENT_OUTCOMES.values())), queued >= start, queued < end,
        *_filters(order_lines, w)).group_by(ol.consent_status)
    rows: dict[Any, Any] = dict(conn.execute(q).all())
    return {name: int(rows.get(status, 0)) for name, status in CONSENT_OUTCOMES.items()}


def weekly(conn: Connection, w: Window) -> list[dict[str, Any]]:
    """Promise kept per week (weeks start on Monday): the Reports page's first chart."""
    s = shipments.c
    rows: Any = conn.execute(select(s.shipped_on, func.sum(s.promised_qty), func.sum(s.kept_qty))
                        .where(s.shipped_on.between(w.start, w.end), *_filters(shipments, w))
                        .group_by(s.shipped_on)).all()
    weeks: dict[date, list[int]] = {}
    for day, measured, kept in rows:
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        monday = day - timedelta(days=day.weekday())
        got = weeks.setdefault(monday, [0, 0])
        got[0] += int(measured)
        got[1] += int(kept)
    return [{"week": k, "shipped_units": v[0], "promise_kept": _share(v[1], v[0])} for k, v in sorted(weeks.items())]


def oversold_weekly(conn: Connection, w: Window) -> list[dict[str, Any]]:
    """Oversold exposure per week: SKUs oversold at some moment of the week, and their units when it began."""
    sp = sku_spans.c
    zone = merchant_zone()
    start, end = day_start(w.start, zone), day_end(w.end, zone)
    where = [sp.kind == "oversold", sp.started_at < end, (sp.ended_at.is_(None)) | (sp.ended_at >= start)]
    if w.sku_id is not None:
        where.append(sp.sku_id == w.sku_id)
    rows: list[Any] = list(conn.execute(select(sp.sku_id, sp.units, sp.started_at, sp.ended_at).where(*where)))
    out = []
    monday = w.start - timedelta(days=w.start.weekday())
    while monday <= w.end:
        lo, hi = day_start(monday, zone), day_start(monday + timedelta(days=7), zone)
        hit = [r for r in rows if r.started_at < hi and (r.ended_at is None or r.ended_at >= lo)]
        out.append({"week": monday, "skus": len({r.sku_id for r in hit}), "units": sum(r.units for r in hit)})
        monday += timedelta(days=7)
    return out
