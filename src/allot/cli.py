"""The `allot` command: serve, run the webhook worker, migrate, make keys, load the demo."""
from __future__ import annotations

import copy
import os
import signal
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Optional

import typer
import uvicorn
import uvicorn.config
from fastapi.encoders import jsonable_encoder
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Connection

from allot import files_cli, startup
from allot.api import serving
from allot.demo import already_loaded, load, load_volume
from allot.domain.errors import AllotError
from allot.services import audit, keys
from allot.services.reconcile import reconcile as check
from allot.settings import Settings
from allot.shop_cli import app as shop_app
from allot.store.db import Database
from allot.store.migrate import head, upgrade
from allot.workers.mailer import MailerThread, mailer_options
from allot.workers.relay import RelayThread, options_from
from allot.workers.shop_push import ShopPushThread
from allot.workers.shop_push import options_from as push_options
from allot.workers.sweeper import Sweeper, sweep

app = typer.Typer(help="Allot: sell stock that has not arrived yet, without overselling.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.")
keys_app = typer.Typer(help="API keys.")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(shop_app, name="shop")
files_cli.register(app)  # allot import / allot export
console = Console()


def _db() -> Database:
    return Database(startup.settings().database_url)


def prepare(settings: Settings) -> list[str]:
    """Migrate, and make the bootstrap admin key exist when one is configured; returns the migrations applied."""

    startup.check_bootstrap_key(settings.bootstrap_admin_key)
    db = Database(settings.database_url)
    applied = upgrade(db)
    if settings.bootstrap_admin_key:
        with db.write() as conn:
            keys.ensure(conn, settings.bootstrap_admin_key, datetime.now(UTC))
    with db.read() as conn:
        startup.warn_about_demo_key(conn, settings.demo)
    db.dispose()
    return applied


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1, help="server processes")] = 1,
    relay: Annotated[bool, typer.Option(help="deliver webhooks from the server (off: run `allot worker`)")] = True,
    forwarded_allow_ips: Annotated[str, typer.Option(
        envvar="ALLOT_FORWARDED_ALLOW_IPS", help="proxies (comma-separated addresses or networks, or *) whose "
        "X-Forwarded-Proto and -For are believed; none by default")] = "",
) -> None:
    """Serve the API and the dashboard (migrates the database first)."""
    settings = startup.settings()
    prepare(settings)
    announce_when_ready(host, port)
    if not relay:
        os.environ["ALLOT_RELAY"] = "off"  # the only way to reach the app factory in every server process
    # No access log: request lines carry nothing we need, and one mistake there could leak a key.
    # Slow clients are cut off (api/serving.py); idle kept-alive connections close after 5 s. Forwarded
    # headers only from the proxies named: the client address (throttling) and the scheme (the session
    # cookie's Secure flag) come from them.
    uvicorn.run("allot.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, log_config=log_config(), timeout_keep_alive=5,
                # uvicorn only calls `http`, but its hints want a class; our partial acts as one (api/serving.py).
                http=serving.protocol(settings.header_timeout, settings.body_timeout),  # type: ignore[arg-type]
                proxy_headers=bool(forwarded_allow_ips), forwarded_allow_ips=forwarded_allow_ips or None)


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def announce_when_ready(host: str, port: int, patience: float = 120.0) -> threading.Thread:
    """One line once the server answers /healthz: where it is, its dashboard and its API docs.

    uvicorn's own start-up lines are below our log level, and with several workers no single
    process knows when all are up; asking the server as a client does."""
    url = base_url(host, port)
    local = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # a wildcard bind is reached locally
    probe = base_url(local, port) + "/healthz"

    def wait() -> None:
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(probe, timeout=2) as answer:
                    if answer.status == 200:
                        print(f"Allot is ready at {url}  (dashboard: {url}/  API docs: {url}/docs)", flush=True)
                        return
            except OSError:
                pass
            time.sleep(0.1)

    thread = threading.Thread(target=wait, name="allot-ready", daemon=True)
    thread.start()
    return thread


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus our own loggers (refusals, sweeper trouble) at INFO on stderr."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["allot"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    config["handlers"]["allot"] = {"formatter": "allot", "class": "logging.StreamHandler",
                                   "stream": "ext://sys.stderr"}
    config["loggers"]["allot"] = {"handlers": ["allot"], "level": "INFO", "propagate": False}
    return config


@app.command()
def worker(
    sweep: Annotated[bool, typer.Option(help="also expire holds and consent deadlines")] = True,
) -> None:
    """Deliver webhooks, push stock to connected shops (and sweep); run beside `allot serve --no-relay`."""
    settings = startup.settings()
    prepare(settings)
    db = Database(settings.database_url)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threads: list[threading.Thread] = [RelayThread(db, _utcnow, options_from(settings), stop)]
    if settings.shop_push:
        threads.append(ShopPushThread(db, _utcnow, push_options(settings), stop))
    if (mail := mailer_options(settings)) is not None:  # customers' email (docs/customers.md)
        threads.append(MailerThread(db, _utcnow, mail, stop))
    if sweep:
        threads.append(Sweeper(db, _utcnow, settings.sweep_seconds, stop))
    for t in threads:
        t.start()
    console.print("worker running: delivering webhooks" + (", pushing stock to shops" if settings.shop_push else "")
                  + (" and sweeping" if sweep else ""))
    stop.wait()
    for t in threads:
        t.join(timeout=15)
    db.dispose()


