"""Misbehaving webhook receivers cost the server neither memory nor other webhooks' timeliness.

A receiver that trickles its answer one byte every 2 s (so no single read ever times out) is cut
off at the attempt's deadline; one that answers 300 MB is read for a few KB only; and meanwhile a
third webhook gets every event within a second or two of the order that caused it.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server
from tests.receiver import Misbehaving, Receiver, flood, trickle

SECRET = "whsec_limits_0123456789abcdef"
DEADLINE = 3.0  # ALLOT_WEBHOOK_TIMEOUT in these tests: the whole attempt, not one read


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    for name, value in {"ALLOT_WEBHOOK_TIMEOUT": str(DEADLINE), "ALLOT_WEBHOOK_BACKOFF": "0.5",
                        "ALLOT_WEBHOOK_BACKOFF_MAX": "1", "ALLOT_RELAY_POLL": "0.05"}.items():
        monkeypatch.setenv(name, value)
    srv = Server(f"sqlite:///{tmp_path / 'allot.db'}", tmp_path)
    yield srv
    srv.stop()


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def memory_kb(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (the peak so far) of a process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def a_po_to_order_against(api: httpx.Client) -> None:
    ok(api.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True}))
    ok(api.put("/v1/skus/TEE", json={"mode": "backorder"}))
    day = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    ok(api.post("/v1/purchase-orders", json={"ref": "PO-1", "lines": [{"sku": "TEE", "qty": 500,
                                                                       "expected_date": day}]}))


def subscribe(api: httpx.Client, url: str) -> int:
    made = ok(api.post("/v1/webhooks", json={"url": url, "events": ["order_line.promised"], "secret": SECRET}))
    webhook_id: int = made["id"]
    return webhook_id


def test_a_trickling_and_a_flooding_receiver_keep_memory_flat_and_other_webhooks_on_time(server: Server) -> None:
    slow, huge, good = Misbehaving(trickle(2.0)), Misbehaving(flood()), Receiver(SECRET)
    with server.client() as api:
        a_po_to_order_against(api)
        slow_id = subscribe(api, slow.url)
        subscribe(api, huge.url)
        subscribe(api, good.url)
        peak_before = memory_kb(server.proc.pid, "VmHWM")

        late = []
        for n in range(8):
            ok(api.post("/v1/orders", json={"ref": f"W-{n}", "channel": "web", "lines": [{"sku": "TEE", "qty": 1}]}))
            placed = time.monotonic()
            good.wait_for(n + 1, timeout=10)
            late.append(time.monotonic() - placed)
            time.sleep(0.5)
        deadline_hit = ok(api.get(f"/v1/webhooks/{slow_id}/deliveries"))["deliveries"]
        grew_mb = (memory_kb(server.proc.pid, "VmHWM") - peak_before) / 1024

    print(f"peak RSS growth {grew_mb:.1f} MB; slowest event to the good webhook {max(late):.2f} s")
    assert sorted(e["order_ref"] for e in good.acknowledged) == [f"W-{n}" for n in range(8)]
    assert max(late) < 2.0, f"the good webhook waited {max(late):.1f} s for an event"
    assert huge.connections >= 1 and slow.connections >= 1
    assert grew_mb < 40, f"the server's peak memory grew by {grew_mb:.0f} MB"
    assert any(d["last_error"] == "timed out" for d in deadline_hit), deadline_hit
    # cut off at the deadline; the receiver notices on its second write after that (two 2 s steps)
    wait = time.monotonic() + 10
    while not slow.cut_off and time.monotonic() < wait:
        time.sleep(0.1)
    assert slow.cut_off and max(slow.cut_off) < DEADLINE + 4.5, slow.cut_off
    for r in (slow, huge, good):
        r.close()
