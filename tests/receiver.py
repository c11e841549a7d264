"""A real webhook receiver on 127.0.0.1: records every request, verifies its signature, answers as told."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from allot.domain import signature


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    status: int
    verified: bool

    @property
    def event(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.body)
        return found


def always(status: int) -> Callable[[int], int]:
    return lambda _n: status


def fail_first(times: int) -> Callable[[int], int]:
    """Answer 500 to the first `times` requests, then 200."""
    return lambda n: 500 if n < times else 200


OK = always(200)  # the default answer, made once (a call in a default is evaluated once anyway)


class Receiver:
    def __init__(self, secret: str, answer: Callable[[int], int] = OK, *, port: int = 0,
                 delay: float = 0.0, clock: Callable[[], float] = time.time) -> None:
        self.secret, self.answer, self.delay, self.clock = secret, answer, delay, clock
        self.received: list[Received] = []
        self.arrived = 0  # requests that reached the handler, answered or not
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.arrived += 1
                if receiver.delay:
                    time.sleep(receiver.delay)
                receiver._record(dict(self.headers.items()), body, self)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def _record(self, headers: dict[str, str], body: bytes, handler: BaseHTTPRequestHandler) -> None:
        verified = signature.verify(self.secret, headers.get(signature.HEADER, ""), body, int(self.clock()))
        with self._lock:
            status = self.answer(len(self.received))
            self.received.append(Received(headers, body, status, verified))
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    @property
    def acknowledged(self) -> list[dict[str, Any]]:
        """The events this receiver answered 2xx to, in the order it got them."""
        with self._lock:
            return [r.event for r in self.received if 200 <= r.status < 300]

    def wait_for(self, count: int, timeout: float = 30.0, *, after: int = 0) -> list[dict[str, Any]]:
        """The acknowledged events once there are `count` of them (among requests after the first `after`)."""
        deadline = time.monotonic() + timeout
        while len(self.acknowledged_after(after)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.acknowledged_after(after)

    def acknowledged_after(self, first: int) -> list[dict[str, Any]]:
        with self._lock:
            return [r.event for r in self.received[first:] if 200 <= r.status < 300]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Misbehaving:
    """A receiver that answers every POST with `answer(handler)`: a trickle, a flood, whatever the test needs.

    `connections` counts the requests that arrived; `cut_off` holds how long each lasted before the
    client went away (the answer's write failed).
    """

    def __init__(self, answer: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.answer = answer
        self.connections = 0
        self.cut_off: list[float] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.connections += 1
                started = time.monotonic()
                try:
                    receiver.answer(self)
                except OSError:  # the client hung up
                    with receiver._lock:
                        receiver.cut_off.append(time.monotonic() - started)
                self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def trickle(every: float = 2.0) -> Callable[[BaseHTTPRequestHandler], None]:
    """A 200 answer sent one byte every `every` seconds, status line included: no single read ever waits
    long enough for a per-read timeout."""
    def answer(handler: BaseHTTPRequestHandler) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(every)
    return answer


def flood(size: int = 300 * 1024 * 1024, chunk: int = 1024 * 1024) -> Callable[[BaseHTTPRequestHandler], None]:
    """A 200 answer of `size` bytes, generated as it is sent (never held in memory)."""
    block = b"\0" * chunk

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        for _ in range(size // chunk):
            handler.wfile.write(block)
    return answer
