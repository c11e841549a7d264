"""uvicorn's HTTP/1.1 protocol with the two deadlines uvicorn lacks (slowloris).

uvicorn closes an idle kept-alive connection (`timeout_keep_alive`), but a client that sends its
headers, or its body, one byte at a time holds a connection and a request task for as long as it
likes. Here a request's headers must arrive within `header_timeout` of its first byte (of the
connection, for the first request) and its body within `body_timeout` of the headers, or the client
gets 408 and the connection is closed. Timers live on the event loop: no cost per body chunk.
A request's headers are also capped at MAX_HEAD_BYTES (431): httptools sets no limit, and 20 MB of
headers were taken whole.
"""
from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024  # request line and headers; an API key and a cookie need a few hundred bytes


def _answer(status: int, reason: str, code: str, detail: str) -> bytes:
    """A problem+json answer written straight to the socket: the request never reached the app."""
    body = json.dumps({"type": f"https://allot.dev/problems/{code}", "code": code, "title": reason.capitalize(),
                       "status": status, "detail": detail}).encode()
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


class TimelyHttp(HttpToolsProtocol):
    def __init__(self, *args: Any, header_timeout: float = 10.0, body_timeout: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout, self.body_timeout = header_timeout, body_timeout
        self._deadline: asyncio.TimerHandle | None = None
        self._head_bytes: int | None = 0  # bytes of the current request's head so far; None once it is complete

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow, what)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_bytes is not None:
            self._head_bytes += len(data)
        super().data_received(data)
        # Still no end of the head (the chunk may also have carried a body: only an unfinished head counts).
        if self._head_bytes is not None and self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
            self._refuse(_answer(431, "Request Header Fields Too Large", "headers_too_large",
                                 f"the request line and headers exceed {MAX_HEAD_BYTES} bytes"))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        if self._deadline is None:  # a further request on a kept-alive connection
            self._arm(self.header_timeout, "headers")

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        self._arm(self.body_timeout, "body")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _too_slow(self, what: str) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle if what == "body" else None
        answer = _answer(408, "Request Timeout", "request_timeout", f"the request's {what} did not arrive in time")
        if cycle is None:
            self._refuse(answer)
            return
        if not cycle.response_started:
            self.transport.write(answer)
        cycle.disconnected = True  # the app waiting for the rest of the body hears that the client left
        cycle.message_event.set()
        self.transport.close()

    def _refuse(self, answer: bytes) -> None:
        self._disarm()
        self.transport.write(answer)
        self.transport.close()


def protocol(header_timeout: float, body_timeout: float) -> partial[TimelyHttp]:
    """What `uvicorn.run(http=...)` takes; a partial of a module-level class, so it pickles for --workers."""
    return partial(TimelyHttp, header_timeout=header_timeout, body_timeout=body_timeout)
