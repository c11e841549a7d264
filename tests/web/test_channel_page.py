"""The channel page shows the shop push's health: last push, SKUs missing in the shop, last error."""
from __future__ import annotations

from datetime import datetime, timedelta

from allot.services import storefronts
from allot.store.db import Database
from allot.workers.shop_push import PushOptions, ShopPusher
from tests.factories import channel, receive, sku
from tests.shop_standins import ShopifyStandIn
from tests.web.helpers import dashboard, make_key, sign_in

TOKEN = "shpat_page-token-77aa"


def test_the_channel_page_shows_last_push_missing_skus_and_the_last_error(db: Database, now: datetime) -> None:
    shop = ShopifyStandIn(TOKEN)
    clock = [now]
    pusher = ShopPusher(db, lambda: clock[0], PushOptions(backoff=1.0))
    try:
        with db.write() as conn:
            channel(conn, "web", now)
            channel(conn, "wholesale", now)
            for name in ("LAMP", "GHOST-SKU"):
                sku(conn, name, now, mode="stock")
                receive(conn, name, 3, now)
            storefronts.connect(conn, "web", "shopify", "whsec", {
                "shop": "page.myshopify.com", "admin_token": TOKEN, "location_id": "1", "api_base": shop.base}, now)
        shop.add("LAMP", 0)
        pusher.round()
        with dashboard(db, now) as client:
            sign_in(client, make_key(db, now, "viewer"))
            page = client.get("/channels/web").text
            assert "page.myshopify.com" in page and "Working" in page and "GHOST-SKU" in page
            assert now.strftime("%Y-%m-%d %H:%M UTC") in page and TOKEN not in page
            listing = client.get("/channels").text
            assert "wholesale" in listing and "working" in listing

            shop.down_for(30)
            with db.write() as conn:
                receive(conn, "LAMP", -1, now)
            clock[0] = now + timedelta(seconds=5)
            pusher.round()
            page = client.get("/channels/web").text
            assert "The last push failed" in page and "HTTP 503" in page
            assert "failing" in client.get("/channels").text
            assert client.get("/channels/nowhere").status_code == 404
    finally:
        pusher.close()
        shop.close()
