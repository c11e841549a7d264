"""The ATP chart: cumulative supply against cumulative demand over time, as inline SVG.

Drawn on the server from the plan summary's buckets: no JavaScript, readable with styles off
(a table of the same numbers sits under it), and labelled for screen readers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 16, 40


@dataclass(frozen=True, slots=True)
class Frame:
    start: date
    days: int
    top: int

    def x(self, day: date) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * ((day - self.start).days / self.days)

    def y(self, units: int) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - units / self.top)


def atp_svg(points: list[dict[str, Any]], uncovered: int, sku: str) -> Markup:
    """A step chart: supply (what can be promised by each date) and demand (what the plan promised by then)."""
    start, end = points[0]["date"], points[-1]["date"]
    span = (end - start).days
    days = span + max(7, span // 6)  # room after the last date, so its step shows
    top = _nice(max(max(p["supply"], p["demand"]) for p in points) + uncovered)
    frame = Frame(start, days, top)
    demand_total = points[-1]["demand"] + uncovered
    parts = [
        (f'<svg class="atp" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="atp-title atp-desc" '
        f'xmlns="http://www.w3.org/2000/svg">'),
        f'<title id="atp-title">Supply and demand over time for {escape(sku)}</title>',
        f'<desc id="atp-desc">{escape(_describe(points, uncovered))}</desc>',
        *_grid(frame),
        *_date_marks(frame, points),
        _steps(frame, points, "supply", "supply-line"),
        _steps(frame, points, "demand", "demand-line"),
    ]
    if uncovered:
        x = WIDTH - RIGHT
        parts.append(f'<line class="gap-line" x1="{x:.1f}" y1="{frame.y(points[-1]["demand"]):.1f}" '
                     f'x2="{x:.1f}" y2="{frame.y(demand_total):.1f}"/>')
        parts.append(f'<text class="gap-label" x="{x - 4:.1f}" y="{frame.y(demand_total) - 4:.1f}" '
                     f'text-anchor="end">{uncovered} not covered</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _steps(frame: Frame, points: list[dict[str, Any]], field: str, css: str) -> str:
    coords: list[str] = []
    previous: int | None = None
    for p in points:
        x = frame.x(p["date"])
        if previous is not None:
            coords.append(f"{x:.1f},{frame.y(previous):.1f}")
        coords.append(f"{x:.1f},{frame.y(p[field]):.1f}")
        previous = p[field]
    coords.append(f"{WIDTH - RIGHT:.1f},{frame.y(points[-1][field]):.1f}")
    return f'<polyline class="{css}" points="{" ".join(coords)}"/>'


def _grid(frame: Frame) -> list[str]:
    out = []
    for i in range(5):
        units = round(frame.top * i / 4)
        y = frame.y(units)
        out.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>')
        out.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{units}</text>')
    base = HEIGHT - BOTTOM + 18
    out.append(f'<text class="axis" x="{LEFT}" y="{base}" text-anchor="start">{frame.start.isoformat()}</text>')
    return out


def _date_marks(frame: Frame, points: list[dict[str, Any]]) -> list[str]:
    """A tick and a label at each supply date after today (labels thinned so they never overlap)."""
    out, last_x = [], float(LEFT)
    for p in points[1:]:
        x = frame.x(p["date"])
        out.append(f'<line class="tick" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}"/>')
        if x - last_x >= 90 and x <= WIDTH - RIGHT - 40:
            out.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">'
                       f'{p["date"].isoformat()}</text>')
            last_x = x
    return out


def _nice(value: int) -> int:
    """A round axis top at or above `value`."""
    if value <= 4:
        return 4
    step = 10 ** (len(str(value)) - 1)
    for m in (1, 2, 2.5, 5, 7.5, 10):
        if value <= m * step:
            return int(m * step)
    return value


def _describe(points: list[dict[str, Any]], uncovered: int) -> str:
    last = points[-1]
    text = (f"By {last['date'].isoformat()} supply reaches {last['supply']} units and "
            f"{last['demand']} are promised.")
    if uncovered:
        text += f" {uncovered} ordered units have no supply."
    return text
