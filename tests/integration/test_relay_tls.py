"""The relay connects to the address it checked, yet an https receiver is still reached by name: SNI
and the certificate check use the URL's host, and the receiver sees its own name in `Host`."""
from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from allot.domain.destinations import Destinations
from allot.services.deliveries import Claim
from allot.workers.relay import Relay, RelayOptions
from tests.conftest import IN_CI, sqlite_db


def certificate(tmp: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        if IN_CI:
            pytest.fail("openssl is needed to make a test certificate")
        pytest.skip("no openssl to make a test certificate")
    key, cert = tmp / "key.pem", tmp / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return key, cert


class TlsReceiver:
    def __init__(self, key: Path, cert: Path) -> None:
        self.hosts: list[str] = []
        self.sni: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.hosts.append(self.headers.get("Host", ""))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda _sock, name, _ctx: receiver.sni.append(name)  # type: ignore[func-returns-value]
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[Relay]:
    db = sqlite_db(tmp_path / "allot.db")
    worker = Relay(db, lambda: datetime.now(UTC), RelayOptions(timeout=5, destinations=Destinations.from_setting("1")))
    yield worker
    worker.close()
    db.dispose()


def send(relay: Relay, url: str) -> tuple[int | None, str | None]:
    claimed = Claim(1, 1, 1, 1, url, "whsec_tls_0123456789abcdef", 1, "order_line.promised", b"{}")
    return asyncio.run_coroutine_threadsafe(relay.send(claimed), relay.loop).result(10)


def test_an_https_receiver_is_reached_by_name_through_the_checked_address(relay: Relay, tmp_path: Path) -> None:
    key, cert = certificate(tmp_path)
    receiver = TlsReceiver(key, cert)
    trusting = ssl.create_default_context(cafile=str(cert))
    relay.http = httpx.AsyncClient(verify=trusting, follow_redirects=False, trust_env=False)
    try:
        assert send(relay, f"https://localhost:{receiver.port}/hook") == (204, None)
        assert receiver.sni == ["localhost"] and receiver.hosts == [f"localhost:{receiver.port}"]
        # the same receiver by address: the certificate names localhost, not 127.0.0.1
        assert send(relay, f"https://127.0.0.1:{receiver.port}/hook") == (None, "connection failed")
    finally:
        receiver.close()
