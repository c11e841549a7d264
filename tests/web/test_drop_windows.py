"""The SKU page shows each channel's drop window and a countdown to its next edge."""
from __future__ import annotations

from datetime import datetime, timedelta

from allot.services import catalog
from allot.store.db import Database
from tests.factories import channel, sku
from tests.web.helpers import dashboard, make_key, sign_in


def test_the_sku_page_shows_each_window_and_counts_down(db: Database, now: datetime) -> None:
    with db.write() as conn:
        channel(conn, "members", now)
        channel(conn, "web", now)
        channel(conn, "outlet", now)
        sku(conn, "DROP", now, mode="stock")
        catalog.put_quota(conn, "DROP", "members", None, now, opens_at=now - timedelta(minutes=5),
                          closes_at=now + timedelta(hours=1, minutes=2, seconds=3))
        catalog.put_quota(conn, "DROP", "web", 10, now, opens_at=now + timedelta(seconds=75))
        catalog.put_quota(conn, "DROP", "outlet", None, now, closes_at=now - timedelta(seconds=1))
    with dashboard(db, now) as client:
        sign_in(client, make_key(db, now, "viewer"))
        page = client.get("/skus/DROP").text
    assert "Drop windows" in page and "/static/countdown.js" in page
    opens = (now + timedelta(seconds=75)).isoformat()
    assert f'opens <time data-countdown datetime="{opens}">in 1 min 15 s</time>' in page
    assert "closes <time data-countdown" in page and "in 1 h 2 min 3 s" in page
    assert "<td>closed</td>" in page
    # The window's edges are moments in the dashboard's one format; the countdown keeps its seconds.
    assert f"<td>{(now + timedelta(hours=1, minutes=2, seconds=3)).strftime('%Y-%m-%d %H:%M')} UTC</td>" in page
    with dashboard(db, now) as client:
        sign_in(client, make_key(db, now, "viewer"))
        assert client.get("/static/countdown.js").status_code == 200
        with db.write() as conn:
            sku(conn, "PLAIN", now, mode="stock")
        assert "Drop windows" not in client.get("/skus/PLAIN").text
