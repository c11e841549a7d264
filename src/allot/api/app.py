"""The ASGI app: API, health check, and the background sweeper and webhook relay, built from settings once."""
from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from allot import web as dashboard
from allot.api import docs, openapi, problems, throttle
from allot.api.customers import CustomerLinks
from allot.api.customers import router as customers_router
from allot.api.deps import KeyCache
from allot.api.drops import router as drops_router
from allot.api.files import router as files_router
from allot.api.holds import router as holds_router
from allot.api.insight import router as insight_router
from allot.api.lists import router as lists_router
from allot.api.locations import router as locations_router
from allot.api.middleware import Guard
from allot.api.nul import RefuseNul
from allot.api.previews import router as previews_router
from allot.api.routes import router
from allot.api.sale_path import SalePath
from allot.api.storefront_webhooks import router as storefront_webhook_router
from allot.api.storefronts import router as storefront_router
from allot.api.webhooks import router as webhook_router
from allot.domain.calendar import zone_named
from allot.domain.destinations import Destinations
from allot.services.batching import Batcher
from allot.services.common import use_zone
from allot.services.holds import HoldLimits
from allot.settings import Settings
from allot.store.db import Database
from allot.workers.mailer import MailerThread, mailer_options
from allot.workers.relay import RelayThread, options_from
from allot.workers.shop_push import ShopPushThread
from allot.workers.shop_push import options_from as push_options
from allot.workers.sweeper import Sweeper

log = logging.getLogger("allot")


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] = utcnow,
               sweep: bool = True) -> FastAPI:
    """The app; `sweep=False` starts no background threads (neither the sweeper nor the relay)."""
    settings = settings or Settings.from_env()
    use_zone(zone_named(settings.timezone))  # an unknown zone stops start-up here, before anything runs
    db = Database(settings.database_url)
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        workers: list[threading.Thread] = []
        if sweep:
            workers.append(Sweeper(db, clock, settings.sweep_seconds, stop))
        if sweep and settings.relay:
            workers.append(RelayThread(db, clock, options_from(settings), stop))
        if sweep and settings.relay and settings.shop_push:
            workers.append(ShopPushThread(db, clock, push_options(settings), stop))
        if sweep and settings.relay and (mail := mailer_options(settings)) is not None:
            workers.append(MailerThread(db, clock, mail, stop))
        for worker in workers:
            worker.start()
        # What start-up built lives as long as the process: keep the cycle collector from walking
        # it again and again (a full pass over it stalled requests by tens of ms; docs/performance.md).
        gc.freeze()
        yield
        stop.set()
        if app.state.batcher is not None:
            app.state.batcher.close()  # what was accepted is committed before the process goes
        for worker in workers:
            worker.join(timeout=5)
        db.dispose()

    app = FastAPI(title="Allot", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Sell stock that has not arrived yet, without overselling.")
    app.state.db = db
    app.state.clock = clock
    app.state.key_cache = KeyCache()
    app.state.destinations = Destinations.from_setting(settings.webhook_allow_private)
    app.state.hold_limits = HoldLimits(settings.storefront_hold_ttl_max, settings.storefront_held_units_max)
    app.state.batcher = Batcher(db, settings.lanes_for(db.is_sqlite)) if settings.batching else None
    app.state.customer_links = CustomerLinks(db, settings.public_url, settings.customer_link_days)
    app.add_middleware(SalePath, api=app, router=router)  # innermost: a sale still gets the request id, caps and headers
    app.add_middleware(RefuseNul)
    app.add_middleware(Guard, max_body=settings.max_body_bytes)
    problems.install(app)
    throttle.install(app, settings.auth_failures_per_minute, settings.throttle_loopback)

    @app.exception_handler(IntegrityError)
    async def _race(_: object, exc: IntegrityError) -> JSONResponse:
        # Two requests created the same ref at once; the loser's transaction rolled back whole.
        return problems.problem(409, "conflict", "Conflict", "a concurrent request created the same resource")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        with db.read() as conn:
            conn.exec_driver_sql("SELECT 1")
        return {"status": "ok"}

    app.include_router(router)
    app.include_router(webhook_router)
    app.include_router(storefront_router)
    app.include_router(storefront_webhook_router)
    app.include_router(lists_router)
    app.include_router(previews_router)
    app.include_router(holds_router)
    app.include_router(files_router)
    app.include_router(customers_router)
    app.include_router(insight_router)
    app.include_router(locations_router)
    app.include_router(drops_router)  # drops (migration 0014)
    dashboard.install(app, settings)
    docs.install(app)
    openapi.install(app)
    return app
