"""The ATP chart: cumulative supply against cumulative promised demand over time, as inline SVG.

Drawn on the server from the plan summary's buckets (a table of the same numbers sits under it).
Promised demand is a filled area and supply a line over it, with different markers, so the two
stay apart where they coincide; the release date is a marked line; units no supply covers are a
red bar with their count. Each date has a hit area whose <title> reads out the numbers on hover,
and `static/chart.js` shows the same read-out on tap or keyboard focus (no inline script: CSP).
The view box is narrow so that its text stays readable when the chart is scaled to a phone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT = 480, 300
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 26, 44


@dataclass(frozen=True, slots=True)
class Frame:
    start: date
    days: int
    top: int

    def x(self, day: date) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * ((day - self.start).days / self.days)

    def y(self, units: int) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - units / self.top)


def atp_svg(points: list[dict[str, Any]], uncovered: int, sku: str, release: date | None = None) -> Markup:
    """A step chart: supply (what can be promised by each date) and demand (what the plan promised by then)."""
    start, end = points[0]["date"], points[-1]["date"]
    if release is not None and release > end:
        end = release
    span = (end - start).days
    days = span + max(7, span // 5)  # room after the last date, so its step (and the gap bar) shows
    top = _nice(max(max(p["supply"], p["demand"]) for p in points) + uncovered)
    frame = Frame(start, days, top)
    parts = [
        (f'<svg class="atp" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="atp-title atp-desc" '
         f'xmlns="http://www.w3.org/2000/svg">'),
        f'<title id="atp-title">Supply and promised demand over time for {escape(sku)}</title>',
        f'<desc id="atp-desc">{escape(_describe(points, uncovered, release))}</desc>',
        *_grid(frame),
        *_date_marks(frame, points),
        _area(frame, points),
        _steps(frame, points, "demand", "demand-line"),
        _steps(frame, points, "supply", "supply-line"),
        *_dots(frame, points),
    ]
    if release is not None and start <= release:
        parts += _release(frame, release)
    if uncovered:
        parts += _gap(frame, points[-1]["demand"], uncovered)
    parts += _hits(frame, points, uncovered)
    parts.append("</svg>")
    return Markup("".join(parts))


def _coords(frame: Frame, points: list[dict[str, Any]], field: str) -> list[str]:
    coords: list[str] = []
    previous: int | None = None
    for p in points:
        x = frame.x(p["date"])
        if previous is not None:
            coords.append(f"{x:.1f},{frame.y(previous):.1f}")
        coords.append(f"{x:.1f},{frame.y(p[field]):.1f}")
        previous = p[field]
    coords.append(f"{WIDTH - RIGHT:.1f},{frame.y(points[-1][field]):.1f}")
    return coords


def _steps(frame: Frame, points: list[dict[str, Any]], field: str, css: str) -> str:
    return f'<polyline class="{css}" points="{" ".join(_coords(frame, points, field))}"/>'


def _area(frame: Frame, points: list[dict[str, Any]]) -> str:
    """Promised demand as a filled area, so a supply line on its edge is still told apart."""
    base = frame.y(0)
    line = _coords(frame, points, "demand")
    first_x = frame.x(points[0]["date"])
    shape = [f"{first_x:.1f},{base:.1f}", *line, f"{WIDTH - RIGHT:.1f},{base:.1f}"]
    return f'<polygon class="demand-area" points="{" ".join(shape)}"/>'


def _dots(frame: Frame, points: list[dict[str, Any]]) -> list[str]:
    out = []
    for p in points:
        x = frame.x(p["date"])
        out.append(f'<circle class="dot-demand" cx="{x:.1f}" cy="{frame.y(p["demand"]):.1f}" r="5"/>')
        out.append(f'<circle class="dot-supply" cx="{x:.1f}" cy="{frame.y(p["supply"]):.1f}" r="3"/>')
    return out


def _release(frame: Frame, release: date) -> list[str]:
    x = frame.x(release)
    anchor = "end" if x > WIDTH / 2 else "start"
    dx = -4 if anchor == "end" else 4
    return [f'<line class="release-line" x1="{x:.1f}" y1="{TOP - 8}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}"/>',
            (f'<text class="release-label" x="{x + dx:.1f}" y="{TOP - 10}" text-anchor="{anchor}">'
             f'release {release.isoformat()}</text>')]


def _gap(frame: Frame, demand: int, uncovered: int) -> list[str]:
    """A red bar above the promised demand, never thinner than a finger's mark however small the gap."""
    x = WIDTH - RIGHT - 18
    bottom = frame.y(demand)
    top = min(frame.y(demand + uncovered), bottom - 12)
    return [f'<rect class="gap-bar" x="{x:.1f}" y="{top:.1f}" width="18" height="{bottom - top:.1f}"/>',
            (f'<text class="gap-label" x="{x - 6:.1f}" y="{max(TOP + 14.0, top + 4):.1f}" text-anchor="end">'
             f'{uncovered} ordered, not covered</text>')]


def _hits(frame: Frame, points: list[dict[str, Any]], uncovered: int) -> list[str]:
    """An invisible column per date carrying its numbers: a <title> for hover, data for tap and focus."""
    out = []
    for i, p in enumerate(points):
        x0 = frame.x(p["date"]) - (6 if i == 0 else 0)
        x1 = frame.x(points[i + 1]["date"]) if i + 1 < len(points) else WIDTH - RIGHT
        text = f'{p["date"].isoformat()}: supply {p["supply"]}, promised {p["demand"]}'
        if i + 1 == len(points) and uncovered:
            text += f", {uncovered} not covered"
        out.append(f'<rect class="hit" tabindex="0" x="{x0:.1f}" y="{TOP}" width="{max(6.0, x1 - x0):.1f}" '
                   f'height="{HEIGHT - TOP - BOTTOM}" data-readout="{escape(text)}"><title>{escape(text)}</title></rect>')
    return out


def _grid(frame: Frame) -> list[str]:
    out = []
    for i in range(5):
        units = round(frame.top * i / 4)
        y = frame.y(units)
        out.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>')
        out.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 5:.1f}" text-anchor="end">{units}</text>')
    base = HEIGHT - BOTTOM + 20
    out.append(f'<text class="axis" x="{LEFT}" y="{base}" text-anchor="start">{frame.start.isoformat()}</text>')
    return out


def _date_marks(frame: Frame, points: list[dict[str, Any]]) -> list[str]:
    """A tick and a label at each supply date after today (labels thinned so they never overlap)."""
    out, last_x = [], float(LEFT)
    for p in points[1:]:
        x = frame.x(p["date"])
        out.append(f'<line class="tick" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}"/>')
        if x - last_x >= 100 and x <= WIDTH - RIGHT - 45:
            out.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 20}" text-anchor="middle">'
                       f'{p["date"].isoformat()}</text>')
            last_x = x
    return out


def _nice(value: int) -> int:
    """A round axis top at or above `value`."""
    if value <= 4:
        return 4
    step = 10 ** (len(str(value)) - 1)
    for m in (1, 2, 3, 4, 6, 8, 10):  # a quarter of each is a round gridline
        if value <= m * step:
            return int(m * step)
    return value


def _describe(points: list[dict[str, Any]], uncovered: int, release: date | None) -> str:
    last = points[-1]
    text = (f"By {last['date'].isoformat()} supply reaches {last['supply']} units and "
            f"{last['demand']} are promised.")
    if release is not None:
        text += f" Release date {release.isoformat()}."
    if uncovered:
        text += f" {uncovered} ordered units have no supply."
    return text
