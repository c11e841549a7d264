"""uvicorn's HTTP/1.1 protocol with the two deadlines uvicorn lacks (slowloris).

uvicorn closes an idle kept-alive connection (`timeout_keep_alive`), but a client that sends its
headers, or its body, one byte at a time holds a connection and a request task for as long as it
likes. Here a request's headers must arrive within `header_timeout` of its first byte (of the
connection, for the first request) and its body within `body_timeout` of the headers, or the client
gets 408 and the connection is closed. Timers live on the event loop: no cost per body chunk.
"""
from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

TYPE = "https://allot.dev/problems/request_timeout"


def _answer_408(what: str) -> bytes:
    body = json.dumps({"type": TYPE, "code": "request_timeout", "title": "Request timeout", "status": 408,
                       "detail": f"the request's {what} did not arrive in time"}).encode()
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class TimelyHttp(HttpToolsProtocol):
    def __init__(self, *args: Any, header_timeout: float = 10.0, body_timeout: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout, self.body_timeout = header_timeout, body_timeout
        self._deadline: asyncio.TimerHandle | None = None

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

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a further request on a kept-alive connection
            self._arm(self.header_timeout, "headers")

    def on_headers_complete(self) -> None:
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
        if cycle is None or not cycle.response_started:
            self.transport.write(_answer_408(what))
        if cycle is not None:  # the app waiting for the rest of the body hears that the client left
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()


def protocol(header_timeout: float, body_timeout: float) -> partial[TimelyHttp]:
    """What `uvicorn.run(http=...)` takes; a partial of a module-level class, so it pickles for --workers."""
    return partial(TimelyHttp, header_timeout=header_timeout, body_timeout=body_timeout)
