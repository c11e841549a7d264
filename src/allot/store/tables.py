"""The schema. Alembic migrations in store/migrations are generated from and checked against it."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)



class Stamp(TypeDecorator[datetime]):
    """A UTC timestamp that comes back aware from every database (SQLite returns naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")

skus = Table(
    "skus",
    metadata,
    Column("id", Id, primary_key=True),
    Column("sku", String(100), nullable=False, unique=True),
    Column("name", String(200)),
    Column("mode", String(20), nullable=False),
    Column("release_date", Date),
    Column("handling_days", Integer, nullable=False, default=0),
    Column("incoming_buffer", Numeric(5, 4), nullable=False, default=0),
    Column("safety_stock", Integer, nullable=False, default=0),
    Column("backorder_limit", Integer),
    Column("backorder_lead_days", Integer),
    Column("allocation_policy", String(20), nullable=False, default="fifo", server_default="fifo"),
    Column("per_customer_limit", Integer),  # drops (migration 0014): units per customer; NULL: no limit
    Column("offer_ttl_seconds", Integer),  # drops (migration 0014): a waitlist offer's hold; NULL: one day
    # Counters kept for speed; `allot reconcile` proves them equal to the rows they summarise.
    Column("on_hand", Integer, nullable=False, default=0),
    Column("summary", JSON, nullable=False),
    Column("next_seq", BigInteger, nullable=False, default=1),
    Column("last_queued_at", Stamp()),
    Column("created_at", Stamp(), nullable=False),
    Column("updated_at", Stamp(), nullable=False),
    # Migration 0015: the summary's `next_opening` (the first window opening someone waits for), as a
    # column so that the sweeper can find the SKUs whose opening has come without reading summaries.
    Column("wake_at", Stamp()),
    Index("ix_skus_wake_at", "wake_at", postgresql_where=text("wake_at IS NOT NULL"),
          sqlite_where=text("wake_at IS NOT NULL")),  # only SKUs someone waits on are in it
)

channels = Table(
    "channels",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("allow_backorder", Boolean, nullable=False, default=False),
    Column("allow_preorder", Boolean, nullable=False, default=False),
    Column("padding_days", Integer, nullable=False, default=0),
    # Delay consent: ask the customer once a promise slips more than this many days (NULL: never ask).
    Column("consent_after_days", Integer),
    Column("consent_window_days", Integer, nullable=False, default=7, server_default="7"),
    Column("consent_default", String(10), nullable=False, default="keep", server_default="keep"),
    Column("locations", JSON),  # migration 0010: where it may ship from, preferred first (NULL: every location)
    Column("split", String(10), nullable=False, default="allow", server_default="allow"),  # migration 0010
)

sku_channels = Table(
    "sku_channels",
    metadata,
    Column("sku_id", ForeignKey("skus.id"), primary_key=True),
    Column("channel", String(100), primary_key=True),
    Column("quota", Integer),
    Column("opens_at", Stamp()),  # drops (migration 0014): the channel's window for this SKU
    Column("closes_at", Stamp()),  # drops (migration 0014)
)

stock_moves = Table(
    "stock_moves",
    metadata,
    Column("id", Id, primary_key=True),
    Column("sku_id", ForeignKey("skus.id"), nullable=False, index=True),
    Column("delta", Integer, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("ref", String(200)),
    Column("created_at", Stamp(), nullable=False),
    Column("location", String(100), nullable=False, default="main", server_default="main"),  # migration 0010
)

purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("id", Id, primary_key=True),
    Column("ref", String(100), nullable=False, unique=True),
    Column("supplier", String(200)),
    Column("status", String(20), nullable=False),
    Column("created_at", Stamp(), nullable=False),
    Column("location", String(100), nullable=False, default="main", server_default="main"),  # migration 0010
)

po_lines = Table(
    "po_lines",
    metadata,
    Column("id", Id, primary_key=True),
    Column("po_id", ForeignKey("purchase_orders.id"), nullable=False),
    Column("line", Integer, nullable=False),
    Column("sku_id", ForeignKey("skus.id"), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("received", Integer, nullable=False, default=0),
    Column("closed", Boolean, nullable=False, default=False),
    Column("expected_date", Date, nullable=False),
    Column("first_expected_date", Date),  # migration 0011: the date first given, once it moved (NULL: never moved)
    UniqueConstraint("po_id", "line", name="uq_po_lines_po_line"),
    Index("ix_po_lines_sku_open", "sku_id", "closed"),
)

holds = Table(
    "holds",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("sku_id", ForeignKey("skus.id"), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("priority", Integer, nullable=False, default=0),
    Column("queued_at", Stamp(), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("expires_at", Stamp(), nullable=False),
    Column("status", String(20), nullable=False),  # active, released, confirmed, expired
    Column("allocation", JSON, nullable=False),
    Column("state", String(20), nullable=False),
    Column("promise_date", Date),
    Column("api_key_id", BigInteger),
    Column("created_at", Stamp(), nullable=False),
    Column("customer", String(200)),  # drops (migration 0014): whose allowance it counts against
    Index("ix_holds_sku_status_expires", "sku_id", "status", "expires_at"),
    Index("ix_holds_key_status", "api_key_id", "status"),  # a key's held units, ops' list by key
    Index("ix_holds_status_expires", "status", "expires_at"),  # the sweeper's question
)

orders = Table(
    "orders",
    metadata,
    Column("id", Id, primary_key=True),
    Column("ref", String(100), nullable=False, unique=True),
    Column("channel", String(100), nullable=False),
    Column("priority", Integer, nullable=False, default=0),
    Column("customer", String(200)),
    Column("created_at", Stamp(), nullable=False),
    Column("email", String(320)),  # migration 0005
    Column("ignored_lines", JSON),  # migration 0005: a shop's lines Allot does not plan
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Id, primary_key=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("line", Integer, nullable=False),
    Column("sku_id", ForeignKey("skus.id"), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("priority", Integer, nullable=False, default=0),
    Column("queued_at", Stamp(), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("qty", Integer, nullable=False),
    Column("qty_shipped", Integer, nullable=False, default=0),
    Column("qty_cancelled", Integer, nullable=False, default=0),
    Column("open", Boolean, nullable=False, default=True),
    Column("hold_id", String(40)),
    Column("allocation", JSON, nullable=False),
    Column("state", String(20), nullable=False),
    Column("promise_date", Date),
    Column("first_promise_date", Date),
    # needs_consent, accepted, rejected, expired (the default applied), kept (by the merchant), withdrawn
    Column("consent_status", String(20)),
    Column("consent_deadline", Stamp()),
    Column("agreed_promise_date", Date),  # the promise the customer (or merchant) last agreed to wait for
    Column("external_id", String(100)),  # migration 0005: the shop's line-item id
    UniqueConstraint("order_id", "line", name="uq_order_lines_order_line"),
    Index("ix_order_lines_sku_open", "sku_id", "open"),
    # sweeper and per SKU; queued_at and channel (migration 0011) make it cover the KPIs' consent outcomes
    Index("ix_order_lines_consent", "consent_status", "sku_id", "consent_deadline", "queued_at", "channel"),
    # A shop's refunds and fulfilments find their line by its line-item id (migration 0005). Only
    # ingested lines have one: the API's orders pay nothing for it.
    Index("ix_order_lines_external_id", "external_id", postgresql_where=text("external_id IS NOT NULL"),
          sqlite_where=text("external_id IS NOT NULL")),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("type", String(60), nullable=False),
    Column("occurred_at", Stamp(), nullable=False),
    Column("sku", String(100)),
    Column("order_ref", String(100)),
    Column("line", Integer),
    Column("data", JSON, nullable=False),
    Column("version", Integer, nullable=False, default=1, server_default="1"),
    # The event's place in the public feed (its public id), given once its transaction has committed:
    # strictly increasing and gap-free in the order events became visible. NULL until sequenced.
    Column("position", BigInteger),
    Index("ix_events_position", "position", unique=True),
    # A line's promise history (the dashboard's "why"): events of one order line, in id order.
    Index("ix_events_order_ref_line", "order_ref", "line"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("event_types", JSON),  # NULL: every event; else exact types or "prefix.*"
    Column("secret", String(200), nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("cursor", BigInteger, nullable=False, default=0),  # last event position fanned out
    Column("created_at", Stamp(), nullable=False),
    Column("deleted_at", Stamp()),
)

# One row per (webhook, event): the outbox's delivery state, attempts and dead letters.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("webhook_id", ForeignKey("webhooks.id"), nullable=False),
    Column("event_id", ForeignKey("events.id"), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("ordering_key", String(220), nullable=False),  # deliveries with one key go out in order
    Column("status", String(20), nullable=False),  # pending, sending, delivered, dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Stamp(), nullable=False),
    Column("lease_until", Stamp()),
    Column("last_status", Integer),
    Column("last_error", String(500)),
    Column("created_at", Stamp(), nullable=False),
    Column("delivered_at", Stamp()),
    UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_webhook_event"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_order", "webhook_id", "ordering_key", "position"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("channels", JSON),
    Column("prefix", String(20), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", Stamp(), nullable=False),
    Column("revoked_at", Stamp()),
    Column("last_used_at", Stamp()),
    # A storefront key's hold limits; NULL: the installation's defaults (Settings).
    Column("max_hold_ttl_seconds", Integer),
    Column("max_held_units", Integer),
    Column("rate_per_second", Integer),  # drops (migration 0014): holds and orders per second; NULL: no limit
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("api_key_id", BigInteger, primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", Stamp(), nullable=False),
)

# Append-only: no API changes a row, and database triggers (migration 0003) refuse UPDATE and DELETE.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    Column("occurred_at", Stamp(), nullable=False),
    Column("request_id", String(100), nullable=False, index=True),
    Column("api_key_id", BigInteger, index=True),
    Column("key_name", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", String(1000), nullable=False),
    Column("action", String(60), nullable=False),
    Column("status", Integer, nullable=False),
    Column("summary", JSON, nullable=False),
)

# Secrets the server makes for itself, shared by every process on the database (the dashboard's
# session-signing key when ALLOT_SESSION_SECRET is not set).
server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", String(200), nullable=False),
    Column("created_at", Stamp(), nullable=False),
)


# ── Connections: storefront connections and ingested deliveries (migration 0005) ──

# A channel connected to the shop that sells on it. The secret and credentials are never shown back.
storefronts = Table(
    "storefronts",
    metadata,
    Column("channel", String(100), ForeignKey("channels.name"), primary_key=True),
    Column("platform", String(20), nullable=False),  # shopify, woocommerce
    Column("secret", String(200), nullable=False),  # the webhook signing secret
    Column("credentials", Text, nullable=False),  # JSON: the shop's admin credentials
    Column("api_base", String(2000)),
    Column("created_at", Stamp(), nullable=False),
    Column("updated_at", Stamp(), nullable=False),
)

# Every signed delivery, written in the transaction of the change it made: a delivery id seen
# before changes nothing (platforms deliver at least once).
storefront_deliveries = Table(
    "storefront_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("channel", String(100), nullable=False),
    Column("delivery_id", String(200), nullable=False),
    Column("topic", String(100), nullable=False),
    Column("received_at", Stamp(), nullable=False),
    Column("outcome", String(20), nullable=False),  # applied, ignored, skipped, rejected
    Column("detail", String(500)),
    Column("order_ref", String(100)),
    UniqueConstraint("channel", "delivery_id", name="uq_storefront_deliveries_channel_delivery"),
)


# ── Lists and availability out (migration 0006) ──
# Keyset pages of a filtered list walk (filter, id): the filter's rows in cursor order, no sort.
Index("ix_orders_channel_id", orders.c.channel, orders.c.id)
Index("ix_orders_customer_id", orders.c.customer, orders.c.id)
Index("ix_order_lines_state_order", order_lines.c.state, order_lines.c.order_id)  # ?state=
Index("ix_stock_moves_reason_id", stock_moves.c.reason, stock_moves.c.id)


# ── Files: CSV imports and sales history (migration 0007) ──

# Past demand brought over from an old system (CSV `sales-history`): forecasting reads it, planning never does.
sales_history = Table(
    "sales_history",
    metadata,
    Column("id", Id, primary_key=True),
    Column("sku_id", ForeignKey("skus.id"), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("date", Date, nullable=False),
    Column("qty", Integer, nullable=False),
    UniqueConstraint("sku_id", "channel", "date", name="uq_sales_history_sku_channel_date"),
)

# An import over HTTP that runs in the background: its progress figure and, once done, its outcome.
import_jobs = Table(
    "import_jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("status", String(20), nullable=False),  # running, done, rejected (bad rows), failed
    Column("rows_total", Integer),
    Column("rows_done", Integer, nullable=False, default=0),
    Column("errors", JSON, nullable=False),
    Column("result", JSON),
    Column("api_key_id", BigInteger),
    Column("created_at", Stamp(), nullable=False),
    Column("finished_at", Stamp()),
)


# ── Availability pushed to the shop (migration 0008) ──

# One row per connected channel: how far the push worker has followed the events, and its health.
shop_push_channels = Table(
    "shop_push_channels",
    metadata,
    Column("channel", String(100), primary_key=True),
    Column("cursor", BigInteger, nullable=False),  # last event position followed
    # Which shop the remembered item ids belong to (platform and address, never a credential):
    # a connection pointed at another shop forgets them and pushes everything again.
    Column("shop", String(300), nullable=False),
    Column("last_push_at", Stamp()),
    Column("last_error", String(500)),
    Column("last_error_at", Stamp()),
)

# One row per SKU × connected channel: what to push, coalesced. A change bumps `wanted`; a push
# settles the version it read (`claimed`), so a change during a push is pushed again after it.
shop_pushes = Table(
    "shop_pushes",
    metadata,
    Column("channel", String(100), primary_key=True),
    Column("sku", String(100), primary_key=True),
    Column("wanted", BigInteger, nullable=False, default=1),
    Column("pushed", BigInteger, nullable=False, default=0),  # the last `wanted` settled
    Column("claimed", BigInteger),
    Column("lease_until", Stamp()),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Stamp(), nullable=False),
    Column("shop_ref", String(300)),  # the shop's item for this SKU, found once and remembered
    Column("missing", Boolean, nullable=False, default=False),  # the shop has no item with this SKU
    Column("quantity", Integer),  # the last quantity the shop accepted
    Column("pushed_at", Stamp()),
    Column("last_error", String(500)),
    Index("ix_shop_pushes_due", "next_attempt_at"),
)



# ── Trust, round two (migration 0009) ──
# A signed-in dashboard session: the cookie carries a random id, this row says whether it still counts
# (signing out and revoking the key end it; so does being idle longer than the idle timeout).
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the id in the cookie, never the id itself
    Column("key_id", BigInteger, nullable=False, index=True),
    Column("created_at", Stamp(), nullable=False),
    Column("last_seen_at", Stamp(), nullable=False),
    Column("ended_at", Stamp()),
)


# ── Locations (migration 0010) ──

locations = Table(
    "locations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),  # the {location} of the API: `main`, `3pl`
    Column("name", String(200)),
    Column("handling_days", Integer, nullable=False, default=0),
    Column("created_at", Stamp(), nullable=False),
)

# On hand per SKU and location, a counter like skus.on_hand (their total); `allot reconcile` proves
# each equal to its location's stock ledger.
stock_levels = Table(
    "stock_levels",
    metadata,
    Column("sku_id", ForeignKey("skus.id"), primary_key=True),
    Column("location", String(100), primary_key=True),
    Column("on_hand", Integer, nullable=False),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("ref", String(100), nullable=False, unique=True),
    Column("from_location", String(100), nullable=False),
    Column("to_location", String(100), nullable=False),
    Column("expected_date", Date, nullable=False),
    Column("status", String(20), nullable=False),  # open, closed
    Column("created_at", Stamp(), nullable=False),
)

transfer_lines = Table(
    "transfer_lines",
    metadata,
    Column("id", Id, primary_key=True),
    Column("transfer_id", ForeignKey("transfers.id"), nullable=False),
    Column("line", Integer, nullable=False),
    Column("sku_id", ForeignKey("skus.id"), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("received", Integer, nullable=False, default=0),
    Column("closed", Boolean, nullable=False, default=False),
    UniqueConstraint("transfer_id", "line", name="uq_transfer_lines_transfer_line"),
    Index("ix_transfer_lines_sku_open", "sku_id", "closed"),
)


# ── Insight (migration 0011) ──
# History the KPIs (docs/kpis.md) and forecasts need, each row written in the transaction of its change.
# Slip is measured on lines by their first promise (a line first promised by a re-plan gets it then).
# Covering: the KPI reads the index alone, never the wide rows (allocation JSON) behind it.
Index("ix_order_lines_first_promise", order_lines.c.first_promise_date, order_lines.c.promise_date,
      order_lines.c.state, order_lines.c.channel, order_lines.c.sku_id)

# The forecast's demand history: units of lines placed per SKU and day, read from the index alone.
Index("ix_order_lines_queued_at", order_lines.c.queued_at, order_lines.c.sku_id, order_lines.c.channel,
      order_lines.c.qty)

# Every shipment of an order line's units: the day, and the promises it was measured against.
shipments = Table(
    "shipments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("order_line_id", BigInteger, nullable=False),
    Column("sku_id", ForeignKey("skus.id"), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("shipped_on", Date, nullable=False),
    Column("first_promise_date", Date),  # NULL: the line was never promised
    Column("promise_date", Date),  # the latest promise when it shipped
    Column("days_to_ship", Integer, nullable=False),  # shipped_on − the day the line was queued
    # The units measured against a promise, and those shipped on or before the first and the latest one.
    Column("promised_qty", Integer, nullable=False),
    Column("kept_qty", Integer, nullable=False),
    Column("kept_latest_qty", Integer, nullable=False),
    # Covering: the KPIs over a window read this index alone, in its order (no sort).
    Index("ix_shipments_shipped_on", "shipped_on", "days_to_ship", "sku_id", "channel", "qty", "promised_qty",
          "kept_qty", "kept_latest_qty"),
)

# Every cancellation of an order line's units, and whether its promise had slipped by then.
cancellations = Table(
    "cancellations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("order_line_id", BigInteger, nullable=False),
    Column("sku_id", ForeignKey("skus.id"), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("cancelled_on", Date, nullable=False),
    Column("slipped", Boolean, nullable=False),
    Index("ix_cancellations_cancelled_on", "cancelled_on", "sku_id", "channel", "slipped", "order_line_id"),  # covering
)

# Every receipt on a PO line, against the line's first expected date.
receipts = Table(
    "receipts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("po_line_id", BigInteger, nullable=False),
    Column("sku_id", ForeignKey("skus.id"), nullable=False),
    Column("supplier", String(200)),
    Column("qty", Integer, nullable=False),
    Column("received_on", Date, nullable=False),
    Column("first_expected_date", Date, nullable=False),
    Column("days_late", Integer, nullable=False),  # max(0, received_on − first_expected_date)
    Index("ix_receipts_received_on", "received_on", "sku_id"),
)

# When a SKU could not be sold on a channel ("*": on any channel), and when it was oversold: the
# forecast leaves days out of stock out of its velocity (their demand was hidden, not low).
# Written only when `available` crosses zero or `uncovered` leaves or reaches zero.
sku_spans = Table(
    "sku_spans",
    metadata,
    Column("id", Id, primary_key=True),
    Column("sku_id", ForeignKey("skus.id"), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("kind", String(20), nullable=False),  # sold_out, oversold
    Column("started_at", Stamp(), nullable=False),
    Column("ended_at", Stamp()),
    Column("units", Integer, nullable=False, default=0),  # oversold: uncovered units when it began
    Index("ix_sku_spans_sku_kind", "sku_id", "kind", "started_at"),
    Index("ix_sku_spans_open", "kind", "ended_at"),
)


# ── Customers (migration 0012) ──

# Which messages a channel's customers get, who they come from, and whether customers may cancel.
channel_messages = Table(
    "channel_messages",
    metadata,
    Column("channel", String(100), primary_key=True),
    Column("from_addr", String(320), nullable=False),
    Column("reply_to", String(320)),
    Column("send", JSON, nullable=False),  # kinds: confirmation, promise_later, backordered, ...
    Column("customer_cancel", Boolean, nullable=False, default=False),  # unshipped lines, from /my/
    Column("updated_at", Stamp(), nullable=False),
)

# A channel's own wording for one kind of message; absent: the default templates.
message_templates = Table(
    "message_templates",
    metadata,
    Column("channel", String(100), primary_key=True),
    Column("kind", String(30), primary_key=True),
    Column("subject", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("updated_at", Stamp(), nullable=False),
)

# One email per order per change, rendered once when made (a resend sends the same bytes and the
# same Message-ID), then sent by the mailer like a webhook delivery: leased, retried, dead-lettered.
messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True),
    Column("key", String(200), nullable=False, unique=True),  # order and change: made once
    Column("message_id", String(250), nullable=False),  # the Message-ID header
    Column("channel", String(100), nullable=False),
    Column("order_ref", String(100), nullable=False, index=True),
    Column("kind", String(30), nullable=False),
    Column("to_addr", String(320), nullable=False),
    Column("from_addr", String(320), nullable=False),
    Column("reply_to", String(320)),
    Column("subject", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("position", BigInteger, nullable=False),  # the first event it tells of
    Column("status", String(20), nullable=False),  # pending, sending, sent, dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Stamp(), nullable=False),
    Column("lease_until", Stamp()),
    Column("last_error", String(500)),
    Column("created_at", Stamp(), nullable=False),
    Column("sent_at", Stamp()),
    Index("ix_messages_status_next", "status", "next_attempt_at"),
)

# How far the mailer has read the events (one row).
mail_cursor = Table(
    "mail_cursor",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

# Payment terms: Allot never touches card data; it says when a balance falls due.
order_payments = Table(
    "order_payments",
    metadata,
    Column("order_id", ForeignKey("orders.id"), primary_key=True),
    Column("terms", String(20), nullable=False),  # paid, deposit, on_ready
    Column("deposit", Numeric(14, 2), nullable=False, default=0),
    Column("currency", String(3), nullable=False),
)

# A line's price, and the balance announced once its units were ready (never twice).
line_payments = Table(
    "line_payments",
    metadata,
    Column("order_line_id", ForeignKey("order_lines.id"), primary_key=True),
    Column("unit_price", Numeric(14, 2), nullable=False),
    Column("deposit", Numeric(14, 2), nullable=False, default=0),  # the order's deposit, this line's share
    Column("balance_due", Numeric(14, 2)),
    Column("balance_due_at", Stamp()),
)


# ── The operator's day (migration 0013) ──


# ── Drops (migration 0014) ──

# Units one customer has of a limited SKU are counted by these (a batch asks once per SKU).
Index("ix_holds_sku_customer", holds.c.sku_id, holds.c.customer)
Index("ix_orders_customer", orders.c.customer)

# One counter per key and second (fixed window), shared by every process and host of an installation.
rate_windows = Table(
    "rate_windows",
    metadata,
    Column("key_id", BigInteger, primary_key=True),
    Column("second", BigInteger, primary_key=True),
    Column("n", Integer, nullable=False),
)

waitlist = Table(
    "waitlist",
    metadata,
    Column("id", Id, primary_key=True),  # its order is the queue's order
    Column("sku_id", ForeignKey("skus.id"), nullable=False),
    Column("channel", String(100), nullable=False),
    Column("customer", String(200), nullable=False),
    Column("email", String(320)),
    Column("qty", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # waiting, offered, left
    Column("hold_id", String(40)),  # the offer, once made
    Column("offered_at", Stamp()),
    Column("api_key_id", BigInteger),
    Column("created_at", Stamp(), nullable=False),
    Index("ix_waitlist_sku_status", "sku_id", "status", "id"),
)
