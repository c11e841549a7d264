"""Back-test of the forecast (issue #14): synthetic histories of each demand pattern from a known
generator; forecast the next H days from the first part, score against the rest.

    .venv/bin/python bench/forecast_backtest.py [--series 200] [--seed 14]

Columns: MASE of the H-day total (absolute error ÷ H × the history's mean absolute day-to-day
change) for the chosen method and for the naive forecast (the last day repeated), bias of the
P50 (mean forecast − actual, as a share of the mean actual), and the share of forecasts where
actual demand stayed at or under the P80 quantile. Exits 1 when the bar is missed: the method's
MASE below the naive one's on every pattern but the random walk, P80 coverage within 80 ± 7 %.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from allot.forecasting import forecast

HISTORY = 150
HORIZONS = (7, 14, 28)
SERVICE = 0.8
Gen = Callable[[np.random.Generator, int], np.ndarray]


def steady(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.poisson(12.0, n).astype(float)


def trending(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.poisson(4.0 + 0.12 * np.arange(n)).astype(float)


def seasonal(rng: np.random.Generator, n: int) -> np.ndarray:
    week = np.array([0.6, 0.8, 1.0, 1.0, 1.1, 1.7, 1.8])
    return rng.poisson(10.0 * week[np.arange(n) % 7]).astype(float)


def intermittent(rng: np.random.Generator, n: int) -> np.ndarray:
    sold = rng.random(n) < 0.25
    return np.where(sold, 1 + rng.poisson(2.0, n), 0).astype(float)


def random_walk(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pure noise: the level wanders with no structure to learn (the naive forecast is optimal)."""
    return np.maximum(0.0, 30 + np.cumsum(rng.normal(0, 2.0, n))).round()


PATTERNS: dict[str, Gen] = {"steady": steady, "trending": trending, "weekly-seasonal": seasonal,
                            "intermittent": intermittent, "random walk": random_walk}


def score(gen: Gen, series: int, rng: np.random.Generator) -> dict[str, Any]:
    mase, naive_mase, bias_num, actual_sum, covered, count = 0.0, 0.0, 0.0, 0.0, 0, 0
    methods: dict[str, int] = {}
    for _ in range(series):
        x = gen(rng, HISTORY + max(HORIZONS))
        history = x[:HISTORY]
        scale = float(np.mean(np.abs(np.diff(history)))) or 1.0
        for h in HORIZONS:
            actual = float(x[HISTORY:HISTORY + h].sum())
            got = forecast(history, h, SERVICE)
            methods[got.method] = methods.get(got.method, 0) + 1
            mase += abs(got.p50 - actual) / (h * scale)
            naive_mase += abs(history[-1] * h - actual) / (h * scale)
            bias_num += got.p50 - actual
            actual_sum += actual
            covered += actual <= got.quantile
            count += 1
    return {"mase": mase / count, "naive": naive_mase / count, "bias": bias_num / actual_sum,
            "p80": covered / count, "method": max(methods, key=lambda m: methods[m])}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{args.series} series per pattern, {HISTORY} days of history, horizons {HORIZONS} days, P{SERVICE:.0%}")
    print("| pattern | chosen method (mostly) | MASE | naive MASE | bias | P80 coverage |")
    print("|---|---|---|---|---|---|")
    ok = True
    for name, gen in PATTERNS.items():
        r = score(gen, args.series, rng)
        beats = r["mase"] < r["naive"] or name == "random walk"
        calibrated = abs(r["p80"] - SERVICE) <= 0.07
        ok = ok and beats and calibrated
        print(f"| {name} | {r['method']} | {r['mase']:.3f} | {r['naive']:.3f} | {r['bias']:+.1%} | {r['p80']:.1%}"
              f"{'' if beats and calibrated else '  ✗'} |")
    print("bar met" if ok else "bar MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
