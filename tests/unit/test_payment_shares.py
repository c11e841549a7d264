"""A deposit is split over an order's lines in proportion to their value, to the cent, never lost."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from allot.domain.errors import Invalid
from allot.services.payments import _shares
from tests.properties import examples

cents = st.integers(1, 10_000_000).map(lambda c: Decimal(c) / 100)
CENT = Decimal("0.01")


@settings(max_examples=examples(80), deadline=None)
@given(st.lists(cents, min_size=1, max_size=8), st.floats(0.01, 1.0))
@example([Decimal("0.24")] * 4, 0.015625)  # 2 cents: each share rounded half up, the last was -1 cent
def test_the_shares_add_up_to_the_deposit_and_none_exceeds_its_line(values: list[Decimal], part: float) -> None:
    total = sum(values, Decimal(0))
    deposit = max(CENT, (total * Decimal(str(part))).quantize(CENT))
    shares = _shares(deposit, values)
    assert sum(shares, Decimal(0)) == deposit
    assert all(s == s.quantize(CENT) for s in shares)
    assert all(0 <= s <= v for s, v in zip(shares, values, strict=True))
    for s, v in zip(shares, values, strict=True):  # its exact part, rounded down or up
        assert abs(Fraction(s) - Fraction(deposit) * Fraction(v) / Fraction(total)) < Fraction(1, 100)


def test_a_deposit_larger_than_the_order_is_refused() -> None:
    with pytest.raises(Invalid, match="payment.deposit"):
        _shares(Decimal("100.01"), [Decimal(60), Decimal(40)])


def test_a_fraction_of_a_cent_is_a_bug_not_rounded_away() -> None:
    with pytest.raises(ValueError, match="cents"):
        _shares(Decimal("0.015"), [Decimal("0.24")] * 4)
