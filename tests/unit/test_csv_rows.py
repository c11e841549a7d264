"""CSV rows at the edge: whatever a row holds, writing it and reading it back gives the same values."""
from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from allot.connectors.csv_files import Reader, parse_row, write

names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,20}", fullmatch=True)
text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\r"), max_size=60).map(str.strip)
days = st.dates(date(2000, 1, 1), date(2999, 12, 31))
moments = st.datetimes(datetime(2000, 1, 1), datetime(2999, 1, 1), timezones=st.just(UTC))


@st.composite
def order_rows(draw: st.DrawFn) -> dict[str, Any]:
    qty = draw(st.integers(1, 1_000_000))
    shipped = draw(st.integers(0, qty))
    return {"ref": draw(names), "channel": draw(names), "priority": draw(st.integers(0, 1000)),
            "customer": draw(text) or None, "created_at": draw(st.none() | moments), "line": draw(st.none() | st.integers(1, 999)),
            "sku": draw(names), "qty": qty, "qty_shipped": shipped, "qty_cancelled": draw(st.integers(0, qty - shipped)),
            "queued_at": draw(st.none() | moments),
            "state": draw(st.none() | st.sampled_from(["ready", "backordered", "awaiting_stock"])),
            "promise_date": draw(st.none() | days), "first_promise_date": draw(st.none() | days)}


def read_back(kind: str, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Reader]:
    data = "".join(write(kind, rows)).encode()
    reader = Reader(io.BytesIO(data), kind)
    return [parse_row(kind, raw) for _, raw in reader.rows()], reader


@given(st.lists(order_rows(), min_size=1, max_size=5))
def test_any_order_row_written_then_read_back_is_the_same(rows: list[dict[str, Any]]) -> None:
    back, reader = read_back("orders", rows)
    assert reader.problems == []
    assert back == rows


@given(st.integers(-1_000_000, -1) | st.text(st.characters(categories=("L",)), min_size=1, max_size=5))
def test_a_quantity_that_is_negative_or_not_a_number_is_named_with_its_column(bad: Any) -> None:
    data = f"ref,channel,sku,qty\nA-1,web,MUG,{bad}\n".encode()
    reader = Reader(io.BytesIO(data), "orders")
    [(line, raw)] = list(reader.rows())
    try:
        parse_row("orders", raw)
    except Exception as e:  # noqa: BLE001 - the assertion below says which
        assert line == 2 and e.bad[0][0] == "qty"  # type: ignore[attr-defined]
    else:
        raise AssertionError(f"{bad!r} was accepted as a quantity")
