"""The push worker: keeps each managed SKU's count in a connected shop equal to max(0, available).

It runs beside the webhook relay — a thread inside `allot serve`, or in `allot worker` processes —
and like the relay does every database step in its own short transaction
(services/shop_push.py) with the HTTP calls between them: a slow or failing shop never holds a
lock a sale needs. A row is claimed under a lease, so two workers never push it at once; a worker
that dies leaves a lease that expires, and the row is pushed again (setting a count twice is
harmless). The quantity is read fresh just before the push, not taken from the event, so a push
after a burst of sales sends the latest figure once.
"""
from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from allot.connectors.shop_clients import stock_client
from allot.connectors.shop_stock import ShopError, ShopStock
from allot.domain.destinations import Destinations
from allot.domain.errors import AllotError
from allot.services import outbox, shop_push, storefronts
from allot.services.availability_batch import availability_of
from allot.services.shop_push import Claimed, Outcome
from allot.services.storefronts import Storefront
from allot.settings import Settings
from allot.store.db import Database

log = logging.getLogger("allot.shop_push")


@dataclass(frozen=True, slots=True)
class PushOptions:
    timeout: float = 10.0  # seconds per HTTP request to the shop
    backoff: float = 2.0  # first retry after about this long, doubling each time
    backoff_max: float = 300.0
    # Seconds between rounds, busy or not (unless a full batch waits): a burst of sales meanwhile
    # becomes one push, and the worker's share of the process stays small beside the sales.
    poll: float = 0.25
    batch: int = 250  # pushes claimed per round (one Shopify mutation holds 250)
    missing_recheck: float = 600.0  # a SKU the shop lacks is looked up again at most this often
    only_loopback: bool = False  # refuse shops not on this machine (the test suite)
    destinations: Destinations | None = None  # the installation's policy for outgoing requests

    @property
    def lease(self) -> timedelta:
        """How long a claimed push stays ours: past the HTTP timeouts and the throttle's patience."""
        return timedelta(seconds=6 * self.timeout + 30)


def options_from(settings: Settings) -> PushOptions:
    return PushOptions(backoff=settings.shop_push_backoff, backoff_max=settings.shop_push_backoff_max,
                       only_loopback=settings.shop_push_loopback_only,
                       destinations=Destinations.from_setting(settings.webhook_allow_private))


def retry_delay(attempt: int, options: PushOptions, rand: Callable[[], float] = random.random) -> float:
    """Exponential back-off with jitter: base·2^(n−1), capped, then a random 50–100 % of it."""
    ceiling = min(options.backoff_max, options.backoff * 2.0 ** (max(attempt, 1) - 1))
    return ceiling * (0.5 + rand() / 2)


def sellable(db: Database, names: Sequence[str], channel: str, now: datetime) -> dict[str, int]:
    """What the shop may sell of each SKU on this channel now: max(0, the channel's available).

    SKUs Allot no longer has are left out.
    """
    found = availability_of(db, list(names), channel, now)["items"]
    return {item["sku"]: max(0, int(item["available"])) for item in found}


