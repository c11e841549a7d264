"""A connected shop's push health, as `GET /v1/channels/{channel}/storefront` and the dashboard show it."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, select

from allot.store.tables import shop_push_channels, shop_pushes

P = shop_pushes.c


def status(conn: Connection, channel: str) -> dict[str, Any]:
    """Last push, the SKUs the shop does not have, the last error, and how many SKUs wait or fail."""
    row = conn.execute(select(shop_push_channels).where(shop_push_channels.c.channel == channel)).first()
    missing = list(conn.execute(select(P.sku).where(P.channel == channel, P.missing.is_(True)).order_by(P.sku)
                                .limit(1000)).scalars())
    counts = conn.execute(select(func.count().filter(P.wanted > P.pushed),
                                 func.count().filter(and_(P.wanted > P.pushed, P.last_error.is_not(None))))
                          .where(P.channel == channel)).one()
    return {"last_push_at": row.last_push_at if row else None, "missing_skus": missing,
            "last_error": row.last_error if row else None, "last_error_at": row.last_error_at if row else None,
            "pending": counts[0], "failing": counts[1]}
