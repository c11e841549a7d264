"""The operations dashboard, served by the same process as the API (see docs/dashboard.md)."""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from allot.settings import Settings
from allot.web import (
    admin,
    channel_actions,
    channels,
    customer_pages,
    customers,
    files,
    holds,
    insight,
    locations,
    order_actions,
    purchasing,
    routes,
    sku_actions,
)
from allot.web.guard import SignInRequired, WebError
from allot.web.session import Sessions
from allot.web.views import HERE, on_sign_in_required, on_web_error


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the dashboard's pages and static files on the app, and its two error pages."""
    app.state.web_sessions = Sessions(app.state.db, settings.session_secret, settings.session_idle_seconds)
    app.add_exception_handler(WebError, on_web_error)
    app.add_exception_handler(SignInRequired, on_sign_in_required)
    app.include_router(routes.router)
    app.include_router(purchasing.router)
    app.include_router(holds.router)
    app.include_router(channels.router)
    app.include_router(files.router)
    app.include_router(customers.router)
    app.include_router(customer_pages.router)
    app.include_router(insight.router)
    app.include_router(locations.router)
    for acting in (order_actions, sku_actions, channel_actions, admin):  # the operator's day (#12)
        app.include_router(acting.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
