"""Insight charts as inline SVG, drawn on the server like chart.py: bars for the Reports page and
the forecast's band. Each has a title and a description for screen readers, and every page puts
the same numbers in a table under it (and in a CSV file)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from allot.web.chart import _nice

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 44


def bars(ident: str, title: str, labels: Sequence[str], values: Sequence[float | None], *,
         unit: str = "", top: float | None = None) -> Markup:
    """One bar per label; a missing value is a gap, never a zero."""
    known = [v for v in values if v is not None]
    peak = top if top is not None else _nice(int(max(known, default=0) + 0.999))
    peak = peak or 1
    n = max(1, len(labels))
    slot = (WIDTH - LEFT - RIGHT) / n
    parts = [_open(ident, title, _describe(labels, values, unit)), *_grid(peak, unit)]
    step = max(1, int(n / 8 + 0.999))  # thinned labels: readable on a phone
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * slot
        if value is not None:
            h = (HEIGHT - TOP - BOTTOM) * min(1.0, value / peak)
            parts.append(f'<rect class="bar" x="{x + slot * 0.15:.1f}" y="{HEIGHT - BOTTOM - h:.1f}" '
                         f'width="{slot * 0.7:.1f}" height="{h:.1f}"><title>{escape(label)}: '
                         f'{_fmt(value)}{escape(unit)}</title></rect>')
        if i % step == 0:
            parts.append(f'<text class="axis" x="{x + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def band(ident: str, title: str, points: list[dict[str, Any]], position: int) -> Markup:
    """Cumulative demand ahead: the P50 line, the band up to the service level, and the stock
    position (on hand + incoming − committed) it runs into."""
    if not points:
        return Markup("")
    start: date = points[0]["date"]
    days = max(1, (points[-1]["date"] - start).days)
    peak = _nice(int(max(max(p["at_service_level"] for p in points), position, 1) + 0.999))

    def x(day: date) -> float:
        return float(LEFT + (WIDTH - LEFT - RIGHT) * (day - start).days / days)

    def y(units: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - max(0.0, units) / peak)

    upper = " ".join(f"{x(p['date']):.1f},{y(p['at_service_level']):.1f}" for p in points)
    lower = " ".join(f"{x(p['date']):.1f},{y(p['p50']):.1f}" for p in reversed(points))
    median = " ".join(f"{x(p['date']):.1f},{y(p['p50']):.1f}" for p in points)
    last = points[-1]
    text = (f"By {last['date'].isoformat()} expected demand is {_fmt(last['p50'])} units, "
            f"up to {_fmt(last['at_service_level'])} at the service level; the stock position is {position}.")
    parts = [_open(ident, title, text), *_grid(peak, ""),
             f'<polygon class="fc-band" points="{upper} {lower}"/>',
             f'<polyline class="fc-p50" points="{median}"/>',
             (f'<line class="fc-position" x1="{LEFT}" y1="{y(position):.1f}" x2="{WIDTH - RIGHT}" '
             f'y2="{y(position):.1f}"/>'),
             f'<text class="axis" x="{LEFT}" y="{HEIGHT - BOTTOM + 18}">{start.isoformat()}</text>',
             (f'<text class="axis" x="{WIDTH - RIGHT}" y="{HEIGHT - BOTTOM + 18}" text-anchor="end">'
             f'{last["date"].isoformat()}</text>'), "</svg>"]
    return Markup("".join(parts))


def _open(ident: str, title: str, description: str) -> str:
    return (f'<svg class="insight" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{ident}-title">{escape(title)}</title><desc id="{ident}-desc">{escape(description)}</desc>')


def _grid(peak: float, unit: str) -> list[str]:
    out = []
    for i in range(5):
        value = peak * i / 4
        y = TOP + (HEIGHT - TOP - BOTTOM) * (1 - i / 4)
        out.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>')
        out.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f'{_fmt(value)}{escape(unit)}</text>')
    return out


def _describe(labels: Sequence[str], values: Sequence[float | None], unit: str) -> str:
    pairs = [f"{label}: {_fmt(v)}{unit}" for label, v in zip(labels, values, strict=True) if v is not None]
    return "; ".join(pairs[:20]) or "No data in this period."


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")
