"""The hot path's JSON encoder gives exactly what FastAPI's jsonable_encoder gives."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum

from fastapi.encoders import jsonable_encoder
from hypothesis import given
from hypothesis import strategies as st

from allot.api.deps import plain


class Colour(Enum):
    RED = "red"


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5),
    st.dates(), st.datetimes(timezones=st.just(UTC)), st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.just(Colour.RED),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=12)


@given(values)
def test_plain_matches_jsonable_encoder(value: object) -> None:
    assert plain(value) == jsonable_encoder(value)


def test_a_sale_answer_encodes_as_before() -> None:
    answer = {"id": "hold_1", "qty": 2, "expires_at": datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
              "promise_date": date(2026, 12, 1), "lines": [{"price": Decimal("1.50"), "state": None}]}
    assert plain(answer) == jsonable_encoder(answer)
    assert plain(answer)["expires_at"] == "2026-11-23T12:00:00+00:00"
