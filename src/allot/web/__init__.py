"""The operations dashboard, served by the same process as the API (see docs/dashboard.md)."""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from allot.settings import Settings
from allot.web import channels, files, holds, locations, purchasing, routes
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
    app.include_router(locations.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