def _utcnow() -> datetime:
    return datetime.now(UTC)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration that has not run yet, and say which."""
    settings = startup.settings()
    applied = prepare(settings)
    for name in applied:
        console.print(f"applied {shown(name)}")
    db = Database(settings.database_url)
    at = head(db)
    db.dispose()
    if applied:
        console.print(f"applied {len(applied)} migration{'s' if len(applied) != 1 else ''}: the database is now at {at}")
    else:
        console.print(f"nothing to apply: the database was already at {at}")


@keys_app.command("create")
def keys_create(
    name: str,
    role: Annotated[str, typer.Option(help="admin, ops, storefront or viewer (required: a key's power is a choice)")],
    channel: Annotated[Optional[list[str]], typer.Option(help="storefront: channels it may sell on")] = None,  # noqa: UP045
    max_hold_ttl: Annotated[Optional[int], typer.Option(min=1, help="storefront: longest hold, seconds")] = None,  # noqa: UP045
    max_held_units: Annotated[Optional[int], typer.Option(min=1, help="storefront: units held at once")] = None,  # noqa: UP045
) -> None:
    """Make an API key; its secret is shown once."""

    db = _db()
    now = datetime.now(UTC)
    limits = {"max_hold_ttl_seconds": max_hold_ttl, "max_held_units": max_held_units}
    with _refusals(), db.write() as conn:
        made = keys.create(conn, name, role, channel or None, now, limits=limits)
        _audit(conn, now, "create_key", {"name": name, "role": role, "channels": channel or None, **limits}, made)
    console.print(f"key {made['id']} ({made['role']}): [bold]{shown(made['secret'])}[/bold]")
    console.print("Keep it safe: it is not shown again.")


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""

    with _db().read() as conn:
        rows = keys.list_keys(conn)
    table = Table("id", "name", "role", "prefix", "channels", "last used", "revoked")
    for r in rows:
        table.add_row(*(shown(str(v)) for v in (r["id"], r["name"], r["role"], r["prefix"],
                                                 ",".join(r["channels"] or []), r["last_used_at"] or "",
                                                 r["revoked_at"] or "")))
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke a key: it stops working at once here, and within 5 s in running servers."""
    db = _db()
    now = datetime.now(UTC)
    with _refusals(), db.write() as conn:
        done = keys.revoke(conn, key_id, now)
        _audit(conn, now, "revoke_key", {"key_id": key_id}, done)
    console.print(f"key {key_id} ({shown(done['name'])}) revoked; {done['released_holds']} of its holds released")


def shown(text: str) -> str:
    """Text someone else chose (a key's name), shown as written: no Rich markup, no terminal escapes."""
    return escape("".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text))


@contextmanager
def _refusals() -> Iterator[None]:
    """A refused command says why in one line and exits 2, without a traceback."""
    try:
        yield
    except AllotError as e:
        console.print(f"[red]refused[/red] {e.detail}")
        raise typer.Exit(2) from None


def _audit(conn: Connection, now: datetime, action: str, asked: dict[str, Any], result: dict[str, Any]) -> None:
    """The command line changes keys without an API key: its audit rows name the actor `cli`."""
    change = audit.Change(f"cli-{uuid.uuid4().hex}", "CLI", f"allot keys {action.split('_')[0]}", action, 0,
                          audit.summarise({}, asked, jsonable_encoder(result)))
    audit.record(conn, now, audit.CLI, change)


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="only into an empty database")] = False,
    lines: Annotated[int, typer.Option(help="grow to this many order lines (benchmarks)", min=0)] = 0,
) -> None:
    """Load a realistic drop to explore: preorders on two POs, a backorder SKU, a marketplace channel."""

    settings = startup.settings()
    prepare(settings)
    db = Database(settings.database_url)
    now = datetime.now(UTC)
    if already_loaded(db):
        console.print("the demo data is already loaded (AURORA-LAMP, PO-1001…): nothing changed")
    elif _loaded(db, now, if_empty):
        console.print("demo loaded: AURORA-LAMP (preorder), TERRA-MUG (backorder), CANVAS-TOTE (stock)")
    else:
        console.print("database not empty: demo not loaded")
    if lines:
        console.print(f"added {load_volume(db, now, lines)} order lines (VOL-001..VOL-030, PO-9001)")


def _loaded(db: Database, now: datetime, only_if_empty: bool) -> bool:
    with _refusals():  # say why in one line (say, a PO-1001 of your own) rather than a traceback
        return load(db, now, only_if_empty=only_if_empty)


@app.command()
def reconcile() -> None:
    """Recompute counters and plans from the rows; exit 1 if anything stored disagrees."""
    db = _db()
    now = datetime.now(UTC)
    sweep(db, now)  # expired holds are not a mismatch: bring them up to date first
    with db.read() as conn:
        problems = check(conn, now)
    for p in problems:
        console.print(f"[red]mismatch[/red] {p}")
    if problems:
        raise typer.Exit(1)
    console.print("clean: every counter and promise matches the rows")
