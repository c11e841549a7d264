"""Demand forecasts: pure functions of a daily demand history (docs/decisions.md, "## Insight").

A history is one number per day, oldest first, ending yesterday; a day the SKU could not be sold
is NaN (its demand was hidden, not low) and never lowers a rate. The method is chosen from the
history itself:

- intermittent (many days without a sale): Syntetos–Boylan (Croston with its bias correction);
- weekly-seasonal (weekdays differ): exponential smoothing of the deseasonalised level × weekday index;
- trending (a clear slope): Holt's linear trend, damped;
- steady: simple exponential smoothing.

The spread comes from the history too: the method is replayed from every past day and the
errors of its H-day totals give the quantiles (empirical, so skew and intermittency are kept;
scaled by the square root of the forecast, as count demand spreads with its size).
With too few past origins it falls back to a normal spread from one-step errors.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

Series = NDArray[np.float64]
ALPHA = 0.1  # level smoothing: about a month of memory
BETA = 0.05  # trend smoothing
PHI = 0.98  # trend damping
SEASON = 7
MIN_ORIGINS = 12
WARM_UP = 28


@dataclass(frozen=True, slots=True)
class Forecast:
    method: str
    path: Series  # expected units per day over the horizon
    p50: float  # units over the horizon
    quantile: float  # units over the horizon at the service level
    level: float  # units per day now


def velocity(history: Series, days: int) -> float | None:
    """Units per sellable day over the last `days` days; None when none of them was sellable."""
    tail = history[-days:]
    known = tail[~np.isnan(tail)]
    return float(known.sum() / known.size) if known.size else None


def choose(history: Series) -> str:
    """Which method fits this history (only sellable days count)."""
    x = history[~np.isnan(history)]
    if x.size < 3:
        return "steady"
    if np.mean(x == 0) >= 0.35:
        return "intermittent"
    if history.size >= 4 * SEASON and _seasonal_strength(history) >= 0.3:
        return "seasonal"
    if x.size >= 21 and _trend_t(x) >= 3.0 and _trend_share(x) >= 0.2:
        return "trending"
    return "steady"


def forecast(history: Series, horizon: int, service_level: float, method: str | None = None) -> Forecast:
    """Demand over the next `horizon` days: the P50 and the service-level quantile of the total."""
    return forecast_many(history, (horizon,), service_level, method)[0]


def forecast_many(history: Series, horizons: Sequence[int], service_level: float,
                  method: str | None = None) -> list[Forecast]:
    """`forecast` for several horizons, fitting the method once."""
    method = method or choose(history)
    fit = _FITS[method](history)
    clean = np.where(np.isnan(history), 0.0, history)
    sums = np.concatenate([[0.0], np.cumsum(clean)])
    gaps = np.concatenate([[0], np.cumsum(np.isnan(history))])
    return [_spread(history, method, fit(h), h, service_level, sums, gaps) for h in horizons]


def _spread(history: Series, method: str, fitted: tuple[Series, float, Series], horizon: int,
            service_level: float, sums: Series, gaps: NDArray[np.int64]) -> Forecast:
    totals, level, path = fitted
    actual = _rolling_sums(sums, gaps, horizon)
    usable = ~np.isnan(actual) & ~np.isnan(totals)
    if usable[WARM_UP:].sum() >= MIN_ORIGINS:
        usable[:WARM_UP] = False  # the method's first weeks, while it was still learning the level
    point = float(path.sum())
    # Count demand spreads with its size: errors are scaled by √(forecast) at their origin, then by √(now).
    errors = (actual - totals)[usable] / np.sqrt(np.maximum(totals[usable], 1.0)) * math.sqrt(max(point, 1.0))
    if errors.size >= MIN_ORIGINS:
        ranked = np.sort(errors)
        low, high = (float(ranked[math.ceil(q * (ranked.size - 1))]) for q in (0.5, service_level))
    else:
        spread = _one_step_spread(history, level) * math.sqrt(horizon) * 1.2
        low, high = 0.0, NormalDist().inv_cdf(service_level) * spread
    p50 = max(0.0, point + low)
    return Forecast(method, path, p50, max(p50, point + high), level)


# ── the methods: each fits once and answers, per horizon H, (H-day totals forecast from every past
# origin, level now, path). totals[o] is the total forecast for days o+1 … o+H made with what was
# known at the end of day o, aligned with _rolling_sums (NaN where no forecast was made).

Fit = Callable[[int], tuple[Series, float, Series]]


def _steady(history: Series) -> Fit:
    levels = _levels(history)
    return lambda h: (levels * h, float(levels[-1]), np.full(h, levels[-1]))


def _intermittent(history: Series) -> Fit:
    """SBA: smoothed size of a sale ÷ smoothed gap between sales (in sellable days), less the bias α/2."""
    known = ~np.isnan(history)
    sold = np.flatnonzero(known & (np.where(known, history, 0.0) > 0))
    rates = np.full(history.size, np.nan)
    if not sold.size:
        return lambda h: (rates * h, 0.0, np.zeros(h))
    counted = np.cumsum(known)  # sellable days so far: gaps are counted in them
    gaps = np.diff(np.concatenate([[0], counted[sold]])).astype(np.float64)
    per_sale = (1 - ALPHA / 2) * _smooth(history[sold]) / _smooth(gaps)
    latest = np.searchsorted(sold, np.arange(history.size), side="right") - 1  # last sale at or before t
    rates[latest >= 0] = per_sale[latest[latest >= 0]]
    level = float(rates[-1])
    return lambda h: (rates * h, level, np.full(h, level))


def _smooth(values: Series) -> Series:
    """Exponential smoothing of a sequence, started at its first value (closed form, as `_levels`)."""
    out = np.empty(values.size)
    level = float(values[0])
    if values.size > 1500:
        for i, v in enumerate(values):
            level = level + ALPHA * (v - level) if i else level
            out[i] = level
        return out
    a = np.full(values.size, ALPHA)
    a[0] = 0.0
    p = np.cumprod(1.0 - a)
    return np.asarray(p * (level + np.cumsum(a * values / p)), dtype=np.float64)


def _seasonal(history: Series) -> Fit:
    index = _weekday_index(history)
    n = history.size
    weekday = np.arange(n) % SEASON
    levels = _levels(history / np.where(index[weekday] > 0, index[weekday], 1.0))

    def fit(h: int) -> tuple[Series, float, Series]:
        ahead = np.array([index[(np.arange(o + 1, o + 1 + h)) % SEASON].sum() for o in range(SEASON)])
        return levels * ahead[weekday], float(levels[-1]), levels[-1] * index[np.arange(n, n + h) % SEASON]
    return fit


def _trending(history: Series) -> Fit:
    """Holt's damped trend: level and slope smoothed day by day."""
    n = history.size
    known = np.flatnonzero(~np.isnan(history))
    level, trend = float(history[known[0]]), 0.0
    levels, trends = np.full(n, np.nan), np.full(n, np.nan)
    for t in range(known[0], n):
        x = history[t]
        if not np.isnan(x):
            previous = level
            level = ALPHA * x + (1 - ALPHA) * (level + PHI * trend)
            trend = BETA * (level - previous) + (1 - BETA) * PHI * trend
        else:
            level += PHI * trend
            trend *= PHI
        if t >= known[0] + SEASON:
            levels[t], trends[t] = level, trend

    def fit(h: int) -> tuple[Series, float, Series]:
        steps = PHI * (1 - PHI ** np.arange(1, h + 1)) / (1 - PHI)  # damped trend's reach after h days
        totals = np.clip(levels[:, None] + trends[:, None] * steps[None, :], 0, None).sum(axis=1)
        totals[np.isnan(levels)] = np.nan
        return totals, level, np.clip(level + trend * steps, 0, None)
    return fit


