"""Whole-shop work on demand: compare every managed SKU with the shop (`allot shop check`), or push
every one now (`allot shop push`). Same steps as the worker, in big batches, outside any transaction."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, func, select, update

from allot.connectors.shop_clients import stock_client
from allot.connectors.shop_stock import ShopItem, chunks
from allot.domain.destinations import Destinations
from allot.services import shop_push
from allot.services.availability_batch import availability_of
from allot.services.storefronts import Storefront
from allot.store.db import Database
from allot.store.tables import shop_push_channels, shop_pushes, skus

P = shop_pushes.c
STEP = 250


@dataclass(frozen=True, slots=True)
class Difference:
    """One managed SKU as the shop has it and as Allot would push it."""

    sku: str
    in_shop: bool
    shop: int | None
    allot: int

    @property
    def change(self) -> int | None:
        """What a push would change the shop's count by (None: the shop has no such SKU)."""
        return None if not self.in_shop else self.allot - (self.shop or 0)


def managed(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(skus.c.sku).order_by(skus.c.sku)).scalars())


def sellable_all(db: Database, channel: str, names: Sequence[str], now: datetime) -> dict[str, int]:
    """max(0, available) of each SKU on the channel: one query per 500 SKUs (availability_batch)."""
    found: dict[str, int] = {}
    for part in chunks(list(names), 500):
        for item in availability_of(db, list(part), channel, now)["items"]:
            found[item["sku"]] = max(0, int(item["available"]))
    return found


def check(db: Database, sf: Storefront, now: datetime, only_loopback: bool = False,
          destinations: Destinations | None = None) -> list[Difference]:
    """Every managed SKU beside the shop's count for it; nothing is changed anywhere."""
    names = managed(db)
    allot = sellable_all(db, sf.channel, names, now)
    shop = stock_client(sf.platform, sf.credentials, sf.api_base, only_loopback=only_loopback,
                        destinations=destinations)
    try:
        found = shop.find(names, counts=True)
    finally:
        shop.close()
    return [Difference(n, n in found, found[n].quantity if n in found else None, allot[n]) for n in names]


def push_all(db: Database, sf: Storefront, now: datetime, advance: Callable[[int, int], None],
             only_loopback: bool = False, destinations: Destinations | None = None) -> dict[str, int]:
    """Set every managed SKU's count in the shop now; `advance(done, total)` reports progress.

    Changes made while it runs stay due, so the worker pushes them after it.
    """
    with db.write() as conn:
        shop_push.follow(conn, sf, now)  # the worker's cursor starts here if it had not seen the channel
    names = managed(db)
    with db.read() as conn:
        rows = {r.sku: r for r in conn.execute(select(P.sku, P.wanted, P.shop_ref).where(P.channel == sf.channel))}
    known = {n: rows[n].shop_ref for n in names if n in rows and rows[n].shop_ref}
    unknown = [n for n in names if n not in known]
    total, done = len(unknown) + len(names), 0
    client = stock_client(sf.platform, sf.credentials, sf.api_base, only_loopback=only_loopback,
                          destinations=destinations)
    found: dict[str, ShopItem] = {}
    refused: dict[str, str] = {}
    reading = ThreadPoolExecutor(max_workers=1)
    allot_counts = reading.submit(sellable_all, db, sf.channel, names, now)  # while the shop is asked
    try:
        for part in chunks(unknown, STEP):
            found.update(client.find(part))
            done += len(part)
            advance(done, total)
        refs = known | {n: item.ref for n, item in found.items()}
        allot = allot_counts.result()
        done += len(names) - len(refs)
        for part in chunks([n for n in names if n in refs and n in allot], STEP):
            refused.update(client.set([(refs[n], allot[n]) for n in part]))
            done += len(part)
            advance(done, total)
    finally:
        client.close()
        reading.shutdown(wait=True)
    _record(db, sf.channel, names, refs, refused, allot, {n: r.wanted for n, r in rows.items()}, now)
    return {"pushed": len(refs) - len(refused), "missing": len(names) - len(refs), "refused": len(refused)}


def _record(db: Database, channel: str, names: list[str], refs: dict[str, str], refused: dict[str, str],
            allot: dict[str, int], wanted: dict[str, int], now: datetime) -> None:
    """What the push did, as the worker would have recorded it (a row settled to the version read)."""
    rows = []
    for n in names:
        ref = refs.get(n)
        ok = ref is not None and ref not in refused and n in allot
        rows.append({"_sku": n, "_missing": ref is None, "_ref": ref if ok else None,
                     "_error": refused.get(ref) if ref else None, "_quantity": allot.get(n) if ok else None,
                     "_at": now if ok else None, "_settles": wanted.get(n, 0) if ok or ref is None else 0})
    settle = (update(shop_pushes).where(P.channel == channel, P.sku == bindparam("_sku"))
              .values(missing=bindparam("_missing"), shop_ref=bindparam("_ref"), last_error=bindparam("_error"),
                      quantity=func.coalesce(bindparam("_quantity"), P.quantity),
                      pushed_at=func.coalesce(bindparam("_at"), P.pushed_at),
                      pushed=case((P.pushed < bindparam("_settles"), bindparam("_settles")), else_=P.pushed)))
    with db.write() as conn:
        shop_push.ensure(conn, channel, [n for n in names if n not in wanted], now)
        for part in chunks(rows, 1000):
            conn.execute(settle, list(part))
        conn.execute(update(shop_push_channels).where(shop_push_channels.c.channel == channel)
                     .values(last_push_at=now))