class ShopPusher:
    def __init__(self, db: Database, clock: Callable[[], datetime], options: PushOptions,
                 make_client: Callable[[Storefront, float], ShopStock] | None = None) -> None:
        self.db, self.clock, self.options = db, clock, options
        self.make_client = make_client or (lambda sf, t: stock_client(
            sf.platform, sf.credentials, sf.api_base, t, options.only_loopback, options.destinations))
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="allot-shop-push")
        # One client per channel, kept while its connection stays the same: its HTTP connection is
        # reused and Shopify's rate-limit bucket, as last reported, is remembered between rounds.
        self.clients: dict[str, tuple[Storefront, ShopStock]] = {}

    def round(self) -> int:
        """One pass: publish, follow every connected channel's changes, push what is due.

        Returns how many pushes it claimed when that was a full batch (more may wait), else 0.
        """
        # Reads first: a round with nothing to do opens no write transaction (SQLite has one writer).
        with self.db.read() as conn:
            behind = outbox.behind(conn)
            shops = {sf.channel: sf for sf in storefronts.connected(conn) if sf.credentials}
            lagging = shop_push.lagging(conn, shops)
        if behind and shops:  # numbering is the relay's work; here only when a shop waits for it
            with self.db.write() as conn:
                outbox.sequence(conn)
        for channel in sorted(shops if behind else lagging):  # one channel per transaction
            with self.db.write() as conn:
                shop_push.follow(conn, shops[channel], self.clock())
        with self.db.read() as conn:
            if not shops or not shop_push.anything_due(conn, shops, self.clock()):
                return 0
        with self.db.write() as conn:
            claimed = shop_push.claim(conn, shops, self.clock(), self.options.lease, self.options.batch)
        by_channel: dict[str, list[Claimed]] = {}
        for c in claimed:
            by_channel.setdefault(c.channel, []).append(c)
        for outcomes in self.pool.map(lambda ch: self.push(shops[ch], by_channel[ch]), by_channel):
            with self.db.write() as conn:
                shop_push.settle(conn, outcomes, self.clock(), timedelta(seconds=self.options.missing_recheck))
        return len(claimed) if len(claimed) >= self.options.batch else 0

    def push(self, sf: Storefront, claimed: Sequence[Claimed]) -> list[Outcome]:
        """Push one channel's claimed SKUs in as few requests as the platform allows."""
        try:
            client = self._client(sf)
        except ShopError as e:
            return [self._failed(c, str(e)) for c in claimed]
        return self._push(client, sf.channel, claimed)

    def _client(self, sf: Storefront) -> ShopStock:
        kept = self.clients.get(sf.channel)
        if kept is not None and kept[0] == sf:
            return kept[1]
        if kept is not None:
            kept[1].close()
            del self.clients[sf.channel]
        client = self.make_client(sf, self.options.timeout)
        self.clients[sf.channel] = (sf, client)
        return client

    def _push(self, client: ShopStock, channel: str, claimed: Sequence[Claimed]) -> list[Outcome]:
        try:
            quantities = sellable(self.db, [c.sku for c in claimed], channel, self.clock())
        except AllotError as e:  # the channel went away since
            return [self._failed(c, e.detail) for c in claimed]
        outcomes = [self._failed(c, f"Allot has no SKU {c.sku!r}") for c in claimed if c.sku not in quantities]
        todo = [c for c in claimed if c.sku in quantities]
        try:
            unknown = [c.sku for c in todo if c.shop_ref is None]
            found = client.find(unknown) if unknown else {}
            refs = {c.sku: c.shop_ref or (found[c.sku].ref if c.sku in found else None) for c in todo}
            outcomes += [Outcome(c, missing=True) for c in todo if refs[c.sku] is None]
            sending = [c for c in todo if refs[c.sku] is not None]
            refused = client.set([(refs[c.sku], quantities[c.sku]) for c in sending])  # type: ignore[misc]
        except ShopError as e:
            log.info("push to %s failed: %s", channel, e)
            return outcomes + [self._failed(c, str(e)) for c in todo]
        for c in sending:
            ref = refs[c.sku]
            if ref in refused:  # a remembered item the shop no longer knows: look it up again next time
                outcomes.append(self._failed(c, f"{c.sku}: {refused[ref]}"[:500], forget=True))
            else:
                outcomes.append(Outcome(c, quantity=quantities[c.sku], shop_ref=ref))
        return outcomes

    def _failed(self, c: Claimed, error: str, forget: bool = False) -> Outcome:
        retry_at = self.clock() + timedelta(seconds=retry_delay(c.attempts + 1, self.options))
        return Outcome(c, error=error, retry_at=retry_at, shop_ref=None if forget else c.shop_ref)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for _, client in self.clients.values():
            client.close()


class ShopPushThread(threading.Thread):
    """Runs push rounds until stopped; a failing round is logged and the next one retries."""

    def __init__(self, db: Database, clock: Callable[[], datetime], options: PushOptions,
                 stop: threading.Event) -> None:
        super().__init__(name="allot-shop-push", daemon=True)
        self.pusher = ShopPusher(db, clock, options)
        self.options, self.stop = options, stop

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    busy = self.pusher.round()
                except Exception:
                    log.exception("shop push round failed")
                    busy = 0
                if not busy:
                    self.stop.wait(self.options.poll)
        finally:
            self.pusher.close()
