"""Channel pages: which shop each channel sells through, and how the stock push to it is doing."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection, select

from allot.services import push_status, storefronts
from allot.store.tables import channels
from allot.web import words
from allot.web.guard import User, WebError
from allot.web.views import render

router = APIRouter(include_in_schema=False)


def _channel(conn: Connection, name: str) -> dict[str, Any]:
    """A channel with its shop connection (never a secret) and the push's health."""
    found = storefronts.connection(conn, name)
    shop = storefronts.view(found) if found else None
    push = push_status.status(conn, name) if found and found.credentials else None
    healthy = push is not None and not push["failing"] and (
        push["last_error_at"] is None or (push["last_push_at"] or push["last_error_at"]) > push["last_error_at"])
    if push:
        push |= {k: _when(push[k]) for k in ("last_push_at", "last_error_at")}
    return {"name": name, "shop": shop, "push": push, "healthy": healthy}


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else words.moment(moment)  # one format for moments (docs/dashboard.md)


@router.get("/channels", response_class=HTMLResponse)
def channel_list(request: Request, user: User) -> Response:
    with request.app.state.db.read() as conn:
        names = list(conn.execute(select(channels.c.name).order_by(channels.c.name)).scalars())
        found = [_channel(conn, n) for n in names]
    return render(request, "channels.html", {"user": user, "channels": found})


@router.get("/channels/{name}", response_class=HTMLResponse)
def channel_page(request: Request, user: User, name: str) -> Response:
    with request.app.state.db.read() as conn:
        if conn.execute(select(channels.c.name).where(channels.c.name == name)).first() is None:
            raise WebError(404, "No such channel", f"There is no channel {name!r}.", "/channels", "Channels")
        found = _channel(conn, name)
    return render(request, "channel.html", {"user": user, "channel": found})
