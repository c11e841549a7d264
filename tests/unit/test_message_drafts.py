"""Which events make which message: one per order per change, the most pressing kind first."""
from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from allot.domain.messages import KINDS, drafts, kind_of, nice_date

SLIP = {"op": "po_line.updated", "expected_date": {"from": "2026-12-03", "to": "2026-12-17"}}


def event(pos: int, type_: str, ref: str, line: int, at: str = "t1", **data: Any) -> dict[str, Any]:
    return {"position": pos, "type": type_, "occurred_at": at, "sku": "S", "order_ref": ref, "line": line,
            "data": data}


def test_a_slip_that_also_asks_for_consent_is_one_message_that_asks() -> None:
    found = drafts([
        event(1, "order_line.promise_changed", "A", 1, reason="later", to="2026-12-17", cause=SLIP),
        event(2, "order_line.consent_requested", "A", 1, to="2026-12-17", deadline="2026-12-01T00:00:00+00:00",
              default="keep", cause=SLIP),
        event(3, "order_line.promise_changed", "A", 2, reason="later", to="2026-12-17", cause=SLIP),
    ], {"A": set(KINDS)})
    assert len(found) == 1
    assert found[0].kind == "consent_requested" and sorted(found[0].lines) == [1, 2]
    assert found[0].lines[1].deadline and found[0].lines[2].deadline is None


def test_kinds_a_channel_does_not_send_and_earlier_promises_make_no_message() -> None:
    assert kind_of("order_line.promise_changed", {"reason": "earlier"}) is None
    assert kind_of("order_line.balance_due", {}) is None
    found = drafts([event(1, "order_line.ready", "A", 1), event(2, "order_line.promised", "B", 1)],
                   {"A": {"shipped"}, "B": {"confirmation"}})
    assert [(d.order_ref, d.kind) for d in found] == [("B", "confirmation")]


def test_dates_read_the_way_people_say_them() -> None:
    assert nice_date("2026-12-03") == "Thursday 3 December 2026"
    assert nice_date(None) == "no date yet"


TYPES = ["order_line.promised", "order_line.promise_changed", "order_line.backordered", "order_line.ready",
         "order_line.shipped", "order_line.cancelled", "order_line.consent_requested", "order_line.kept"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TYPES), st.sampled_from("ABC"), st.integers(1, 3), st.sampled_from("xy")),
                max_size=30))
def test_never_more_than_one_message_per_order_per_change(raw: list[tuple[str, str, int, str]]) -> None:
    batch = [event(i, t, ref, line, at, reason="later") for i, (t, ref, line, at) in enumerate(raw)]
    found = drafts(batch, {"A": set(KINDS), "B": set(KINDS), "C": {"ready"}})
    keys = [(d.order_ref, d.occurred_at) for d in found]
    assert len(keys) == len(set(keys))
    told = {(e["order_ref"], e["occurred_at"], e["line"]) for e in batch
            if (k := kind_of(e["type"], e["data"])) and (e["order_ref"] != "C" or k == "ready")}
    assert told == {(d.order_ref, d.occurred_at, n) for d in found for n in d.lines}
    assert all(d.kind == min((k for ln in d.lines.values() for k in ln.kinds), key=KINDS.index) for d in found)
