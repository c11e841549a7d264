"""Slowloris: a client that sends its headers or its body a byte at a time cannot hold a connection
(and a slot of the server) for longer than the header or body timeout."""
from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator

import pytest

from tests.conftest import ADMIN_KEY, Server

TIMEOUT = 2.0  # ALLOT_HEADER_TIMEOUT and ALLOT_BODY_TIMEOUT in these tests


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALLOT_HEADER_TIMEOUT", str(TIMEOUT))
        mp.setenv("ALLOT_BODY_TIMEOUT", str(TIMEOUT))
        tmp = tmp_path_factory.mktemp("slow")
        srv = Server(f"sqlite:///{tmp / 'allot.db'}", tmp)
    yield srv
    srv.stop()


def dribble(server: Server, head: bytes, every: float = 0.5, limit: float = 15.0) -> tuple[float, bytes]:
    """Send every byte of `head` `every` seconds apart until the server answers or hangs up; return
    how long that took, and what it answered."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        started = time.monotonic()
        for byte in head:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(every)
            assert time.monotonic() - started < limit, "the server never cut the slow client off"
        answer = b""
        sock.settimeout(limit)
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
        return time.monotonic() - started, answer


def test_headers_sent_a_byte_at_a_time_are_cut_off_after_the_header_timeout(server: Server) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 100 + b"\r\n\r\n"
    took, answer = dribble(server, head)
    assert took < TIMEOUT + 1.5
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(server: Server) -> None:
    took, answer = dribble(server, b"")
    assert took < TIMEOUT + 1.0 and answer.startswith(b"HTTP/1.1 408 ")


def test_a_body_sent_a_byte_a_second_is_cut_off_after_the_body_timeout(server: Server) -> None:
    body = b'{"ref": "SLOW-1", "channel": "web", "lines": [{"sku": "TEE", "qty": 1}]}'
    head = (f"POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head)  # the headers arrive at once; then the body crawls
        started = time.monotonic()
        answer = b""
        for byte in body:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(1.0)
            assert time.monotonic() - started < 15, "the server never cut the slow body off"
        sock.settimeout(5)
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
        took = time.monotonic() - started
    assert took < TIMEOUT + 2.5
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_normal_request_on_a_kept_alive_connection_is_unaffected(server: Server) -> None:
    with server.client() as api:
        for _ in range(3):
            assert api.get("/healthz").status_code == 200
            time.sleep(TIMEOUT * 0.6)  # idle between requests, each well inside the timeouts
        assert api.get("/healthz").status_code == 200


def test_uvicorn_keep_alive_closes_an_idle_connection(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(30)
        started = time.monotonic()
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        assert data.startswith(b"HTTP/1.1 200 ") and time.monotonic() - started < 10



def test_a_request_with_megabytes_of_headers_is_refused_with_431(server: Server) -> None:
    filler = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 1000) for i in range(2000))  # 2 MB
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.settimeout(10)
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + filler + b"\r\n")
        except OSError:
            pass  # the server hung up before taking it all
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_a_body_larger_than_the_header_cap_is_not_mistaken_for_headers(server: Server) -> None:
    lines = [{"sku": f"SKU-{n:05d}", "qty": 1, "expected_date": "2030-01-01"} for n in range(900)]  # ~80 kB
    with server.client() as api:
        answer = api.post("/v1/purchase-orders", json={"ref": "BIG-1", "lines": lines})
    assert answer.status_code != 431 and answer.headers["content-type"].startswith("application/")