_FITS = {"steady": _steady, "intermittent": _intermittent, "seasonal": _seasonal, "trending": _trending}


# ── helpers ──

def _levels(history: Series) -> Series:
    """Simple exponential smoothing; a day not sellable leaves the level as it was."""
    n = history.size
    levels = np.full(n, np.nan)
    known = np.flatnonzero(~np.isnan(history))
    if not known.size:
        return levels
    first = known[0]
    start = float(np.mean(history[known[:SEASON]]))
    # l_t = (1 − a_t)·l_{t−1} + a_t·x_t with a_t = α on a sellable day, 0 otherwise, solved in closed
    # form: l_t = P_t·(l_0 + Σ a_s·x_s / P_s), P_t = Π (1 − a_s). Exact, and no Python loop per day
    # (the reorder list runs this for every SKU); P stays far from underflow over a 26-week history.
    x = history[first:]
    a = np.where(np.isnan(x), 0.0, ALPHA)
    if x.size > 1500:  # (1 − α)^1500 nears the float limit: fall back to the plain recurrence
        level = start
        for t, value in enumerate(x):
            level += a[t] * (np.nan_to_num(value) - level)
            levels[first + t] = level
        return levels
    p = np.cumprod(1.0 - a)
    levels[first:] = p * (start + np.cumsum(a * np.where(a > 0, x, 0.0) / p))
    return levels


