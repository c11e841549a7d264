"""The operator's day (#12): acting from the dashboard, through the same services as the API, previewed first.

Each test builds a small world through the services, drives the dashboard's forms in-process (SQLite
and PostgreSQL), and checks the database, the audit log and what the page says.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from allot.demo import load
from allot.domain.events import VERSIONS
from allot.services import catalog, orders, purchasing, stock
from allot.services.impact import Impact, LineChange
from allot.store.db import Database
from allot.store.tables import audit_log, events
from allot.web.acting import PREVIEW_ROWS, changes_page
from allot.web.chart import atp_svg
from allot.web.words import describe
from tests import factories as f
from tests.web.helpers import dashboard, make_key, sign_in
from tests.web.test_purchase_orders import confirm_fields


@pytest.fixture
def ops(db: Database, now: datetime) -> Iterator[tuple[TestClient, str]]:
    with dashboard(db, now) as client:
        yield client, sign_in(client, make_key(db, now, "ops"))


def _world(db: Database, now: datetime) -> None:
    """LAMP: 2 on hand, a PO of 5 in 5 days; orders A (2, ready), B (4, from the PO), C (2, one unit short)."""
    with db.write() as conn:
        f.channel(conn, "web", now, consent_after_days=3, consent_window_days=2)
        f.sku(conn, "LAMP", now)
        f.receive(conn, "LAMP", 3, now)
        f.po(conn, "PO-9", now, ("LAMP", 5, now.date() + timedelta(days=5)))
        f.order(conn, "A", now, ("LAMP", 2))
        f.order(conn, "B", now, ("LAMP", 4))
        f.order(conn, "C", now, ("LAMP", 2))
        stock.count(conn, "LAMP", 2, "one lost", now)  # a sale is never accepted short: a loss makes C short


def _count(db: Database, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _last_audit(db: Database) -> Any:
    with db.read() as conn:
        return conn.execute(select(audit_log).order_by(audit_log.c.id.desc())).first()


def _preview_then_confirm(client: TestClient, db: Database, path: str, fields: dict[str, str]) -> tuple[str, str]:
    """Post a preview (nothing written), then its confirm form; returns (preview html, redirect target)."""
    before = _count(db, events)
    page = client.post(path + "/preview", data=fields)
    assert page.status_code == 200, page.text[-600:]
    assert "Nothing has been saved yet" in page.text and _count(db, events) == before
    answer = client.post(path, data=confirm_fields(page.text))
    assert answer.status_code == 303, answer.text[-600:]
    return page.text, answer.headers["location"]


def test_consent_waiting_is_listed_on_at_risk_with_its_deadline(db: Database, now: datetime,
                                                                ops: tuple[TestClient, str]) -> None:
    """The bug: At risk said consent was "not yet available in this version" while lines needed it."""
    _world(db, now)
    with db.write() as conn:
        purchasing.update_line(conn, "PO-9", 1, now.date() + timedelta(days=30), None, now)
        assert orders.get(conn, "B")["lines"][0]["consent_status"] == "needs_consent"
    page = ops[0].get("/at-risk").text
    assert "not yet available" not in page
    section = page.split('id="consent-lines"', 1)[1].split("</table>", 1)[0]
    assert ">B</a> / 1" in section and "2 day(s) left" in section and "keep waiting" in section


def test_at_risk_lists_backordered_lines_and_stockless_promises_but_not_lines_awaiting_release(
        db: Database, now: datetime, ops: tuple[TestClient, str]) -> None:
    _world(db, now)
    with db.write() as conn:  # D: a preorder covered by stock on hand, waiting only for its release day
        f.sku(conn, "BOOK", now, mode="preorder", release_date=now.date() + timedelta(days=2))
        f.receive(conn, "BOOK", 5, now)
        f.order(conn, "D", now, ("BOOK", 1))
        assert orders.get(conn, "D")["lines"][0]["state"] == "awaiting_release"
    page = ops[0].get("/at-risk?days=10").text
    short = page.split('id="short-lines"', 1)[1].split("</table>", 1)[0]
    assert ">C</a> / 1" in short and ">B</a>" not in short
    due = page.split('id="due-h"', 1)[1].split("</section>", 1)[0]
    assert ">B</a> / 1" in due and ">D</a>" not in due and ">A</a>" not in due


def test_cancelling_an_order_is_previewed_then_frees_its_units_down_the_queue(
        db: Database, now: datetime, ops: tuple[TestClient, str]) -> None:
    _world(db, now)
    client, csrf = ops
    preview, target = _preview_then_confirm(client, db, "/orders/A/cancel", {"csrf": csrf, "whole": "yes"})
    assert "Cancel order A" in preview and "newly covered" in preview
    assert target.startswith("/orders/A?notice=cancelled")
    assert "Cancelled." in client.get(target).text
    with db.read() as conn:
        assert orders.get(conn, "A")["lines"][0]["qty_cancelled"] == 2
        assert orders.get(conn, "C")["lines"][0]["state"] != "backordered"  # A's 2 units went to C
    assert _last_audit(db).action == "commit_cancel"


def test_shipping_a_ready_line_and_a_refusal_names_the_reason(db: Database, now: datetime,
                                                              ops: tuple[TestClient, str]) -> None:
    _world(db, now)
    client, csrf = ops
    _preview_then_confirm(client, db, "/orders/A/shipments", {"csrf": csrf, "ship_1": "2"})
    with db.read() as conn:
        assert orders.get(conn, "A")["lines"][0]["qty_shipped"] == 2 and catalog.get_sku(conn, "LAMP")["on_hand"] == 0
    refused = client.post("/orders/B/shipments/preview", data={"csrf": csrf, "ship_1": "4"})
    assert refused.status_code == 409 and "ready to ship" in refused.text
    bad = client.post("/orders/B/shipments/preview", data={"csrf": csrf, "ship_1": "lots"})
    assert bad.status_code == 422 and "line 1" in bad.text


def test_answering_consent_on_the_customers_behalf(db: Database, now: datetime, ops: tuple[TestClient, str]) -> None:
    _world(db, now)
    with db.write() as conn:
        purchasing.update_line(conn, "PO-9", 1, now.date() + timedelta(days=30), None, now)
    client, csrf = ops
    page = client.get("/orders/B").text
    assert "Waiting for the customer's consent" in page and "Preview: customer accepts" in page
    preview, _ = _preview_then_confirm(client, db, "/orders/B/lines/1/consent", {"csrf": csrf, "answer": "accept"})
    assert "The customer accepts the new date" in preview
    with db.read() as conn:
        assert orders.get(conn, "B")["lines"][0]["consent_status"] == "accepted"


def test_stock_adjust_and_count_from_the_sku(db: Database, now: datetime, ops: tuple[TestClient, str]) -> None:
    _world(db, now)
    client, csrf = ops
    preview, target = _preview_then_confirm(client, db, "/skus/LAMP/stock",
                                            {"csrf": csrf, "kind": "adjust", "qty": "3", "reason": "found"})
    assert "On hand 2 → 5" in preview and "notice=stock" in target
    _preview_then_confirm(client, db, "/skus/LAMP/stock", {"csrf": csrf, "kind": "count", "qty": "4", "reason": ""})
    with db.read() as conn:
        assert catalog.get_sku(conn, "LAMP")["on_hand"] == 4
    entry = _last_audit(db)
    assert entry.action == "commit_stock" and entry.summary["body"]["kind"] == "count"
    bad = client.post("/skus/LAMP/stock/preview", data={"csrf": csrf, "kind": "count", "qty": "-2"})
    assert bad.status_code == 422 and "on_hand" in bad.text


def test_sku_settings_change_re_promises_after_a_preview(db: Database, now: datetime,
                                                        ops: tuple[TestClient, str]) -> None:
    _world(db, now)
    client, csrf = ops
    fields = {"csrf": csrf, "mode": "backorder", "handling_days": "4", "incoming_buffer": "0", "safety_stock": "0",
              "allocation_policy": "fifo"}
    preview, _ = _preview_then_confirm(client, db, "/skus/LAMP/settings", fields)
    assert "Handling days: 0 → 4" in preview and "+4" in preview
    with db.read() as conn:
        assert catalog.get_sku(conn, "LAMP")["handling_days"] == 4
    bad = client.post("/skus/LAMP/settings/preview", data={**fields, "mode": "preorder"})
    assert bad.status_code == 422 and "release_date" in bad.text


def test_the_backordered_tail_is_kept_or_cancelled_with_a_reason(db: Database, now: datetime,
                                                                 ops: tuple[TestClient, str]) -> None:
    _world(db, now)
    client, csrf = ops
    assert "pick_C__1" in client.get("/skus/LAMP/backordered").text
    kept = client.post("/skus/LAMP/backordered/keep", data={"csrf": csrf, "scope": "picked", "pick_C__1": "1",
                                                            "reason": "customer will wait"})
    assert kept.status_code == 303 and _last_audit(db).action == "keep_tail"
    refused = client.post("/skus/LAMP/backordered/cancel/preview", data={"csrf": csrf, "scope": "all", "reason": ""})
    assert refused.status_code == 422 and "reason" in refused.text
    preview, _ = _preview_then_confirm(client, db, "/skus/LAMP/backordered/cancel",
                                       {"csrf": csrf, "scope": "all", "reason": "discontinued"})
    assert "Reason: discontinued" in preview
    with db.read() as conn:
        line = orders.get(conn, "C")["lines"][0]
    assert line["qty_cancelled"] == 1  # only the unit no supply covered


def test_channel_rules_preview_and_quota(db: Database, now: datetime, ops: tuple[TestClient, str]) -> None:
    _world(db, now)
    client, csrf = ops
    rules = {"csrf": csrf, "allow_backorder": "yes", "allow_preorder": "yes", "padding_days": "2",
             "consent_window_days": "2", "consent_default": "keep"}
    preview, _ = _preview_then_confirm(client, db, "/channels/web/settings", rules)
    assert "Padding days: 0 → 2" in preview and "Consent after days: 3 → never" in preview
    quota = client.post("/channels/web/quotas", data={"csrf": csrf, "sku": "LAMP", "quota": "7"})
    assert quota.status_code == 303 and ">7<" in client.get("/channels/web/settings").text


def test_a_long_preview_is_paginated_with_customers(db: Database, now: datetime, ops: tuple[TestClient, str]) -> None:
    load(db, now)
    client, csrf = ops
    fields = {"csrf": csrf, "expected_date": (now.date() + timedelta(days=44)).isoformat(), "qty": "150"}
    first = client.post("/purchase-orders/PO-1002/lines/1/preview", data=fields).text
    total = int(re.search(r"<strong>(\d+) line\(s\) change promise</strong>", first).group(1))  # type: ignore[union-attr]
    assert total > 100 and f"Page 1 of {(total + 49) // 50}" in first and ">Customer<" in first
    last = client.post("/purchase-orders/PO-1002/lines/1/preview", data={**fields, "view_page": "99"}).text
    assert last.count('data-label="Days">') == total - 50 * ((total - 1) // 50)
    assert "@" in last.split('id="affected"', 1)[1]  # the demo's customers are e-mail addresses


def test_admin_pages_make_a_key_once_and_audit_it_without_its_secret(db: Database, now: datetime) -> None:
    with dashboard(db, now) as client:
        csrf = sign_in(client, make_key(db, now, "admin"))
        made = client.post("/keys", data={"csrf": csrf, "name": "night shift", "role": "ops"})
        secret = re.search(r'id="secret">([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
        assert made.status_code == 201 and secret.startswith("allot_")
        assert secret not in client.get("/keys").text and secret not in client.get("/audit").text
        entry = _last_audit(db)
        assert entry.action == "key_create" and secret not in str(entry.summary)
        assert "key create" in client.get("/audit").text
        refused = client.post("/keys", data={"csrf": csrf, "name": "x"})
        assert refused.status_code == 422 and "role" in refused.text


def test_a_viewer_sees_no_action_on_the_new_pages(db: Database, now: datetime) -> None:
    _world(db, now)
    with dashboard(db, now) as client:
        sign_in(client, make_key(db, now, "viewer"))
        for path in ("/orders/A", "/skus/LAMP", "/skus/LAMP/backordered", "/at-risk"):
            page = client.get(path).text
            assert "Preview" not in page and 'type="checkbox"' not in page, path
        assert 'href="/keys"' not in client.get("/skus").text
        assert client.get("/skus/LAMP/settings").status_code == 403
        assert client.get("/audit").status_code == 403


def test_events_read_as_plain_words() -> None:
    slip = {"from": "2026-12-03", "to": "2026-12-17", "state": "awaiting_stock",
            "cause": {"op": "po_line.updated", "po_ref": "PO-9", "po_line": 1,
                      "expected_date": {"from": "2026-12-01", "to": "2026-12-15"}, "qty": {"from": 5, "to": 5}}}
    assert describe("order_line.promise_changed", slip) == "PO-9 slipped 14 days: promise moved from 2026-12-03 " \
                                                           "to 2026-12-17"
    assert describe("order_line.backordered", {"from": "2026-12-03", "cause": {"op": "stock.counted"}}) == \
        "Backordered: no supply covers it, was promised 2026-12-03 (a stock count)"
    assert describe("order_line.cancelled", {"qty": 2, "reason": "consent_rejected"}) == \
        "Cancelled 2 unit(s): consent rejected"
    assert "." not in describe("order_line.kept", {"reason": "wait"}).split(":")[0]


def test_the_chart_tells_supply_from_demand_marks_the_release_and_reads_out(now: datetime) -> None:
    today = date(2026, 12, 1)
    points = [{"date": today, "supply": 10, "demand": 10},
              {"date": today + timedelta(days=9), "supply": 30, "demand": 30}]
    svg = str(atp_svg(points, 4, "LAMP", today + timedelta(days=20)))
    assert 'class="demand-area"' in svg and 'class="supply-line"' in svg and 'class="dot-demand"' in svg
    assert "release 2026-12-21" in svg and "4 ordered, not covered" in svg and 'class="gap-bar"' in svg
    assert "<title>2026-12-10: supply 30, promised 30, 4 not covered</title>" in svg
    assert 'data-readout="2026-12-01: supply 10, promised 10"' in svg


@settings(max_examples=40, deadline=None)
@given(count=st.integers(0, 260), asked=st.one_of(st.none(), st.text(max_size=4), st.integers(-5, 10).map(str)))
def test_a_paged_preview_shows_every_changed_line_once(count: int, asked: str | None) -> None:
    changes = [LineChange(f"O-{i}", 1, "LAMP", "ready", "awaiting_stock", None, None) for i in range(count)]
    seen = Impact(changes)
    first = changes_page(seen, asked)
    assert 1 <= first.number <= first.pages and len(first.items) <= PREVIEW_ROWS
    walked = [r["c"] for n in range(1, first.pages + 1) for r in changes_page(seen, str(n)).items]
    assert walked == changes


KINDS = sorted(VERSIONS)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(KINDS), data=st.dictionaries(
    st.sampled_from(["from", "to", "qty", "reason", "state", "deadline", "default", "promise_date", "cause",
                     "po_ref", "channel", "available", "uncovered"]),
    st.one_of(st.none(), st.integers(0, 99), st.just("2026-12-03"), st.just("2026-12-03T10:00:00+00:00"),
              st.just({"op": "po_line.updated", "po_ref": "PO-1", "expected_date": {"from": "2026-12-01",
                                                                                    "to": "2026-12-09"}})),
    max_size=6))
def test_every_event_type_reads_as_a_sentence_whatever_its_data(kind: str, data: dict[str, Any]) -> None:
    text = describe(kind, data)
    assert text and kind not in text and (text[0].isupper() or text[0].isdigit())
