"""Settings, read once at start-up from the environment (never at import time)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    bootstrap_admin_key: str | None = None
    demo: bool = False  # ALLOT_DEMO=1: the demo's well-known admin key is expected (no warning)
    sweep_seconds: float = 2.0
    max_body_bytes: int = 1024 * 1024
    # Signs dashboard session cookies; when unset, one is made and kept in the database.
    session_secret: str | None = None
    session_idle_seconds: int = 30 * 60  # a dashboard session unused this long ends
    batching: bool = True
    # Group-commit lanes per process (services/batching.py); None: 1 on SQLite (one writer at a
    # time anyway), 2 on PostgreSQL (one lane's batch runs while another's commit waits on disk).
    batch_lanes: int | None = None
    # A storefront key's holds, unless the key sets its own (POST /v1/keys): longest lifetime, units at once.
    storefront_hold_ttl_max: int = 30 * 60
    storefront_held_units_max: int = 500
    # Failed API keys and dashboard sign-ins per client address per minute before it must wait (0: off);
    # loopback clients are counted only with throttle_loopback (api/throttle.py says why).
    auth_failures_per_minute: int = 30
    throttle_loopback: bool = False
    relay: bool = True  # deliver webhooks from this process; off when `allot worker` does it
    webhook_timeout: float = 10.0
    webhook_backoff: float = 10.0
    webhook_backoff_max: float = 3600.0
    relay_concurrency: int = 16
    # Webhooks to private, loopback, link-local or reserved addresses: "" refuses them, "1" allows all,
    # a comma-separated CIDR list allows those networks (domain/destinations.py).
    webhook_allow_private: str = ""
    relay_poll: float = 0.5
    # Slowloris: a request's headers, and then its body, must arrive within these (api/serving.py).
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    shop_push: bool = True  # push availability to connected shops wherever the relay runs
    shop_push_backoff: float = 2.0
    shop_push_backoff_max: float = 300.0
    shop_push_loopback_only: bool = False  # the test suite: never push to a shop off this machine
    # Customers (docs/customers.md): the SMTP server messages go out through (None: none are made),
    # the address customers' links start with, and how long a link opens the customer's page.
    smtp_url: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    customer_link_days: int = 180
    timezone: str = "UTC"  # ALLOT_TIMEZONE: the merchant's calendar (IANA name); dates are its days

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        default = f"sqlite:///{Path.cwd() / 'allot.db'}"
        return cls(
            database_url=env.get("ALLOT_DATABASE_URL") or default,
            bootstrap_admin_key=env.get("ALLOT_BOOTSTRAP_ADMIN_KEY") or None,
            demo=env.get("ALLOT_DEMO", "").lower() in ("1", "on", "true", "yes"),
            sweep_seconds=float(env.get("ALLOT_SWEEP_SECONDS", "2")),
            max_body_bytes=int(env.get("ALLOT_MAX_BODY_BYTES", str(1024 * 1024))),
            session_secret=env.get("ALLOT_SESSION_SECRET") or None,
            session_idle_seconds=int(env.get("ALLOT_SESSION_IDLE_SECONDS", str(30 * 60))),
            batching=env.get("ALLOT_BATCHING", "on").lower() not in ("off", "0", "false"),
            batch_lanes=int(env["ALLOT_BATCH_LANES"]) if env.get("ALLOT_BATCH_LANES") else None,
            storefront_hold_ttl_max=int(env.get("ALLOT_STOREFRONT_HOLD_TTL_MAX", str(30 * 60))),
            storefront_held_units_max=int(env.get("ALLOT_STOREFRONT_HELD_UNITS_MAX", "500")),
            auth_failures_per_minute=int(env.get("ALLOT_AUTH_FAILURES_PER_MINUTE", "30")),
            throttle_loopback=env.get("ALLOT_THROTTLE_LOOPBACK", "").lower() in ("1", "on", "true", "yes"),
            relay=env.get("ALLOT_RELAY", "on").lower() not in ("off", "0", "false", "no"),
            webhook_timeout=float(env.get("ALLOT_WEBHOOK_TIMEOUT", "10")),
            webhook_backoff=float(env.get("ALLOT_WEBHOOK_BACKOFF", "10")),
            webhook_backoff_max=float(env.get("ALLOT_WEBHOOK_BACKOFF_MAX", "3600")),
            relay_concurrency=int(env.get("ALLOT_RELAY_CONCURRENCY", "16")),
            webhook_allow_private=env.get("ALLOT_WEBHOOK_ALLOW_PRIVATE", ""),
            relay_poll=float(env.get("ALLOT_RELAY_POLL", "0.5")),
            header_timeout=float(env.get("ALLOT_HEADER_TIMEOUT", "10")),
            body_timeout=float(env.get("ALLOT_BODY_TIMEOUT", "30")),
            shop_push=env.get("ALLOT_SHOP_PUSH", "on").lower() not in ("off", "0", "false", "no"),
            shop_push_backoff=float(env.get("ALLOT_SHOP_PUSH_BACKOFF", "2")),
            shop_push_backoff_max=float(env.get("ALLOT_SHOP_PUSH_BACKOFF_MAX", "300")),
            shop_push_loopback_only=env.get("ALLOT_SHOP_PUSH_LOOPBACK_ONLY", "").lower() in ("1", "on", "true", "yes"),
            smtp_url=env.get("ALLOT_SMTP_URL") or None,
            public_url=(env.get("ALLOT_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
            customer_link_days=int(env.get("ALLOT_CUSTOMER_LINK_DAYS", "180")),
            timezone=env.get("ALLOT_TIMEZONE") or "UTC",
        )

    def lanes_for(self, sqlite: bool) -> int:
        return self.batch_lanes or (1 if sqlite else 2)