def _rolling_sums(sums: Series, gaps: NDArray[np.int64], horizon: int) -> Series:
    """totals[o] = demand of days o+1 … o+H (NaN when a day is unknown or beyond the history), from
    the cumulative sums of the history (unknown days as 0) and of its unknown days."""
    n = sums.size - 1
    out = np.full(n, np.nan)
    if n <= horizon:
        return out
    o = np.arange(n - horizon)
    window = sums[o + 1 + horizon] - sums[o + 1]
    hidden = gaps[o + 1 + horizon] - gaps[o + 1]
    out[o] = np.where(hidden == 0, window, np.nan)
    return out


def _one_step_spread(history: Series, level: float) -> float:
    x = history[~np.isnan(history)]
    if x.size < 2:
        return math.sqrt(max(1.0, level))
    return float(np.std(np.diff(x))) / math.sqrt(2)


def _weekday_index(history: Series) -> Series:
    """Each weekday's mean over the overall mean (last eight weeks), weekdays of the history's calendar."""
    tail = history[-8 * SEASON:]
    offset = (history.size - tail.size) % SEASON
    weekday = (np.arange(tail.size) + offset) % SEASON
    overall = np.nanmean(tail) if np.any(~np.isnan(tail)) else 0.0
    if not overall:
        return np.ones(SEASON)
    means = np.array([np.nanmean(tail[weekday == d]) if np.any(~np.isnan(tail[weekday == d])) else overall
                      for d in range(SEASON)])
    return np.asarray(means / overall, dtype=np.float64)


def _seasonal_strength(history: Series) -> float:
    """Share of the variance the weekday means explain (0: none)."""
    tail = history[-8 * SEASON:]
    offset = (history.size - tail.size) % SEASON
    weekday = (np.arange(tail.size) + offset) % SEASON
    ok = ~np.isnan(tail)
    if ok.sum() < 2 * SEASON:
        return 0.0
    x, d = tail[ok], weekday[ok]
    total = float(np.var(x))
    if total == 0:
        return 0.0
    means = np.array([x[d == k].mean() if np.any(d == k) else x.mean() for k in range(SEASON)])
    return 1 - float(np.var(x - means[d])) / total


def _trend_share(x: Series) -> float:
    """How much the line through the last twelve weeks moves over them, as a share of their mean:
    a significant but tiny slope (one odd day in a flat history) is not a trend."""
    y = x[-12 * SEASON:]
    mean = float(np.mean(y))
    if mean <= 0:
        return 0.0
    slope = float(np.polyfit(np.arange(y.size, dtype=np.float64), y, 1)[0])
    return abs(slope) * y.size / mean


def _trend_t(x: Series) -> float:
    """|t| of the slope of a line through the last twelve weeks of sellable days."""
    y = x[-12 * SEASON:]
    t = np.arange(y.size, dtype=np.float64)
    slope, intercept = np.polyfit(t, y, 1)
    resid = y - (slope * t + intercept)
    s = math.sqrt(float(resid @ resid) / max(1, y.size - 2))
    spread = math.sqrt(float(((t - t.mean()) ** 2).sum()))
    if s == 0:
        return math.inf if slope else 0.0
    return abs(float(slope)) * spread / s
