"""The forecast is a pure function of a daily history (allot.forecasting): rules that hold for all inputs."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from allot import forecasting

LEVEL = st.integers(min_value=0, max_value=500)
DAYS = st.integers(min_value=1, max_value=150)


@settings(max_examples=40, deadline=None)
@given(level=LEVEL, days=DAYS, more=st.integers(min_value=1, max_value=60))
def test_more_history_of_the_same_level_never_changes_the_level(level: int, days: int, more: int) -> None:
    short = np.full(days, float(level))
    long = np.full(days + more, float(level))
    for h in (1, 14, 42):
        a, b = forecasting.forecast(short, h, 0.9), forecasting.forecast(long, h, 0.9)
        assert abs(a.p50 - level * h) < 1e-6 and abs(b.p50 - level * h) < 1e-6
        assert abs(a.level - b.level) < 1e-9
        if days >= 2:  # (one day alone says nothing of the spread: it gets a wide one)
            assert abs(a.quantile - b.quantile) < 1e-6


@settings(max_examples=40, deadline=None)
@given(sales=st.lists(st.integers(min_value=0, max_value=50), min_size=7, max_size=120),
       out=st.sets(st.integers(min_value=0, max_value=119), max_size=30))
def test_a_sold_out_day_never_lowers_velocity(sales: list[int], out: set[int]) -> None:
    """Hiding a day that sold less than the rest's average cannot lower the rate (and a day sold out
    sold nothing it could show)."""
    history = np.array(sales, dtype=float)
    hidden = history.copy()
    for day in out:
        if day < hidden.size and history[day] == 0:  # sold out: it sold nothing it could show
            hidden[day] = np.nan
    for days in (7, 28, 90):
        seen, hid = forecasting.velocity(history, days), forecasting.velocity(hidden, days)
        if hid is not None and seen is not None:
            assert hid >= seen - 1e-9


def test_a_window_with_no_sellable_day_has_no_velocity() -> None:
    history = np.array([5.0] * 20 + [np.nan] * 7)
    assert forecasting.velocity(history, 7) is None
    assert forecasting.velocity(history, 28) == 5.0


@settings(max_examples=30, deadline=None)
@given(sales=st.lists(st.integers(min_value=0, max_value=30), min_size=30, max_size=120),
       level=st.floats(min_value=0.51, max_value=0.99))
def test_the_service_level_quantile_is_never_under_the_p50_nor_negative(sales: list[int], level: float) -> None:
    got = forecasting.forecast(np.array(sales, dtype=float), 28, level)
    assert 0 <= got.p50 <= got.quantile


def test_each_pattern_gets_its_method() -> None:
    rng = np.random.default_rng(1)
    days = np.arange(140)
    assert forecasting.choose(rng.poisson(12.0, 140).astype(float)) == "steady"
    assert forecasting.choose(rng.poisson(4 + 0.12 * days).astype(float)) == "trending"
    week = np.array([0.6, 0.8, 1.0, 1.0, 1.1, 1.7, 1.8])
    assert forecasting.choose(rng.poisson(10 * week[days % 7]).astype(float)) == "seasonal"
    sparse = np.where(rng.random(140) < 0.25, 1 + rng.poisson(2.0, 140), 0).astype(float)
    assert forecasting.choose(sparse) == "intermittent"
