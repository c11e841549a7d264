"""The webhook relay: publishes committed events, fans them out, and delivers them over HTTP.

It runs as a thread inside `allot serve` (unless ALLOT_RELAY=off) and as `allot worker`. Every
database step is its own short transaction (services/deliveries.py); the HTTP calls happen
between them, never inside one, and never in a request's transaction — so a slow or dead
receiver costs the hold and order path nothing. Delivery is at least once: a worker that dies
mid-delivery leaves a lease that expires, and the delivery is sent again.
"""
from __future__ import annotations

import asyncio
import logging
import random
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from allot.domain import signature
from allot.domain.destinations import Destinations, Refused, redact
from allot.services import deliveries, outbox
from allot.services.deliveries import Claim
from allot.settings import Settings
from allot.store.db import Database

log = logging.getLogger("allot.relay")
USER_AGENT = "allot-webhooks/1"
ANSWER_BYTES = 4096  # enough to end a small answer (so the connection is reused); nothing more is read


@dataclass(frozen=True, slots=True)
class RelayOptions:
    timeout: float = 10.0  # seconds per HTTP attempt, from resolving the name to the last byte read
    backoff: float = 10.0  # first retry after about this long, doubling each time
    backoff_max: float = 3600.0
    concurrency: int = 16  # deliveries in flight per worker
    poll: float = 0.5  # seconds between rounds when there is nothing to do
    destinations: Destinations = field(default_factory=Destinations)  # public addresses only, by default
    # After a round that found less than a full batch: under a steady stream of sales, numbering the
    # events 20 times a second in batches costs far less than a transaction per batch of sales
    # (docs/performance.md); a settled delivery still starts the next round at once.
    pace: float = 0.05

    @property
    def lease(self) -> timedelta:
        """How long a claimed delivery stays ours: well past the attempt's deadline."""
        return timedelta(seconds=3 * self.timeout)

    @property
    def per_webhook(self) -> int:
        """In flight for one webhook at most: a slow receiver can never take every slot."""
        return max(1, self.concurrency // 4)


def retry_delay(attempt: int, options: RelayOptions, rand: Callable[[], float] = random.random) -> float:
    """Exponential back-off with jitter: base·2^(n−1), capped, then a random 50–100 % of it."""
    ceiling = min(options.backoff_max, options.backoff * 2.0 ** (attempt - 1))
    return ceiling * (0.5 + rand() / 2)


def options_from(settings: Settings) -> RelayOptions:
    return RelayOptions(settings.webhook_timeout, settings.webhook_backoff, settings.webhook_backoff_max,
                        settings.relay_concurrency, settings.relay_poll,
                        Destinations.from_setting(settings.webhook_allow_private))


class Relay:
    """Rounds run on the caller's thread; the HTTP attempts run concurrently on the relay's own event
    loop, each under one deadline, and settle themselves: a round never waits for a delivery."""

    def __init__(self, db: Database, clock: Callable[[], datetime], options: RelayOptions) -> None:
        self.db, self.clock, self.options = db, clock, options
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self.loop.run_forever, name="allot-delivery", daemon=True)
        self._loop_thread.start()
        # No redirects and no proxy from the environment: either would send the body past the address check.
        self.http = httpx.AsyncClient(timeout=options.timeout, headers={"User-Agent": USER_AGENT},
                                      follow_redirects=False, trust_env=False)
        self._in_flight: dict[int, int] = {}  # delivery id -> webhook id
        self._futures: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._turn = 0
        self._settled = threading.Event()  # a slot came free

    def round(self) -> int:
        """One pass: publish, fan out, start what is due; returns how much work it found."""
        return self.publish() + self.fan_out() + self.deliver()

    def publish(self) -> int:
        return outbox.publish(self.db)

    def fan_out(self) -> int:
        with self.db.read() as conn:
            ids = deliveries.live_webhooks(conn)
        passed = 0
        for webhook_id in ids:  # one webhook per transaction: a busy one never holds up the others
            with self.db.write() as conn:
                passed += deliveries.fan_out(conn, webhook_id, self.clock())
        return passed

    def deliver(self) -> int:
        """Claim due deliveries into the free slots, each webhook up to its share, starting with a
        different webhook each round so none is always last."""
        with self._lock:
            free = self.options.concurrency - len(self._in_flight)
            busy: dict[int, int] = {}
            for webhook_id in self._in_flight.values():
                busy[webhook_id] = busy.get(webhook_id, 0) + 1
        if free <= 0:
            return 0
        now = self.clock()
        with self.db.read() as conn:
            ids = [w for w in deliveries.due_webhooks(conn, now) if busy.get(w, 0) < self.options.per_webhook]
        if not ids:  # no write transaction (on SQLite, the write lock) when there is nothing to take
            return 0
        self._turn += 1
        ids = ids[self._turn % len(ids):] + ids[:self._turn % len(ids)]
        claimed: list[Claim] = []
        with self.db.write() as conn:
            for webhook_id in ids:
                room = min(free - len(claimed), self.options.per_webhook - busy.get(webhook_id, 0))
                if room > 0:
                    claimed += deliveries.claim(conn, now, self.options.lease, room, webhook_id)
        for one in claimed:
            self._start(one)
        return len(claimed)

    def _start(self, claimed: Claim) -> None:
        with self._lock:
            self._in_flight[claimed.id] = claimed.webhook_id
        future = asyncio.run_coroutine_threadsafe(self._attempt(claimed), self.loop)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(lambda f: self._finished(claimed.id, f))

    def _finished(self, delivery_id: int, future: Future[None]) -> None:
        with self._lock:
            self._in_flight.pop(delivery_id, None)
            self._futures.discard(future)
        self._settled.set()
        if not future.cancelled() and future.exception() is not None:
            log.error("delivery %s failed to settle (its lease will expire and it is sent again)",
                      delivery_id, exc_info=future.exception())

    async def _attempt(self, claimed: Claim) -> None:
        status, error = await self.send(claimed)
        await asyncio.to_thread(self._settle, claimed, status, error)

    def _settle(self, claimed: Claim, status: int | None, error: str | None) -> None:
        now = self.clock()
        retry_at = now + timedelta(seconds=retry_delay(claimed.attempt, self.options))
        with self.db.write() as conn:
            outcome = deliveries.settle(conn, claimed, now, status=status, error=error, retry_at=retry_at)
        if outcome != "delivered":
            log.info("delivery %s to %s: %s (attempt %s)", claimed.id, redact(claimed.url), error or status,
                     claimed.attempt)

    async def send(self, claimed: Claim) -> tuple[int | None, str | None]:
        """POST the signed body within the deadline; the answer's status, or why there was none (a category:
        the deliveries list must not tell what answers at a private address)."""
        try:
            async with asyncio.timeout(self.options.timeout):
                return await self._post(claimed)
        except TimeoutError:
            return None, "timed out"
        except Refused:
            return None, "destination refused"
        except (socket.gaierror, UnicodeError):
            return None, "name not resolved"
        except httpx.ConnectError:
            return None, "connection failed"
        except httpx.TimeoutException:
            return None, "timed out"
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError):
            return None, "request failed"

    async def _post(self, claimed: Claim) -> tuple[int | None, str | None]:
        url = httpx.URL(claimed.url)
        addresses = await self._resolve(url)
        stamp = int(self.clock().timestamp())
        headers = {
            "Host": url.netloc.decode("ascii"),
            "Content-Type": "application/json",
            signature.HEADER: signature.sign(claimed.secret, stamp, claimed.body),
            "Allot-Event-Id": str(claimed.event_id),
            "Allot-Event-Type": claimed.event_type,
            "Allot-Delivery-Id": str(claimed.id),
        }
        response = await self._connect(url, addresses, headers, claimed.body)
        try:
            await _read_some(response)
        finally:
            await response.aclose()
        return response.status_code, None if response.is_success else f"HTTP {response.status_code}"

    async def _connect(self, url: httpx.URL, addresses: list[str], headers: dict[str, str],
                       body: bytes) -> httpx.Response:
        """Send to an address just checked (a second lookup could answer differently: DNS rebinding), the
        next one if it refuses the connection; TLS still verifies the certificate against the name."""
        extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
        for address in addresses[:-1]:
            try:
                return await self._send_to(url, address, headers, body, extensions)
            except httpx.ConnectError:
                continue
        return await self._send_to(url, addresses[-1], headers, body, extensions)

    async def _send_to(self, url: httpx.URL, address: str, headers: dict[str, str], body: bytes,
                       extensions: dict[str, str]) -> httpx.Response:
        request = self.http.build_request("POST", url.copy_with(host=address), content=body, headers=headers,
                                          extensions=extensions)
        return await self.http.send(request, stream=True)

    async def _resolve(self, url: httpx.URL) -> list[str]:
        port = url.port or (443 if url.scheme == "https" else 80)
        found = await self.loop.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
        return self.options.destinations.check([str(info[4][0]) for info in found])

    def pause(self, seconds: float) -> None:
        """Between idle rounds: until a delivery settles (its slot may take the next one) or `seconds` pass."""
        self._settled.wait(seconds)
        self._settled.clear()

    def wait(self, timeout: float = 60.0) -> None:
        """Until every delivery started so far has settled (tests; shutting down)."""
        with self._lock:
            pending = list(self._futures)
        for future in pending:
            try:
                future.result(timeout)
            except Exception:  # noqa: BLE001, S110 - logged by _finished
                pass

    def close(self) -> None:
        self.wait(self.options.timeout + 5)
        asyncio.run_coroutine_threadsafe(self.http.aclose(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._loop_thread.join(5)
        self.loop.close()


async def _read_some(response: httpx.Response) -> None:
    """Read at most ANSWER_BYTES of the answer: nobody reads it, and a huge one must cost nothing."""
    seen = 0
    async for chunk in response.aiter_raw():
        seen += len(chunk)
        if seen >= ANSWER_BYTES:
            return


class RelayThread(threading.Thread):
    """Runs rounds until stopped; a failing round is logged and the next one retries."""

    def __init__(self, db: Database, clock: Callable[[], datetime], options: RelayOptions,
                 stop: threading.Event) -> None:
        super().__init__(name="allot-relay", daemon=True)
        self.relay = Relay(db, clock, options)
        self.options, self.stop = options, stop

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    busy = self.relay.round()
                except Exception:
                    log.exception("relay round failed")
                    busy = 0
                if busy < outbox.BATCH:
                    self.relay.pause(self.options.poll if not busy else self.options.pace)
        finally:
            self.relay.close()
