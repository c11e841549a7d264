"""A deposit is split over an order's lines in proportion to their value, to the cent, never lost."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allot.domain.errors import Invalid
from allot.services.payments import _shares

cents = st.integers(1, 10_000_000).map(lambda c: Decimal(c) / 100)


@settings(max_examples=80, deadline=None)
@given(st.lists(cents, min_size=1, max_size=8), st.floats(0.01, 1.0))
def test_the_shares_add_up_to_the_deposit_and_none_exceeds_its_line(values: list[Decimal], part: float) -> None:
    total = sum(values, Decimal(0))
    deposit = max(Decimal("0.01"), (total * Decimal(str(part))).quantize(Decimal("0.01")))
    shares = _shares(deposit, values)
    assert sum(shares, Decimal(0)) == deposit
    assert all(s >= 0 for s in shares)
    assert all(s <= v + Decimal("0.01") * len(values) for s, v in zip(shares, values, strict=True))


def test_a_deposit_larger_than_the_order_is_refused() -> None:
    with pytest.raises(Invalid, match="payment.deposit"):
        _shares(Decimal("100.01"), [Decimal(60), Decimal(40)])
