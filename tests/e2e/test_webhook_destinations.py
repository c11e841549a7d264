"""Webhooks never reach the server's own network unless the installation allows it, checked at
registration and again at every delivery; the deliveries list names a category of failure, never
what a connection attempt revealed. Webhook URLs are shown redacted in the audit log and logs."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server, free_port
from tests.receiver import Receiver

SECRET = "whsec_destinations_0123456789"
FAST = {"ALLOT_WEBHOOK_TIMEOUT": "2", "ALLOT_WEBHOOK_BACKOFF": "0.2", "ALLOT_WEBHOOK_BACKOFF_MAX": "0.5",
        "ALLOT_RELAY_POLL": "0.05"}
PRIVATE_URLS = ["http://127.0.0.1:{port}/hook", "http://localhost:{port}/hook", "http://[::1]:{port}/hook",
                "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/hook", "http://192.168.0.1/hook",
                "http://0.0.0.0:{port}/hook", "http://224.0.0.1/hook", "http://[::ffff:127.0.0.1]:{port}/hook"]

Start = Callable[[str], Server]


@pytest.fixture
def start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Start]:
    """Start servers on one SQLite database, each with its own ALLOT_WEBHOOK_ALLOW_PRIVATE."""
    started: list[Server] = []
    for name, value in FAST.items():
        monkeypatch.setenv(name, value)

    def run(allow: str) -> Server:
        monkeypatch.setenv("ALLOT_WEBHOOK_ALLOW_PRIVATE", allow)
        started.append(Server(f"sqlite:///{tmp_path / 'allot.db'}", tmp_path))
        return started[-1]

    yield run
    for srv in started:
        if srv.proc.poll() is None:
            srv.stop()


def subscribe(api: httpx.Client, url: str) -> httpx.Response:
    return api.post("/v1/webhooks", json={"url": url, "events": ["order_line.promised"], "secret": SECRET})


def an_order(api: httpx.Client, ref: str) -> None:
    for method, path, body in [("PUT", "/v1/channels/web", {"allow_backorder": True, "allow_preorder": True}),
                               ("PUT", "/v1/skus/TEE", {"mode": "backorder"}),
                               ("POST", "/v1/stock/adjustments", {"sku": "TEE", "delta": 10, "reason": "receipt"}),
                               ("POST", "/v1/orders", {"ref": ref, "channel": "web", "lines": [{"sku": "TEE", "qty": 1}]})]:
        assert api.request(method, path, json=body).status_code in (200, 201)


def settled(api: httpx.Client, webhook_id: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found: list[dict[str, Any]] = api.get(f"/v1/webhooks/{webhook_id}/deliveries").json()["deliveries"]
        if found and all(d["attempts"] >= 1 and d["status"] != "sending" for d in found):
            return found
        time.sleep(0.1)
    raise AssertionError("no delivery was attempted")


def test_a_default_installation_refuses_to_register_private_destinations(start: Start) -> None:
    srv = start("")
    port = free_port()
    with srv.client() as api:
        for url in PRIVATE_URLS:
            refused = subscribe(api, url.format(port=port))
            assert refused.status_code == 422 and refused.json()["field"] == "url", (url, refused.text)
        assert api.get("/v1/webhooks").json()["webhooks"] == []


def test_the_destination_is_checked_again_at_delivery_and_refused_deliveries_never_connect(start: Start) -> None:
    hook = Receiver(SECRET)
    srv = start("127.0.0.0/8")
    with srv.client() as api:
        webhook_id = subscribe(api, hook.url).json()["id"]
    srv.stop()

    strict = start("")  # the same webhook, now on an installation that refuses loopback
    with strict.client() as api:
        an_order(api, "W-1")
        found = settled(api, webhook_id)
    assert {(d["last_status"], d["last_error"]) for d in found} == {(None, "destination refused")}
    assert hook.arrived == 0
    hook.close()


def test_the_deliveries_list_names_a_failure_category_not_the_connection_error(start: Start) -> None:
    srv = start("127.0.0.0/8")
    with srv.client() as api:
        webhook_id = subscribe(api, f"http://127.0.0.1:{free_port()}/nobody-listens").json()["id"]
        an_order(api, "W-1")
        found = settled(api, webhook_id)
    assert {d["last_error"] for d in found} == {"connection failed"}


def test_webhook_credentials_and_query_never_reach_the_audit_log_or_the_server_log(start: Start) -> None:
    srv = start("127.0.0.0/8")
    url = f"http://hookuser:hookpass123@127.0.0.1:{free_port()}/in?token=tok456secret"
    with srv.client() as api:
        webhook_id = subscribe(api, url).json()["id"]
        an_order(api, "W-1")
        settled(api, webhook_id)
        audit = api.get("/v1/audit").text
    srv.stop()
    log = next(Path(srv.log.name).parent.glob(f"server-{srv.port}.log")).read_text()
    assert f"http://127.0.0.1:{url.split(':')[-1].split('/')[0]}/in" in audit
    for secret in ("hookuser", "hookpass123", "tok456secret"):
        assert secret not in audit and secret not in log
