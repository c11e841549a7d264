"""The answer models of the customers and insight routes describe what the services return, exactly
(api/answers_customers.py, api/answers_insight.py): a read's typed answer equals the service's own
answer (a model missing a field would silently drop it), and a write's answer (sent as the service
made it) reads back through its model unchanged. Timestamps compare as instants: a typed read says
`Z` where the service's ISO form says `+00:00` (docs/decisions.md)."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, get_args

from fastapi.testclient import TestClient
from pydantic import BaseModel

from allot.api import answers_customers as ac
from allot.api import answers_insight as ai
from allot.api.app import create_app
from allot.api.deps import plain
from allot.domain.messages import KINDS
from allot.services import forecasts, kpis, messages, payments, purchasing, templates
from allot.services.common import today
from allot.services.forecasts import Ask
from allot.settings import Settings
from allot.store.db import Database
from tests.mail import SmtpSink, mailer
from tests.web.helpers import make_key

CSV = {"Content-Type": "text/csv"}


def instants(value: Any) -> Any:
    """The answer with every timestamp parsed, so `Z` and `+00:00` compare equal."""
    if isinstance(value, dict):
        return {k: instants(v) for k, v in value.items()}
    if isinstance(value, list):
        return [instants(v) for v in value]
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T" and value[13:14] == ":":
        return datetime.fromisoformat(value)
    return value


def reads_back(model: type[BaseModel], body: Any) -> None:
    """The body is what the model says, field for field: nothing unknown to it, nothing it would add."""
    again = json.loads(model.model_validate(body).model_dump_json(by_alias=True, exclude_unset=True))
    assert instants(again) == instants(body)


def same(answer: Any, model: type[BaseModel], service: Callable[[Any], Any], db: Database) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    with db.read() as conn:
        made = json.loads(json.dumps(plain(service(conn))))
    assert instants(body) == instants(made)
    reads_back(model, body)
    return body


@contextmanager
def shop(db: Database, now: datetime) -> Iterator[TestClient]:
    secret = make_key(db, now, "admin")
    app = create_app(Settings(database_url=db.url), clock=lambda: now, sweep=False)
    with TestClient(app, headers={"Authorization": f"Bearer {secret}"}) as client:
        yield client


def world(client: TestClient, db: Database, now: datetime) -> None:
    day = now.date()
    ok = [client.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True}),
          client.put("/v1/skus/MUG", json={"mode": "stock"}),
          client.put("/v1/skus/KETTLE", json={"mode": "preorder", "release_date": str(day + timedelta(days=30))}),
          client.put("/v1/skus/NEW", json={"mode": "backorder"}),
          client.post("/v1/stock/adjustments", json={"sku": "MUG", "delta": 12, "reason": "count"}),
          client.post("/v1/purchase-orders", json={"ref": "PO-K", "supplier": "Kettles Ltd", "lines": [
              {"sku": "KETTLE", "qty": 4, "expected_date": str(day)}]})]
    history = "".join(f"MUG,web,{day - timedelta(days=d)},{2 + d % 3}\n" for d in range(1, 60))
    history += "".join(f"KETTLE,web,{day - timedelta(days=d)},1\n" for d in range(1, 20))
    ok.append(client.post("/v1/imports/sales-history", content=("sku,channel,date,qty\n" + history).encode(),
                          headers=CSV))
    ok.append(client.put("/v1/channels/web/messages", json={"from": "Mug Co <hi@mug.example>",
                                                          "send": ["confirmation", "ready", "shipped"]}))
    deposit = {"terms": "deposit", "deposit": "10.00", "currency": "EUR"}
    for ref, sku in (("O-1", "MUG"), ("O-2", "KETTLE"), ("O-3", "KETTLE")):
        ok.append(client.post("/v1/orders", json={"ref": ref, "channel": "web", "email": f"{ref}@example.org",
                                                  "payment": deposit, "lines": [
                                                      {"sku": sku, "qty": 2, "unit_price": "40.00"}]}))
    ok.append(client.post("/v1/orders/O-1/shipments", json={"lines": [{"line": 1, "qty": 1}]}))
    assert all(r.is_success for r in ok), [r.text for r in ok if not r.is_success]
    with db.write() as conn:
        purchasing.receive(conn, "PO-K", [{"line": 1, "qty": 2}], False, now)


def test_every_typed_answer_is_the_services_answer(db: Database, now: datetime) -> None:
    assert get_args(ac.MessageKind) == KINDS
    smtp = SmtpSink().start()
    try:
        with shop(db, now) as client:
            world(client, db, now)
            sender = mailer(db, lambda: now, smtp.url)
            while sender.round():
                pass
            answers(client, db, now)
    finally:
        smtp.stop()


def answers(client: TestClient, db: Database, now: datetime) -> None:
    day = today(now)

    settings = client.put("/v1/channels/web/messages", json={"from": "Mug Co <hi@mug.example>",
                                                             "reply_to": "help@mug.example", "send": ["ready"]})
    reads_back(ac.MessageSettingsOut, settings.json())
    same(client.get("/v1/channels/web/messages"), ac.MessageSettingsOut,
         lambda c: messages.get_settings(c, "web"), db)
    kept = client.put("/v1/channels/web/templates/ready", json={
        "subject": "{{ order_ref }}", "text": "Hi {{ customer }}", "html": "<p>{{ customer }}</p>"})
    reads_back(ac.TemplateOut, kept.json())
    for kind in ("ready", "shipped"):
        same(client.get(f"/v1/channels/web/templates/{kind}"), ac.TemplateOut,
             lambda c, k=kind: {**templates.for_channel(c, "web", k), "custom": templates.is_custom(c, "web", k)},
             db)
    preview = client.post("/v1/channels/web/templates/ready/preview", json={"text": "{{ nope }}"}).json()
    assert preview["problems"] and preview["problems"][0]["line"] == 1
    reads_back(ac.TemplatePreviewOut, preview)

    page = same(client.get("/v1/messages"), ac.MessagePage, lambda c: messages.listing(c), db)
    assert {m["status"] for m in page["items"]} == {"sent"} and len(page["items"]) >= 3
    first = page["items"][0]["id"]
    one = same(client.get(f"/v1/messages/{first}"), ac.MessageFull,
               lambda c: messages.get(c, first, full=True), db)
    assert one["sent_at"] is not None and one["reply_to"] is None
    reads_back(ac.MessageOut, client.post(f"/v1/messages/{first}/resend").json())
    reads_back(ac.ResentOut, client.post("/v1/messages/resend").json())
    reads_back(ac.LinkOut, client.get("/v1/orders/O-2/link").json())

    report = same(client.get("/v1/reports/payments"), ac.PaymentsReport, payments.report, db)
    assert {ln["balance_due"] is None for ln in report["lines"]} == {True, False}

    figures = same(client.get("/v1/reports/kpis"), ai.KpiReport,
                   lambda c: kpis.kpis(c, kpis.window(c, day, None, None, None, None, None), day), db)
    assert figures["shipped_units"] == 1 and figures["suppliers"][0]["supplier"] == "Kettles Ltd"

    mug = same(client.get("/v1/skus/MUG/forecast"), ai.ForecastOut,
               lambda c: forecasts.forecast(c, "MUG", Ask(), day), db)
    assert mug["chart"]["past"] and mug["demand"] is not None
    kettle = same(client.get("/v1/skus/KETTLE/forecast"), ai.ForecastOut,
                  lambda c: forecasts.forecast(c, "KETTLE", Ask(), day), db)
    assert kettle["preorder"] is not None
    new = same(client.get("/v1/skus/NEW/forecast"), ai.ForecastOut,
               lambda c: forecasts.forecast(c, "NEW", Ask(), day), db)
    assert "chart" not in new and new["method"] is None
    due = same(client.get("/v1/reports/reorder"), ai.ReorderList,
               lambda c: {"items": forecasts.reorder(c, Ask(), day)}, db)
    assert due["items"]
