"""Failed API keys and dashboard sign-ins, counted per client address: too many in a minute, refused for a while.

In-process and in memory (each server process counts its own failures; several processes allow that
many times the limit, which still turns guessing from thousands a second into a trickle). Loopback
clients are not counted unless ALLOT_THROTTLE_LOOPBACK=on: behind a local proxy that is not named in
--forwarded-allow-ips every client looks like 127.0.0.1, and one guesser would lock everyone out.
"""
from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from allot.api.problems import problem

WINDOW = 60.0
MAX_ADDRESSES = 10_000  # the oldest address is forgotten first: memory stays bounded under a spray of addresses
log = logging.getLogger("allot.auth")


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed attempts from this address; try again in {retry_after} s")
        self.retry_after = retry_after


class Throttle:
    def __init__(self, limit: int, loopback: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.loopback, self._clock = limit, loopback, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, address: str | None) -> None:
        """Raise Throttled while the address has had `limit` failures in the last minute."""
        wait = self._wait(address)
        if wait:
            raise Throttled(wait)

    def failed(self, address: str | None, what: str) -> None:
        """Count a failure (and log it, with the address; never the secret tried)."""
        log.warning("%s from %s", what, address or "unknown address")
        if not self._counted(address):
            return
        assert address is not None
        now = self._clock()
        with self._lock:
            seen = self._failures.pop(address, None) or deque()
            self._failures[address] = seen  # most recent last
            _forget_before(seen, now - WINDOW)
            seen.append(now)
            if len(seen) == self.limit:
                log.warning("throttling %s: %d failed attempts in %d s", address, self.limit, WINDOW)
            while len(self._failures) > MAX_ADDRESSES:
                self._failures.popitem(last=False)

    def _wait(self, address: str | None) -> int:
        if not self._counted(address):
            return 0
        assert address is not None
        now = self._clock()
        with self._lock:
            seen = self._failures.get(address)
            if not seen:
                return 0
            _forget_before(seen, now - WINDOW)
            if len(seen) < self.limit:
                return 0
            return max(1, math.ceil(seen[len(seen) - self.limit] + WINDOW - now))

    def _counted(self, address: str | None) -> bool:
        if self.limit <= 0 or not address:
            return False
        if self.loopback:
            return True
        try:
            return not ipaddress.ip_address(address).is_loopback
        except ValueError:
            return True


def _forget_before(seen: deque[float], cutoff: float) -> None:
    while seen and seen[0] <= cutoff:
        seen.popleft()


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def install(app: FastAPI, limit: int, loopback: bool) -> None:
    """The app's throttle, and its answer: 429 problem+json with Retry-After."""
    app.state.auth_throttle = Throttle(limit, loopback)

    @app.exception_handler(Throttled)
    async def _throttled(_: Request, exc: Throttled) -> JSONResponse:
        return problem(429, "too_many_requests", "Too many requests", str(exc),
                       headers={"Retry-After": str(exc.retry_after)})
