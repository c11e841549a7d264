"""Start-up checks: the merchant's time zone, a bootstrap key long enough to resist guessing, and the demo's key
only in a demo."""
from __future__ import annotations

import logging
import sys

from sqlalchemy import Connection

from allot.domain.calendar import UnknownZone, zone_named
from allot.services import keys
from allot.services.common import use_zone
from allot.settings import Settings

MIN_BOOTSTRAP_KEY = 24  # characters; a generated key has 49
DEMO_KEY = "allot-demo-admin-key"  # the Makefile's: published in the README, so anyone may try it
log = logging.getLogger("allot.startup")


def settings() -> Settings:
    """A command's settings with the merchant's time zone in force; an unknown zone stops it in one line."""
    found = Settings.from_env()
    try:
        use_zone(zone_named(found.timezone))
    except UnknownZone as e:
        raise SystemExit(str(e)) from None
    return found


def check_bootstrap_key(secret: str | None) -> None:
    """Refuse to start with a short ALLOT_BOOTSTRAP_ADMIN_KEY; the demo's key is allowed, and warned about."""
    if secret is None or secret == DEMO_KEY or len(secret) >= MIN_BOOTSTRAP_KEY:
        return
    raise SystemExit(f"ALLOT_BOOTSTRAP_ADMIN_KEY is {len(secret)} characters; it must be at least "
                     f"{MIN_BOOTSTRAP_KEY}. Make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")


def warn_about_demo_key(conn: Connection, demo: bool) -> bool:
    """Outside a demo (ALLOT_DEMO=1), a working demo key is an open door: say so loudly at every start."""
    if demo or keys.authenticate(conn, DEMO_KEY) is None:
        return False
    message = (f"WARNING: the demo admin key {DEMO_KEY!r} works on this database and ALLOT_DEMO is not set. "
               "Anyone who read the README can administer this installation. Revoke it "
               "(allot keys list; allot keys revoke ID) and set your own ALLOT_BOOTSTRAP_ADMIN_KEY.")
    log.warning(message)
    print(f"\n{'!' * 100}\n{message}\n{'!' * 100}\n", file=sys.stderr, flush=True)
    return True
