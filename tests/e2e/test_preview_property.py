"""Acceptance 4 (BRIEF §7 previews): on any small world, for any PO change — a date move, a quantity
change, a receipt with or without close_short, a cancel — the changes the HTTP preview announces
are exactly the ones applying the change makes: the same lines from the same place to the same
place, and each SKU's available and uncovered before and after. A refused change is refused alike.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from allot.store.db import Database
from allot.store.tables import skus
from tests.e2e.trust import DATABASES, Server, ok, serving, unique
from tests.properties import examples

CHANNELS = ("web", "shop", "trade")
Snapshot = tuple[dict[tuple[str, int], tuple[str, str | None]], dict[str, tuple[int, int]]]


def later(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


@pytest.fixture(scope="module", params=DATABASES)
def srv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(request.param, tmp_path_factory.mktemp(f"preview-{request.param}")) as server:
        yield server


@pytest.fixture(scope="module")
def admin(srv: Server) -> Iterator[httpx.Client]:
    with srv.client() as client:
        for name, sells_ahead, padding in (("web", True, 0), ("shop", False, 0), ("trade", True, 2)):
            ok(client.put(f"/v1/channels/{name}", json={"allow_backorder": sells_ahead, "allow_preorder": sells_ahead,
                                                       "padding_days": padding}), 201)
        yield client


@pytest.fixture(scope="module")
def db(srv: Server) -> Iterator[Database]:
    database = Database(srv.url)
    yield database
    database.dispose()


po_line = st.tuples(st.integers(0, 1), st.integers(1, 8), st.integers(1, 30))  # sku, qty, days away
change = st.one_of(
    st.tuples(st.just("date"), st.integers(0, 2), st.integers(0, 1), st.integers(0, 40)),
    st.tuples(st.just("qty"), st.integers(0, 2), st.integers(0, 1), st.integers(0, 10)),
    st.tuples(st.just("receive"), st.integers(0, 2), st.lists(st.tuples(st.integers(0, 1), st.integers(1, 8)),
                                                              min_size=1, max_size=2), st.booleans()),
    st.tuples(st.just("cancel"), st.integers(0, 2)),
)
world = st.fixed_dictionaries({
    "stock": st.lists(st.integers(0, 4), min_size=2, max_size=2),
    "made_to_order": st.lists(st.sampled_from([None, 2]), min_size=2, max_size=2),
    "pos": st.lists(st.lists(po_line, min_size=1, max_size=2), min_size=1, max_size=3),
    "orders": st.lists(st.tuples(st.sampled_from(CHANNELS), st.integers(0, 1), st.integers(1, 4), st.integers(0, 1)),
                       max_size=7),
    "changes": st.lists(change, min_size=1, max_size=3),
})


def build(admin: httpx.Client, w: dict[str, Any]) -> tuple[list[str], list[tuple[str, int]], list[str]]:
    names = [unique("P") for _ in range(2)]
    for name, on_hand, limit in zip(names, w["stock"], w["made_to_order"], strict=True):
        ok(admin.put(f"/v1/skus/{name}", json={"mode": "backorder", "handling_days": 1, "backorder_limit": limit,
                                               "backorder_lead_days": 45}), 201)
        if on_hand:
            ok(admin.post("/v1/stock/adjustments", json={"sku": name, "delta": on_hand, "reason": "in"}), 201)
    pos = []
    for lines in w["pos"]:
        ref = unique("PO")
        ok(admin.post("/v1/purchase-orders", json={"ref": ref, "lines": [
            {"sku": names[s], "qty": q, "expected_date": later(d)} for s, q, d in lines]}), 201)
        pos.append((ref, len(lines)))
    refs = []
    for channel, s, qty, priority in w["orders"]:
        ref = unique("O")
        placed = admin.post("/v1/orders", json={"ref": ref, "channel": channel, "priority": priority,
                                                "lines": [{"sku": names[s], "qty": qty}]})
        assert placed.status_code in (201, 409), placed.text
        if placed.status_code == 201:
            refs.append(ref)
    return names, pos, refs


def request_for(c: tuple[Any, ...], pos: list[tuple[str, int]]) -> tuple[str, dict[str, Any] | None]:
    """The change as (path, body); its preview is the same path plus /preview."""
    ref, count = pos[c[1] % len(pos)]
    if c[0] == "date":
        return f"/v1/purchase-orders/{ref}/lines/{c[2] % count + 1}", {"expected_date": later(c[3])}
    if c[0] == "qty":
        return f"/v1/purchase-orders/{ref}/lines/{c[2] % count + 1}", {"qty": c[3]}
    if c[0] == "receive":
        lines = [{"line": n % count + 1, "qty": q} for n, q in c[2]]
        return f"/v1/purchase-orders/{ref}/receipts", {"lines": lines, "close_short": c[3]}
    return f"/v1/purchase-orders/{ref}/cancel", None


def snapshot(admin: httpx.Client, db: Database, names: list[str], refs: list[str]) -> Snapshot:
    lines = {}
    for ref in refs:
        for ln in ok(admin.get(f"/v1/orders/{ref}"), 200)["lines"]:
            lines[(ref, ln["line"])] = (ln["state"], ln["promise_date"])
    with db.read() as conn:
        summaries = dict(conn.execute(select(skus.c.sku, skus.c.summary).where(skus.c.sku.in_(names))).all())
    figures = {n: (ok(admin.get(f"/v1/availability/{n}"), 200)["available"], summaries[n]["uncovered"])
               for n in names}
    return lines, figures


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(w=world)
def test_a_preview_announces_exactly_what_applying_the_change_does(admin: httpx.Client, db: Database,
                                                                  w: dict[str, Any]) -> None:
    names, pos, refs = build(admin, w)
    for c in w["changes"]:
        path, body = request_for(c, pos)
        method = "PATCH" if "/lines/" in path else "POST"
        before = snapshot(admin, db, names, refs)
        said = admin.post(path + "/preview", json=body)
        assert snapshot(admin, db, names, refs) == before, "the preview wrote something"
        done = admin.request(method, path, json=body)
        after = snapshot(admin, db, names, refs)
        if said.status_code != 200:
            assert (done.status_code, done.json()["code"]) == (said.status_code, said.json()["code"])
            assert after == before
            continue
        assert done.status_code in (200, 201), done.text
        moved = {k: (before[0][k], v) for k, v in after[0].items() if before[0][k] != v}
        announced = {(c["order_ref"], c["line"]): ((c["before"]["state"], c["before"]["promise_date"]),
                                                   (c["after"]["state"], c["after"]["promise_date"]))
                     for c in said.json()["lines"]}
        assert announced == moved
        for figures in said.json()["skus"]:
            sku = figures["sku"]
            assert (figures["before"]["available"], figures["before"]["uncovered"]) == before[1][sku]
            assert (figures["after"]["available"], figures["after"]["uncovered"]) == after[1][sku]
