"""`allot shop`: look at and push the stock counts of a channel's connected shop."""
from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from allot import startup
from allot.connectors.shop_stock import ShopError
from allot.domain.destinations import Destinations
from allot.services import storefronts
from allot.services.storefronts import Storefront
from allot.store.db import Database
from allot.workers import shop_sync

app = typer.Typer(help="A connected shop's stock counts: check them, push them.", no_args_is_help=True)
console = Console()


def _connection(db: Database, channel: str) -> Storefront:
    with db.read() as conn:
        found = storefronts.connection(conn, channel)
    if found is None or not found.credentials:
        console.print(f"[red]refused[/red] channel {channel!r} has no shop connection with admin credentials")
        raise typer.Exit(2)
    return found


@app.command("check")
def check(channel: str, all_skus: bool = typer.Option(False, "--all", help="list SKUs that agree too")) -> None:
    """Compare the shop's counts with Allot's, SKU by SKU; changes nothing."""
    settings = startup.settings()
    db = Database(settings.database_url)
    sf = _connection(db, channel)
    try:
        found = shop_sync.check(db, sf, datetime.now(UTC), settings.shop_push_loopback_only,
                                 Destinations.from_setting(settings.webhook_allow_private))
    except ShopError as e:
        console.print(f"[red]the shop did not answer[/red]: {e}")
        raise typer.Exit(1) from None
    table = Table("sku", "in shop", "shop count", "allot count", "a push would change")
    for d in found:
        if all_skus or d.change != 0:
            table.add_row(d.sku, "yes" if d.in_shop else "[red]no[/red]", _figure(d.shop), str(d.allot),
                          "—" if d.change is None else f"{d.change:+d}")
    console.print(table)
    missing = sum(not d.in_shop for d in found)
    differ = sum(bool(d.change) for d in found)
    console.print(f"{len(found)} managed SKUs: {len(found) - missing} in the shop, {missing} missing, "
                  f"{differ} with a different count")


def _figure(value: int | None) -> str:
    return "—" if value is None else str(value)


@app.command("push")
def push(channel: str) -> None:
    """Set every managed SKU's count in the shop to Allot's now."""
    settings = startup.settings()
    db = Database(settings.database_url)
    sf = _connection(db, channel)
    columns = (TextColumn("pushing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("push", total=None)
        try:
            done = shop_sync.push_all(db, sf, datetime.now(UTC),
                                      lambda n, total: bar.update(task, completed=n, total=total),
                                      settings.shop_push_loopback_only,
                                      Destinations.from_setting(settings.webhook_allow_private))
        except ShopError as e:
            console.print(f"[red]the shop did not answer[/red]: {e}")
            raise typer.Exit(1) from None
    console.print(f"pushed {done['pushed']} SKUs; {done['missing']} not in the shop; {done['refused']} refused")
