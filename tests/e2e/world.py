"""Small factories that build a test's world over HTTP, and one way to check a problem answer."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx


def unique(prefix: str) -> str:
    """A fresh name, so tests sharing one server never see each other's SKUs or refs."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def today() -> date:
    """The server's today: it plans in UTC."""
    return datetime.now(UTC).date()


def day(n: int) -> str:
    return (today() + timedelta(days=n)).isoformat()


def ok(resp: httpx.Response, status: int) -> Any:
    where = f"{resp.request.method} {resp.request.url}"
    assert resp.status_code == status, f"{where}: {resp.status_code} {resp.text}"
    return resp.json() if resp.content else None


def problem(resp: httpx.Response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 answer with this status, stable code and (for bad input) field."""
    where = f"{resp.request.method} {resp.request.url}"
    assert resp.status_code == status, f"{where}: expected {status}, got {resp.status_code} {resp.text}"
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers["content-type"]
    body: dict[str, Any] = resp.json()
    assert body["code"] == code, f"{where}: code {body['code']!r}: {body}"
    assert body["status"] == status and body["type"].endswith("/" + code), body
    if field is not None:
        assert body.get("field") == field, f"{where}: field {body.get('field')!r}, wanted {field!r}: {body}"
    return body


def channel(c: httpx.Client, name: str | None = None, *, backorder: bool = True, preorder: bool = True,
            padding_days: int = 0) -> str:
    name = name or unique("ch")
    resp = c.put(f"/v1/channels/{name}", json={"allow_backorder": backorder, "allow_preorder": preorder,
                                               "padding_days": padding_days})
    assert resp.status_code in (200, 201), resp.text
    return name


def sku(c: httpx.Client, mode: str = "backorder", on_hand: int = 0, **settings: Any) -> str:
    """A new SKU with `on_hand` units received."""
    name = unique("S")
    ok(c.put(f"/v1/skus/{name}", json={"mode": mode, **settings}), 201)
    if on_hand:
        ok(c.post("/v1/stock/adjustments", json={"sku": name, "delta": on_hand, "reason": "receipt"}), 201)
    return name


def po(c: httpx.Client, *lines: tuple[str, int, str]) -> str:
    """A new purchase order with lines (sku, qty, expected_date), numbered 1..n."""
    ref = unique("PO")
    body = {"ref": ref, "supplier": "ACME",
            "lines": [{"sku": s, "qty": q, "expected_date": d} for s, q, d in lines]}
    ok(c.post("/v1/purchase-orders", json=body), 201)
    return ref


def order_body(channel_name: str, *lines: tuple[str, int], ref: str | None = None,
               **extra: Any) -> dict[str, Any]:
    return {"ref": ref or unique("O"), "channel": channel_name,
            "lines": [{"sku": s, "qty": q} for s, q in lines], **extra}


def order(c: httpx.Client, channel_name: str, *lines: tuple[str, int], **extra: Any) -> dict[str, Any]:
    """A placed order (asserts it was accepted)."""
    body: dict[str, Any] = ok(c.post("/v1/orders", json=order_body(channel_name, *lines, **extra)), 201)
    return body


def hold(c: httpx.Client, sku_name: str, qty: int, channel_name: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = ok(c.post("/v1/holds", json={"sku": sku_name, "qty": qty, "channel": channel_name,
                                                        **extra}), 201)
    return body


def availability(c: httpx.Client, sku_name: str, channel_name: str | None = None) -> dict[str, Any]:
    query = f"?channel={channel_name}" if channel_name else ""
    body: dict[str, Any] = ok(c.get(f"/v1/availability/{sku_name}{query}"), 200)
    return body


Numbers = tuple[int, int, int, int, int]


def numbers(c: httpx.Client, sku_name: str, channel_name: str | None = None) -> Numbers:
    """(on_hand, incoming, committed, reserved, available) of a SKU."""
    a = availability(c, sku_name, channel_name)
    return a["on_hand"], a["incoming"], a["committed"], a["reserved"], a["available"]


def same_resource(body: Any) -> Any:
    """A body as a client compares it: absent equals null, and `Z` equals `+00:00`.

    (A write answers with its own rendering; the read goes through the response model.)
    """
    if isinstance(body, dict):
        return {k: same_resource(v) for k, v in body.items() if v is not None}
    if isinstance(body, list):
        return [same_resource(v) for v in body]
    if isinstance(body, str) and body.endswith("Z") and "T" in body:
        return body[:-1] + "+00:00"
    return body
