"""For any story of sales, receipts, outages and worker rounds, once the shop answers again and the
worker has caught up, the shop's count is Allot's — and the shop got no more pushes than rounds."""
from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allot.services import reports, storefronts
from allot.workers.shop_push import PushOptions, ShopPusher
from tests.conftest import sqlite_db
from tests.factories import channel, receive, sku
from tests.properties import examples
from tests.shop_standins import ShopifyStandIn

TOKEN = "shpat_property-token"
STEPS = st.lists(st.one_of(st.tuples(st.just("sell"), st.integers(1, 3)),
                           st.tuples(st.just("receive"), st.integers(1, 5)),
                           st.tuples(st.just("round"), st.just(0)),
                           st.tuples(st.just("down"), st.just(0)),
                           st.tuples(st.just("up"), st.just(0))), max_size=25)


@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_the_shop_always_converges_to_allots_count(steps: list[tuple[str, int]]) -> None:
    now = [datetime(2026, 11, 23, 12, 0, tzinfo=UTC)]
    shop = ShopifyStandIn(TOKEN)
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite_db(Path(tmp) / "allot.db")
        pusher = ShopPusher(db, lambda: now[0], PushOptions(backoff=1.0, backoff_max=4.0))
        try:
            with db.write() as conn:
                channel(conn, "web", now[0], allow_backorder=False, allow_preorder=False)
                sku(conn, "LAMP", now[0], mode="stock")
                receive(conn, "LAMP", 5, now[0])
                storefronts.connect(conn, "web", "shopify", "s", {"shop": "p.myshopify.com", "admin_token": TOKEN,
                                                                  "location_id": "1", "api_base": shop.base}, now[0])
            shop.add("LAMP", 99)
            rounds = 0
            for action, n in steps:
                if action in ("sell", "receive"):
                    with db.write() as conn:
                        on_hand = reports.availability(conn, "LAMP", None, now[0])["on_hand"]
                        delta = -min(n, on_hand) if action == "sell" else n
                        if delta:
                            receive(conn, "LAMP", delta, now[0])
                elif action == "round":
                    pusher.round()
                    rounds += 1
                else:
                    shop.down_until = float("inf") if action == "down" else 0.0
                now[0] += timedelta(seconds=1)
            shop.down_until = 0.0
            for _ in range(4):  # past every back-off
                now[0] += timedelta(seconds=5)
                pusher.round()
                rounds += 1
            with db.read() as conn:
                expected = max(0, reports.availability(conn, "LAMP", "web", now[0])["available"])
            assert shop.count("LAMP") == expected
            assert len(shop.mutations) <= rounds
        finally:
            pusher.close()
            shop.close()
            db.dispose()
