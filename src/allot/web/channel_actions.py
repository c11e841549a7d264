"""A channel's rules (backorder, preorder, padding, consent) and its per-SKU quotas, from the dashboard.

Rules re-plan the channel's lines, so they preview first; the preview measures only the SKUs with
open lines or live holds on the channel (the only promises a channel's rules can move). A quota
applies to new sales only and moves no promise: it is saved at once.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection, select, union

from allot.api import schemas as s
from allot.services import catalog
from allot.store.tables import channels, holds, order_lines, sku_channels, skus
from allot.web.acting import Change, apply, checked, commit, show_preview, whole
from allot.web.guard import Editor, Form, WebError
from allot.web.views import redirect, render

router = APIRouter(include_in_schema=False)
RULES = ("allow_backorder", "allow_preorder", "padding_days", "consent_after_days", "consent_window_days",
         "consent_default")


def _place(name: str) -> dict[str, Any]:
    page = f"/channels/{quote(name, safe='')}"
    return {"back": (page + "/settings", f"Back to {name}'s settings"),
            "crumbs": [("/channels", "Channels"), (page, name), (page + "/settings", "Settings")]}


def _rules(conn: Connection, name: str) -> dict[str, Any]:
    row = conn.execute(select(channels).where(channels.c.name == name)).first()
    if row is None:
        raise WebError(404, "No such channel", f"There is no channel {name!r}.", "/channels", "Channels")
    return {k: getattr(row, k) for k in RULES}


def _quotas(conn: Connection, name: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(skus.c.sku, sku_channels.c.quota).join(skus, skus.c.id == sku_channels.c.sku_id)
                        .where(sku_channels.c.channel == name).order_by(skus.c.sku).limit(500))
    return [r._asdict() for r in rows]


def _selling(conn: Connection, name: str) -> list[str]:
    """SKUs with open lines or active holds on the channel."""
    ids = union(select(order_lines.c.sku_id).where(order_lines.c.channel == name, order_lines.c.open.is_(True)),
                select(holds.c.sku_id).where(holds.c.channel == name, holds.c.status == "active")).subquery()
    return list(conn.execute(select(skus.c.sku).where(skus.c.id.in_(select(ids.c.sku_id)))).scalars())


@router.get("/channels/{name}/settings", response_class=HTMLResponse)
def settings_form(request: Request, user: Editor, name: str) -> Response:
    with request.app.state.db.read() as conn:
        rules, quotas = _rules(conn, name), _quotas(conn, name)
    return render(request, "channel_settings.html", {"user": user, "name": name, "rules": rules, "quotas": quotas})


def _rules_change(request: Request, name: str, form: dict[str, str]) -> Change:
    where = _place(name)
    with request.app.state.db.read() as conn:
        was, names = _rules(conn, name), _selling(conn, name)
    typed: dict[str, Any] = {"allow_backorder": form.get("allow_backorder") == "yes",
                             "allow_preorder": form.get("allow_preorder") == "yes",
                             "consent_default": form.get("consent_default", "keep")}
    for key in ("padding_days", "consent_after_days", "consent_window_days"):
        value = whole(form.get(key, ""), key, where["back"])
        if value is not None:
            typed[key] = value
    body = checked(lambda: s.ChannelIn(**typed), "channel rules", where["back"])
    new = body.model_dump()
    details = [f"{k.replace('_', ' ').capitalize()}: {_shown(was[k])} → {_shown(new[k])}"
               for k in RULES if was[k] != new[k]]
    fields = {k: ("yes" if v is True else "" if v is False or v is None else str(v)) for k, v in new.items()}
    return Change(f"Change the rules of channel {name}", details or ["Nothing changes"], names,
                  lambda c: catalog.put_channel(c, name, new, request.app.state.clock()), fields, **where)


def _shown(value: Any) -> str:
    return "yes" if value is True else "no" if value is False else "never" if value is None else str(value)


@router.post("/channels/{name}/settings/preview", response_class=HTMLResponse)
def preview_rules(request: Request, user: Editor, form: Form, name: str) -> Response:
    return show_preview(request, user, _rules_change(request, name, form),
                        f"/channels/{quote(name, safe='')}/settings", form)


@router.post("/channels/{name}/settings", response_class=HTMLResponse)
def commit_rules(request: Request, user: Editor, form: Form, name: str) -> Response:
    return commit(request, user, lambda: _rules_change(request, name, form), form, "channel",
                  f"/channels/{quote(name, safe='')}/settings")


@router.post("/channels/{name}/quotas", response_class=HTMLResponse)
def set_quota(request: Request, user: Editor, form: Form, name: str) -> Response:
    """Cap the units this channel may hold open for one SKU (blank: no cap); new sales only."""
    back = _place(name)["back"]
    sku = form.get("sku", "").strip()
    if not sku:
        raise WebError(422, "Check the form", "sku: enter the SKU to cap.", *back)
    body = checked(lambda: s.QuotaIn(quota=whole(form.get("quota", ""), "quota", back)), "quota", back)
    apply(request, user, lambda c: catalog.put_quota(c, sku, name, body.quota, request.app.state.clock(),
                                                           keep_window=True),
          {"sku": sku, "quota": body.quota}, back)
    return redirect(back[0] + "?notice=quota")
