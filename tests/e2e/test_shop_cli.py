"""`allot shop check` shows how the shop's counts differ from Allot's and changes nothing;
`allot shop push` then makes them equal."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from allot.services import storefronts
from allot.store.db import Database
from allot.store.migrate import upgrade
from allot.store.tables import shop_pushes
from tests.e2e.trust import DATABASES, allot, database_url
from tests.factories import channel, receive, sku
from tests.shop_standins import ShopifyStandIn

TOKEN = "shpat_cli-token-4e21"


@pytest.mark.parametrize("kind", DATABASES)
def test_check_shows_the_differences_and_changes_nothing_then_push_fixes_them(kind: str, tmp_path: Path) -> None:
    url = database_url(kind, tmp_path)
    db, now = Database(url), datetime.now(UTC)
    upgrade(db)
    shop = ShopifyStandIn(TOKEN)
    try:
        with db.write() as conn:
            channel(conn, "web", now, allow_backorder=False, allow_preorder=False)
            for name, qty in (("LAMP", 4), ("MUG", 2), ("TOTE", 9), ("GHOST", 1)):
                sku(conn, name, now, mode="stock")
                receive(conn, name, qty, now)
            storefronts.connect(conn, "web", "shopify", "whsec", {
                "shop": "cli.myshopify.com", "admin_token": TOKEN, "location_id": "1", "api_base": shop.base}, now)
        shop.add("LAMP", 10)
        shop.add("MUG", 2)
        shop.add("TOTE", 0)

        checked = allot(url, "shop", "check", "web", cwd=tmp_path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
                for line in checked.stdout.splitlines() if line.count("│") >= 5 and "sku" not in line}
        assert rows == {"LAMP": ["yes", "10", "4", "-6"], "TOTE": ["yes", "0", "9", "+9"],
                        "GHOST": ["no", "—", "1", "—"]}
        assert "4 managed SKUs: 3 in the shop, 1 missing, 2 with a different count" in checked.stdout
        assert shop.mutations == [] and (shop.count("LAMP"), shop.count("TOTE")) == (10, 0)
        with db.read() as conn:
            assert conn.execute(select(func.count()).select_from(shop_pushes)).scalar_one() == 0

        pushed = allot(url, "shop", "push", "web", cwd=tmp_path)
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
        assert "pushed 3 SKUs; 1 not in the shop; 0 refused" in pushed.stdout
        assert (shop.count("LAMP"), shop.count("MUG"), shop.count("TOTE")) == (4, 2, 9)
        again = allot(url, "shop", "check", "web", cwd=tmp_path)
        assert "0 with a different count" in again.stdout
        assert TOKEN not in checked.stdout + pushed.stdout + again.stdout + checked.stderr + pushed.stderr
    finally:
        shop.close()
        db.dispose()


def test_a_channel_without_a_shop_connection_is_refused(tmp_path: Path) -> None:
    url = database_url("sqlite", tmp_path)
    db = Database(url)
    upgrade(db)
    db.dispose()
    refused = allot(url, "shop", "check", "nowhere", cwd=tmp_path)
    assert refused.returncode == 2 and "no shop connection" in refused.stdout
