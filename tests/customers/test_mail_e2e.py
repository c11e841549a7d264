"""`allot serve` with a mail server that stalls: sales stay fast (SMTP is off the request path), and
once the server answers, every customer gets their confirmation, once."""
from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import Server
from tests.customers.test_smtp_outage import HoldingInbox
from tests.mail import SmtpSink


def test_a_stalled_smtp_server_never_slows_a_sale(tmp_path: Path) -> None:
    sink = SmtpSink()
    inbox = HoldingInbox()
    sink.inbox = inbox
    sink.start()
    server = Server(f"sqlite:///{tmp_path / 'allot.db'}", tmp_path, env={
        "ALLOT_SMTP_URL": sink.url, "ALLOT_PUBLIC_URL": "https://orders.example", "ALLOT_RELAY_POLL": "0.05"})
    try:
        with server.client() as api:
            api.put("/v1/channels/web", json={"allow_backorder": True, "allow_preorder": True}).raise_for_status()
            api.put("/v1/channels/web/messages", json={"from": "Shop <hi@shop.example>",
                                                       "send": ["confirmation"]}).raise_for_status()
            api.put("/v1/skus/CUP", json={"mode": "stock"}).raise_for_status()
            api.post("/v1/stock/adjustments", json={"sku": "CUP", "delta": 50, "reason": "in"}).raise_for_status()

            def sell(ref: str) -> float:
                started = time.perf_counter()
                api.post("/v1/orders", json={"ref": ref, "channel": "web", "email": f"{ref.lower()}@example.org",
                                             "lines": [{"sku": "CUP", "qty": 1}]}).raise_for_status()
                return time.perf_counter() - started

            sell("FIRST")
            assert inbox.took_one.wait(20), "the mailer never reached the mail server"
            took = [sell(f"O{i}") for i in range(15)]  # while the mailer waits on the stalled server
            assert max(took) < 1.0, took
            inbox.release.set()
            deadline = time.monotonic() + 30
            while len({m["To"] for m in inbox.received}) < 16:
                assert time.monotonic() < deadline, len(inbox.received)
                time.sleep(0.1)
            time.sleep(0.5)
            assert len(inbox.received) == 16  # each once
            assert all("https://orders.example/my/" in str(m.get_body(("plain",)).get_content())  # type: ignore[union-attr]
                       for m in inbox.received)
            listed = api.get("/v1/messages", params={"status": "sent"}).json()["items"]
            assert len(listed) == 16
    finally:
        inbox.release.set()
        server.stop()
        sink.stop()
