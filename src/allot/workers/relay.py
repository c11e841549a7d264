"""The webhook relay: publishes committed events, fans them out, and delivers them over HTTP.

It runs as a thread inside `allot serve` (unless ALLOT_RELAY=off) and as `allot worker`. Every
database step is its own short transaction (services/deliveries.py); the HTTP calls happen
between them, never inside one, and never in a request's transaction — so a slow or dead
receiver costs the hold and order path nothing. Delivery is at least once: a worker that dies
mid-delivery leaves a lease that expires, and the delivery is sent again.
"""
from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from allot.domain import signature
from allot.services import deliveries, outbox
from allot.services.deliveries import Claim
from allot.settings import Settings
from allot.store.db import Database

log = logging.getLogger("allot.relay")
USER_AGENT = "allot-webhooks/1"


@dataclass(frozen=True, slots=True)
class RelayOptions:
    timeout: float = 10.0  # seconds per HTTP attempt
    backoff: float = 10.0  # first retry after about this long, doubling each time
    backoff_max: float = 3600.0
    concurrency: int = 8  # deliveries in flight per worker
    poll: float = 0.5  # seconds between rounds when there is nothing to do

    @property
    def lease(self) -> timedelta:
        """How long a claimed delivery stays ours: well past the HTTP timeout."""
        return timedelta(seconds=3 * self.timeout)


def retry_delay(attempt: int, options: RelayOptions, rand: Callable[[], float] = random.random) -> float:
    """Exponential back-off with jitter: base·2^(n−1), capped, then a random 50–100 % of it."""
    ceiling = min(options.backoff_max, options.backoff * 2.0 ** (attempt - 1))
    return ceiling * (0.5 + rand() / 2)


def options_from(settings: Settings) -> RelayOptions:
    return RelayOptions(settings.webhook_timeout, settings.webhook_backoff, settings.webhook_backoff_max,
                        settings.relay_concurrency, settings.relay_poll)


class Relay:
    def __init__(self, db: Database, clock: Callable[[], datetime], options: RelayOptions) -> None:
        self.db, self.clock, self.options = db, clock, options
        self.http = httpx.Client(timeout=options.timeout, headers={"User-Agent": USER_AGENT})
        self.pool = ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="allot-delivery")

    def round(self) -> int:
        """One pass: publish, fan out, deliver what is due; returns how much work it found."""
        return self.publish() + self.fan_out() + self.deliver()

    def publish(self) -> int:
        with self.db.read() as conn:
            if not outbox.behind(conn):
                return 0
        with self.db.write() as conn:
            return outbox.sequence(conn)

    def fan_out(self) -> int:
        with self.db.read() as conn:
            ids = deliveries.live_webhooks(conn)
        passed = 0
        for webhook_id in ids:  # one webhook per transaction: a busy one never holds up the others
            with self.db.write() as conn:
                passed += deliveries.fan_out(conn, webhook_id, self.clock())
        return passed

    def deliver(self) -> int:
        with self.db.write() as conn:
            claimed = deliveries.claim(conn, self.clock(), self.options.lease, self.options.concurrency)
        for _ in self.pool.map(self._send_and_settle, claimed):
            pass
        return len(claimed)

    def _send_and_settle(self, claimed: Claim) -> None:
        status, error = self.send(claimed)
        now = self.clock()
        retry_at = now + timedelta(seconds=retry_delay(claimed.attempt, self.options))
        with self.db.write() as conn:
            outcome = deliveries.settle(conn, claimed, now, status=status, error=error, retry_at=retry_at)
        if outcome != "delivered":
            log.info("delivery %s to %s: %s (attempt %s)", claimed.id, claimed.url, error or status, claimed.attempt)

    def send(self, claimed: Claim) -> tuple[int | None, str | None]:
        """POST the signed body; the answer's status, or why there was none."""
        stamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            signature.HEADER: signature.sign(claimed.secret, stamp, claimed.body),
            "Allot-Event-Id": str(claimed.event_id),
            "Allot-Event-Type": claimed.event_type,
            "Allot-Delivery-Id": str(claimed.id),
        }
        try:
            response = self.http.post(claimed.url, content=claimed.body, headers=headers)
        except httpx.HTTPError as e:
            return None, f"{type(e).__name__}: {e}"[:500]
        error = None if response.is_success else f"HTTP {response.status_code}"
        return response.status_code, error

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.http.close()


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
                if not busy:
                    self.stop.wait(self.options.poll)
        finally:
            self.relay.close()
